package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// RuleState is the alarm rules' state of one bed (timers, debounce,
// baselines), opaque to the store. SaveAlerts writes it in the same
// transaction as the alerts it led to and the journal cursor, so that after
// a crash the rules resume exactly where the stored alerts left them.
type RuleState struct {
	BedID string
	Data  []byte
}

// RuleStates returns the stored state of every bed, ordered by bed id:
// what the alarm rules load at start.
func (db *DB) RuleStates(ctx context.Context) ([]RuleState, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT bed_id, data FROM rule_state ORDER BY bed_id`)
	if err != nil {
		return nil, fmt.Errorf("load rule states: %w", err)
	}
	out, err := collect(rows, func(s scanner) (RuleState, error) {
		var r RuleState
		err := s.Scan(&r.BedID, &r.Data)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("load rule states: %w", err)
	}
	return out, nil
}

// AlertCursor returns the journal index the alarm consumer last stored with
// SaveAlerts, or 0 when it never has.
func (db *DB) AlertCursor(ctx context.Context) (uint64, error) {
	var v int64
	err := db.r.QueryRowContext(ctx, `SELECT journal_index FROM alert_cursor WHERE id = 1`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("read alert cursor: %w", err)
	}
	return uint64(v), nil
}
