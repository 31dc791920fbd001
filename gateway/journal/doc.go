// Package journal owns the durable hand-over between the MQTT subscriber and
// the gateway's consumers (the telemetry writer, the device-state consumer,
// the alarm engine): an append-only log with group commit, one cursor per
// consumer, duplicate detection for redeliveries, and a bound on what is in
// flight.
//
// A record is acknowledged (its ack function runs) only after the batch that
// holds it has been written and fsynced. Consumers read committed entries with
// their own cursor, so a crash replays entries instead of losing them, and a
// slow consumer never slows the others or the ingest path.
//
// This package must never acknowledge a record before it is durable, never
// drop a record that the transport did not mark as a redelivery, never remove
// an entry that a consumer has not durably finished (less Retain), and never
// log payloads, topics or anything else an elder could be identified by. It
// knows nothing of MQTT, devices or alarms: records are opaque bytes.
//
// # On disk
//
// Under Options.Dir:
//
//	log/      segment files, each named after the index of its first entry
//	          (20 decimal digits)
//	cursors/  one file per consumer: <name>.cursor
//
// A segment file is a run of entries, each a uvarint length and then that
// many bytes (the binary format of github.com/tidwall/wal, which earlier
// releases used: their logs open as they are). A new segment starts when the
// next entry would take the tail past Options.SegmentSize. Each entry is one
// record:
//
//	version  1 byte (1)
//	received 8 bytes, int64 Unix nanoseconds, little endian (0 = zero time)
//	topic    uvarint length, then the bytes
//	payload  the rest, up to the checksum
//	crc      4 bytes, CRC-32C (Castagnoli) of everything before it
//
// A cursor file holds the last finished index (8 bytes, little endian) and a
// CRC-32C of it. It is written to a temporary file, fsynced and renamed, once
// a second per consumer while it moves (by a goroutine of its own, so the
// consumer never waits for it), when a consumer stops, and at Close. A lost
// cursor update only means the consumer sees entries again. Each save is
// two fsyncs that share the disk with the group commit's: saving every
// 100 ms instead cost the alarm path some milliseconds at its 99th
// percentile.
//
// # Choices
//
//   - Group commit: Append only copies the encoded record into the pending
//     batch. Run's goroutine swaps that batch out, drops recognised
//     redeliveries, frames the rest into the tail segment's buffer and
//     writes them with one write(2) per segment; a second goroutine, owned
//     by Run, fsyncs the file, publishes the entries to readers and runs the
//     acks in Append order. While one batch is being fsynced the next is written,
//     and records that arrive meanwhile form the one after: there is no
//     linger timer. A segment is fsynced before the next one is created, so
//     only the tail can ever be torn.
//   - Repair: at Open the last segment is checked entry by entry; a torn last
//     entry and any trailing entries whose checksum fails are cut off (they
//     were never acknowledged). A bad entry followed by good ones is kept;
//     Read reports it as a *CorruptError and Consume skips it, counting it in
//     Stats.CorruptSkipped, so one damaged entry cannot stop every later
//     alarm.
//   - Duplicates: the 64-bit FNV-1a hash of topic and payload of the last
//     DedupeWindow written records is kept in memory and rebuilt from the
//     log's tail at Open. Only records flagged Duplicate are checked.
//   - A new consumer starts at the first entry still in the log. Its cursor
//     file is written at once, so front truncation takes it into account.
//   - Front truncation runs in Run's goroutine and removes whole segment
//     files, oldest first, keeping Retain entries behind the lowest cursor as
//     stored on disk (not the one in memory). As long as no consumer has ever
//     registered, nothing is truncated.
//   - Memory: pending records are bounded by MaxUnacked and MaxUnackedBytes.
//     The tail segment lives in a buffer allocated at its full size when the
//     segment starts, so writing never copies it; entries are read from it
//     in place, and the views Read returns stay valid because it never
//     moves. Older segments are read whole from their files when a lagging
//     consumer needs them, and the last one is cached: with the 2 MiB
//     default SegmentSize that is about 4 MiB.
package journal
