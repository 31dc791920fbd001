package journal

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Read appends to dst[:0] the committed entries from index from (inclusive),
// at most max of them. Entries removed by front truncation give ErrTruncated.
// An entry whose checksum fails stops the read: the entries before it are
// returned together with a *CorruptError (errors.Is ErrCorrupt).
//
// Each entry's Payload is a view into the log's own buffer, not a copy:
// never change it, and copy what must outlive the batch (a kept view keeps
// its whole segment, megabytes, in memory). dst is the caller's to reuse.
func (j *Journal) Read(from uint64, max int, dst []Entry) ([]Entry, error) {
	dst = dst[:0]
	from = max64(from, 1)
	last := j.committed.Load()
	if max <= 0 || from > last {
		return dst, nil
	}
	end := last
	if uint64(max) <= last-from {
		end = from + uint64(max) - 1
	}
	for i := from; i <= end; {
		// The view (maybe a disk read) is taken without topicsMu, which
		// is then held over the entries it covers.
		v, stop, err := j.log.span(i, end)
		if err != nil {
			var corrupt *CorruptError
			if errors.As(err, &corrupt) {
				return dst, err
			}
			return dst, fmt.Errorf("read entry %d: %w", i, err)
		}
		j.topicsMu.Lock()
		for ; i < stop; i++ {
			nanos, topic, payload, err := decodeRecord(v.entry(i))
			if err != nil {
				j.topicsMu.Unlock()
				return dst, &CorruptError{Index: i, Err: err}
			}
			dst = append(dst, Entry{
				Index:    i,
				Received: fromNanos(nanos),
				Topic:    j.internLocked(topic),
				Payload:  payload[:len(payload):len(payload)],
			})
		}
		j.topicsMu.Unlock()
	}
	return dst, nil
}

func max64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// internLocked returns topic as a string, sharing one copy per distinct
// topic. The caller holds topicsMu.
func (j *Journal) internLocked(topic []byte) string {
	if s, ok := j.topics[string(topic)]; ok {
		return s
	}
	if len(j.topics) >= maxInternedTopics {
		clear(j.topics)
	}
	s := string(topic)
	j.topics[s] = s
	return s
}

// commitWaiter returns a channel that is closed after the next commit, or nil
// if entries after index are already committed.
func (j *Journal) commitWaiter(index uint64) <-chan struct{} {
	j.notifyMu.Lock()
	defer j.notifyMu.Unlock()
	if j.committed.Load() > index {
		return nil
	}
	j.notifyWaiters = true
	return j.notify
}

// Consume feeds consumer name the committed entries after its cursor, at most
// max (default 1024) per call of fn, until ctx ends; then it stores the cursor
// and returns nil. When fn returns nil the cursor moves past the batch; when
// it fails, the same batch is offered again after a back-off that doubles
// from 50ms to 5s. fn must be idempotent: after a crash the entries since the
// last stored cursor come again. The batch slice is reused after fn returns;
// the payloads in it are views into the log (see Read): copy what you keep.
//
// An entry whose checksum fails is skipped and counted in
// Stats.CorruptSkipped. Consume returns an error if the log cannot be read or
// the cursor cannot be stored, and ErrClosed if the journal is closed under
// it. Only one Consume per name may run at a time.
func (j *Journal) Consume(ctx context.Context, name string, max int, fn func(ctx context.Context, batch []Entry) error, opts ...ConsumeOption) error {
	if max <= 0 {
		max = defaultConsumeBatch
	}
	var co consumeOptions
	for _, o := range opts {
		o(&co)
	}
	c, err := j.acquire(name)
	if err != nil {
		return err
	}
	defer c.active.Store(false)
	c.setBeforeSave(co.beforeSave)
	defer c.setBeforeSave(nil)
	// The cursor is stored on a goroutine of its own: the fsyncs of a
	// save (and a consumer's beforeSave) never hold up the next batch.
	stopSaving, saveFailed := j.keepSaved(c)
	defer stopSaving()
	finish := func() error {
		stopSaving()
		return j.saveCursor(c, false)
	}
	var batch []Entry
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return finish()
		}
		select {
		case err := <-saveFailed:
			return err
		default:
		}
		next := c.pos.Load() + 1
		if co.linger > 0 {
			j.gather(ctx, next, max, co.linger, timer)
		}
		batch, err = j.Read(next, max, batch)
		if len(batch) > 0 {
			if !j.deliver(ctx, timer, batch, fn) {
				return finish()
			}
			c.pos.Store(batch[len(batch)-1].Index)
			clear(batch) // let the payloads go
			continue
		}
		if ce := (*CorruptError)(nil); errors.As(err, &ce) && ce.Index == next {
			c.pos.Store(next)
			j.corruptSkipped.Add(1)
			continue
		}
		if err != nil {
			return fmt.Errorf("consume %q: %w", name, err)
		}
		if err := j.idle(ctx, c, saveFailed); err != nil {
			return err
		}
	}
}

// keepSaved stores c's position every persistEvery while it moves, until
// the returned stop is called (stop waits for a save in progress). A failed
// save ends it; its error arrives on failed.
func (j *Journal) keepSaved(c *cursor) (stop func(), failed <-chan error) {
	quit, done := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(done)
		tick := time.NewTicker(j.persistEvery)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				if err := j.saveCursor(c, false); err != nil {
					errc <- err
					return
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		<-done
	}, errc
}

// ConsumeOption tunes one consumer.
type ConsumeOption func(*consumeOptions)

type consumeOptions struct {
	linger     time.Duration
	beforeSave func(ctx context.Context) error
}

// WithBeforeCursorSave runs fn before the consumer's cursor is stored: a
// consumer that keeps its results in its own store (the alarm desk) makes
// them durable there first, so the journal never forgets entries whose
// results a power cut could take back. If fn fails the cursor is not
// stored and Consume returns the error.
func WithBeforeCursorSave(fn func(ctx context.Context) error) ConsumeOption {
	return func(o *consumeOptions) { o.beforeSave = fn }
}

// WithLinger lets a consumer wait up to d for a full batch once at least
// one entry is there, trading a little latency for fewer, larger batches
// (a time-series writer, say). The alarm path should not linger.
func WithLinger(d time.Duration) ConsumeOption {
	return func(o *consumeOptions) { o.linger = d }
}

// gather waits, from the moment an entry at or after next is committed,
// until max entries are there or linger has passed.
func (j *Journal) gather(ctx context.Context, next uint64, max int, linger time.Duration, timer *time.Timer) {
	if j.committed.Load() < next {
		return // nothing yet: idle waits for the first entry
	}
	timer.Reset(linger)
	defer timer.Stop()
	for {
		last := j.committed.Load()
		if last+1-next >= uint64(max) {
			return
		}
		commit := j.commitWaiter(last)
		if commit == nil {
			continue
		}
		select {
		case <-commit:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		case <-j.closed:
			return
		}
	}
}

// idle waits for the next commit, the end of ctx, or a failed cursor save,
// whichever comes first.
func (j *Journal) idle(ctx context.Context, c *cursor, saveFailed <-chan error) error {
	commit := j.commitWaiter(c.pos.Load())
	if commit == nil {
		return nil
	}
	select {
	case <-commit:
	case err := <-saveFailed:
		return err
	case <-ctx.Done():
	case <-j.closed:
		return fmt.Errorf("consume %q: %w", c.name, ErrClosed)
	}
	return nil
}

// deliver calls fn until it succeeds, backing off between failures. It
// reports false if ctx ended first.
func (j *Journal) deliver(ctx context.Context, timer *time.Timer, batch []Entry, fn func(context.Context, []Entry) error) bool {
	delay := j.retryMin
	for {
		if fn(ctx, batch) == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		j.retries.Add(1)
		timer.Reset(delay)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return false
		}
		delay = min(2*delay, j.retryMax)
	}
}
