package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors. Wrap them with the subject:
// fmt.Errorf("bed %q: %w", id, ErrNotFound).
var (
	// ErrNotFound: the subject does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the call clashes with what is stored (the id is taken,
	// or other records still refer to the subject).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input can never be stored as it is. See ValidationError.
	ErrInvalid = errors.New("invalid")
)

// How many dead letters and unknown devices are kept when no option says
// otherwise.
const (
	DefaultMaxDeadLetters = 10_000
	DefaultMaxUnknown     = 10_000
)

// busyTimeout is how long a connection waits for another process's lock
// before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// DB is the state database. It is safe for concurrent use.
type DB struct {
	w              *sql.DB // one connection: every write
	r              *sql.DB // read-only connections
	path           string  // absolute path of the database file
	maxDeadLetters int
	maxUnknown     int

	checkpointEvery   time.Duration
	stopCheckpoints   chan struct{}
	checkpointsDone   chan struct{}
	checkpointErrs    atomic.Uint64
	lastCheckpointErr atomic.Pointer[error]
}

// Option changes how Open sets up a DB.
type Option func(*DB)

// WithMaxDeadLetters bounds the dead-letter store to the newest n letters.
// n <= 0 means DefaultMaxDeadLetters.
func WithMaxDeadLetters(n int) Option {
	return func(db *DB) {
		if n > 0 {
			db.maxDeadLetters = n
		}
	}
}

// WithMaxUnknown bounds the unknown devices to the n seen most recently, so
// that a flood of made-up topics cannot grow the database without end.
// n <= 0 means DefaultMaxUnknown.
func WithMaxUnknown(n int) Option {
	return func(db *DB) {
		if n > 0 {
			db.maxUnknown = n
		}
	}
}

// Open opens the SQLite database file at path, creating it and its
// directory when missing, and brings its schema up to date.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("open state database: %w", &ValidationError{Field: "path", Fix: "give a file path"})
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open state database: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open state database: %w", err)
	}
	db := &DB{path: path, maxDeadLetters: DefaultMaxDeadLetters, maxUnknown: DefaultMaxUnknown, checkpointEvery: checkpointEvery}
	for _, o := range opts {
		o(db)
	}

	// The writer is opened first: it switches the file to WAL, which the
	// readers then find already set.
	db.w, err = sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open state database: %w", err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	if err := db.w.PingContext(ctx); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("open state database: %w", err)
	}
	if err := migrate(ctx, db.w, migrations); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("open state database: %w", err)
	}
	db.r, err = sql.Open("sqlite", dsn(path, true))
	if err != nil {
		db.w.Close()
		return nil, fmt.Errorf("open state database: %w", err)
	}
	db.r.SetMaxOpenConns(8)
	db.r.SetMaxIdleConns(8)
	if err := db.r.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state database: %w", err)
	}
	db.stopCheckpoints, db.checkpointsDone = make(chan struct{}), make(chan struct{})
	go db.checkpoints()
	return db, nil
}

// checkpointEvery is how often the WAL is copied back into the database
// file. The writer never does it: SQLite's automatic checkpoint runs in the
// commit that crosses 1,000 pages, two fsyncs long, and the one writer
// connection and every write queued behind it (an alarm) would wait.
const checkpointEvery = time.Second

// checkpoints runs a passive checkpoint every checkpointEvery on a reader
// connection (query_only allows checkpoints), alongside the writer.
func (db *DB) checkpoints() {
	defer close(db.checkpointsDone)
	tick := time.NewTicker(db.checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-db.stopCheckpoints:
			return
		case <-tick.C:
			if err := db.Checkpoint(context.Background()); err != nil {
				db.checkpointErrs.Add(1)
				db.lastCheckpointErr.Store(&err)
			}
		}
	}
}

// Checkpoint copies what the WAL holds back into the database file, as far
// as readers allow, without waiting for the writer. Open runs it every
// second; CheckpointFailures reports how that goes.
func (db *DB) Checkpoint(ctx context.Context) error {
	var busy, frames, done int
	if err := db.r.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done); err != nil {
		return fmt.Errorf("checkpoint state database: %w", err)
	}
	return nil
}

// CheckpointFailures returns how many of the background checkpoints failed
// and the last error.
func (db *DB) CheckpointFailures() (uint64, error) {
	var last error
	if p := db.lastCheckpointErr.Load(); p != nil {
		last = *p
	}
	return db.checkpointErrs.Load(), last
}

// dsn builds the connection string for an absolute path. Every connection
// gets busy_timeout, foreign_keys and synchronous=NORMAL (safe in WAL: a
// power cut may lose the last commits, never corrupt the file). The writer
// also sets WAL and starts transactions with BEGIN IMMEDIATE, so that a
// transaction never fails upgrading a read lock to a write lock; readers are
// query_only.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "wal_autocheckpoint(0)") // see checkpointEvery
		q.Set("_txlock", "immediate")
	}
	// A file: URI with an escaped path, so that '?', '#' or '%' in a
	// directory name cannot be read as the start of the parameters.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// Close closes every connection. Calls in progress fail.
func (db *DB) Close() error {
	if db.stopCheckpoints != nil {
		close(db.stopCheckpoints)
		<-db.checkpointsDone
		db.stopCheckpoints = nil
	}
	var errs []error
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	return errors.Join(errs...)
}

// Page sizes of every list.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Page selects one page of a list ordered by id.
type Page struct {
	Limit int    // 0 means DefaultLimit; at most MaxLimit
	After string // only ids after this one; "" starts at the beginning
}

func checkLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultLimit, nil
	case n < 0 || n > MaxLimit:
		return 0, invalid("limit", "use 1-%d, or 0 for the default %d", MaxLimit, DefaultLimit)
	}
	return n, nil
}

// write runs fn in one write transaction and commits it when fn returns nil.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Sync makes every commit so far survive a power cut. Commits are written
// to the WAL at once (a crash of the process loses nothing) but fsynced only
// at checkpoints; the alarm desk calls Sync before the journal stores its
// cursor, so the journal never forgets messages whose alerts a power cut
// could take back. It fsyncs the WAL file itself rather than committing
// with synchronous=FULL, so the writer is not held during the fsync.
func (db *DB) Sync(ctx context.Context) error {
	f, err := os.Open(db.path + "-wal")
	if errors.Is(err, os.ErrNotExist) {
		return nil // nothing written since the last checkpoint removed it
	}
	if err != nil {
		return fmt.Errorf("sync state database: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync state database: %w", err)
	}
	return nil
}

// exists reports whether a row of table has the given id. table is one of
// this package's table names, never input.
func exists(ctx context.Context, q querier, table, id string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM "+table+" WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// checkFree returns ErrConflict when table already has a row with the id.
func checkFree(ctx context.Context, q querier, table, id string) error {
	ok, err := exists(ctx, q, table, id)
	if err != nil {
		return err
	}
	if ok {
		return fmt.Errorf("%w: the id is taken", ErrConflict)
	}
	return nil
}

// notFoundIfNone turns an UPDATE or DELETE that touched no row into ErrNotFound.
func notFoundIfNone(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// subjectErr names the operation and its subject in err, and classifies a
// constraint violation that slipped past the explicit checks as ErrConflict.
func subjectErr(op, id string, err error) error {
	switch {
	case err == nil:
		return nil
	case isConstraint(err):
		return fmt.Errorf("%s %q: %w: %v", op, id, ErrConflict, err)
	default:
		return fmt.Errorf("%s %q: %w", op, id, err)
	}
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

// collect scans every row and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// count returns how many rows of table have column = v. table and column are
// this package's names, never input.
func count(ctx context.Context, q querier, table, column, v string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE "+column+" = ?", v).Scan(&n)
	return n, err
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// isConstraint reports whether err is a SQLite constraint violation. Each
// write checks what it can first, to give a clear message; this classifies
// whatever those checks do not cover.
func isConstraint(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

// nanos stores t as Unix nanoseconds, or NULL when t is nil or zero.
func nanos(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// timeOf reads a column written by nanos.
func timeOf(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.Unix(0, v.Int64).UTC()
	return &t
}

// queryList runs a query on q and scans every row; errors name what.
func queryList[T any](ctx context.Context, q querier, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out, err := collect(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
