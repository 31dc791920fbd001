package journal

import (
	"context"
	"fmt"
)

// pendingBatch holds encoded records waiting for the next group commit.
type pendingBatch struct {
	buf  []byte // encoded records, back to back
	recs []pending
}

type pending struct {
	start, end int // the record's bytes in buf
	hash       uint64
	dup        bool
	dropped    bool // a recognised redelivery: not written
	ack        func()
}

func (b *pendingBatch) reset() {
	clear(b.recs) // drop the ack closures
	b.recs = b.recs[:0]
	if cap(b.buf) > shrinkPendingAboveCap {
		b.buf = nil // a burst is over; do not pin its memory
	}
	b.buf = b.buf[:0]
}

// Append adds a record to the next group commit. It copies what it keeps.
// It blocks while MaxUnacked records (or MaxUnackedBytes) are outstanding and
// returns ctx.Err() if ctx ends first, ErrClosed once Run has ended, or the
// error that stopped Run.
//
// ack, if not nil, runs after the record's batch is fsynced (or, for a
// recognised redelivery, after the batch it would have been in), in Append
// order, on the journal's sync goroutine. It must be quick and must not call
// Append or wait for anything the journal does.
func (j *Journal) Append(ctx context.Context, rec Record, ack func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	nanos, err := unixNanos(rec.Received)
	if err != nil {
		return fmt.Errorf("append record: %w", err)
	}
	size := encodedLen(rec.Topic, rec.Payload)
	if size > j.opts.MaxRecordBytes {
		return fmt.Errorf("append record of %d bytes (limit %d): %w", size, j.opts.MaxRecordBytes, ErrTooLarge)
	}
	hash := recordHash(rec.Topic, rec.Payload)

	j.mu.Lock()
	for {
		if err := j.refusalLocked(); err != nil {
			j.mu.Unlock()
			return fmt.Errorf("append record: %w", err)
		}
		if j.unacked == 0 || (j.unacked < j.opts.MaxUnacked && j.unackedBytes+size <= j.opts.MaxUnackedBytes) {
			break
		}
		if err := j.waitSpaceLocked(ctx); err != nil {
			return err
		}
	}
	p := j.pending
	wake := len(p.recs) == 0
	start := len(p.buf)
	p.buf = appendRecord(p.buf, nanos, rec.Topic, rec.Payload)
	p.recs = append(p.recs, pending{start: start, end: len(p.buf), hash: hash, dup: rec.Duplicate, ack: ack})
	j.unacked++
	j.unackedBytes += size
	j.mu.Unlock()
	if wake {
		// One signal per batch: records added while this one waits join it.
		select {
		case j.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// Drain waits until no appended record is outstanding: all have been
// committed and acked. The transport calls it after it stops taking
// messages, so that their acks go out before it disconnects. It returns
// ctx.Err() if ctx ends first, or why the journal can no longer commit them.
func (j *Journal) Drain(ctx context.Context) error {
	j.mu.Lock()
	for j.unacked > 0 {
		// A stopped Run still commits what is pending; a failed one or a
		// closed journal never will.
		if j.failed != nil || j.isClosed() {
			err := j.refusalLocked()
			j.mu.Unlock()
			return fmt.Errorf("drain journal: %w", err)
		}
		if err := j.waitSpaceLocked(ctx); err != nil {
			return err
		}
	}
	j.mu.Unlock()
	return nil
}

// waitSpaceLocked waits, with j.mu released, until a commit frees room or
// ctx ends. It returns with j.mu held, or unlocked with ctx.Err().
func (j *Journal) waitSpaceLocked(ctx context.Context) error {
	room := j.space
	j.spaceWaiters = true
	j.mu.Unlock()
	select {
	case <-room:
	case <-ctx.Done():
		return ctx.Err()
	}
	j.mu.Lock()
	return nil
}

// Writable reports why Append would refuse a record now: the error that
// stopped Run, or ErrClosed once Run has ended or the journal is closed. It
// is nil while the journal takes records (for readiness checks).
func (j *Journal) Writable() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.refusalLocked()
}

func (j *Journal) refusalLocked() error {
	switch {
	case j.failed != nil:
		return j.failed
	case j.stopped || j.isClosed():
		return ErrClosed
	}
	return nil
}
