package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"carebed/alerts"
)

func clock(h, m int) *alerts.ClockTime { return ptr(alerts.Clock(h, m)) }

func TestBedRules(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seed(t, db)
	if err := db.CreateBed(ctx, bed("b2", "a1")); err != nil {
		t.Fatal(err)
	}
	checkErr(t, "GetBedRules(b1) before any", func() error { _, err := db.GetBedRules(ctx, "b1"); return err }(), ErrNotFound, `"b1"`)

	r := alerts.BedRules{BedID: "b1", AgencyID: "ignored",
		Vitals:     &alerts.Thresholds{HeartRate: alerts.Band{Low: 35, High: 120, Margin: 2}},
		NightStart: clock(20, 0), NightEnd: clock(6, 30)}
	if err := db.PutBedRules(ctx, r); err != nil {
		t.Fatalf("PutBedRules(b1) = %v, want nil", err)
	}
	want := r
	want.AgencyID = "a1" // the bed's, not the input's
	if got, err := db.GetBedRules(ctx, "b1"); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("GetBedRules(b1) = %+v, %v, want %+v", got, err, want)
	}

	// Put replaces every override: the night window goes.
	r2 := alerts.BedRules{BedID: "b1", Vitals: &alerts.Thresholds{SpO2: alerts.Band{Low: 88, Margin: 1}}}
	if err := db.PutBedRules(ctx, r2); err != nil {
		t.Fatalf("PutBedRules(b1 again) = %v, want nil", err)
	}
	want2 := r2
	want2.AgencyID = "a1"
	if got, err := db.GetBedRules(ctx, "b1"); err != nil || !reflect.DeepEqual(got, want2) {
		t.Errorf("GetBedRules(b1) after replace = %+v, %v, want %+v", got, err, want2)
	}
	r3 := alerts.BedRules{BedID: "b2", NightStart: clock(21, 0)}
	if err := db.PutBedRules(ctx, r3); err != nil {
		t.Fatalf("PutBedRules(b2) = %v, want nil", err)
	}
	want3 := r3
	want3.AgencyID = "a1"
	if got, err := db.AllBedRules(ctx); err != nil || !reflect.DeepEqual(got, []alerts.BedRules{want2, want3}) {
		t.Errorf("AllBedRules = %+v, %v, want %+v", got, err, []alerts.BedRules{want2, want3})
	}

	checkErr(t, "DeleteBedRules(b1)", db.DeleteBedRules(ctx, "b1"), nil)
	checkErr(t, "GetBedRules(b1) after delete", func() error { _, err := db.GetBedRules(ctx, "b1"); return err }(), ErrNotFound, `"b1"`)
	checkErr(t, "DeleteBedRules(b1 again)", db.DeleteBedRules(ctx, "b1"), ErrNotFound, `"b1"`)

	// The rules go with their bed.
	checkErr(t, "DeleteBed(b2)", db.DeleteBed(ctx, "b2"), nil)
	if got, err := db.AllBedRules(ctx); err != nil || len(got) != 0 {
		t.Errorf("AllBedRules after DeleteBed(b2) = %+v, %v, want none", got, err)
	}
}

func TestPutBedRulesRefused(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seed(t, db)
	tests := []struct {
		name  string
		r     alerts.BedRules
		want  error
		texts []string // the field at fault, then more
	}{
		{"no bed id", alerts.BedRules{}, ErrInvalid, []string{"bed_id"}},
		{"bad bed id", alerts.BedRules{BedID: "b 1"}, ErrInvalid, []string{"bed_id"}},
		{"unknown bed", alerts.BedRules{BedID: "nope", NightStart: clock(20, 0)}, ErrNotFound, []string{`"nope"`, "does not exist"}},
		{"heart rate band with no normal value",
			alerts.BedRules{BedID: "b1", Vitals: &alerts.Thresholds{HeartRate: alerts.Band{Low: 50, High: 60, Margin: 5}}},
			ErrInvalid, []string{"vitals.heart_rate", "must stay below high"}},
		{"negative temperature limit",
			alerts.BedRules{BedID: "b1", Vitals: &alerts.Thresholds{TempC: alerts.Band{Low: -1}}},
			ErrInvalid, []string{"vitals.temp_c", ">= 0"}},
		{"resp rate margin only",
			alerts.BedRules{BedID: "b1", Vitals: &alerts.Thresholds{RespRate: alerts.Band{Margin: 1}}},
			ErrInvalid, []string{"vitals.resp_rate", "set low, high or both"}},
		{"spo2 after a good band",
			alerts.BedRules{BedID: "b1", Vitals: &alerts.Thresholds{HeartRate: alerts.Band{Low: 35}, SpO2: alerts.Band{Low: 99, High: 90}}},
			ErrInvalid, []string{"vitals.spo2"}},
		{"night start out of the day", alerts.BedRules{BedID: "b1", NightStart: ptr(alerts.ClockTime(24 * 60))}, ErrInvalid, []string{"night_start", "00:00"}},
		{"night end negative", alerts.BedRules{BedID: "b1", NightEnd: ptr(alerts.ClockTime(-1))}, ErrInvalid, []string{"night_end"}},
		{"night window of no length", alerts.BedRules{BedID: "b1", NightStart: clock(22, 0), NightEnd: clock(22, 0)}, ErrInvalid, []string{"night_end", "night_start"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.PutBedRules(ctx, tt.r)
			checkErr(t, "PutBedRules", err, tt.want, tt.texts...)
			if tt.want == ErrInvalid {
				var ve *ValidationError
				if !errors.As(err, &ve) || ve.Field != tt.texts[0] {
					t.Errorf("PutBedRules = %v, want a *ValidationError with field %s", err, tt.texts[0])
				}
			}
		})
	}
	if got, err := db.AllBedRules(ctx); err != nil || len(got) != 0 {
		t.Errorf("AllBedRules after refusals = %+v, %v, want none", got, err)
	}
}

// TestMigrateBedRules opens a database at schema version 5 with a bed in
// it: step 6 adds bed_rules and keeps the bed.
func TestMigrateBedRules(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	w := rawDB(t, path)
	if err := migrate(ctx, w, migrations[:5]); err != nil {
		t.Fatalf("migrate to 5 = %v, want nil", err)
	}
	for _, q := range []string{
		`INSERT INTO agencies (id, name) VALUES ('a1', 'Agency a1')`,
		`INSERT INTO beds (id, agency_id, required_minutes_per_day, required_hours_per_month) VALUES ('b1', 'a1', 60, 30)`,
	} {
		if _, err := w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open = %v, want nil", err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(ctx); err != nil || v != 6 {
		t.Errorf("SchemaVersion = %d, %v, want 6", v, err)
	}
	if err := db.PutBedRules(ctx, alerts.BedRules{BedID: "b1", NightEnd: clock(7, 0)}); err != nil {
		t.Errorf("PutBedRules(b1) after migration = %v, want nil", err)
	}
}
