package telemetry

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"carebed/devices"
)

func openEmbedded(t testing.TB, drops *dropLog) *Embedded {
	t.Helper()
	var drop DropFunc
	if drops != nil {
		drop = drops.drop
	}
	s, err := OpenEmbedded(filepath.Join(t.TempDir(), "data", "telemetry.db"), drop)
	if err != nil {
		t.Fatalf("OpenEmbedded() = %v, want nil", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestEmbedded(t *testing.T) {
	drops := &dropLog{}
	s := openEmbedded(t, drops)
	testStore(t, s, drops, func(t *testing.T, measurement, field string) int {
		t.Helper()
		var n int
		err := s.db.QueryRow(`SELECT count(*) FROM points WHERE measurement = ? AND field = ?`, measurement, field).Scan(&n)
		if err != nil {
			t.Fatalf("count(%s, %s): %v", measurement, field, err)
		}
		return n
	})
}

func TestEmbeddedRows(t *testing.T) {
	s := openEmbedded(t, nil)
	ctx := context.Background()
	o := at(0, "b1", "vm1", devices.KindVitalsMonitor, devices.StreamVitals,
		devices.FloatField("heart_rate", 70), devices.BoolField("in_bed", true), devices.StringField("note", "x"))
	o.AgencyID = ""
	if err := s.Write(ctx, []devices.Observation{o}); err != nil {
		t.Fatalf("Write() = %v, want nil", err)
	}
	type dbRow struct {
		ts                                     int64
		measurement, agency, bed, device, kind string
		field                                  string
		num                                    *float64
		str                                    *string
	}
	rows, err := s.db.Query(`SELECT ts, measurement, agency, bed, device, kind, field, num, str FROM points ORDER BY field`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var r dbRow
		if err := rows.Scan(&r.ts, &r.measurement, &r.agency, &r.bed, &r.device, &r.kind, &r.field, &r.num, &r.str); err != nil {
			t.Fatal(err)
		}
		num, str := "NULL", "NULL"
		if r.num != nil {
			num = formatFloat(*r.num)
		}
		if r.str != nil {
			str = *r.str
		}
		got = append(got, fmtRow(r.ts, r.measurement, r.agency, r.bed, r.device, r.kind, r.field, num, str))
	}
	ts := base.UnixNano()
	want := []string{
		fmtRow(ts, "vitals", "", "b1", "vm1", "vitals_monitor", "heart_rate", "70", "NULL"),
		fmtRow(ts, "vitals", "", "b1", "vm1", "vitals_monitor", "in_bed", "1", "NULL"),
		fmtRow(ts, "vitals", "", "b1", "vm1", "vitals_monitor", "note", "NULL", "x"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows after Write(%v) = %q, want %q", o, got, want)
	}
}

func TestEmbeddedReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "telemetry.db")
	ctx := context.Background()
	s, err := OpenEmbedded(path, nil)
	if err != nil {
		t.Fatalf("OpenEmbedded() = %v, want nil", err)
	}
	if err := s.Write(ctx, vitalsBatch("vm-1", base, 10)); err != nil {
		t.Fatalf("Write() = %v, want nil", err)
	}
	s.Close()
	s, err = OpenEmbedded(path, nil)
	if err != nil {
		t.Fatalf("OpenEmbedded(again) = %v, want nil", err)
	}
	defer s.Close()
	pts, err := s.Query(ctx, Query{BedID: "bed-1", Field: "heart_rate", From: base, To: base.Add(time.Hour)})
	if err != nil || len(pts) != 10 {
		t.Errorf("Query() after reopening = %d points, %v, want 10 points", len(pts), err)
	}
	var mode string
	if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("PRAGMA journal_mode = %q, %v, want wal", mode, err)
	}
}

func fmtRow(ts int64, cols ...string) string {
	return strconv.FormatInt(ts, 10) + " " + strings.Join(cols, " ")
}

func formatFloat(f float64) string { return string(appendFloat(nil, f)) }
