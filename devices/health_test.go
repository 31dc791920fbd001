package devices

import (
	"strconv"
	"testing"
	"time"
)

func TestMonitorHealth(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	obs := func(id string, kind Kind, at time.Time, fields ...Field) Observation {
		return Observation{DeviceID: id, Kind: kind, Received: at, Reading: Reading{Fields: fields}}
	}
	tests := []struct {
		name   string
		steps  []Observation
		sweep  time.Time
		want   Health
		device string
	}{
		{"message means online and seen", []Observation{obs("v1", KindVitalsMonitor, t0, FloatField("heart_rate", 70))},
			t0, Health{Online: true, LastSeen: &t0}, "v1"},
		{"availability offline", []Observation{obs("v1", KindVitalsMonitor, t0, BoolField("online", false))},
			t0, Health{Online: false, LastSeen: &t0}, "v1"},
		{"battery and tamper kept across messages", []Observation{
			obs("d1", KindDoorSensor, t0, FloatField("battery", 80), BoolField("tamper", true)),
			obs("d1", KindDoorSensor, t0.Add(time.Minute), BoolField("door_open", true)),
		}, t0.Add(time.Minute), Health{Online: true, LastSeen: ptr(t0.Add(time.Minute)), Battery: ptr(80.0), Tamper: true}, "d1"},
		{"silent for exactly three heartbeats stays online", []Observation{obs("v1", KindVitalsMonitor, t0, FloatField("heart_rate", 70))},
			t0.Add(3 * time.Minute), Health{Online: true, LastSeen: &t0}, "v1"},
		{"silent past three heartbeats is offline", []Observation{obs("v1", KindVitalsMonitor, t0, FloatField("heart_rate", 70))},
			t0.Add(3*time.Minute + time.Second), Health{Online: false, LastSeen: &t0}, "v1"},
		{"battery sensor quiet for a day is still online", []Observation{obs("s1", KindSOSButton, t0, FloatField("battery", 90))},
			t0.Add(24 * time.Hour), Health{Online: true, LastSeen: &t0, Battery: ptr(90.0)}, "s1"},
		{"an older replayed message does not move last_seen back", []Observation{
			obs("v1", KindVitalsMonitor, t0.Add(time.Minute), FloatField("heart_rate", 70)),
			obs("v1", KindVitalsMonitor, t0, FloatField("heart_rate", 71)),
		}, t0.Add(time.Minute), Health{Online: true, LastSeen: ptr(t0.Add(time.Minute))}, "v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMonitor(nil)
			for _, o := range tt.steps {
				m.Observe(o)
			}
			m.Sweep(tt.sweep)
			got, ok := m.Get(tt.device)
			if !ok {
				t.Fatalf("Get(%q) found nothing", tt.device)
			}
			if !sameHealth(got, tt.want) {
				t.Errorf("health of %s = %s, want %s", tt.device, show(got), show(tt.want))
			}
		})
	}
}

func TestMonitorDirtyAndHeartbeatOverride(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	m := NewMonitor(map[Kind]time.Duration{KindSOSButton: time.Minute})
	m.Observe(Observation{DeviceID: "s1", Kind: KindSOSButton, Received: t0})
	if d := m.TakeDirty(); len(d) != 1 {
		t.Fatalf("TakeDirty() = %d devices, want 1", len(d))
	}
	if d := m.TakeDirty(); d != nil {
		t.Errorf("second TakeDirty() = %v, want nil", d)
	}
	if changed := m.Sweep(t0.Add(4 * time.Minute)); len(changed) != 1 || changed[0] != "s1" {
		t.Errorf("Sweep() with a 1 min heartbeat = %v, want [s1]", changed)
	}
	if d := m.TakeDirty(); len(d) != 1 || d["s1"].Online {
		t.Errorf("TakeDirty() after sweep = %v, want s1 offline", d)
	}
	m.MarkDirty(map[string]Health{"s1": {}, "gone": {}})
	if d := m.TakeDirty(); len(d) != 1 {
		t.Errorf("TakeDirty() after MarkDirty = %v, want only the known device", d)
	}
}

func ptr[T any](v T) *T { return &v }

func sameHealth(a, b Health) bool {
	eqT := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	eqF := func(x, y *float64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.Online == b.Online && a.Tamper == b.Tamper && eqT(a.LastSeen, b.LastSeen) && eqF(a.Battery, b.Battery)
}

func show(h Health) string {
	s := "online=" + map[bool]string{true: "true", false: "false"}[h.Online]
	if h.LastSeen != nil {
		s += " last_seen=" + h.LastSeen.Format(time.RFC3339)
	}
	if h.Battery != nil {
		s += " battery=" + strconv.FormatFloat(*h.Battery, 'g', -1, 64)
	}
	return s
}
