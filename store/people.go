package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"carebed/alerts"
)

// The people escalation can call: the /caregivers resource.

// Roles a person can have.
var Roles = []string{"caregiver", "dispatcher", "manager"}

// Bounds on the free text of people, duties and silences.
const (
	maxName      = 200
	maxPhone     = 32
	maxCron      = 100
	maxReason    = 1024
	maxCreatedBy = 64
)

// ValidatePerson returns a *ValidationError for the first field of p that
// CreatePerson or UpdatePerson would refuse, or nil. Whether the agency
// exists is checked by the store.
func ValidatePerson(p alerts.Person) error {
	if err := checkID("id", p.ID); err != nil {
		return err
	}
	if err := checkID("agency_id", p.AgencyID); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(p.Name) == "":
		return invalid("name", "required; give the person's name")
	case len(p.Name) > maxName:
		return invalid("name", "use at most %d bytes", maxName)
	case p.Phone != "" && !phoneOK(p.Phone):
		return invalid("phone", "use up to %d digits, spaces and + - ( ), or leave it empty", maxPhone)
	case !oneOf(p.Role, Roles):
		return invalid("role", "use one of %s", strings.Join(Roles, ", "))
	}
	return nil
}

func phoneOK(s string) bool {
	if len(s) > maxPhone {
		return false
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digits++
		case c == ' ', c == '+', c == '-', c == '(', c == ')':
		default:
			return false
		}
	}
	return digits >= 3
}

// CreatePerson stores a new person. ErrConflict when the id is taken;
// ErrInvalid when a field is wrong or the agency does not exist.
func (db *DB) CreatePerson(ctx context.Context, p alerts.Person) error {
	if err := ValidatePerson(p); err != nil {
		return fmt.Errorf("create person: %w", err)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := checkFree(ctx, tx, "people", p.ID); err != nil {
			return err
		}
		if err := checkAgency(ctx, tx, p.AgencyID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO people (id, agency_id, name, phone, role) VALUES (?, ?, ?, ?, ?)`,
			p.ID, p.AgencyID, p.Name, p.Phone, p.Role)
		return err
	})
	return subjectErr("create person", p.ID, err)
}

// GetPerson returns the person with the given id.
func (db *DB) GetPerson(ctx context.Context, id string) (alerts.Person, error) {
	p, err := scanPerson(db.r.QueryRowContext(ctx, `SELECT id, agency_id, name, phone, role FROM people WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return alerts.Person{}, fmt.Errorf("person %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return alerts.Person{}, fmt.Errorf("get person %q: %w", id, err)
	}
	return p, nil
}

// UpdatePerson replaces every field of the person p.ID. ErrNotFound when
// there is none; ErrConflict when it moves to another agency while it still
// has duties in its own.
func (db *DB) UpdatePerson(ctx context.Context, p alerts.Person) error {
	if err := ValidatePerson(p); err != nil {
		return fmt.Errorf("update person: %w", err)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, "people", p.ID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		if err := checkAgency(ctx, tx, p.AgencyID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM duties WHERE person_id = ? AND agency_id <> ?`,
			p.ID, p.AgencyID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: the person has duties (%d) in another agency; delete them first", ErrConflict, n)
		}
		_, err = tx.ExecContext(ctx, `UPDATE people SET agency_id = ?, name = ?, phone = ?, role = ? WHERE id = ?`,
			p.AgencyID, p.Name, p.Phone, p.Role, p.ID)
		return err
	})
	return subjectErr("update person", p.ID, err)
}

// PersonFilter selects people for ListPeople.
type PersonFilter struct {
	AgencyID string // only this agency's people; "" for every agency
	Role     string // only this role; "" for every role
	Page
}

// ListPeople returns one page of people ordered by id.
func (db *DB) ListPeople(ctx context.Context, f PersonFilter) ([]alerts.Person, error) {
	limit, err := checkLimit(f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list people: %w", err)
	}
	q, args := `SELECT id, agency_id, name, phone, role FROM people WHERE id > ?`, []any{f.After}
	if f.AgencyID != "" {
		q += ` AND agency_id = ?`
		args = append(args, f.AgencyID)
	}
	if f.Role != "" {
		q += ` AND role = ?`
		args = append(args, f.Role)
	}
	return queryList(ctx, db.r, "list people", scanPerson, q+` ORDER BY id LIMIT ?`, append(args, limit)...)
}

// DeletePerson deletes the person. ErrNotFound when there is none,
// ErrConflict while duties still name the person.
func (db *DB) DeletePerson(ctx context.Context, id string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		n, err := count(ctx, tx, "duties", "person_id", id)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: the person is on duties (%d); delete them or give them to someone else first", ErrConflict, n)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM people WHERE id = ?`, id)
		return notFoundIfNone(res, err)
	})
	return subjectErr("delete person", id, err)
}

func scanPerson(s scanner) (alerts.Person, error) {
	var p alerts.Person
	err := s.Scan(&p.ID, &p.AgencyID, &p.Name, &p.Phone, &p.Role)
	return p, err
}
