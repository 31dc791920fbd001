package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
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
	db := &DB{path: path, maxDeadLetters: DefaultMaxDeadLetters, maxUnknown: DefaultMaxUnknown}
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
	return db, nil
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
		q.Set("_txlock", "immediate")
	}
	// A file: URI with an escaped path, so that '?', '#' or '%' in a
	// directory name cannot be read as the start of the parameters.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// Close closes every connection. Calls in progress fail.
func (db *DB) Close() error {
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
