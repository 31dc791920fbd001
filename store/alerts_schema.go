package store

// alertsSchema is migration step 4: alerts with their audit trail, the
// notification outbox, the alarm consumer's rule state and journal cursor,
// and what escalation reads (people, duties, policies, silences).
//
// Alerts keep agency_id and bed_id as plain text, without a foreign key: an
// alert is an audit record that outlives its bed, and the alarm path must
// never fail because a bed was deleted between a signal and its commit.
// The partial unique index alerts_unresolved is the store's half of "at
// most one alert per bed and kind that is not resolved".
//
// The roster refers to the registry: people and duties may not outlive
// their agency (deleting an agency that still has them is a conflict), a
// policy goes with its agency, and a silence goes with its bed.
const alertsSchema = `CREATE TABLE alerts (
		id               INTEGER PRIMARY KEY AUTOINCREMENT,
		agency_id        TEXT NOT NULL,
		bed_id           TEXT NOT NULL,
		device_id        TEXT NOT NULL DEFAULT '',
		kind             TEXT NOT NULL,
		severity         TEXT NOT NULL,
		state            TEXT NOT NULL,
		raised_at        INTEGER NOT NULL,
		last_seen        INTEGER NOT NULL,
		count            INTEGER NOT NULL,
		acknowledged_at  INTEGER,
		acknowledged_by  TEXT NOT NULL DEFAULT '',
		resolved_at      INTEGER,
		resolved_by      TEXT NOT NULL DEFAULT '',
		cleared_at       INTEGER,
		silenced         INTEGER NOT NULL DEFAULT 0,
		escalation_level INTEGER NOT NULL DEFAULT 0,
		next_escalation  INTEGER,
		arrived_at       INTEGER,
		detail           TEXT NOT NULL DEFAULT ''
	);
	CREATE UNIQUE INDEX alerts_unresolved ON alerts (bed_id, kind) WHERE state <> 'resolved';
	CREATE INDEX alerts_state ON alerts (state, id);
	CREATE INDEX alerts_bed ON alerts (bed_id, id);
	CREATE INDEX alerts_kind ON alerts (kind, id);
	CREATE INDEX alerts_agency ON alerts (agency_id, id);
	CREATE INDEX alerts_raised_at ON alerts (raised_at);

	CREATE TABLE alert_trail (
		id       INTEGER PRIMARY KEY,
		alert_id INTEGER NOT NULL REFERENCES alerts (id),
		at       INTEGER NOT NULL,
		actor    TEXT NOT NULL,
		action   TEXT NOT NULL,
		state    TEXT NOT NULL,
		note     TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX alert_trail_alert ON alert_trail (alert_id, id);

	CREATE TABLE notifications (
		id           INTEGER PRIMARY KEY AUTOINCREMENT,
		alert_id     INTEGER NOT NULL REFERENCES alerts (id),
		person_id    TEXT NOT NULL,
		target       TEXT NOT NULL,
		level        INTEGER NOT NULL,
		reason       TEXT NOT NULL,
		at           INTEGER NOT NULL,
		next_attempt INTEGER NOT NULL,
		sent_at      INTEGER,
		failed_at    INTEGER,
		attempts     INTEGER NOT NULL DEFAULT 0,
		last_error   TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX notifications_alert ON notifications (alert_id, id);
	CREATE INDEX notifications_due ON notifications (next_attempt, id) WHERE sent_at IS NULL AND failed_at IS NULL;

	CREATE TABLE rule_state (
		bed_id TEXT PRIMARY KEY,
		data   BLOB NOT NULL
	) WITHOUT ROWID;

	CREATE TABLE alert_cursor (
		id            INTEGER PRIMARY KEY CHECK (id = 1),
		journal_index INTEGER NOT NULL
	);

	CREATE TABLE people (
		id        TEXT PRIMARY KEY,
		agency_id TEXT NOT NULL REFERENCES agencies (id),
		name      TEXT NOT NULL,
		phone     TEXT NOT NULL DEFAULT '',
		role      TEXT NOT NULL
	);
	CREATE INDEX people_agency ON people (agency_id, id);

	CREATE TABLE duties (
		id        INTEGER PRIMARY KEY AUTOINCREMENT,
		agency_id TEXT NOT NULL REFERENCES agencies (id),
		person_id TEXT NOT NULL REFERENCES people (id),
		target    TEXT NOT NULL,
		beds      TEXT NOT NULL DEFAULT '[]',
		cron      TEXT NOT NULL DEFAULT '',
		length    INTEGER NOT NULL DEFAULT 0,
		start_at  INTEGER,
		end_at    INTEGER
	);
	CREATE INDEX duties_agency ON duties (agency_id, id);
	CREATE INDEX duties_person ON duties (person_id, id);

	CREATE TABLE policies (
		agency_id    TEXT PRIMARY KEY REFERENCES agencies (id) ON DELETE CASCADE,
		steps        TEXT NOT NULL,
		repeat_every INTEGER NOT NULL DEFAULT 0
	);

	CREATE TABLE silences (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		bed_id     TEXT NOT NULL REFERENCES beds (id) ON DELETE CASCADE,
		device_id  TEXT NOT NULL DEFAULT '',
		until      INTEGER NOT NULL,
		reason     TEXT NOT NULL DEFAULT '',
		created_by TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL
	);
	CREATE INDEX silences_bed ON silences (bed_id, until);
	CREATE INDEX silences_until ON silences (until);`
