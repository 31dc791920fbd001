package telemetry

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"carebed/devices"
)

// dropLog records the observations a store dropped.
type dropLog struct {
	mu      sync.Mutex
	reasons []string // "<device>: <reason>"
}

func (d *dropLog) drop(o devices.Observation, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reasons = append(d.reasons, o.DeviceID+": "+reason)
}

func (d *dropLog) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.reasons
	d.reasons = nil
	return r
}

// base is the start of the fixture's hour; times are well in the past so
// that a query up to now covers them.
var base = time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)

func at(d time.Duration, bed, device string, kind devices.Kind, stream devices.Stream, fields ...devices.Field) devices.Observation {
	return devices.Observation{
		Reading:  devices.Reading{Stream: stream, Time: base.Add(d), Fields: fields},
		DeviceID: device,
		BedID:    bed,
		AgencyID: "a1",
		Kind:     kind,
		Received: base.Add(d + 50*time.Millisecond),
	}
}

// fixture holds observations of every stream for bed b1, and one of bed b2.
func fixture() []devices.Observation {
	vm, ss := devices.KindVitalsMonitor, devices.Kind("")
	return []devices.Observation{
		at(123456789, "b1", "vm1", vm, devices.StreamVitals, devices.FloatField("heart_rate", 70), devices.BoolField("in_bed", true), devices.FloatField("spo2", 97)),
		at(20*time.Second+123456789, "b1", "vm1", vm, devices.StreamVitals, devices.FloatField("heart_rate", 72.5), devices.BoolField("in_bed", false)),
		at(70*time.Second+1, "b1", "vm1", vm, devices.StreamVitals, devices.FloatField("heart_rate", 74), devices.FloatField("temp_c", 36.6)),
		at(time.Second, "b1", "cl1", devices.KindClimate, devices.StreamEnv, devices.FloatField("temp_c", 22.5), devices.FloatField("humidity", 40), devices.BoolField("smoke", false)),
		at(2*time.Second, "b1", "vm1", vm, devices.StreamStatus, devices.FloatField("battery", 88), devices.FloatField("rssi", -61), devices.BoolField("tamper", false)),
		at(3*time.Second, "b1", "fs1", devices.KindFallSensor, devices.StreamFall, devices.StringField("state", "fall")),
		at(4*time.Second, "b1", "sos1", devices.KindSOSButton, devices.StreamSOS, devices.StringField("action", "press")),
		at(5*time.Second, "b1", "hub1", devices.KindHub, devices.StreamAvailability, devices.StringField("state", "online")),
		at(6*time.Second, "b1", "vr1", devices.KindVisitReader, devices.StreamVisit, devices.StringField("caregiver", "c1"),
			devices.StringField("action", "check_in"), devices.StringField("method", "nfc"), devices.StringField("services", "0101,0102")),
		at(7*time.Second, "b1", "vm1", ss, devices.StreamVitals), // no fields: no point
		at(10*time.Second, "b2", "vm2", vm, devices.StreamVitals, devices.FloatField("heart_rate", 100)),
	}
}

// counter counts the stored points of a measurement that carry a field.
type counter func(t *testing.T, measurement, field string) int

// testStore runs the tests every Store must pass. The store must be empty.
func testStore(t *testing.T, s Store, drops *dropLog, count counter) {
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping() = %v, want nil", err)
	}
	obs := fixture()
	if err := s.Write(ctx, obs); err != nil {
		t.Fatalf("Write(fixture) = %v, want nil", err)
	}
	if got := drops.take(); len(got) != 0 {
		t.Fatalf("Write(fixture) dropped %q, want nothing", got)
	}

	t.Run("query", func(t *testing.T) {
		from := base
		to := base.Add(time.Hour)
		p := func(d time.Duration, v float64) Point { return Point{Time: base.Add(d), Value: v} }
		tests := []struct {
			name string
			q    Query
			want []Point
		}{
			{"raw float", Query{BedID: "b1", Field: "heart_rate", From: from, To: to},
				[]Point{p(123456789, 70), p(20*time.Second+123456789, 72.5), p(70*time.Second+1, 74)}},
			{"raw bool as 0 and 1", Query{BedID: "b1", Field: "in_bed", From: from, To: to},
				[]Point{p(123456789, 1), p(20*time.Second+123456789, 0)}},
			{"minute means", Query{BedID: "b1", Field: "heart_rate", From: from, To: to, Every: time.Minute},
				[]Point{p(0, 71.25), p(time.Minute, 74)}},
			{"bool mean is the share of true", Query{BedID: "b1", Field: "in_bed", From: from, To: to, Every: time.Minute},
				[]Point{p(0, 0.5)}},
			{"same field from two measurements is merged", Query{BedID: "b1", Field: "temp_c", From: from, To: to},
				[]Point{p(time.Second, 22.5), p(70*time.Second+1, 36.6)}},
			{"from is inclusive, to exclusive", Query{BedID: "b1", Field: "heart_rate", From: base.Add(20*time.Second + 123456789), To: base.Add(70*time.Second + 1)},
				[]Point{p(20*time.Second+123456789, 72.5)}},
			{"other bed", Query{BedID: "b2", Field: "heart_rate", From: from, To: to},
				[]Point{p(10*time.Second, 100)}},
			{"string values are left out", Query{BedID: "b1", Field: "state", From: from, To: to}, nil},
			{"string values have no mean", Query{BedID: "b1", Field: "state", From: from, To: to, Every: time.Minute}, nil},
			{"hostile bed id is only a string", Query{BedID: `b1" or r.bed != "${x}\`, Field: "heart_rate", From: from, To: to}, nil},
			{"unknown bed", Query{BedID: "nobody", Field: "heart_rate", From: from, To: to}, nil},
			{"to defaults to now", Query{BedID: "b2", Field: "heart_rate", From: from},
				[]Point{p(10*time.Second, 100)}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.Query(ctx, tt.q)
				if err != nil {
					t.Fatalf("Query(%+v) error = %v, want nil", tt.q, err)
				}
				if !samePoints(got, tt.want) {
					t.Errorf("Query(%+v) = %v, want %v", tt.q, got, tt.want)
				}
			})
		}
	})

	t.Run("invalid query", func(t *testing.T) {
		_, err := s.Query(ctx, Query{BedID: "b1", Field: `x") |> drop(`, From: base})
		if !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("Query(hostile field) = %v, want ErrInvalidQuery", err)
		}
	})

	t.Run("every stream stored", func(t *testing.T) {
		for _, c := range []struct {
			measurement, field string
			want               int
		}{
			{"vitals", "heart_rate", 4}, {"vitals", "in_bed", 2}, {"env", "temp_c", 1}, {"env", "smoke", 1},
			{"status", "battery", 1}, {"fall", "state", 1}, {"sos", "action", 1}, {"availability", "state", 1},
			{"visit", "services", 1},
		} {
			if got := count(t, c.measurement, c.field); got != c.want {
				t.Errorf("count(%s, %s) = %d, want %d", c.measurement, c.field, got, c.want)
			}
		}
	})

	t.Run("idempotent", func(t *testing.T) {
		again := fixture()
		again = append(again, again...)
		if err := s.Write(ctx, again); err != nil {
			t.Fatalf("Write(fixture twice) = %v, want nil", err)
		}
		if got, want := count(t, "vitals", "heart_rate"), 4; got != want {
			t.Errorf("count(vitals, heart_rate) after writing the fixture three times = %d, want %d", got, want)
		}
		if got, want := count(t, "visit", "services"), 1; got != want {
			t.Errorf("count(visit, services) after writing the fixture three times = %d, want %d", got, want)
		}
	})

	t.Run("invalid observations dropped", func(t *testing.T) {
		bad := at(time.Hour, "b3", "bad1", devices.KindClimate, devices.StreamEnv, devices.FloatField("temp_c", nan()))
		good := at(time.Hour, "b3", "good1", devices.KindClimate, devices.StreamEnv, devices.FloatField("temp_c", 20))
		if err := s.Write(ctx, []devices.Observation{bad, good}); err != nil {
			t.Fatalf("Write(NaN, good) = %v, want nil", err)
		}
		if got, want := drops.take(), []string{`bad1: field "temp_c": NaN is not a finite number`}; !slices.Equal(got, want) {
			t.Errorf("dropped = %q, want %q", got, want)
		}
		pts, err := s.Query(ctx, Query{BedID: "b3", Field: "temp_c", From: base, To: base.Add(2 * time.Hour)})
		if err != nil || !samePoints(pts, []Point{{base.Add(time.Hour), 20}}) {
			t.Errorf("Query(b3 temp_c) = %v, %v, want the good point", pts, err)
		}
	})
}

func samePoints(a, b []Point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Time.Equal(b[i].Time) || a[i].Value != b[i].Value {
			return false
		}
	}
	return true
}

func nan() float64 {
	var zero float64
	return zero / zero
}

// vitalsBatch returns n vitals observations of one device, a second apart.
func vitalsBatch(device string, start time.Time, n int) []devices.Observation {
	obs := make([]devices.Observation, n)
	for i := range obs {
		obs[i] = devices.Observation{
			Reading: devices.Reading{Stream: devices.StreamVitals, Time: start.Add(time.Duration(i) * time.Second), Fields: []devices.Field{
				devices.FloatField("heart_rate", float64(60+i%40)),
				devices.FloatField("resp_rate", 16),
				devices.FloatField("spo2", 97),
				devices.BoolField("in_bed", true),
				devices.FloatField("movement", float64(i%100)),
			}},
			DeviceID: device,
			BedID:    "bed-" + strings.TrimPrefix(device, "vm-"),
			AgencyID: "agency-1",
			Kind:     devices.KindVitalsMonitor,
			Received: start.Add(time.Duration(i) * time.Second),
		}
	}
	return obs
}
