package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero values in Options.
const (
	DefaultMaxUnacked      = 10000
	DefaultMaxUnackedBytes = 64 << 20
	DefaultMaxBatch        = 8192
	DefaultMaxRecordBytes  = 1 << 20
	DefaultDedupeWindow    = 50000
	DefaultSegmentSize     = 2 << 20 // the tail segment is held in memory, and older ones are read whole
	maxSegmentSize         = 1 << 30
	DefaultTruncateEvery   = 30 * time.Second
)

// Timings of consumers; fields of Journal so that tests may change them.
const (
	defaultRetryMin     = 50 * time.Millisecond
	defaultRetryMax     = 5 * time.Second
	defaultPersistEvery = time.Second
	defaultConsumeBatch = 1024
)

const (
	segmentCacheSize      = 1 // older segments kept in memory for lagging readers
	maxInternedTopics     = 1 << 14
	shrinkPendingAboveCap = 16 << 20 // a pending batch's buffer is dropped above this after a burst
	filePerm              = 0o640
	dirPerm               = 0o750
	logSubdir             = "log"
	curSubdir             = "cursors"
	cursorExt             = ".cursor"
	tmpExt                = ".tmp"
)

// Run's life cycle, in Journal.runState.
const (
	runIdle int32 = iota
	runActive
	runDone
)

// Options configures a Journal. Zero values take the defaults above.
type Options struct {
	Dir             string        // directory of the journal; created if missing
	MaxUnacked      int           // bound on records appended but not yet committed and acked; Append blocks beyond it
	MaxUnackedBytes int           // bound on the encoded bytes of those records; one record may always be in flight
	MaxBatch        int           // most records written per group commit
	MaxRecordBytes  int           // largest encoded record Append accepts
	DedupeWindow    int           // how many recent records are remembered for duplicate detection
	Retain          int           // records kept behind the slowest cursor (>= DedupeWindow); default DedupeWindow
	SegmentSize     int           // target size of a log segment file
	TruncateEvery   time.Duration // period of front truncation
	// CommitInterval is the least time between two fsyncs. Records arriving
	// meanwhile join the next group, so a busy journal makes fewer, larger
	// commits; it adds at most this much to a record's acknowledgement.
	// Zero commits as fast as the disk syncs.
	CommitInterval time.Duration
	NoSync         bool // tests and benchmarks only: skip fsync
}

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, errors.New("journal options: Dir is empty; set the directory that holds the journal")
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxUnacked, DefaultMaxUnacked)
	def(&o.MaxUnackedBytes, DefaultMaxUnackedBytes)
	def(&o.MaxBatch, DefaultMaxBatch)
	def(&o.MaxRecordBytes, DefaultMaxRecordBytes)
	def(&o.DedupeWindow, DefaultDedupeWindow)
	def(&o.Retain, o.DedupeWindow)
	def(&o.SegmentSize, DefaultSegmentSize)
	if o.TruncateEvery <= 0 {
		o.TruncateEvery = DefaultTruncateEvery
	}
	if o.MaxRecordBytes > maxSegmentSize {
		return o, fmt.Errorf("journal options: MaxRecordBytes %d is above %d; a record is held in memory whole, so keep it to a few MiB", o.MaxRecordBytes, maxSegmentSize)
	}
	if o.SegmentSize > maxSegmentSize {
		return o, fmt.Errorf("journal options: SegmentSize %d is above %d; segments are held in memory, so keep them to a few MiB", o.SegmentSize, maxSegmentSize)
	}
	if o.Retain < o.DedupeWindow {
		return o, fmt.Errorf("journal options: Retain %d is below DedupeWindow %d; raise Retain so the duplicate window can be rebuilt at start", o.Retain, o.DedupeWindow)
	}
	return o, nil
}

var (
	// ErrClosed is returned once the journal is stopped or closed.
	ErrClosed = errors.New("journal closed")
	// ErrCorrupt marks an entry or file whose checksum or framing is wrong.
	ErrCorrupt = errors.New("journal corrupt")
	// ErrTruncated is returned by Read for entries removed by front truncation.
	ErrTruncated = errors.New("journal entries truncated")
	// ErrTooLarge is returned by Append for a record above MaxRecordBytes.
	ErrTooLarge = errors.New("record too large")
	// ErrCursorBusy is returned by Consume when the named consumer already runs.
	ErrCursorBusy = errors.New("consumer already running")
)

// CorruptError reports an entry in the log that fails its checksum, or that
// is missing from the segment that should hold it.
type CorruptError struct {
	Index uint64
	Err   error // wraps ErrCorrupt
}

func (e *CorruptError) Error() string { return fmt.Sprintf("journal entry %d: %v", e.Index, e.Err) }
func (e *CorruptError) Unwrap() error { return e.Err }

// Record is what the transport hands to the journal.
type Record struct {
	Received  time.Time // receive time, stored with nanosecond precision
	Topic     string
	Payload   []byte
	Duplicate bool // the transport marked it as a redelivery (MQTT DUP flag)
}

// Entry is a committed record as consumers see it.
type Entry struct {
	Index    uint64
	Received time.Time // in UTC; the zero time if the record had none
	Topic    string
	Payload  []byte // a read-only view into the log (see Read)
}

// Stats is a snapshot of the journal's counters. Counters run from Open.
type Stats struct {
	FirstIndex     uint64 // first entry still in the log
	LastIndex      uint64 // last committed entry
	Committed      uint64 // records written
	Duplicates     uint64 // redeliveries recognised and dropped
	Commits        uint64 // group commits (one fsync each)
	CommitNanos    uint64 // time spent writing and fsyncing, summed over commits
	Unacked        int    // records appended and not yet acked
	Retries        uint64 // consumer batches that failed and were retried
	CorruptSkipped uint64 // entries consumers skipped because their checksum failed
	Truncations    uint64 // front truncations done
	RepairedBytes  int64  // bytes cut off the log's tail at Open
	Cursors        map[string]uint64
}

// Journal is a durable append-only log with group commit and consumer
// cursors. Its methods are safe for concurrent use.
type Journal struct {
	opts   Options
	logDir string
	curDir string
	log    *segmentLog

	// Owned by the writer: Run's goroutine, or Open and Close around it.
	window  *window
	written uint64 // last index given to the log

	mu           sync.Mutex // guards the fields up to kick
	pending      *pendingBatch
	unacked      int
	unackedBytes int
	space        chan struct{} // closed when unacked room frees up, then replaced
	spaceWaiters bool
	stopped      bool  // Run has ended: Append refuses
	failed       error // the commit loop failed: Append refuses

	kick chan struct{} // capacity 1: the pending batch became non-empty

	free   chan *pendingBatch // empty batches; three exist: filling, writing, syncing
	toSync chan handoff       // writer -> syncer, unbuffered; made by Run
	// syncReady holds a token while the syncer waits for a group; the
	// writer takes it before closing one. Made by Run.
	syncReady chan struct{}
	syncStop  chan struct{} // closed when the syncer returns

	committed     atomic.Uint64
	notifyMu      sync.Mutex
	notify        chan struct{} // closed after a commit when someone waits, then replaced
	notifyWaiters bool

	topicsMu sync.Mutex
	topics   map[string]string // interned topics, guarded by topicsMu

	cursorMu sync.Mutex
	cursors  map[string]*cursor

	runState  atomic.Int32
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error

	commits, records, duplicates, commitNanos atomic.Uint64
	retries, corruptSkipped, truncations      atomic.Uint64
	repairedBytes                             int64

	retryMin, retryMax time.Duration
	persistEvery       time.Duration
}

// Open opens or creates the journal in opts.Dir. It cuts a torn or corrupt
// tail off the last segment, rebuilds the duplicate window from the last
// DedupeWindow entries and loads the consumers' cursors.
func Open(opts Options) (*Journal, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	j := &Journal{
		opts:         opts,
		logDir:       filepath.Join(opts.Dir, logSubdir),
		curDir:       filepath.Join(opts.Dir, curSubdir),
		pending:      new(pendingBatch),
		free:         make(chan *pendingBatch, 3),
		space:        make(chan struct{}),
		kick:         make(chan struct{}, 1),
		notify:       make(chan struct{}),
		topics:       make(map[string]string),
		cursors:      make(map[string]*cursor),
		closed:       make(chan struct{}),
		retryMin:     defaultRetryMin,
		retryMax:     defaultRetryMax,
		persistEvery: defaultPersistEvery,
	}
	j.free <- new(pendingBatch)
	j.free <- new(pendingBatch)
	if err := j.open(); err != nil {
		if j.log != nil {
			j.log.close()
		}
		return nil, fmt.Errorf("open journal in %s: %w", opts.Dir, err)
	}
	return j, nil
}

func (j *Journal) open() error {
	for _, d := range []string{j.logDir, j.curDir} {
		if err := os.MkdirAll(d, dirPerm); err != nil {
			return err
		}
	}
	if err := finishInterrupted(j.logDir); err != nil {
		return err
	}
	cut, err := repairTail(j.logDir, !j.opts.NoSync)
	if err != nil {
		return err
	}
	j.repairedBytes = cut
	j.log, err = openSegmentLog(j.logDir, j.opts.SegmentSize, segmentCacheSize, !j.opts.NoSync)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	j.written = j.log.last()
	j.committed.Store(j.written)
	if err := j.rebuildWindow(); err != nil {
		return err
	}
	if err := j.loadCursors(); err != nil {
		return err
	}
	if !j.opts.NoSync {
		for _, d := range []string{filepath.Dir(filepath.Clean(j.opts.Dir)), j.opts.Dir, j.logDir} {
			if err := syncDir(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// rebuildWindow fills the duplicate window from the last DedupeWindow entries.
func (j *Journal) rebuildWindow() error {
	j.window = newWindow(j.opts.DedupeWindow)
	from := j.log.first()
	if w := uint64(j.opts.DedupeWindow); j.written >= w && j.written-w+1 > from {
		from = j.written - w + 1
	}
	add := func(_ uint64, data []byte) error {
		if _, topic, payload, err := decodeRecord(data); err == nil {
			j.window.add(recordHash(topic, payload))
		} // else Read reports it; it cannot be a duplicate's original
		return nil
	}
	for from <= j.written {
		err := j.log.scan(from, j.written, add)
		var corrupt *CorruptError
		if !errors.As(err, &corrupt) {
			if err != nil {
				return fmt.Errorf("rebuild duplicate window: %w", err)
			}
			return nil
		}
		from = corrupt.Index + 1 // Read reports the lost entry
	}
	return nil
}

// LastIndex returns the index of the last committed entry (0 when none).
func (j *Journal) LastIndex() uint64 { return j.committed.Load() }

// Close persists the cursors and closes the log. Call it after Run has
// returned and the consumers have stopped; records still pending are not
// written and their acks do not run.
func (j *Journal) Close() error {
	if j.runState.Load() == runActive {
		return errors.New("close journal: Run is still active; cancel its context and wait for it first")
	}
	j.closeOnce.Do(func() {
		close(j.closed)
		j.mu.Lock()
		j.wakeAppendersLocked() // Append and Drain see the journal closed
		j.mu.Unlock()
		var errs []error
		j.cursorMu.Lock()
		for _, c := range j.cursors {
			errs = append(errs, j.saveCursor(c, false))
		}
		j.cursorMu.Unlock()
		if err := j.log.close(); err != nil {
			errs = append(errs, fmt.Errorf("close log: %w", err))
		}
		j.closeErr = errors.Join(errs...)
	})
	return j.closeErr
}

// Stats returns a snapshot of the journal's counters and cursors.
func (j *Journal) Stats() Stats {
	s := Stats{
		LastIndex:      j.committed.Load(),
		Committed:      j.records.Load(),
		Duplicates:     j.duplicates.Load(),
		Commits:        j.commits.Load(),
		CommitNanos:    j.commitNanos.Load(),
		Retries:        j.retries.Load(),
		CorruptSkipped: j.corruptSkipped.Load(),
		Truncations:    j.truncations.Load(),
		RepairedBytes:  j.repairedBytes,
	}
	s.FirstIndex = j.log.first()
	j.mu.Lock()
	s.Unacked = j.unacked
	j.mu.Unlock()
	j.cursorMu.Lock()
	s.Cursors = make(map[string]uint64, len(j.cursors))
	for name, c := range j.cursors {
		s.Cursors[name] = c.pos.Load()
	}
	j.cursorMu.Unlock()
	return s
}

// syncDir fsyncs a directory so that entries created or renamed in it last.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
