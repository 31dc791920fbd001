package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/devices"
)

// TestSync: Sync succeeds on a fresh database and after writes (it fsyncs
// the WAL the writes went to).
func TestSync(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Sync(ctx); err != nil {
		t.Errorf("Sync() on a fresh database = %v, want nil", err)
	}
	if err := db.CreateAgency(ctx, devices.Agency{ID: "a1", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(ctx); err != nil {
		t.Errorf("Sync() after a write = %v, want nil", err)
	}
}

// TestCheckpoint: commits leave the database file alone however much they
// write (no automatic checkpoint in the writer); Checkpoint copies the WAL
// into it from a reader connection.
func TestCheckpoint(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, func(db *DB) { db.checkpointEvery = time.Hour })
	size := func() int64 {
		t.Helper()
		fi, err := os.Stat(db.path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	// Far more than SQLite's automatic threshold of 1,000 pages.
	letters := make([]DeadLetter, 100)
	for i := range 60 {
		for j := range letters {
			letters[j] = DeadLetter{Received: time.Unix(int64(i*100+j), 0), Topic: "carebed/x/vitals",
				Reason: devices.ReasonMalformed, Detail: "bad", Payload: strings.Repeat("p", 900)}
		}
		if err := db.AddDeadLetters(ctx, letters); err != nil {
			t.Fatal(err)
		}
	}
	if got := size(); got != before {
		t.Fatalf("database file grew from %d to %d bytes before any Checkpoint, want the writes in the WAL only", before, got)
	}
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatalf("Checkpoint() = %v, want nil", err)
	}
	if got := size(); got < before+4<<20 {
		t.Errorf("database file is %d bytes after Checkpoint, want more than %d (the 5 MB written)", got, before+4<<20)
	}
	if n, err := db.CheckpointFailures(); n != 0 || err != nil {
		t.Errorf("CheckpointFailures() = %d, %v, want 0, nil", n, err)
	}
}
