package devices

import (
	"slices"
	"testing"
	"time"
)

// TestMonitorBehindHub: a hub going offline blinds the devices behind it;
// messages through a hub keep it alive; a hub that reports its
// availability is not swept for silence.
func TestMonitorBehindHub(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	r := z2mRegistry(t, t0)
	m := NewMonitor(nil)
	decode := func(topic, payload string, at time.Time) {
		t.Helper()
		obs, err := r.Decode(Message{Topic: topic, Payload: []byte(payload), Received: at}, nil)
		if err != nil {
			t.Fatalf("Decode(%q) = %v", topic, err)
		}
		m.ObserveAll(obs)
	}
	online := func(id string) bool {
		t.Helper()
		h, ok := m.Get(id)
		if !ok {
			t.Fatalf("Get(%q) found nothing", id)
		}
		return h.Online
	}
	decode("z2m/home-1/bridge/state", `{"state":"online"}`, t0)
	decode("z2m/home-1/Bedroom/SOS button", `{"battery":95,"sos":false}`, t0)
	decode("z2m/home-1/Bathroom radar", `{"fall_down_status":"none"}`, t0)
	if !online("hub-1") || !online("sos-1") || !online("fall-1") {
		t.Fatalf("after the hub's start, online = hub %v sos %v fall %v, want all", online("hub-1"), online("sos-1"), online("fall-1"))
	}

	// Silence of the hub's own topics for an hour: the devices' messages
	// came through it, and its will tells when it goes.
	decode("z2m/home-1/Bathroom radar", `{"fall_down_status":"none"}`, t0.Add(59*time.Minute))
	m.Sweep(t0.Add(time.Hour))
	if !online("hub-1") {
		t.Errorf("hub-1 after an hour of device traffic and no bridge message = offline, want online")
	}
	if h, _ := m.Get("hub-1"); !h.LastSeen.Equal(t0.Add(59 * time.Minute)) {
		t.Errorf("hub-1 last_seen = %v, want the last message through it", h.LastSeen)
	}

	// Bridge offline: every device behind it is blind.
	obs, err := r.Decode(Message{Topic: "z2m/home-1/bridge/state", Payload: []byte(`{"state":"offline"}`), Received: t0.Add(time.Hour)}, nil)
	if err != nil || len(obs) != 1 {
		t.Fatalf("Decode(bridge offline) = %v, %v", obs, err)
	}
	if o := obs[0]; o.DeviceID != "hub-1" || o.Kind != KindHub || o.Stream != StreamAvailability || o.BedID != "bed-1" {
		t.Errorf("bridge offline observation = %+v, want hub-1, kind hub, availability, bed-1", o)
	}
	m.ObserveAll(obs)
	if n := m.MarkOffline(r.BehindHub("hub-1")); n != 2 {
		t.Errorf("MarkOffline(behind hub-1) changed %d devices, want 2 (sos-1, fall-1; the others never reported)", n)
	}
	if online("hub-1") || online("sos-1") || online("fall-1") {
		t.Errorf("after bridge offline, online = hub %v sos %v fall %v, want none", online("hub-1"), online("sos-1"), online("fall-1"))
	}
	dirty := m.TakeDirty()
	for _, id := range []string{"hub-1", "sos-1", "fall-1"} {
		if h, ok := dirty[id]; !ok || h.Online {
			t.Errorf("TakeDirty()[%s] = %+v, %v; want offline, to be saved", id, h, ok)
		}
	}

	// The hub back: its replays bring the devices back, one by one.
	decode("z2m/home-1/bridge/state", `{"state":"online"}`, t0.Add(2*time.Hour))
	decode("z2m/home-1/Bedroom/SOS button", `{"battery":95,"sos":false}`, t0.Add(2*time.Hour))
	if !online("hub-1") || !online("sos-1") || online("fall-1") {
		t.Errorf("after the hub's return, online = hub %v sos %v fall %v, want true true false", online("hub-1"), online("sos-1"), online("fall-1"))
	}

	// A hub the sweep silenced comes back with traffic through it.
	m2 := NewMonitor(nil)
	m2.Observe(Observation{DeviceID: "hub-n", Kind: KindHub, Received: t0}) // never reported availability
	if changed := m2.Sweep(t0.Add(time.Hour)); !slices.Equal(changed, []string{"hub-n"}) {
		t.Fatalf("Sweep() = %v, want [hub-n]", changed)
	}
	m2.Observe(Observation{DeviceID: "d", Kind: KindDoorSensor, Via: "hub-n", Received: t0.Add(2 * time.Hour)})
	if h, _ := m2.Get("hub-n"); !h.Online {
		t.Errorf("silenced hub after a message through it = offline, want online")
	}
}
