package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"carebed/devices"
)

const deviceColumns = `id, bed_id, kind, format, source, model, installed_at, warranty_until,
	last_seen, online, battery, tamper`

// CreateDevice stores a new device, with DeviceDefaults applied and no
// health yet. ErrConflict when the id is taken or another device already
// uses the same format and source; ErrInvalid when a field is wrong or the
// bed does not exist. d.Health is ignored: SaveHealth writes it.
func (db *DB) CreateDevice(ctx context.Context, d devices.Device) error {
	d = DeviceDefaults(d)
	if err := ValidateDevice(d); err != nil {
		return fmt.Errorf("create device: %w", err)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := checkFree(ctx, tx, "devices", d.ID); err != nil {
			return err
		}
		if err := checkDeviceRefs(ctx, tx, d); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO devices
			(id, bed_id, kind, format, source, model, installed_at, warranty_until)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.BedID, d.Kind, d.Format, d.Source, d.Model, nanos(d.InstalledAt), nanos(d.WarrantyUntil))
		return err
	})
	return subjectErr("create device", d.ID, err)
}

// GetDevice returns the device with the given id, with its health.
func (db *DB) GetDevice(ctx context.Context, id string) (devices.Device, error) {
	d, err := scanDevice(db.r.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return devices.Device{}, fmt.Errorf("device %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return devices.Device{}, fmt.Errorf("get device %q: %w", id, err)
	}
	return d, nil
}

// UpdateDevice replaces every field of the device d.ID except its health,
// with DeviceDefaults applied. ErrNotFound when there is none; otherwise
// the errors of CreateDevice.
func (db *DB) UpdateDevice(ctx context.Context, d devices.Device) error {
	d = DeviceDefaults(d)
	if err := ValidateDevice(d); err != nil {
		return fmt.Errorf("update device: %w", err)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, "devices", d.ID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		if err := checkDeviceRefs(ctx, tx, d); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE devices SET bed_id = ?, kind = ?, format = ?, source = ?, model = ?,
			installed_at = ?, warranty_until = ? WHERE id = ?`,
			d.BedID, d.Kind, d.Format, d.Source, d.Model, nanos(d.InstalledAt), nanos(d.WarrantyUntil), d.ID)
		return err
	})
	return subjectErr("update device", d.ID, err)
}

// DeviceFilter selects devices for ListDevices.
type DeviceFilter struct {
	BedID string // only this bed's devices; "" for every bed
	Page
}

// ListDevices returns one page of devices ordered by id, with their health.
func (db *DB) ListDevices(ctx context.Context, f DeviceFilter) ([]devices.Device, error) {
	limit, err := checkLimit(f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	q, args := `SELECT `+deviceColumns+` FROM devices WHERE id > ?`, []any{f.After}
	if f.BedID != "" {
		q += ` AND bed_id = ?`
		args = append(args, f.BedID)
	}
	return queryList(ctx, db.r, "list devices", scanDevice, q+` ORDER BY id LIMIT ?`, append(args, limit)...)
}

// AllDevices returns every device ordered by id, with its health: what the
// in-memory registry loads at start.
func (db *DB) AllDevices(ctx context.Context) ([]devices.Device, error) {
	return queryList(ctx, db.r, "load devices", scanDevice, `SELECT `+deviceColumns+` FROM devices ORDER BY id`)
}

// DeleteDevice deletes the device. ErrNotFound when there is none.
func (db *DB) DeleteDevice(ctx context.Context, id string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM devices WHERE id = ?`, id)
		return notFoundIfNone(res, err)
	})
	return subjectErr("delete device", id, err)
}

// SaveHealth replaces the health of many devices in one transaction; the map
// key is the device id. Ids that are not registered (perhaps deleted since)
// are ignored. A nil LastSeen or Battery is stored as unknown.
func (db *DB) SaveHealth(ctx context.Context, health map[string]devices.Health) error {
	if len(health) == 0 {
		return nil
	}
	// In id order: neighbouring rows share pages, and two writers of
	// overlapping batches always meet in the same order.
	ids := make([]string, 0, len(health))
	for id := range health {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	// In transactions of healthChunk rows: the state database has one
	// writer, and an alarm waiting to be stored must not queue behind the
	// health of 10,000 devices. A failure leaves earlier chunks saved,
	// which is harmless: the caller saves them all again.
	for len(ids) > 0 {
		n := min(len(ids), healthChunk)
		if err := db.saveHealth(ctx, ids[:n], health); err != nil {
			return fmt.Errorf("save health of %d devices: %w", len(ids), err)
		}
		ids = ids[n:]
	}
	return nil
}

// healthChunk is how many devices' health one transaction saves.
const healthChunk = 64

func (db *DB) saveHealth(ctx context.Context, ids []string, health map[string]devices.Health) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE devices SET last_seen = ?, online = ?, battery = ?, tamper = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range ids {
			h := health[id]
			var battery any
			if h.Battery != nil {
				battery = *h.Battery
			}
			if _, err := stmt.ExecContext(ctx, nanos(h.LastSeen), h.Online, battery, h.Tamper, id); err != nil {
				return fmt.Errorf("device %q: %w", id, err)
			}
		}
		return nil
	})
}

// checkDeviceRefs checks that the bed exists and that no other device uses
// the same format and source.
func checkDeviceRefs(ctx context.Context, tx *sql.Tx, d devices.Device) error {
	ok, err := exists(ctx, tx, "beds", d.BedID)
	if err != nil {
		return err
	}
	if !ok {
		return invalid("bed_id", "bed %q does not exist; create it first or give an existing bed", d.BedID)
	}
	if d.Source == "" {
		return nil
	}
	var other string
	err = tx.QueryRowContext(ctx, `SELECT id FROM devices WHERE format = ? AND source = ? AND source <> '' AND id <> ?`,
		d.Format, d.Source, d.ID).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("%w: device %q already uses this source with format %s; give each device its own source", ErrConflict, other, d.Format)
}

func scanDevice(s scanner) (devices.Device, error) {
	var (
		d                             devices.Device
		installed, warranty, lastSeen sql.NullInt64
		battery                       sql.NullFloat64
	)
	err := s.Scan(&d.ID, &d.BedID, &d.Kind, &d.Format, &d.Source, &d.Model, &installed, &warranty,
		&lastSeen, &d.Online, &battery, &d.Tamper)
	if err != nil {
		return devices.Device{}, err
	}
	d.InstalledAt, d.WarrantyUntil, d.LastSeen = timeOf(installed), timeOf(warranty), timeOf(lastSeen)
	if battery.Valid {
		d.Battery = &battery.Float64
	}
	return d, nil
}
