package store

// discoverySchema is migration step 5: devices announced by Zigbee2MQTT's
// bridge/devices and Home Assistant discovery, waiting to be accepted, and
// the friendly names each Zigbee2MQTT hub lists.
//
//   - discovered: one row per proposed device id (the IEEE address when
//     known, so a Zigbee device that both announce is one row). base is the
//     Zigbee2MQTT base topic whose list holds it, empty when only Home
//     Assistant announced it; listed says it is in that hub's latest list.
//     accepted_at and device_id are set when an operator accepted it.
//   - discovered_entities: one row per Home Assistant discovery topic (an
//     entity), so that the removal of one entity removes its device only
//     when it was the last.
//   - zigbee2mqtt_names: the latest bridge/devices list of each base as
//     friendly name -> IEEE address, received at received, which the
//     registry loads at start to resolve topics before the retained list
//     arrives again.
const discoverySchema = `CREATE TABLE discovered (
		id            TEXT PRIMARY KEY,
		format        TEXT NOT NULL DEFAULT '',
		via           TEXT NOT NULL,
		base          TEXT NOT NULL DEFAULT '',
		listed        INTEGER NOT NULL DEFAULT 0,
		source        TEXT NOT NULL DEFAULT '',
		friendly_name TEXT NOT NULL DEFAULT '',
		ieee          TEXT NOT NULL DEFAULT '',
		model         TEXT NOT NULL DEFAULT '',
		vendor        TEXT NOT NULL DEFAULT '',
		kind          TEXT NOT NULL DEFAULT '',
		availability  TEXT NOT NULL DEFAULT '',
		note          TEXT NOT NULL DEFAULT '',
		first_seen    INTEGER NOT NULL,
		last_seen     INTEGER NOT NULL,
		accepted_at   INTEGER,
		device_id     TEXT
	);
	CREATE INDEX discovered_base ON discovered (base) WHERE base <> '';
	CREATE INDEX discovered_last_seen ON discovered (last_seen);
	CREATE TABLE discovered_entities (
		topic         TEXT PRIMARY KEY,
		discovered_id TEXT NOT NULL REFERENCES discovered (id) ON DELETE CASCADE,
		kind          TEXT NOT NULL DEFAULT '',
		source        TEXT NOT NULL DEFAULT '',
		seen          INTEGER NOT NULL
	);
	CREATE INDEX discovered_entities_device ON discovered_entities (discovered_id);
	CREATE TABLE zigbee2mqtt_names (
		base     TEXT NOT NULL,
		name     TEXT NOT NULL,
		ieee     TEXT NOT NULL,
		received INTEGER NOT NULL,
		PRIMARY KEY (base, name)
	);`
