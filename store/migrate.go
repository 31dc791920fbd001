package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations are the schema steps in order: step i (from 0) takes the schema
// from version i to version i+1. Append new steps; never edit, reorder or
// remove one that has shipped, since databases in the field have run it.
var migrations = []string{
	// 1: the registry.
	`CREATE TABLE agencies (
		id       TEXT PRIMARY KEY,
		name     TEXT NOT NULL,
		district TEXT NOT NULL DEFAULT '',
		phone    TEXT NOT NULL DEFAULT ''
	);
	CREATE TABLE beds (
		id                                     TEXT PRIMARY KEY,
		agency_id                              TEXT NOT NULL REFERENCES agencies (id),
		district                               TEXT NOT NULL DEFAULT '',
		elder_name                             TEXT NOT NULL DEFAULT '',
		elder_birth_year                       INTEGER NOT NULL DEFAULT 0,
		elder_disability_level                 TEXT NOT NULL DEFAULT '',
		elder_safety_net                       INTEGER NOT NULL DEFAULT 0,
		elder_draws_disability_nursing_subsidy INTEGER NOT NULL DEFAULT 0,
		caregiver_name                         TEXT NOT NULL DEFAULT '',
		caregiver_phone                        TEXT NOT NULL DEFAULT '',
		address                                TEXT NOT NULL DEFAULT '',
		area_type                              TEXT NOT NULL DEFAULT '',
		contract_start                         TEXT NOT NULL DEFAULT '',
		contract_end                           TEXT NOT NULL DEFAULT '',
		required_minutes_per_day               INTEGER NOT NULL,
		required_hours_per_month               INTEGER NOT NULL
	);
	CREATE INDEX beds_agency ON beds (agency_id, id);
	CREATE TABLE devices (
		id             TEXT PRIMARY KEY,
		bed_id         TEXT NOT NULL REFERENCES beds (id),
		kind           TEXT NOT NULL,
		format         TEXT NOT NULL,
		source         TEXT NOT NULL DEFAULT '',
		model          TEXT NOT NULL DEFAULT '',
		installed_at   INTEGER,
		warranty_until INTEGER,
		last_seen      INTEGER,
		online         INTEGER NOT NULL DEFAULT 0,
		battery        REAL,
		tamper         INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX devices_bed ON devices (bed_id, id);
	CREATE UNIQUE INDEX devices_source ON devices (format, source) WHERE source <> '';`,

	// 2: devices heard on the wire but not registered.
	`CREATE TABLE unknown_devices (
		key          TEXT PRIMARY KEY,
		topic        TEXT NOT NULL,
		first_seen   INTEGER NOT NULL,
		last_seen    INTEGER NOT NULL,
		count        INTEGER NOT NULL,
		last_payload TEXT NOT NULL
	);
	CREATE INDEX unknown_devices_last_seen ON unknown_devices (last_seen);`,

	// 3: messages that could not be used.
	`CREATE TABLE dead_letters (
		id        INTEGER PRIMARY KEY,
		received  INTEGER NOT NULL,
		topic     TEXT NOT NULL,
		reason    TEXT NOT NULL,
		detail    TEXT NOT NULL,
		payload   TEXT NOT NULL,
		truncated INTEGER NOT NULL,
		size      INTEGER NOT NULL
	);
	CREATE INDEX dead_letters_reason ON dead_letters (reason, id);`,

	// 4: alerts, their trail, rule state, escalation and notifications.
	alertsSchema,

	// 5: devices announced by discovery, waiting to be accepted.
	discoverySchema,

	// 6: each bed's overrides of the alarm rules.
	bedRulesSchema,
}

// migrate brings the schema to version len(steps), applying in one
// transaction only the steps after the version recorded in schema_version.
// A database newer than steps is refused rather than guessed at.
func migrate(ctx context.Context, w *sql.DB, steps []string) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var v int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`)
	}
	if err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if v > len(steps) {
		return fmt.Errorf("migrate: the database is at schema version %d, newer than this program's %d; run a newer carebed", v, len(steps))
	}
	if v == len(steps) {
		return nil
	}
	for i := v; i < len(steps); i++ {
		if _, err := tx.ExecContext(ctx, steps[i]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(steps)); err != nil {
		return fmt.Errorf("migrate: record schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// SchemaVersion returns the schema version the database is at.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := db.r.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
