package store

import (
	"context"
	"path/filepath"
	"testing"

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
