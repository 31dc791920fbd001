package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"carebed/alerts"
)

// The duty roster: who covers which beds when.

const dutyColumns = `id, agency_id, person_id, target, beds, cron, length, start_at, end_at`

// ValidateDuty returns a *ValidationError for the first field of d that
// CreateDuty or UpdateDuty would refuse, or nil: alerts.Duty.Validate, and
// ids and times the store can keep. Whether the agency, person and beds
// exist is checked by the store.
func ValidateDuty(d alerts.Duty) error {
	if err := d.Validate(); err != nil {
		return domainInvalid(err)
	}
	if err := checkID("agency_id", d.AgencyID); err != nil {
		return err
	}
	if err := checkID("person_id", d.PersonID); err != nil {
		return err
	}
	for i, b := range d.Beds {
		if err := checkID(fmt.Sprintf("beds[%d]", i), b); err != nil {
			return err
		}
	}
	if len(d.Cron) > maxCron {
		return invalid("cron", "use at most %d bytes", maxCron)
	}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"start", d.Start}, {"end", d.End}} {
		if f.t != nil && !storable(*f.t) {
			return invalid(f.name, "use a time between the years %d and %d", earliestYear, latestYear)
		}
	}
	return nil
}

// CreateDuty stores a new roster entry and returns its id (d.ID is
// ignored). ErrInvalid when a field is wrong, or the agency, the person (in
// that agency) or a bed (of that agency) does not exist.
func (db *DB) CreateDuty(ctx context.Context, d alerts.Duty) (int64, error) {
	if err := ValidateDuty(d); err != nil {
		return 0, fmt.Errorf("create duty: %w", err)
	}
	var id int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := checkDutyRefs(ctx, tx, d); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO duties (agency_id, person_id, target, beds, cron, length, start_at, end_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, dutyArgs(d)...)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, subjectErr("create duty of person", d.PersonID, err)
	}
	return id, nil
}

// GetDuty returns the roster entry with the given id.
func (db *DB) GetDuty(ctx context.Context, id int64) (alerts.Duty, error) {
	d, err := scanDuty(db.r.QueryRowContext(ctx, `SELECT `+dutyColumns+` FROM duties WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return alerts.Duty{}, fmt.Errorf("duty %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return alerts.Duty{}, fmt.Errorf("get duty %d: %w", id, err)
	}
	return d, nil
}

// UpdateDuty replaces every field of the roster entry d.ID. ErrNotFound
// when there is none; otherwise the errors of CreateDuty.
func (db *DB) UpdateDuty(ctx context.Context, d alerts.Duty) error {
	if err := ValidateDuty(d); err != nil {
		return fmt.Errorf("update duty: %w", err)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := checkDutyRefs(ctx, tx, d); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE duties SET agency_id = ?, person_id = ?, target = ?, beds = ?,
			cron = ?, length = ?, start_at = ?, end_at = ? WHERE id = ?`, append(dutyArgs(d), d.ID)...)
		return notFoundIfNone(res, err)
	})
	return subjectErr("update duty", strconv.FormatInt(d.ID, 10), err)
}

// DutyFilter selects roster entries for ListDuties. Page.After is a duty
// id in decimal.
type DutyFilter struct {
	AgencyID string // only this agency's entries; "" for every agency
	PersonID string // only this person's entries; "" for everyone
	Page
}

// ListDuties returns one page of roster entries ordered by id.
func (db *DB) ListDuties(ctx context.Context, f DutyFilter) ([]alerts.Duty, error) {
	limit, err := checkLimit(f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list duties: %w", err)
	}
	after, err := idCursor(f.After)
	if err != nil {
		return nil, fmt.Errorf("list duties: %w", err)
	}
	q, args := `SELECT `+dutyColumns+` FROM duties WHERE id > ?`, []any{after}
	if f.AgencyID != "" {
		q += ` AND agency_id = ?`
		args = append(args, f.AgencyID)
	}
	if f.PersonID != "" {
		q += ` AND person_id = ?`
		args = append(args, f.PersonID)
	}
	return queryList(ctx, db.r, "list duties", scanDuty, q+` ORDER BY id LIMIT ?`, append(args, limit)...)
}

// AllDuties returns every roster entry ordered by id: what escalation
// loads.
func (db *DB) AllDuties(ctx context.Context) ([]alerts.Duty, error) {
	return queryList(ctx, db.r, "load duties", scanDuty, `SELECT `+dutyColumns+` FROM duties ORDER BY id`)
}

// DeleteDuty deletes the roster entry. ErrNotFound when there is none.
func (db *DB) DeleteDuty(ctx context.Context, id int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM duties WHERE id = ?`, id)
		return notFoundIfNone(res, err)
	})
	return subjectErr("delete duty", strconv.FormatInt(id, 10), err)
}

// checkDutyRefs checks that the agency exists and that the person and the
// beds belong to it.
func checkDutyRefs(ctx context.Context, tx *sql.Tx, d alerts.Duty) error {
	if err := checkAgency(ctx, tx, d.AgencyID); err != nil {
		return err
	}
	var agency string
	err := tx.QueryRowContext(ctx, `SELECT agency_id FROM people WHERE id = ?`, d.PersonID).Scan(&agency)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return invalid("person_id", "person %q does not exist; create it under /caregivers first", d.PersonID)
	case err != nil:
		return err
	case agency != d.AgencyID:
		return invalid("person_id", "person %q belongs to agency %q, not %q", d.PersonID, agency, d.AgencyID)
	}
	for i, b := range d.Beds {
		err := tx.QueryRowContext(ctx, `SELECT agency_id FROM beds WHERE id = ?`, b).Scan(&agency)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return invalid(fmt.Sprintf("beds[%d]", i), "bed %q does not exist", b)
		case err != nil:
			return err
		case agency != d.AgencyID:
			return invalid(fmt.Sprintf("beds[%d]", i), "bed %q belongs to agency %q, not %q", b, agency, d.AgencyID)
		}
	}
	return nil
}

func dutyArgs(d alerts.Duty) []any {
	beds := d.Beds
	if beds == nil {
		beds = []string{}
	}
	b, _ := json.Marshal(beds) // a []string always marshals
	return []any{d.AgencyID, d.PersonID, d.Target, string(b), d.Cron, int64(d.Length), nanos(d.Start), nanos(d.End)}
}

func scanDuty(s scanner) (alerts.Duty, error) {
	var (
		d          alerts.Duty
		beds       string
		length     int64
		start, end sql.NullInt64
	)
	if err := s.Scan(&d.ID, &d.AgencyID, &d.PersonID, &d.Target, &beds, &d.Cron, &length, &start, &end); err != nil {
		return alerts.Duty{}, err
	}
	if err := json.Unmarshal([]byte(beds), &d.Beds); err != nil {
		return alerts.Duty{}, fmt.Errorf("duty %d: beds: %w", d.ID, err)
	}
	if len(d.Beds) == 0 {
		d.Beds = nil
	}
	d.Length, d.Start, d.End = alerts.Duration(length), timeOf(start), timeOf(end)
	return d, nil
}

// ValidatePolicy returns a *ValidationError for the first field of p that
