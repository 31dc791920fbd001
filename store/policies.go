package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"carebed/alerts"
)

// Each agency's escalation policy.

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
	return queryList(ctx, db.r, "list policies", scanPolicy, `SELECT agency_id, steps, repeat_every FROM policies
		WHERE agency_id > ? ORDER BY agency_id LIMIT ?`, p.After, limit)
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
