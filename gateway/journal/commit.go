package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Run is the group-commit loop; it also truncates the front of the log every
// Options.TruncateEvery. When ctx ends it commits what is pending and returns
// nil. It returns an error when writing or syncing the log fails; the journal
// then refuses further appends (an fsync error cannot be retried safely) and
// the acks of the records not yet synced never run.
//
// Run keeps two stages busy: this goroutine encodes and writes batch N+1
// while a second one, owned by Run, fsyncs batch N and runs its acks.
func (j *Journal) Run(ctx context.Context) error {
	if !j.runState.CompareAndSwap(runIdle, runActive) {
		return errors.New("run journal: Run was already called")
	}
	defer j.runState.Store(runDone)
	if j.isClosed() {
		return fmt.Errorf("run journal: %w", ErrClosed)
	}
	j.toSync = make(chan handoff)
	j.syncReady = make(chan struct{}, 1)
	j.syncStop = make(chan struct{})
	synced := make(chan error, 1)
	go func() { synced <- j.syncLoop() }()

	werr := j.writeLoop(ctx)
	close(j.toSync)
	serr := <-synced
	if errors.Is(werr, errSyncStopped) {
		werr = nil // serr says why
	}
	if err := errors.Join(werr, serr); err != nil {
		return j.fail(err)
	}
	return nil
}

func (j *Journal) isClosed() bool {
	select {
	case <-j.closed:
		return true
	default:
		return false
	}
}

// errSyncStopped tells the writer that the syncer gave up; Run reports the
// syncer's own error.
var errSyncStopped = errors.New("sync stage stopped")

func (j *Journal) writeLoop(ctx context.Context) error {
	tick := time.NewTicker(j.opts.TruncateEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return j.drain()
		case <-j.kick:
			if _, err := j.writePending(); err != nil {
				return err
			}
		case <-tick.C:
			if err := j.truncate(); err != nil {
				return err
			}
		case <-j.syncStop:
			return errSyncStopped
		}
	}
}

// drain refuses new appends and writes everything still pending.
func (j *Journal) drain() error {
	j.mu.Lock()
	j.stopped = true
	j.wakeAppendersLocked()
	j.mu.Unlock()
	for {
		n, err := j.writePending()
		if err != nil || n == 0 {
			return err
		}
	}
}

func (j *Journal) fail(err error) error {
	err = fmt.Errorf("journal commit: %w", err)
	j.mu.Lock()
	j.failed = err
	j.wakeAppendersLocked()
	j.mu.Unlock()
	return err
}

func (j *Journal) wakeAppendersLocked() {
	if j.spaceWaiters {
		close(j.space)
		j.space = make(chan struct{})
		j.spaceWaiters = false
	}
}

// handoff is one written group of records on its way to the syncer.
type handoff struct {
	batch   *pendingBatch
	recs    []pending
	last    uint64 // last index written by this group; 0 if none
	flushed        // what to fsync and close
	release bool   // last group of batch: recycle it after the acks
}

// writePending takes the pending batch and writes it in groups of at most
// MaxBatch records, handing each to the syncer. It returns how many records
// it took.
func (j *Journal) writePending() (int, error) {
	// Keep the group open until the syncer can take it: records arriving
	// while it syncs the last group or waits out CommitInterval join this
	// one instead of waiting for the group after.
	select {
	case <-j.syncReady:
	case <-j.syncStop:
		return 0, errSyncStopped
	}
	var spare *pendingBatch
	select {
	case spare = <-j.free:
	case <-j.syncStop:
		return 0, errSyncStopped
	}
	j.mu.Lock()
	b := j.pending
	j.pending = spare
	j.mu.Unlock()
	n := len(b.recs)
	if n == 0 {
		j.free <- b
		select { // unused: the syncer still waits for a group
		case j.syncReady <- struct{}{}:
		default: // never full: the syncer puts one back per group it waits for
		}
		return 0, nil
	}
	for start := 0; start < n; start += j.opts.MaxBatch {
		end := min(start+j.opts.MaxBatch, n)
		h, err := j.write(b, b.recs[start:end])
		if err != nil {
			return n, err
		}
		h.release = end == n
		select {
		case j.toSync <- h:
		case <-j.syncStop:
			closeFiles(h.retired)
			return n, errSyncStopped
		}
	}
	return n, nil
}

// write drops recognised redeliveries and writes the other records of one
// group to the log (no fsync).
func (j *Journal) write(b *pendingBatch, recs []pending) (handoff, error) {
	began := time.Now()
	h := handoff{batch: b, recs: recs}
	idx := j.written
	for i := range recs {
		r := &recs[i]
		if r.dup && j.window.has(r.hash) {
			r.dropped = true
			continue
		}
		idx++
		if err := j.log.add(idx, b.buf[r.start:r.end]); err != nil {
			return h, err
		}
		j.window.add(r.hash)
	}
	if idx == j.written {
		return h, nil // nothing but redeliveries
	}
	f, err := j.log.flush()
	if err != nil {
		return h, fmt.Errorf("write entries %d-%d: %w", j.written+1, idx, err)
	}
	h.flushed, h.last = f, idx
	j.written = idx
	j.commitNanos.Add(uint64(time.Since(began)))
	return h, nil
}

// syncLoop is the second stage of the group commit: it makes each written
// group durable, then publishes it and runs its acks in order.
func (j *Journal) syncLoop() error {
	defer close(j.syncStop)
	var last time.Time
	for {
		// Wait out the interval before taking the next group, not after:
		// records keep joining the writer's open group meanwhile, and a
		// group taken is synced at once.
		if wait := j.opts.CommitInterval - time.Since(last); wait > 0 && !j.opts.NoSync {
			time.Sleep(wait)
		}
		select {
		case j.syncReady <- struct{}{}: // the writer may close its group now
		default:
		}
		h, ok := <-j.toSync
		if !ok {
			return nil
		}
		last = time.Now()
		if err := j.sync(h); err != nil {
			return err
		}
		j.publish(h)
	}
}

func (j *Journal) sync(h handoff) error {
	defer closeFiles(h.retired) // already fsynced, see segmentLog.cycle
	if h.last == 0 || j.opts.NoSync {
		return nil
	}
	began := time.Now()
	if err := h.file.Sync(); err != nil {
		return fmt.Errorf("sync entries up to %d: %w", h.last, err)
	}
	if h.created {
		if err := syncDir(j.logDir); err != nil {
			return err
		}
	}
	j.commitNanos.Add(uint64(time.Since(began)))
	return nil
}

// closeFiles closes the files of segments the log has moved on from. A
// failure loses nothing: their contents were fsynced before.
func closeFiles(fs []*os.File) {
	for _, f := range fs {
		_ = f.Close()
	}
}

// publish makes a synced group visible to readers, acks it and frees room.
func (j *Journal) publish(h handoff) {
	var dups uint64
	if h.last != 0 {
		j.records.Add(h.last - j.committed.Load())
		j.committed.Store(h.last)
		j.commits.Add(1)
	}
	bytes := 0
	for i := range h.recs {
		bytes += h.recs[i].end - h.recs[i].start
		if h.recs[i].dropped {
			dups++
		}
	}
	j.duplicates.Add(dups)
	for i := range h.recs {
		if ack := h.recs[i].ack; ack != nil {
			ack()
		}
	}

	j.mu.Lock()
	j.unacked -= len(h.recs)
	j.unackedBytes -= bytes
	j.wakeAppendersLocked()
	j.mu.Unlock()

	if h.last != 0 {
		j.notifyMu.Lock()
		if j.notifyWaiters {
			close(j.notify)
			j.notify = make(chan struct{})
			j.notifyWaiters = false
		}
		j.notifyMu.Unlock()
	}
	if h.release {
		h.batch.reset()
		j.free <- h.batch
	}
}
