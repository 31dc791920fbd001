// Package telemetry stores observations as time series and answers the
// queries that charts and the telemetry API ask. It owns the time-series
// schema below and two stores behind one interface, Store: InfluxDB through
// the v2 write and Flux query API (InfluxDB 2.x, Cloud, or 1.8 with
// flux-enabled and a "db/rp" bucket), and an embedded SQLite store used when
// no InfluxDB is configured.
//
// # Schema
//
// One point per observation that has at least one field:
//
//	measurement  the observation's stream: vitals, env, status, fall, sos,
//	             availability, visit
//	tags         agency, bed, device, kind (device kind); empty values are
//	             omitted. Tags are identifiers of low cardinality only, never
//	             an elder's name or any other personal data.
//	fields       the observation's fields with their own types: float
//	             (heart_rate=72), bool (in_bed=true), string (state="fall")
//	timestamp    the observation's time (the device's time, or the receive
//	             time when the device gave none), nanosecond precision
//
// A point is a pure function of its observation, so writing the same
// observation twice stores it once: a replayed batch never duplicates data.
//
// Observations without fields make no point and are skipped silently. An
// observation that cannot become a valid point (unknown stream, no time,
// a NaN or infinite value, an empty field name, a tag containing a newline)
// is dropped and reported, with the reason, to the DropFunc given to the
// store; so is a point that the server refuses (a field type conflict).
//
// The embedded store keeps one row per field in the table points (ts in Unix
// nanoseconds, measurement, agency, bed, device, kind, field, num, str),
// keyed by (measurement, device, field, ts); booleans are stored as 0 and 1
// in num so that they can be charted, strings in str.
//
// # Queries
//
// Query returns one field of one bed over [From, To): every numeric point in
// time order (booleans as 0 and 1, string values left out), or with Every
// set, the mean over windows of that length aligned to the Unix epoch and
// stamped with the window's start; windows without data are left out. Points
// of the same field from several devices or measurements of the bed are
// merged.
//
// # Errors
//
// Write returns nil when every point was stored or definitively dropped, and
// an error wrapping ErrRetry when the whole batch must be written again later
// (server unreachable, timeout, 5xx, 429, or a configuration problem such as
// a bad token or a missing bucket, where dropping data would be wrong).
// Durability across outages is the caller's job: this package keeps nothing
// in memory between calls.
//
// This package must never log or store personal data, and never retries on
// its own: the caller decides when to try again.
package telemetry
