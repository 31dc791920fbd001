package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"carebed/alerts"
)

// Retries of the outbox. A request whose send failed with a retryable
// error is tried again after a back-off that doubles from
// FirstNotifyRetry up to MaxNotifyRetry (or after the wait the receiver
// asked for, when longer), at most MaxNotifyAttempts times in all; then it
// is given up, as at once for a failure that is not worth a retry.
const (
	MaxNotifyAttempts = 8
	FirstNotifyRetry  = 10 * time.Second
	MaxNotifyRetry    = 10 * time.Minute
)

// Notification is a request of the outbox with what became of it.
type Notification struct {
	alerts.Request
	Attempts int `json:"attempts"`
	// NextAttemptAt is when the request is due (again); meaningless once
	// it is sent or failed.
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	SentAt        *time.Time `json:"sent_at"`   // set when a send succeeded
	FailedAt      *time.Time `json:"failed_at"` // set when the outbox gave up
	LastError     string     `json:"last_error,omitempty"`
}

// PendingNotifications returns up to limit requests (0 means DefaultLimit;
// at most MaxLimit) due at now: neither sent nor given up, and not waiting
// for a retry later than now. The longest due come first.
func (db *DB) PendingNotifications(ctx context.Context, now time.Time, limit int) ([]alerts.Request, error) {
	limit, err := checkLimit(limit)
	if err != nil {
		return nil, fmt.Errorf("pending notifications: %w", err)
	}
	if !storable(now) {
		return nil, fmt.Errorf("pending notifications: %w", invalid("now", "give the current time"))
	}
	return queryList(ctx, db.r, "pending notifications", scanRequest, `SELECT `+requestColumns+` FROM notifications
		WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt <= ?
		ORDER BY next_attempt, id LIMIT ?`, now.UnixNano(), limit)
}

// MarkNotified records one attempt to send request id, made at at. With a
// nil sendErr the request is sent (one already sent keeps its first
// time). Otherwise the error's text is kept (cut to 1 KiB; it must not
// carry personal data) and, when retry is true and attempts remain, the
// request is due again after the back-off; else it is given up.
// ErrNotFound when there is no such request.
func (db *DB) MarkNotified(ctx context.Context, id int64, at time.Time, sendErr error, retry bool) error {
	if !storable(at) {
		return fmt.Errorf("mark notification %d: %w", id, invalid("at", "give the time of the attempt"))
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if sendErr == nil {
			res, err := tx.ExecContext(ctx, `UPDATE notifications SET sent_at = COALESCE(sent_at, ?),
				attempts = attempts + 1 WHERE id = ?`, at.UnixNano(), id)
			return notFoundIfNone(res, err)
		}
		var attempts int
		err := tx.QueryRowContext(ctx, `SELECT attempts FROM notifications WHERE id = ?`, id).Scan(&attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		attempts++
		msg, _ := clip(sendErr.Error(), maxDetail)
		var failed any
		next := at.Add(retryWait(attempts, sendErr))
		if !retry || attempts >= MaxNotifyAttempts {
			failed = at.UnixNano()
		}
		_, err = tx.ExecContext(ctx, `UPDATE notifications SET attempts = ?, last_error = ?, next_attempt = ?,
			failed_at = COALESCE(failed_at, ?) WHERE id = ?`, attempts, msg, next.UnixNano(), failed, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark notification %d: %w", id, err)
	}
	return nil
}

// retryWait is the back-off after the given number of failed attempts:
// FirstNotifyRetry doubled per earlier failure up to MaxNotifyRetry, or
// the receiver's Retry-After when longer (itself capped at an hour).
func retryWait(attempts int, sendErr error) time.Duration {
	d := FirstNotifyRetry
	for i := 1; i < attempts && d < MaxNotifyRetry; i++ {
		d *= 2
	}
	d = min(d, MaxNotifyRetry)
	if after, ok := alerts.RetryAfter(sendErr); ok && after > d {
		d = min(after, time.Hour)
	}
	return d
}

// ListNotifications returns the requests of the alert in the order they
// were made. ErrNotFound when there is no such alert.
func (db *DB) ListNotifications(ctx context.Context, alertID int64) ([]Notification, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+requestColumns+`, attempts, next_attempt, sent_at, failed_at, last_error
		FROM notifications WHERE alert_id = ? ORDER BY id`, alertID)
	if err != nil {
		return nil, fmt.Errorf("notifications of alert %d: %w", alertID, err)
	}
	out, err := collect(rows, func(s scanner) (Notification, error) {
		var (
			n            Notification
			at, next     int64
			sent, failed sql.NullInt64
		)
		r := &n.Request
		err := s.Scan(&r.ID, &r.AlertID, &r.PersonID, &r.Target, &r.Level, &r.Reason, &at,
			&n.Attempts, &next, &sent, &failed, &n.LastError)
		r.At, n.NextAttemptAt = time.Unix(0, at).UTC(), time.Unix(0, next).UTC()
		n.SentAt, n.FailedAt = timeOf(sent), timeOf(failed)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("notifications of alert %d: %w", alertID, err)
	}
	if len(out) == 0 {
		if err := db.alertExists(ctx, alertID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

const requestColumns = `id, alert_id, person_id, target, level, reason, at`

func scanRequest(s scanner) (alerts.Request, error) {
	var (
		r  alerts.Request
		at int64
	)
	err := s.Scan(&r.ID, &r.AlertID, &r.PersonID, &r.Target, &r.Level, &r.Reason, &at)
	r.At = time.Unix(0, at).UTC()
	return r, err
}
