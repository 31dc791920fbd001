package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"carebed/devices"
)

// DefaultMaxDiscovered bounds the discovered devices kept: a Home Assistant
// installation announces every entity it has, lamps included. The ones
// seen least recently and not accepted go first.
const DefaultMaxDiscovered = 10_000

// maxDiscoveredText bounds each text column of a discovered device.
const maxDiscoveredText = 1024

// DiscoveredDevice is a device that Zigbee2MQTT's bridge/devices or Home
// Assistant discovery announced: a proposal that an operator accepts into
// the registry in one call.
type DiscoveredDevice struct {
	devices.Discovered
	// Base is the Zigbee2MQTT base topic whose bridge/devices lists it,
	// "" when only Home Assistant announced it.
	Base string `json:"base,omitempty"`
	// Listed: it is in that hub's latest list. A device dropped from the
	// list is kept only while Home Assistant still announces it or once
	// accepted.
	Listed     bool       `json:"listed"`
	FirstSeen  time.Time  `json:"first_seen"`
	LastSeen   time.Time  `json:"last_seen"`
	Accepted   bool       `json:"accepted"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	// DeviceID is the registered device it became.
	DeviceID string `json:"device_id,omitempty"`
}

// DiscoveryMessage is one discovery message to keep, as
// devices.Registry.Announced read it, with its receive time.
type DiscoveryMessage struct {
	devices.Announcement
	Received time.Time
}

// Zigbee2MQTTList is the latest bridge/devices list of one base, as
// friendly name -> IEEE address.
type Zigbee2MQTTList struct {
	Base     string
	Received time.Time
	Names    map[string]string
}

// SaveDiscovery keeps discovery messages, in order, in one transaction:
//
//   - A Zigbee2MQTT list replaces what its base listed before: each device
//     is added or updated (its kind when the list guesses one), devices no
//     longer listed are dropped unless accepted or still announced by Home
//     Assistant, and the base's friendly names are replaced unless a list
//     received later is stored. A deleted (zero-length) list changes
//     nothing.
//   - A Home Assistant entity is merged into its device by id: fields the
//     device lacks are filled in, and its kind when the device has none.
//     A removed entity drops its device when it was the last and the device
//     is neither listed by a hub nor accepted.
//
// Messages with no Received time are ErrInvalid (nothing saved). Then only
// the DefaultMaxDiscovered devices seen most recently (and every accepted
// one) are kept.
func (db *DB) SaveDiscovery(ctx context.Context, msgs []DiscoveryMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	for i, m := range msgs {
		if m.Received.IsZero() || !storable(m.Received) {
			return fmt.Errorf("save discovery: message %d: %w", i, invalid("received", "give the receive time of the message"))
		}
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		for _, m := range msgs {
			var err error
			switch {
			case m.Via == devices.ViaZigbee2MQTT && !m.Deleted:
				err = saveBridgeList(ctx, tx, m)
			case m.Via == devices.ViaHomeAssistant && m.Deleted:
				err = removeEntity(ctx, tx, m.Topic)
			case m.Via == devices.ViaHomeAssistant && len(m.Devices) == 1 && m.Devices[0].ID != "":
				err = saveEntity(ctx, tx, m)
			}
			if err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM discovered WHERE accepted_at IS NULL AND last_seen <= (
			SELECT last_seen FROM discovered WHERE accepted_at IS NULL ORDER BY last_seen DESC LIMIT 1 OFFSET ?)`,
			DefaultMaxDiscovered)
		return err
	})
	if err != nil {
		return fmt.Errorf("save %d discovery messages: %w", len(msgs), err)
	}
	return nil
}

// upsertListed adds or updates a device of a Zigbee2MQTT list. The list
// is authoritative for what it says; a kind it cannot guess keeps the one
// known.
const upsertListed = `INSERT INTO discovered
		(id, format, via, base, listed, source, friendly_name, ieee, model, vendor, kind, availability, note, first_seen, last_seen)
		VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
		format = excluded.format, base = excluded.base, listed = 1, source = excluded.source,
		friendly_name = excluded.friendly_name, ieee = excluded.ieee,
		model = CASE WHEN excluded.model <> '' THEN excluded.model ELSE discovered.model END,
		vendor = CASE WHEN excluded.vendor <> '' THEN excluded.vendor ELSE discovered.vendor END,
		note = CASE WHEN excluded.kind <> '' OR discovered.kind = '' THEN excluded.note ELSE discovered.note END,
		kind = CASE WHEN excluded.kind <> '' THEN excluded.kind ELSE discovered.kind END,
		availability = excluded.availability,
		last_seen = max(discovered.last_seen, excluded.last_seen)`

func saveBridgeList(ctx context.Context, tx *sql.Tx, m DiscoveryMessage) error {
	base, _ := clip(m.Base, maxDiscoveredText)
	at := m.Received.UnixNano()
	if _, err := tx.ExecContext(ctx, `UPDATE discovered SET listed = 0 WHERE base = ?`, base); err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, upsertListed)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, d := range m.Devices {
		if d.ID == "" {
			continue
		}
		d = clipDiscovered(d)
		if _, err := stmt.ExecContext(ctx, d.ID, d.Format, devices.ViaZigbee2MQTT, base, d.Source, d.FriendlyName, d.IEEE,
			d.Model, d.Vendor, d.Kind, d.Availability, d.Note, at, at); err != nil {
			return fmt.Errorf("discovered device %q: %w", d.ID, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM discovered WHERE base = ? AND listed = 0 AND accepted_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM discovered_entities e WHERE e.discovered_id = discovered.id)`, base); err != nil {
		return err
	}
	return saveNames(ctx, tx, base, m.Devices, at)
}

// saveNames replaces the friendly names of base unless a list received
// later is stored.
func saveNames(ctx context.Context, tx *sql.Tx, base string, list []devices.Discovered, at int64) error {
	var newest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(received) FROM zigbee2mqtt_names WHERE base = ?`, base).Scan(&newest); err != nil {
		return err
	}
	if newest.Valid && newest.Int64 > at {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM zigbee2mqtt_names WHERE base = ?`, base); err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO zigbee2mqtt_names (base, name, ieee, received) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for name, ieee := range devices.Zigbee2MQTTNames(list) {
		if _, err := stmt.ExecContext(ctx, base, name, ieee, at); err != nil {
			return err
		}
	}
	return nil
}

// upsertAnnounced merges a Home Assistant entity into its device: only what
// the device lacks is filled in.
const upsertAnnounced = `INSERT INTO discovered
		(id, format, via, source, friendly_name, ieee, model, vendor, kind, availability, note, first_seen, last_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
		format = CASE WHEN discovered.format = '' THEN excluded.format ELSE discovered.format END,
		source = CASE WHEN discovered.source = '' THEN excluded.source ELSE discovered.source END,
		friendly_name = CASE WHEN discovered.friendly_name = '' THEN excluded.friendly_name ELSE discovered.friendly_name END,
		ieee = CASE WHEN discovered.ieee = '' THEN excluded.ieee ELSE discovered.ieee END,
		model = CASE WHEN discovered.model = '' THEN excluded.model ELSE discovered.model END,
		vendor = CASE WHEN discovered.vendor = '' THEN excluded.vendor ELSE discovered.vendor END,
		availability = CASE WHEN discovered.availability = '' THEN excluded.availability ELSE discovered.availability END,
		note = CASE WHEN discovered.kind <> '' THEN discovered.note ELSE excluded.note END,
		kind = CASE WHEN discovered.kind = '' THEN excluded.kind ELSE discovered.kind END,
		last_seen = max(discovered.last_seen, excluded.last_seen)`

func saveEntity(ctx context.Context, tx *sql.Tx, m DiscoveryMessage) error {
	d := clipDiscovered(m.Devices[0])
	topic, _ := clip(m.Topic, maxTopic)
	at := m.Received.UnixNano()
	if _, err := tx.ExecContext(ctx, upsertAnnounced, d.ID, d.Format, devices.ViaHomeAssistant, d.Source, d.FriendlyName, d.IEEE,
		d.Model, d.Vendor, d.Kind, d.Availability, d.Note, at, at); err != nil {
		return fmt.Errorf("discovered device %q: %w", d.ID, err)
	}
	old, err := entityDevice(ctx, tx, topic)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO discovered_entities (topic, discovered_id, kind, source, seen) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (topic) DO UPDATE SET discovered_id = excluded.discovered_id, kind = excluded.kind,
		source = excluded.source, seen = excluded.seen`, topic, d.ID, d.Kind, d.Source, at); err != nil {
		return err
	}
	if old != "" && old != d.ID {
		return dropOrphan(ctx, tx, old)
	}
	return nil
}

func removeEntity(ctx context.Context, tx *sql.Tx, topic string) error {
	topic, _ = clip(topic, maxTopic)
	id, err := entityDevice(ctx, tx, topic)
	if err != nil || id == "" {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM discovered_entities WHERE topic = ?`, topic); err != nil {
		return err
	}
	return dropOrphan(ctx, tx, id)
}

func entityDevice(ctx context.Context, tx *sql.Tx, topic string) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, `SELECT discovered_id FROM discovered_entities WHERE topic = ?`, topic).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// dropOrphan deletes a device that nothing announces any more, unless it
// was accepted.
func dropOrphan(ctx context.Context, tx *sql.Tx, id string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM discovered WHERE id = ? AND listed = 0 AND accepted_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM discovered_entities e WHERE e.discovered_id = discovered.id)`, id)
	return err
}

func clipDiscovered(d devices.Discovered) devices.Discovered {
	for _, s := range []*string{&d.Source, &d.FriendlyName, &d.IEEE, &d.Model, &d.Vendor, &d.Availability, &d.Note} {
		*s, _ = clip(*s, maxDiscoveredText)
	}
	id, _ := clip(d.ID, maxKey)
	d.ID = id
	return d
}

const discoveredColumns = `id, format, via, base, listed, source, friendly_name, ieee, model, vendor, kind,
	availability, note, first_seen, last_seen, accepted_at, device_id`

func scanDiscovered(s scanner) (DiscoveredDevice, error) {
	var (
		d           DiscoveredDevice
		first, last int64
		accepted    sql.NullInt64
		deviceID    sql.NullString
	)
	err := s.Scan(&d.ID, &d.Format, &d.Via, &d.Base, &d.Listed, &d.Source, &d.FriendlyName, &d.IEEE, &d.Model, &d.Vendor,
		&d.Kind, &d.Availability, &d.Note, &first, &last, &accepted, &deviceID)
	if err != nil {
		return DiscoveredDevice{}, err
	}
	d.FirstSeen, d.LastSeen = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
	d.AcceptedAt, d.DeviceID = timeOf(accepted), deviceID.String
	d.Accepted = d.AcceptedAt != nil
	return d, nil
}

// ListDiscovered returns one page of discovered devices ordered by id.
func (db *DB) ListDiscovered(ctx context.Context, p Page) ([]DiscoveredDevice, error) {
	limit, err := checkLimit(p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list discovered devices: %w", err)
	}
	return queryList(ctx, db.r, "list discovered devices", scanDiscovered, `SELECT `+discoveredColumns+` FROM discovered WHERE id > ? ORDER BY id LIMIT ?`, p.After, limit)
}

// GetDiscovered returns one discovered device. ErrNotFound when there is
// none.
func (db *DB) GetDiscovered(ctx context.Context, id string) (DiscoveredDevice, error) {
	d, err := scanDiscovered(db.r.QueryRowContext(ctx, `SELECT `+discoveredColumns+` FROM discovered WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return DiscoveredDevice{}, fmt.Errorf("discovered device %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return DiscoveredDevice{}, fmt.Errorf("get discovered device %q: %w", id, err)
	}
	return d, nil
}

// AcceptDiscovered registers d as the device that the discovered device id
// proposed, and marks the proposal accepted at at, in one transaction.
// ErrNotFound when no device of that id was discovered; ErrConflict when it
// was accepted already, or as CreateDevice (the device id or its format
// and source are taken); ErrInvalid as CreateDevice.
func (db *DB) AcceptDiscovered(ctx context.Context, id string, d devices.Device, at time.Time) error {
	d = DeviceDefaults(d)
	if err := ValidateDevice(d); err != nil {
		return fmt.Errorf("accept discovered device %q: %w", id, err)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		var accepted sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT device_id FROM discovered WHERE id = ?`, id).Scan(&accepted)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case accepted.Valid:
			return fmt.Errorf("%w: it was accepted already as device %q", ErrConflict, accepted.String)
		}
		if err := checkFree(ctx, tx, "devices", d.ID); err != nil {
			return fmt.Errorf("device %q: %w", d.ID, err)
		}
		if err := checkDeviceRefs(ctx, tx, d); err != nil {
			return err
		}
		// The columns CreateDevice writes; health starts unknown.
		if _, err := tx.ExecContext(ctx, `INSERT INTO devices
			(id, bed_id, kind, format, source, model, installed_at, warranty_until)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.BedID, d.Kind, d.Format, d.Source, d.Model, nanos(d.InstalledAt), nanos(d.WarrantyUntil)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE discovered SET accepted_at = ?, device_id = ? WHERE id = ?`, at.UnixNano(), d.ID, id)
		return err
	})
	return subjectErr("accept discovered device", id, err)
}

// Zigbee2MQTTLists returns the friendly names of every Zigbee2MQTT base,
// for the registry to load at start.
func (db *DB) Zigbee2MQTTLists(ctx context.Context) ([]Zigbee2MQTTList, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT base, name, ieee, received FROM zigbee2mqtt_names ORDER BY base, name`)
	if err != nil {
		return nil, fmt.Errorf("load Zigbee2MQTT names: %w", err)
	}
	defer rows.Close()
	var out []Zigbee2MQTTList
	for rows.Next() {
		var base, name, ieee string
		var received int64
		if err := rows.Scan(&base, &name, &ieee, &received); err != nil {
			return nil, fmt.Errorf("load Zigbee2MQTT names: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Base != base {
			out = append(out, Zigbee2MQTTList{Base: base, Names: map[string]string{}})
		}
		l := &out[len(out)-1]
		l.Names[name] = ieee
		if t := time.Unix(0, received).UTC(); t.After(l.Received) {
			l.Received = t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load Zigbee2MQTT names: %w", err)
	}
	return out, nil
}
