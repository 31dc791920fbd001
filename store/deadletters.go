package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"carebed/devices"
)

// Bounds on what is kept of a dead letter.
const (
	MaxDeadLetterPayload = 1024 // bytes of Payload
	maxDetail            = 1024
)

// DeadLetter is a message that could not be used, kept for diagnosis.
type DeadLetter struct {
	ID        int64          `json:"id"` // assigned by AddDeadLetters; grows with every letter
	Received  time.Time      `json:"received"`
	Topic     string         `json:"topic"`
	Reason    devices.Reason `json:"reason"`
	Detail    string         `json:"detail"`
	Payload   string         `json:"payload"`   // at most MaxDeadLetterPayload bytes of valid UTF-8
	Truncated bool           `json:"truncated"` // Payload is only the start of the message
	Size      int            `json:"size"`      // bytes of the original payload
}

// AddDeadLetters stores letters in one transaction and in it drops all but
// the newest DefaultMaxDeadLetters, or the bound WithMaxDeadLetters set. Each payload is cut to
// MaxDeadLetterPayload bytes, setting Truncated, with invalid UTF-8 and NUL
// replaced by U+FFFD. Size is the larger of the given Size and the length of
// the given Payload, so a caller that already cut a payload can pass the
// original size (and Truncated). IDs are ignored and assigned.
// ErrInvalid (nothing saved) when a letter has no Received time.
func (db *DB) AddDeadLetters(ctx context.Context, letters []DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	rows := make([]DeadLetter, len(letters))
	for i, l := range letters {
		if l.Received.IsZero() || !storable(l.Received) {
			return fmt.Errorf("add dead letters: letter %d: %w", i, invalid("received", "give the receive time of the message"))
		}
		var cut bool
		l.Size = max(l.Size, len(l.Payload))
		l.Payload, cut = clip(l.Payload, MaxDeadLetterPayload)
		l.Truncated = l.Truncated || cut
		l.Topic, _ = clip(l.Topic, maxTopic)
		l.Detail, _ = clip(l.Detail, maxDetail)
		r, _ := clip(string(l.Reason), maxKey)
		l.Reason = devices.Reason(r)
		rows[i] = l
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO dead_letters
			(received, topic, reason, detail, payload, truncated, size) VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, l := range rows {
			if _, err := stmt.ExecContext(ctx, l.Received.UnixNano(), l.Topic, l.Reason, l.Detail, l.Payload,
				l.Truncated, l.Size); err != nil {
				return err
			}
		}
		// Keep the ids within maxDeadLetters of the newest. Ids are handed
		// out in order and only the oldest are ever deleted, so that is
		// exactly the newest maxDeadLetters letters, found without a scan.
		_, err = tx.ExecContext(ctx, `DELETE FROM dead_letters
			WHERE id <= (SELECT MAX(id) FROM dead_letters) - ?`, db.maxDeadLetters)
		return err
	})
	if err != nil {
		return fmt.Errorf("add %d dead letters: %w", len(rows), err)
	}
	return nil
}

// DeadLetterFilter selects dead letters for ListDeadLetters.
type DeadLetterFilter struct {
	Reason devices.Reason // only this reason; "" for all
	Since  time.Time      // only letters received at or after Since; zero for all
	Limit  int            // 0 means DefaultLimit; at most MaxLimit
	Before int64          // only ids below Before (the last id of the previous page); 0 starts at the newest
}

// ListDeadLetters returns dead letters newest first.
func (db *DB) ListDeadLetters(ctx context.Context, f DeadLetterFilter) ([]DeadLetter, error) {
	limit, err := checkLimit(f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	q := `SELECT id, received, topic, reason, detail, payload, truncated, size FROM dead_letters WHERE 1 = 1`
	var args []any
	if f.Reason != "" {
		q += ` AND reason = ?`
		args = append(args, f.Reason)
	}
	if !f.Since.IsZero() {
		if !storable(f.Since) {
			return nil, fmt.Errorf("list dead letters: %w", invalid("since", "use a time between the years %d and %d", earliestYear, latestYear))
		}
		q += ` AND received >= ?`
		args = append(args, f.Since.UnixNano())
	}
	if f.Before > 0 {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	out, err := collect(rows, func(s scanner) (DeadLetter, error) {
		var (
			l        DeadLetter
			received int64
		)
		err := s.Scan(&l.ID, &received, &l.Topic, &l.Reason, &l.Detail, &l.Payload, &l.Truncated, &l.Size)
		l.Received = time.Unix(0, received).UTC()
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}
