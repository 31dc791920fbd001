package api

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"carebed/devices"
	"carebed/store"
)

// deviceHealth is the read-only part of a device response.
type deviceHealth struct {
	ID       string     `json:"id"`
	LastSeen *time.Time `json:"last_seen"`
	Online   bool       `json:"online"`
	Battery  *float64   `json:"battery"`
	Tamper   bool       `json:"tamper"`
}

func TestDeviceHealthIsReadOnly(t *testing.T) {
	h := newHarness(t)
	h.seed(t)
	tests := []struct {
		name         string
		method, path string
		body         string
		status       int
	}{
		{"create with health", "POST", "/api/v1/devices",
			`{"id":"dev2","bed_id":"bed1","kind":"hub","last_seen":"2025-01-01T00:00:00Z","online":true,"battery":5,"tamper":true}`, 201},
		{"create with health of the wrong types", "POST", "/api/v1/devices",
			`{"id":"dev3","bed_id":"bed1","kind":"hub","last_seen":17,"online":"yes","battery":"full","tamper":{}}`, 201},
		{"replace with health", "PUT", "/api/v1/devices/dev1",
			`{"bed_id":"bed1","kind":"vitals_monitor","last_seen":"2025-01-01T00:00:00Z","online":true,"battery":99,"tamper":true}`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.mustDo(t, tt.method, tt.path, tt.body, tt.status)
			got := decode[deviceHealth](t, tt.method, tt.path, r)
			if got.LastSeen != nil || got.Online || got.Battery != nil || got.Tamper {
				t.Errorf("%s %s = %s, want no health", tt.method, tt.path, r.body)
			}
			path := "/api/v1/devices/" + got.ID
			got = decode[deviceHealth](t, "GET", path, h.mustDo(t, "GET", path, "", fiber.StatusOK))
			if got.LastSeen != nil || got.Online || got.Battery != nil || got.Tamper {
				t.Errorf("GET %s = %+v, want no health", path, got)
			}
		})
	}
	// Nor was the stored health touched.
	stored, err := h.db.GetDevice(context.Background(), "dev2")
	if err != nil || stored.LastSeen != nil || stored.Online || stored.Battery != nil {
		t.Errorf("store.GetDevice(dev2) = %+v, %v, want no health", stored.Health, err)
	}
}

func TestDeviceLiveHealth(t *testing.T) {
	h := newHarness(t)
	h.seed(t)
	h.mustDo(t, "POST", "/api/v1/devices", deviceJSON("dev2", "bed1", "hub"), fiber.StatusCreated)
	seen := testNow.Add(-time.Minute)
	battery := 42.5
	// Stored health, as a batch save left it; the monitor's is newer.
	old := testNow.Add(-time.Hour)
	if err := h.db.SaveHealth(context.Background(), map[string]devices.Health{"dev1": {LastSeen: &old, Online: false}}); err != nil {
		t.Fatalf("SaveHealth = %v, want nil", err)
	}

	steps := []struct {
		name string
		obs  devices.Observation
		want deviceHealth
	}{
		{"status message", devices.Observation{
			DeviceID: "dev1", BedID: "bed1", AgencyID: "ag1", Kind: devices.KindVitalsMonitor, Received: seen,
			Reading: devices.Reading{Stream: devices.StreamStatus, Time: seen,
				Fields: []devices.Field{devices.FloatField("battery", battery), devices.BoolField("tamper", true)}},
		}, deviceHealth{ID: "dev1", LastSeen: &seen, Online: true, Battery: &battery, Tamper: true}},
		{"goes offline", devices.Observation{
			DeviceID: "dev1", BedID: "bed1", AgencyID: "ag1", Kind: devices.KindVitalsMonitor, Received: testNow,
			Reading: devices.Reading{Stream: devices.StreamAvailability, Time: testNow,
				Fields: []devices.Field{devices.BoolField("online", false)}},
		}, deviceHealth{ID: "dev1", LastSeen: &testNow, Online: false, Battery: &battery, Tamper: true}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			h.mon.Observe(st.obs)
			const path = "/api/v1/devices/dev1"
			got := decode[deviceHealth](t, "GET", path, h.mustDo(t, "GET", path, "", fiber.StatusOK))
			checkHealth(t, "GET "+path, got, st.want)

			const list = "/api/v1/devices?bed=bed1"
			items := decode[listBody[deviceHealth]](t, "GET", list, h.mustDo(t, "GET", list, "", fiber.StatusOK)).Items
			if len(items) != 2 {
				t.Fatalf("GET %s = %d items, want 2", list, len(items))
			}
			checkHealth(t, "GET "+list+" item 0", items[0], st.want)
			// dev2 has not been heard from.
			checkHealth(t, "GET "+list+" item 1", items[1], deviceHealth{ID: "dev2"})
		})
	}
}

func checkHealth(t *testing.T, call string, got, want deviceHealth) {
	t.Helper()
	same := got.ID == want.ID && got.Online == want.Online && got.Tamper == want.Tamper &&
		((got.LastSeen == nil) == (want.LastSeen == nil)) && (got.LastSeen == nil || got.LastSeen.Equal(*want.LastSeen)) &&
		((got.Battery == nil) == (want.Battery == nil)) && (got.Battery == nil || *got.Battery == *want.Battery)
	if !same {
		t.Errorf("%s = %s, want %s", call, fmtHealth(got), fmtHealth(want))
	}
}

func fmtHealth(h deviceHealth) string {
	s := h.ID + " last_seen="
	if h.LastSeen != nil {
		s += h.LastSeen.UTC().Format(time.RFC3339)
	} else {
		s += "null"
	}
	s += " battery="
	if h.Battery != nil {
		s += strconv.FormatFloat(*h.Battery, 'g', -1, 64)
	} else {
		s += "null"
	}
	if h.Online {
		s += " online"
	}
	if h.Tamper {
		s += " tamper"
	}
	return s
}

// saveUnknown records count sightings of an unknown device.
func saveUnknown(t *testing.T, h *harness, key, topic string, count int) {
	t.Helper()
	u := store.UnknownDevice{Key: key, Topic: topic, LastSeen: testNow.Add(-time.Minute), Count: int64(count), LastPayload: `{"action":"press"}`}
	if err := h.db.SaveUnknown(context.Background(), []store.UnknownDevice{u}); err != nil {
		t.Fatalf("SaveUnknown(%s) = %v, want nil", key, err)
	}
}
