package telemetry

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"carebed/devices"
)

// Embedded is a Store in a SQLite file of its own, for a gateway that runs
// without InfluxDB. It keeps one row per field; see the package comment.
type Embedded struct {
	db      *sql.DB
	dropped DropFunc
}

var _ Store = (*Embedded)(nil)

const embeddedSchema = `
CREATE TABLE IF NOT EXISTS points (
	ts          INTEGER NOT NULL, -- Unix nanoseconds
	measurement TEXT NOT NULL,
	agency      TEXT NOT NULL,
	bed         TEXT NOT NULL,
	device      TEXT NOT NULL,
	kind        TEXT NOT NULL,
	field       TEXT NOT NULL,
	num         REAL,             -- floats, and booleans as 0 and 1
	str         TEXT,             -- strings
	PRIMARY KEY (measurement, device, field, ts)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS points_bed_field_ts ON points (bed, field, ts);
`

// embeddedPragmas are run on every connection: WAL so that queries do not
// block the writer; NORMAL sync (a power cut may lose the last commits, never
// corrupt the file); statement journals in memory (each multi-row INSERT OR
// REPLACE needs one); a 16 MiB page cache.
var embeddedPragmas = []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)",
	"temp_store(MEMORY)", "cache_size(-16384)"}

// OpenEmbedded opens (creating it and its directory if needed) the SQLite
// file at path in WAL mode. dropped, which may be nil, is told about each
// observation dropped for good.
func OpenEmbedded(path string, dropped DropFunc) (*Embedded, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("telemetry: create directory for %s: %w", path, err)
		}
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_txlock=immediate"
	for _, p := range embeddedPragmas {
		dsn += "&_pragma=" + p
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("telemetry: open %s: %w", path, err)
	}
	if _, err := db.Exec(embeddedSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("telemetry: create schema in %s: %w", path, err)
	}
	return &Embedded{db: db, dropped: dropped}, nil
}

// row is one field of one observation, as the embedded store keeps it.
type row struct {
	ts int64
	o  *devices.Observation
	f  *devices.Field
}

// rowsPerInsert is how many rows one INSERT statement carries: fewer
// statements to run, and 9 parameters a row stay far below SQLite's limit.
const rowsPerInsert = 64

func insertSQL(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT OR REPLACE INTO points (ts, measurement, agency, bed, device, kind, field, num, str) VALUES ")
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

// Write stores obs in one transaction; see Store. Any storage error asks
// for the whole batch to be retried.
func (e *Embedded) Write(ctx context.Context, obs []devices.Observation) error {
	rows := e.rows(obs)
	if len(rows) == 0 {
		return nil
	}
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return retry(fmt.Errorf("write telemetry: begin: %w", err))
	}
	defer tx.Rollback()
	if err := insert(ctx, tx, rows); err != nil {
		return retry(fmt.Errorf("write telemetry: %w", err))
	}
	if err := tx.Commit(); err != nil {
		return retry(fmt.Errorf("write telemetry: commit: %w", err))
	}
	return nil
}

// rows returns the rows of obs in primary-key order, so that consecutive
// inserts land on the same pages. Invalid observations are reported and
// left out.
func (e *Embedded) rows(obs []devices.Observation) []row {
	rows := make([]row, 0, len(obs)*4)
	for i := range obs {
		o := &obs[i]
		if len(o.Fields) == 0 {
			continue
		}
		if reason := invalid(o); reason != "" {
			if e.dropped != nil {
				e.dropped(*o, reason)
			}
			continue
		}
		ts := pointTime(o).UnixNano()
		for j := range o.Fields {
			rows = append(rows, row{ts: ts, o: o, f: &o.Fields[j]})
		}
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(
			strings.Compare(string(a.o.Stream), string(b.o.Stream)),
			strings.Compare(a.o.DeviceID, b.o.DeviceID),
			strings.Compare(a.f.Name, b.f.Name),
			cmp.Compare(a.ts, b.ts))
	})
	return rows
}

// insert inserts rows, rowsPerInsert a statement.
func insert(ctx context.Context, tx *sql.Tx, rows []row) error {
	args := make([]any, 0, 9*rowsPerInsert)
	var full *sql.Stmt
	for len(rows) > 0 {
		n := min(len(rows), rowsPerInsert)
		args = args[:0]
		for _, r := range rows[:n] {
			var num, str any
			switch r.f.Type {
			case devices.Float:
				num = r.f.F
			case devices.Bool:
				num = 0.0
				if r.f.B {
					num = 1.0
				}
			case devices.String:
				str = r.f.S
			}
			args = append(args, r.ts, string(r.o.Stream), r.o.AgencyID, r.o.BedID, r.o.DeviceID, string(r.o.Kind), r.f.Name, num, str)
		}
		rows = rows[n:]
		var err error
		if n < rowsPerInsert {
			_, err = tx.ExecContext(ctx, insertSQL(n), args...)
		} else {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertSQL(rowsPerInsert)); err != nil {
					return fmt.Errorf("prepare: %w", err)
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
	}
	return nil
}

// Query returns the points of one field of one bed; see the package comment.
func (e *Embedded) Query(ctx context.Context, q Query) ([]Point, error) {
	to, err := q.check(time.Now())
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	if q.Every == 0 {
		rows, err = e.db.QueryContext(ctx, `SELECT ts, num FROM points
			WHERE bed = ? AND field = ? AND ts >= ? AND ts < ? AND num IS NOT NULL
			ORDER BY ts`, q.BedID, q.Field, q.From.UnixNano(), to.UnixNano())
	} else {
		// Windows aligned to the Unix epoch, stamped with their start; the
		// double modulo keeps the floor right before 1970.
		rows, err = e.db.QueryContext(ctx, `SELECT ts - ((ts % ?1) + ?1) % ?1 AS w, AVG(num) FROM points
			WHERE bed = ?2 AND field = ?3 AND ts >= ?4 AND ts < ?5 AND num IS NOT NULL
			GROUP BY w ORDER BY w`, int64(q.Every), q.BedID, q.Field, q.From.UnixNano(), to.UnixNano())
	}
	if err != nil {
		return nil, retry(fmt.Errorf("query %s of bed %q: %w", q.Field, q.BedID, err))
	}
	defer rows.Close()
	var pts []Point
	for rows.Next() {
		var ts int64
		var v float64
		if err := rows.Scan(&ts, &v); err != nil {
			return nil, fmt.Errorf("query %s of bed %q: %w", q.Field, q.BedID, err)
		}
		pts = append(pts, Point{Time: time.Unix(0, ts).UTC(), Value: v})
	}
	if err := rows.Err(); err != nil {
		return nil, retry(fmt.Errorf("query %s of bed %q: %w", q.Field, q.BedID, err))
	}
	return pts, nil
}

// Ping checks that the database file answers.
func (e *Embedded) Ping(ctx context.Context) error {
	if err := e.db.PingContext(ctx); err != nil {
		return retry(fmt.Errorf("ping telemetry database: %w", err))
	}
	return nil
}

// Close closes the database.
func (e *Embedded) Close() error { return e.db.Close() }
