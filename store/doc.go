// Package store owns the state database: agencies, beds, devices with their
// health, devices seen on the wire but not registered, and the bounded
// dead-letter store of messages that could not be used. It also owns the
// schema and its migrations.
//
// The default backend is a SQLite file (modernc.org/sqlite, pure Go) in WAL
// mode. Writes go through one connection, so writers inside the process queue
// in Go instead of racing for SQLite's lock; every write transaction starts
// with BEGIN IMMEDIATE and busy_timeout covers other processes that open the
// same file. Reads use a separate pool of read-only connections.
//
// Schema choices:
//   - Times are INTEGER Unix nanoseconds (NULL when unknown) and come back
//     in UTC.
//   - A bed's elder and family caregiver are plain columns (elder_name,
//     elder_birth_year, ..., caregiver_name, caregiver_phone) so that reports
//     can filter on them; booleans are INTEGER 0/1.
//   - Deleting is restricted: an agency with beds or a bed with devices
//     cannot be deleted (ErrConflict) until they are moved or deleted.
//   - A device's (format, source) pair is unique when source is set, so the
//     registry can never map one wire name to two devices.
//   - Dead letters and unknown devices are bounded (DefaultMaxDeadLetters,
//     DefaultMaxUnknown; options change them): the oldest go first.
//
// Errors are classified with errors.Is against ErrNotFound, ErrConflict and
// ErrInvalid; *ValidationError says which field is at fault and how to fix
// it. ErrInvalid means the call can never succeed as made: do not retry it.
//
// This package must never log, and never put an elder's or a family
// caregiver's personal data (names, phone numbers, address, birth year,
// disability level) into an error. It imports no transport and no
// configuration loader; callers pass what it needs.
package store
