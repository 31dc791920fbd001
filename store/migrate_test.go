package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawDB opens the file the way Open's writer does, without migrating.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	t.Cleanup(func() { w.Close() })
	return w
}

func version(t *testing.T, w *sql.DB) int {
	t.Helper()
	var v int
	if err := w.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	// Every step fails if run twice: CREATE TABLE without IF NOT EXISTS,
	// and step 2 counts its runs in a table that step 1 made.
	steps := []string{
		`CREATE TABLE runs (step INTEGER NOT NULL); INSERT INTO runs VALUES (1);`,
		`CREATE TABLE two (x INTEGER); INSERT INTO runs VALUES (2);`,
		`CREATE TABLE three (x INTEGER); INSERT INTO runs VALUES (3);`,
	}
	tests := []struct {
		name       string
		runs       [][]string // migrate is called once with each
		wantErr    string     // from the last run
		wantVer    int
		wantRuns   string
		wantTables []string
	}{
		{"fresh to the newest", [][]string{steps}, "", 3, "1,2,3", []string{"two", "three"}},
		{"reopen at the newest does nothing", [][]string{steps, steps}, "", 3, "1,2,3", nil},
		{"reopen at version 1 applies 2 and 3 only", [][]string{steps[:1], steps}, "", 3, "1,2,3", nil},
		{"reopen at version 2 applies 3 only", [][]string{steps[:2], steps}, "", 3, "1,2,3", nil},
		{"a newer database is refused", [][]string{steps, steps[:2]}, "newer than this program's 2", 3, "1,2,3", nil},
		{"a failing step rolls back the whole run", [][]string{steps[:1], append(steps[:2:2], `NOT SQL`)},
			"migrate to schema version 3", 1, "1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := rawDB(t, filepath.Join(t.TempDir(), "m.db"))
			var err error
			for _, run := range tt.runs {
				err = migrate(ctx, w, run)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("migrate = %v, want an error containing %q", err, tt.wantErr)
			}
			if v := version(t, w); v != tt.wantVer {
				t.Errorf("schema version = %d, want %d", v, tt.wantVer)
			}
			var runs string
			if err := w.QueryRow(`SELECT group_concat(step, ',') FROM (SELECT step FROM runs ORDER BY step)`).Scan(&runs); err != nil {
				t.Fatal(err)
			}
			if runs != tt.wantRuns {
				t.Errorf("steps run = %s, want %s", runs, tt.wantRuns)
			}
			for _, table := range tt.wantTables {
				if _, err := w.Exec(`SELECT COUNT(*) FROM ` + table); err != nil {
					t.Errorf("table %s: %v", table, err)
				}
			}
		})
	}
}

func TestOpenMigratesOldDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	// A database written by a program that knew only the first step.
	w := rawDB(t, path)
	if err := migrate(ctx, w, migrations[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(`INSERT INTO agencies (id, name) VALUES ('a1', 'Old agency')`); err != nil {
		t.Fatal(err)
	}
	w.Close()

	for i := range 2 { // the second Open finds nothing to do
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("Open #%d = %v, want nil", i+1, err)
		}
		if v, err := db.SchemaVersion(ctx); err != nil || v != len(migrations) {
			t.Errorf("SchemaVersion after Open #%d = %d, %v, want %d", i+1, v, err, len(migrations))
		}
		if a, err := db.GetAgency(ctx, "a1"); err != nil || a.Name != "Old agency" {
			t.Errorf("GetAgency(a1) after Open #%d = %+v, %v, want the old agency", i+1, a, err)
		}
		if _, err := db.ListDeadLetters(ctx, DeadLetterFilter{}); err != nil {
			t.Errorf("ListDeadLetters after Open #%d = %v, want nil", i+1, err)
		}
		db.Close()
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		path func(dir string) string
	}{
		{"missing directories are made", func(dir string) string { return filepath.Join(dir, "a", "b", "state.db") }},
		{"a path with a space, ? and #", func(dir string) string { return filepath.Join(dir, "my data?#1", "state.db") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path(t.TempDir())
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatalf("Open(%q) = %v, want nil", path, err)
			}
			defer db.Close()
			if err := db.CreateAgency(ctx, agency("a1")); err != nil {
				t.Fatalf("CreateAgency = %v, want nil", err)
			}
			var mode string
			var fk, timeout, sync int
			w := db.w
			if err := w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
				t.Errorf("journal_mode = %q, %v, want wal", mode, err)
			}
			if err := w.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
				t.Errorf("foreign_keys = %d, %v, want 1", fk, err)
			}
			if err := db.r.QueryRow(`PRAGMA busy_timeout`).Scan(&timeout); err != nil || timeout != int(busyTimeout.Milliseconds()) {
				t.Errorf("reader busy_timeout = %d, %v, want %d", timeout, err, busyTimeout.Milliseconds())
			}
			if err := w.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 1 {
				t.Errorf("synchronous = %d, %v, want 1 (NORMAL)", sync, err)
			}
			if _, err := db.r.Exec(`DELETE FROM agencies`); err == nil {
				t.Errorf("a write through the read pool succeeded, want it refused")
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("database file: %v, want it at %s", err, path)
			}
		})
	}
	_, err := Open(ctx, "")
	checkErr(t, `Open("")`, err, ErrInvalid, "path")
}
