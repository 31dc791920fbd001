package gateway

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"carebed/alerts"
	"carebed/devices"
	"carebed/store"
)

// bedRulesDesk is a loaded alarm desk on a real store holding agency a1
// and bed b1.
func bedRulesDesk(t *testing.T) (*alarmDesk, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatalf("store.Open = %v, want nil", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateAgency(ctx, devices.Agency{ID: "a1", Name: "Agency a1"}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateBed(ctx, devices.Bed{ID: "b1", AgencyID: "a1"}); err != nil {
		t.Fatal(err)
	}
	d := newAlarmDesk(db, newDecodedRing(devices.NewRegistry()), newMetrics(), slog.New(slog.DiscardHandler), alerts.DefaultConfig())
	if err := d.load(ctx); err != nil {
		t.Fatalf("load = %v, want nil", err)
	}
	return d, db
}

// lowHeartRateRaises reports whether a heart rate of 38 held for the
// sustain time raises the vitals alarm of bed b1 in e: it does with the
// default band (low 40), not with an override of low 35. It starts with a
// normal reading, so that calls at different times do not interfere.
func lowHeartRateRaises(e *alerts.Engine, at time.Time) bool {
	obs := func(hr float64, t time.Time) []alerts.Signal {
		return e.Observe(devices.Observation{
			Reading:  devices.Reading{Stream: devices.StreamVitals, Time: t, Fields: []devices.Field{devices.FloatField("heart_rate", hr)}},
			DeviceID: "dev1", BedID: "b1", AgencyID: "a1", Kind: devices.KindVitalsMonitor, Received: t,
		})
	}
	obs(70, at)
	var sigs []alerts.Signal
	for _, s := range []time.Duration{time.Second, 31 * time.Second, 61 * time.Second} {
		sigs = append(sigs, obs(38, at.Add(s))...)
	}
	for _, s := range sigs {
		if s.Op == alerts.Raise && s.Kind == alerts.KindVitals {
			return true
		}
	}
	return false
}

func TestAlarmDeskBedRules(t *testing.T) {
	ctx := context.Background()
	d, _ := bedRulesDesk(t)
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	if !lowHeartRateRaises(d.engine, start) {
		t.Fatalf("heart rate 38 with the default rules raised nothing, want vitals")
	}
	low35 := alerts.BedRules{BedID: "b1", Vitals: &alerts.Thresholds{HeartRate: alerts.Band{Low: 35, High: 131, Margin: 2}}}
	if err := d.PutBedRules(ctx, low35); err != nil {
		t.Fatalf("PutBedRules(b1 low 35) = %v, want nil", err)
	}
	if lowHeartRateRaises(d.engine, start.Add(time.Hour)) {
		t.Errorf("heart rate 38 after PutBedRules(b1 low 35) raised vitals, want nothing")
	}

	// A new engine built the way loadLocked builds one gets the override.
	e := alerts.NewEngine(d.cfg)
	if err := d.applyBedRules(ctx, e); err != nil {
		t.Fatalf("applyBedRules = %v, want nil", err)
	}
	if lowHeartRateRaises(e, start) {
		t.Errorf("heart rate 38 in an engine after applyBedRules raised vitals, want nothing")
	}

	if err := d.DeleteBedRules(ctx, "b1"); err != nil {
		t.Fatalf("DeleteBedRules(b1) = %v, want nil", err)
	}
	if !lowHeartRateRaises(d.engine, start.Add(2*time.Hour)) {
		t.Errorf("heart rate 38 after DeleteBedRules(b1) raised nothing, want vitals (the default band)")
	}
	if err := d.DeleteBedRules(ctx, "b1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteBedRules(b1 again) = %v, want %v", err, store.ErrNotFound)
	}
}

func TestAlarmDeskBedRulesRefused(t *testing.T) {
	ctx := context.Background()
	d, db := bedRulesDesk(t)
	clock := func(h, m int) *alerts.ClockTime { c := alerts.Clock(h, m); return &c }
	tests := []struct {
		name  string
		r     alerts.BedRules
		want  error
		field string
	}{
		{"unknown bed", alerts.BedRules{BedID: "nope", NightStart: clock(20, 0)}, store.ErrNotFound, ""},
		{"bad band", alerts.BedRules{BedID: "b1", Vitals: &alerts.Thresholds{SpO2: alerts.Band{Low: 95, High: 90}}}, store.ErrInvalid, "vitals.spo2"},
		// The configured night is 22:00-06:00.
		{"night start at the configured end", alerts.BedRules{BedID: "b1", NightStart: clock(6, 0)}, store.ErrInvalid, "night_start"},
		{"night end at the configured start", alerts.BedRules{BedID: "b1", NightEnd: clock(22, 0)}, store.ErrInvalid, "night_end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.PutBedRules(ctx, tt.r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("PutBedRules = %v, want %v", err, tt.want)
			}
			var ve *store.ValidationError
			if tt.field != "" && (!errors.As(err, &ve) || ve.Field != tt.field) {
				t.Errorf("PutBedRules = %v, want a *store.ValidationError with field %s", err, tt.field)
			}
		})
	}
	if got, err := db.AllBedRules(ctx); err != nil || len(got) != 0 {
		t.Errorf("AllBedRules after refusals = %+v, %v, want none", got, err)
	}
	// One end given alone elsewhere is fine.
	if err := d.PutBedRules(ctx, alerts.BedRules{BedID: "b1", NightStart: clock(20, 0)}); err != nil {
		t.Errorf("PutBedRules(b1 night_start 20:00) = %v, want nil", err)
	}
}
