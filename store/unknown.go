package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Bounds on what is kept of an unknown device.
const (
	MaxUnknownPayload = 512 // bytes of LastPayload
	maxKey            = 256
	maxTopic          = 1024
)

// UnknownDevice is a device, or a topic, heard on the wire that is not in
// the registry, kept so that a dispatcher can register it.
type UnknownDevice struct {
	Key         string    `json:"key"` // the device id, or a key derived from the topic
	Topic       string    `json:"topic"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	Count       int64     `json:"count"`
	LastPayload string    `json:"last_payload"` // at most MaxUnknownPayload bytes of valid UTF-8
}

// upsertUnknown records one sighting as SaveUnknown documents. SET reads
// the row as it was before the update, so the CASEs compare old with new.
const upsertUnknown = `INSERT INTO unknown_devices
		(key, topic, first_seen, last_seen, count, last_payload) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
		count = unknown_devices.count + excluded.count,
		first_seen = CASE WHEN excluded.first_seen < unknown_devices.first_seen
			THEN excluded.first_seen ELSE unknown_devices.first_seen END,
		topic = CASE WHEN excluded.last_seen >= unknown_devices.last_seen
			THEN excluded.topic ELSE unknown_devices.topic END,
		last_payload = CASE WHEN excluded.last_seen >= unknown_devices.last_seen
			THEN excluded.last_payload ELSE unknown_devices.last_payload END,
		last_seen = CASE WHEN excluded.last_seen >= unknown_devices.last_seen
			THEN excluded.last_seen ELSE unknown_devices.last_seen END`

// SaveUnknown records sightings of unknown devices in one transaction. For
// a key already stored, the count adds up, the earliest first_seen is kept,
// and topic, last_seen and last_payload are replaced unless the stored
// sighting is newer. A Count below 1 counts as 1; a zero FirstSeen or
// LastSeen takes the other's value. Then only the WithMaxUnknown devices seen
// most recently are kept. ErrInvalid (nothing saved) when a key is
// empty or an entry has no time at all.
func (db *DB) SaveUnknown(ctx context.Context, seen []UnknownDevice) error {
	if len(seen) == 0 {
		return nil
	}
	rows := make([]UnknownDevice, len(seen))
	for i, u := range seen {
		var err error
		if rows[i], err = normalUnknown(u); err != nil {
			return fmt.Errorf("save unknown devices: entry %d: %w", i, err)
		}
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, upsertUnknown)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, u := range rows {
			if _, err := stmt.ExecContext(ctx, u.Key, u.Topic, u.FirstSeen.UnixNano(), u.LastSeen.UnixNano(),
				u.Count, u.LastPayload); err != nil {
				return fmt.Errorf("unknown device %q: %w", u.Key, err)
			}
		}
		// Keep the maxUnknown seen most recently. The OFFSET row is the
		// newest to drop; the scan stops early while the table is small.
		_, err = tx.ExecContext(ctx, `DELETE FROM unknown_devices WHERE last_seen <= (
			SELECT last_seen FROM unknown_devices ORDER BY last_seen DESC LIMIT 1 OFFSET ?)`, db.maxUnknown)
		return err
	})
	if err != nil {
		return fmt.Errorf("save %d unknown devices: %w", len(rows), err)
	}
	return nil
}

// normalUnknown applies the bounds and defaults SaveUnknown documents.
func normalUnknown(u UnknownDevice) (UnknownDevice, error) {
	if u.Key == "" {
		return u, invalid("key", "required; give the device id or the topic-derived key")
	}
	u.Key, _ = clip(u.Key, maxKey)
	u.Topic, _ = clip(u.Topic, maxTopic)
	u.LastPayload, _ = clip(u.LastPayload, MaxUnknownPayload)
	switch {
	case u.FirstSeen.IsZero() && u.LastSeen.IsZero():
		return u, invalid("last_seen", "required; give the receive time of the message")
	case u.FirstSeen.IsZero():
		u.FirstSeen = u.LastSeen
	case u.LastSeen.IsZero() || u.LastSeen.Before(u.FirstSeen):
		u.LastSeen = u.FirstSeen
	}
	if !storable(u.FirstSeen) || !storable(u.LastSeen) {
		return u, invalid("last_seen", "use a time between the years %d and %d", earliestYear, latestYear)
	}
	if u.Count < 1 {
		u.Count = 1
	}
	return u, nil
}

// ListUnknown returns one page of unknown devices ordered by key.
func (db *DB) ListUnknown(ctx context.Context, p Page) ([]UnknownDevice, error) {
	limit, err := checkLimit(p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list unknown devices: %w", err)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT key, topic, first_seen, last_seen, count, last_payload
		FROM unknown_devices WHERE key > ? ORDER BY key LIMIT ?`, p.After, limit)
	if err != nil {
		return nil, fmt.Errorf("list unknown devices: %w", err)
	}
	out, err := collect(rows, func(s scanner) (UnknownDevice, error) {
		var (
			u           UnknownDevice
			first, last int64
		)
		err := s.Scan(&u.Key, &u.Topic, &first, &last, &u.Count, &u.LastPayload)
		u.FirstSeen, u.LastSeen = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("list unknown devices: %w", err)
	}
	return out, nil
}

// DeleteUnknown forgets an unknown device, for example once it is
// registered. ErrNotFound when there is none.
func (db *DB) DeleteUnknown(ctx context.Context, key string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM unknown_devices WHERE key = ?`, key)
		return notFoundIfNone(res, err)
	})
	return subjectErr("delete unknown device", key, err)
}
