package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"carebed/alerts"
)

// Maintenance silences.

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
	return queryList(ctx, db.r, "list silences", scanSilence, q+` ORDER BY id LIMIT ?`, append(args, limit)...)
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
