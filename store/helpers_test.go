package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/devices"
)

// openTest opens a fresh database file in a temporary directory and closes
// it when the test ends.
func openTest(t testing.TB, opts ...Option) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "state", "carebed.db"), opts...)
	if err != nil {
		t.Fatalf("Open = %v, want nil", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close = %v, want nil", err)
		}
	})
	return db
}

// Personal data used by fixtures; tests check that no error carries it.
const (
	elderName  = "王秀英"
	elderPhone = "13800138000"
)

func agency(id string) devices.Agency {
	return devices.Agency{ID: id, Name: "Agency " + id, District: "Jing'an", Phone: "021-1234"}
}

func bed(id, agencyID string) devices.Bed {
	return devices.Bed{
		ID: id, AgencyID: agencyID, District: "Jing'an",
		Elder:           devices.Elder{Name: elderName, BirthYear: 1940, DisabilityLevel: "severe", SafetyNet: true},
		FamilyCaregiver: devices.Contact{Name: "李明", Phone: elderPhone},
		Address:         "1 Huashan Rd", AreaType: "urban",
		ContractStart: "2025-01-01", ContractEnd: "2025-12-31",
	}
}

func device(id, bedID string, kind devices.Kind) devices.Device {
	return devices.Device{ID: id, BedID: bedID, Kind: kind}
}

// seed creates agency a1, bed b1 in it, and the given devices in b1.
func seed(t testing.TB, db *DB, deviceIDs ...string) {
	t.Helper()
	ctx := context.Background()
	if err := db.CreateAgency(ctx, agency("a1")); err != nil {
		t.Fatalf("CreateAgency(a1) = %v, want nil", err)
	}
	if err := db.CreateBed(ctx, bed("b1", "a1")); err != nil {
		t.Fatalf("CreateBed(b1) = %v, want nil", err)
	}
	for _, id := range deviceIDs {
		if err := db.CreateDevice(ctx, device(id, "b1", devices.KindVitalsMonitor)); err != nil {
			t.Fatalf("CreateDevice(%s) = %v, want nil", id, err)
		}
	}
}

// checkErr fails unless err matches want (nil means no error) and its text
// contains every one of texts.
func checkErr(t *testing.T, call string, err, want error, texts ...string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Errorf("%s = %v, want nil", call, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%s = %v, want %v", call, err, want)
		return
	}
	for _, s := range texts {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%s = %q, want it to contain %q", call, err, s)
		}
	}
	for _, s := range []string{elderName, elderPhone, "李明", "Huashan"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("%s = %q, which leaks personal data %q", call, err, s)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
