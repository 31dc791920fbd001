package devices

import (
	"sync"
	"time"
)

// DefaultHeartbeats is how often each kind of device is expected to say
// something. A device silent for three heartbeats is offline. Mains-powered
// radars and hubs talk every few seconds; battery Zigbee sensors report
// every few hours (Zigbee2MQTT itself waits 25 h), hence 8 h.
var DefaultHeartbeats = map[Kind]time.Duration{
	KindVitalsMonitor: time.Minute,
	KindFallSensor:    time.Minute,
	KindHub:           time.Minute,
	KindClimate:       10 * time.Minute,
	KindMotionSensor:  time.Hour,
	KindSOSButton:     8 * time.Hour,
	KindDoorSensor:    8 * time.Hour,
	KindSmokeAlarm:    8 * time.Hour,
	KindGasAlarm:      8 * time.Hour,
	KindWaterLeak:     8 * time.Hour,
	KindVisitReader:   8 * time.Hour,
}

// SilenceFactor times a kind's heartbeat is the silence after which a device
// is marked offline.
const SilenceFactor = 3

// Monitor keeps the health of every device: last seen, online, battery,
// tamper. Online comes from availability messages and from a silence
// timeout per device kind. It is safe for concurrent use.
type Monitor struct {
	mu         sync.Mutex
	heartbeats map[Kind]time.Duration
	health     map[string]*tracked
	dirty      map[string]struct{}
}

type tracked struct {
	Health
	kind Kind
	// silenced: Sweep marked it offline; any word from it, or through it
	// for a hub, brings it back.
	silenced bool
	// willed: a hub that reported its availability. Its broker's will
	// message says when it goes away, and a Zigbee2MQTT bridge publishes
	// nothing periodic, so Sweep leaves it alone.
	willed bool
}

// NewMonitor returns a monitor using the given heartbeats per kind; kinds
// missing from it use DefaultHeartbeats.
func NewMonitor(heartbeats map[Kind]time.Duration) *Monitor {
	hb := make(map[Kind]time.Duration, len(DefaultHeartbeats))
	for k, v := range DefaultHeartbeats {
		hb[k] = v
	}
	for k, v := range heartbeats {
		hb[k] = v
	}
	return &Monitor{heartbeats: hb, health: make(map[string]*tracked), dirty: make(map[string]struct{})}
}

// Load seeds the monitor with health read back from the state database.
func (m *Monitor) Load(d Device) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.health[d.ID] = &tracked{Health: d.Health, kind: d.Kind}
}

// Forget drops a device.
func (m *Monitor) Forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.health, id)
	delete(m.dirty, id)
}

// Observe updates a device's health from one of its observations.
func (m *Monitor) Observe(o Observation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.observe(o)
}

// ObserveAll updates health from a batch of observations, in order.
func (m *Monitor) ObserveAll(batch []Observation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range batch {
		m.observe(o)
	}
}

func (m *Monitor) observe(o Observation) {
	t := m.health[o.DeviceID]
	if t == nil {
		t = &tracked{kind: o.Kind}
		m.health[o.DeviceID] = t
	}
	t.kind = o.Kind
	seen := o.Received
	if t.LastSeen == nil || seen.After(*t.LastSeen) {
		t.LastSeen = &seen
	}
	t.Online, t.silenced = true, false
	for _, f := range o.Fields {
		switch {
		case f.Name == "online" && f.Type == Bool:
			t.Online = f.B
			t.willed = o.Kind == KindHub
		case f.Name == "battery" && f.Type == Float:
			b := f.F
			t.Battery = &b
		case f.Name == "tamper" && f.Type == Bool:
			t.Tamper = f.B
		}
	}
	m.dirty[o.DeviceID] = struct{}{}
	if o.Via != "" {
		m.touch(o.Via, seen)
	}
}

// touch records that a message came through the hub id: it is alive,
// unless it said otherwise.
func (m *Monitor) touch(id string, seen time.Time) {
	t := m.health[id]
	if t == nil {
		return
	}
	if t.LastSeen == nil || seen.After(*t.LastSeen) {
		t.LastSeen = &seen
	}
	if t.silenced {
		t.Online, t.silenced = true, false
	}
	m.dirty[id] = struct{}{}
}

// MarkOffline marks the given devices offline, such as those behind a hub
// that went offline: they are blind, whatever they said last. Devices the
// monitor does not know are skipped. It returns how many changed.
func (m *Monitor) MarkOffline(ids []string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, id := range ids {
		if t := m.health[id]; t != nil && t.Online {
			t.Online, t.silenced = false, false
			m.dirty[id] = struct{}{}
			n++
		}
	}
	return n
}

// Sweep marks offline every device silent for longer than SilenceFactor
// heartbeats of its kind, as of now, and returns the ids it changed.
func (m *Monitor) Sweep(now time.Time) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var changed []string
	for id, t := range m.health {
		if !t.Online || t.LastSeen == nil || t.willed {
			continue
		}
		hb := m.heartbeats[t.kind]
		if hb <= 0 {
			continue
		}
		if now.Sub(*t.LastSeen) > SilenceFactor*hb {
			t.Online, t.silenced = false, true
			m.dirty[id] = struct{}{}
			changed = append(changed, id)
		}
	}
	return changed
}

// Get returns a device's health.
func (m *Monitor) Get(id string) (Health, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.health[id]
	if !ok {
		return Health{}, false
	}
	return t.Health, true
}

// TakeDirty returns the health of every device changed since the last call.
func (m *Monitor) TakeDirty() map[string]Health {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.dirty) == 0 {
		return nil
	}
	out := make(map[string]Health, len(m.dirty))
	for id := range m.dirty {
		if t, ok := m.health[id]; ok {
			out[id] = t.Health
		}
	}
	clear(m.dirty)
	return out
}

// MarkDirty puts devices back into the set TakeDirty returns, after a
// failed save.
func (m *Monitor) MarkDirty(health map[string]Health) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range health {
		if _, ok := m.health[id]; ok {
			m.dirty[id] = struct{}{}
		}
	}
}
