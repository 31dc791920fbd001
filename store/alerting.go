package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"carebed/alerts"
)

// What escalation reads: the people it can call (the /caregivers
// resource), the duty roster, each agency's policy, and maintenance
// silences. They share this file by the team's file plan; the four
// sections are independent of each other and can move to files of their
// own.

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
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list people: %w", err)
	}
	out, err := collect(rows, scanPerson)
	if err != nil {
		return nil, fmt.Errorf("list people: %w", err)
	}
	return out, nil
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
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list duties: %w", err)
	}
	out, err := collect(rows, scanDuty)
	if err != nil {
		return nil, fmt.Errorf("list duties: %w", err)
	}
	return out, nil
}

// AllDuties returns every roster entry ordered by id: what escalation
// loads.
func (db *DB) AllDuties(ctx context.Context) ([]alerts.Duty, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+dutyColumns+` FROM duties ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("load duties: %w", err)
	}
	out, err := collect(rows, scanDuty)
	if err != nil {
		return nil, fmt.Errorf("load duties: %w", err)
	}
	return out, nil
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
// PutPolicy would refuse, or nil: alerts.Policy.Validate and the agency id.
func ValidatePolicy(p alerts.Policy) error {
	if err := checkID("agency_id", p.AgencyID); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return domainInvalid(err)
	}
	return nil
}

// PutPolicy stores the escalation policy of p.AgencyID, replacing any.
// ErrInvalid when a field is wrong or the agency does not exist.
func (db *DB) PutPolicy(ctx context.Context, p alerts.Policy) error {
	if err := ValidatePolicy(p); err != nil {
		return fmt.Errorf("put policy: %w", err)
	}
	steps, err := json.Marshal(p.Steps)
	if err != nil {
		return fmt.Errorf("put policy of agency %q: %w", p.AgencyID, err)
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		if err := checkAgency(ctx, tx, p.AgencyID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO policies (agency_id, steps, repeat_every) VALUES (?, ?, ?)
			ON CONFLICT (agency_id) DO UPDATE SET steps = excluded.steps, repeat_every = excluded.repeat_every`,
			p.AgencyID, string(steps), int64(p.RepeatEvery))
		return err
	})
	return subjectErr("put policy of agency", p.AgencyID, err)
}

// GetPolicy returns the escalation policy of the agency. ErrNotFound when
// it has none (escalation then uses alerts.DefaultPolicy).
func (db *DB) GetPolicy(ctx context.Context, agencyID string) (alerts.Policy, error) {
	p, err := scanPolicy(db.r.QueryRowContext(ctx, `SELECT agency_id, steps, repeat_every FROM policies WHERE agency_id = ?`, agencyID))
	if errors.Is(err, sql.ErrNoRows) {
		return alerts.Policy{}, fmt.Errorf("policy of agency %q: %w", agencyID, ErrNotFound)
	}
	if err != nil {
		return alerts.Policy{}, fmt.Errorf("get policy of agency %q: %w", agencyID, err)
	}
	return p, nil
}

// ListPolicies returns one page of policies ordered by agency id.
func (db *DB) ListPolicies(ctx context.Context, p Page) ([]alerts.Policy, error) {
	limit, err := checkLimit(p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT agency_id, steps, repeat_every FROM policies
		WHERE agency_id > ? ORDER BY agency_id LIMIT ?`, p.After, limit)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	out, err := collect(rows, scanPolicy)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	return out, nil
}

// DeletePolicy deletes the agency's policy. ErrNotFound when it has none.
func (db *DB) DeletePolicy(ctx context.Context, agencyID string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM policies WHERE agency_id = ?`, agencyID)
		return notFoundIfNone(res, err)
	})
	return subjectErr("delete policy of agency", agencyID, err)
}

func scanPolicy(s scanner) (alerts.Policy, error) {
	var (
		p      alerts.Policy
		steps  string
		repeat int64
	)
	if err := s.Scan(&p.AgencyID, &steps, &repeat); err != nil {
		return alerts.Policy{}, err
	}
	if err := json.Unmarshal([]byte(steps), &p.Steps); err != nil {
		return alerts.Policy{}, fmt.Errorf("policy of agency %q: steps: %w", p.AgencyID, err)
	}
	p.RepeatEvery = alerts.Duration(repeat)
	return p, nil
}

// domainInvalid turns the joined "field: fix" errors of the alerts
// package's Validate methods into a *ValidationError that names the first
// field and gives every fix.
func domainInvalid(err error) error {
	problems := []error{err}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			problems = j.Unwrap()
			break
		}
	}
	field, fix, ok := strings.Cut(problems[0].Error(), ": ")
	if !ok {
		field, fix = "", problems[0].Error()
	}
	field, _, _ = strings.Cut(field, ", ") // "cron, length, start, end": the first
	for _, p := range problems[1:] {
		fix += "; also " + p.Error()
	}
	return &ValidationError{Field: field, Fix: fix}
}

// idCursor reads the After of a Page over integer ids.
func idCursor(after string) (int64, error) {
	if after == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(after, 10, 64)
	if err != nil || n < 0 {
		return 0, invalid("after", "use the id the previous page ended with")
	}
	return n, nil
}

const silenceColumns = `id, bed_id, device_id, until, reason, created_by, created_at`

// ValidateSilence returns a *ValidationError for the first field of s that
// CreateSilence would refuse, or nil. Until may be in the past (a window
// recorded after the fact) but must be after CreatedAt. Whether the bed and
// device exist is checked by the store.
func ValidateSilence(s alerts.Silence) error {
	if err := checkID("bed_id", s.BedID); err != nil {
		return err
	}
	switch {
	case s.DeviceID != "" && !ValidID(s.DeviceID):
		return invalid("device_id", idFix+", or leave it empty for the whole bed")
	case !storable(s.CreatedAt):
		return invalid("created_at", "give the time the silence starts")
	case !storable(s.Until):
		return invalid("until", "give the time the silence ends, e.g. 2025-01-02T18:00:00+08:00")
	case !s.Until.After(s.CreatedAt):
		return invalid("until", "must be after created_at")
	case len(s.Reason) > maxReason:
		return invalid("reason", "use at most %d bytes", maxReason)
	case len(s.CreatedBy) > maxCreatedBy:
		return invalid("created_by", "use at most %d bytes", maxCreatedBy)
	}
	return nil
}

// CreateSilence stores a new silence and returns it with its id (s.ID is
// ignored). ErrInvalid when a field is wrong, the bed does not exist, or the
// device is not one of the bed's. A silence is deleted with its bed.
func (db *DB) CreateSilence(ctx context.Context, s alerts.Silence) (alerts.Silence, error) {
	if err := ValidateSilence(s); err != nil {
		return alerts.Silence{}, fmt.Errorf("create silence: %w", err)
	}
	s.Reason, _ = clip(s.Reason, maxReason)
	err := db.write(ctx, func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, "beds", s.BedID)
		if err != nil {
			return err
		}
		if !ok {
			return invalid("bed_id", "bed %q does not exist", s.BedID)
		}
		if s.DeviceID != "" {
			var bed string
			err := tx.QueryRowContext(ctx, `SELECT bed_id FROM devices WHERE id = ?`, s.DeviceID).Scan(&bed)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return invalid("device_id", "device %q does not exist", s.DeviceID)
			case err != nil:
				return err
			case bed != s.BedID:
				return invalid("device_id", "device %q is in bed %q, not %q", s.DeviceID, bed, s.BedID)
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO silences (bed_id, device_id, until, reason, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, s.BedID, s.DeviceID, s.Until.UnixNano(), s.Reason, s.CreatedBy, s.CreatedAt.UnixNano())
		if err != nil {
			return err
		}
		s.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return alerts.Silence{}, subjectErr("create silence of bed", s.BedID, err)
	}
	s.Until, s.CreatedAt = time.Unix(0, s.Until.UnixNano()).UTC(), time.Unix(0, s.CreatedAt.UnixNano()).UTC()
	return s, nil
}

// GetSilence returns the silence with the given id.
func (db *DB) GetSilence(ctx context.Context, id int64) (alerts.Silence, error) {
	s, err := scanSilence(db.r.QueryRowContext(ctx, `SELECT `+silenceColumns+` FROM silences WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return alerts.Silence{}, fmt.Errorf("silence %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return alerts.Silence{}, fmt.Errorf("get silence %d: %w", id, err)
	}
	return s, nil
}

// SilenceFilter selects silences for ListSilences. Page.After is a silence
// id in decimal.
type SilenceFilter struct {
	BedID string // only this bed's silences; "" for every bed
	// ActiveAt, when set, keeps only the silences in force then:
	// CreatedAt <= ActiveAt < Until.
	ActiveAt time.Time
	Page
}

// ListSilences returns one page of silences ordered by id.
func (db *DB) ListSilences(ctx context.Context, f SilenceFilter) ([]alerts.Silence, error) {
	limit, err := checkLimit(f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	after, err := idCursor(f.After)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	q, args := `SELECT `+silenceColumns+` FROM silences WHERE id > ?`, []any{after}
	if f.BedID != "" {
		q += ` AND bed_id = ?`
		args = append(args, f.BedID)
	}
	if !f.ActiveAt.IsZero() {
		if !storable(f.ActiveAt) {
			return nil, fmt.Errorf("list silences: %w", invalid("active_at", "use a time between the years %d and %d", earliestYear, latestYear))
		}
		q += ` AND created_at <= ? AND until > ?`
		args = append(args, f.ActiveAt.UnixNano(), f.ActiveAt.UnixNano())
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	out, err := collect(rows, scanSilence)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	return out, nil
}

// ActiveSilences returns the silences of the bed in force at at, whole-bed
// and per-device alike (alerts.Silence.Covers tells which apply to an
// alert), ordered by id.
func (db *DB) ActiveSilences(ctx context.Context, bedID string, at time.Time) ([]alerts.Silence, error) {
	if !storable(at) {
		return nil, fmt.Errorf("active silences of bed %q: %w", bedID, invalid("at", "use a time between the years %d and %d", earliestYear, latestYear))
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+silenceColumns+` FROM silences
		WHERE bed_id = ? AND until > ? AND created_at <= ? ORDER BY id`, bedID, at.UnixNano(), at.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("active silences of bed %q: %w", bedID, err)
	}
	out, err := collect(rows, scanSilence)
	if err != nil {
		return nil, fmt.Errorf("active silences of bed %q: %w", bedID, err)
	}
	return out, nil
}

// DeleteSilence deletes the silence, ending it. ErrNotFound when there is
// none.
func (db *DB) DeleteSilence(ctx context.Context, id int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM silences WHERE id = ?`, id)
		return notFoundIfNone(res, err)
	})
	return subjectErr("delete silence", strconv.FormatInt(id, 10), err)
}

func scanSilence(s scanner) (alerts.Silence, error) {
	var (
		x                alerts.Silence
		until, createdAt int64
	)
	err := s.Scan(&x.ID, &x.BedID, &x.DeviceID, &until, &x.Reason, &x.CreatedBy, &createdAt)
	x.Until, x.CreatedAt = time.Unix(0, until).UTC(), time.Unix(0, createdAt).UTC()
	return x, err
}
