package devices

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// PressWindow is how close two presses of one device must be to count as
// one: Zigbee2MQTT publishes a press in the JSON state and again as plain
// text on <name>/action, within the same second.
const PressWindow = 2 * time.Second

// levelNames are the level fields Edges tracks. Each device has one slot
// per name, so its memory is bounded whatever it sends.
var levelNames = [...]string{"sos", "state", "door_open", "smoke", "gas", "water_leak", "in_bed", "motion", "tamper", "battery_low"}

// maxLevelText bounds a string level (state) kept per device.
const maxLevelText = 32

func levelSlot(name string) int {
	for i, n := range levelNames {
		if n == name {
			return i
		}
	}
	return -1
}

// Edges turns full-state readings into transitions.
//
// Every Zigbee2MQTT state message repeats the device's cached state (a
// battery report repeats sos:true), and Zigbee2MQTT replays every device's
// state when it starts and when Home Assistant comes online. An alarm on
// every message would call a caregiver for the same fall again and again;
// Edges remembers each device's last level values and reports only
// changes.
//
// The first value ever seen for a device counts as a change only when it
// is alarming (sos true, state fall or suspected, smoke, gas or water_leak
// true). After a restart of ours we do not know the prior state, and an
// alarm that started while we were down must not be lost: safety first,
// at the cost of one repeat. Snapshot and Restore carry the state over a
// planned restart so that even that repeat is avoided.
//
// Edges is safe for concurrent use.
type Edges struct {
	mu      sync.Mutex
	devices map[string]*deviceEdges
}

type deviceEdges struct {
	levels    [len(levelNames)]Field // Name "" while unknown
	lastPress time.Time
}

// NewEdges returns an Edges that knows no device.
func NewEdges() *Edges {
	return &Edges{devices: make(map[string]*deviceEdges)}
}

// Step takes one reading of a device, received at at, and returns the
// events it raises, in the reading's field order:
//
//   - each level field (sos, state, door_open, smoke, gas, water_leak,
//     in_bed, motion, tamper, battery_low) whose value differs from the
//     last known one; a field the reading lacks (missing or null in the
//     payload) changes nothing;
//   - action=press, unless the device already raised a press less than
//     PressWindow before or after at (the JSON state and the /action
//     topic carry the same press); other action values pass through;
//   - nothing for other fields (battery, temp_c, ...): they are
//     telemetry, not events.
//
// It returns nil when nothing changed.
func (e *Edges) Step(deviceID string, r Reading, at time.Time) (events []Field) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.devices[deviceID]
	if d == nil {
		d = &deviceEdges{}
		e.devices[deviceID] = d
	}
	for _, f := range r.Fields {
		if f.Name == "action" {
			if f.Type != String || f.S != "press" {
				events = append(events, f)
				continue
			}
			if !d.lastPress.IsZero() && absDuration(at.Sub(d.lastPress)) < PressWindow {
				continue
			}
			d.lastPress = at
			events = append(events, f)
			continue
		}
		slot := levelSlot(f.Name)
		if slot < 0 {
			continue
		}
		if f.Type == String && len(f.S) > maxLevelText {
			f.S = f.S[:maxLevelText]
		}
		old := d.levels[slot]
		if old.Name != "" && sameValue(old, f) {
			continue
		}
		if f.Type == String {
			f.S = string([]byte(f.S)) // keep no reference to a payload buffer
		}
		d.levels[slot] = f
		if old.Name != "" || alarming(f) {
			events = append(events, f)
		}
	}
	return events
}

// Forget drops what Edges knows of a device (removed from the registry).
func (e *Edges) Forget(deviceID string) {
	e.mu.Lock()
	delete(e.devices, deviceID)
	e.mu.Unlock()
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func sameValue(a, b Field) bool {
	return a.Type == b.Type && a.B == b.B && a.S == b.S && a.F == b.F
}

// alarming reports whether a first-seen level value must be raised.
func alarming(f Field) bool {
	switch f.Name {
	case "sos", "smoke", "gas", "water_leak":
		return f.Type == Bool && f.B
	case "state":
		return f.Type == String && (f.S == "fall" || f.S == "suspected")
	}
	return false
}

// edgesSnapshot is the persisted form of Edges (version 1).
type edgesSnapshot struct {
	Version int                           `json:"version"`
	Devices map[string]edgesSnapshotEntry `json:"devices"`
}

type edgesSnapshotEntry struct {
	Levels    map[string]json.RawMessage `json:"levels,omitempty"`
	LastPress *time.Time                 `json:"last_press,omitempty"`
}

// Snapshot returns the known state of every device as JSON, for Restore
// after a restart.
func (e *Edges) Snapshot() []byte {
	e.mu.Lock()
	snap := edgesSnapshot{Version: 1, Devices: make(map[string]edgesSnapshotEntry, len(e.devices))}
	for id, d := range e.devices {
		var ent edgesSnapshotEntry
		for _, f := range d.levels {
			if f.Name == "" {
				continue
			}
			if ent.Levels == nil {
				ent.Levels = make(map[string]json.RawMessage)
			}
			v := any(f.B)
			switch f.Type {
			case String:
				v = f.S
			case Float:
				v = f.F
			}
			ent.Levels[f.Name], _ = json.Marshal(v)
		}
		if !d.lastPress.IsZero() {
			t := d.lastPress
			ent.LastPress = &t
		}
		snap.Devices[id] = ent
	}
	e.mu.Unlock()
	b, err := json.Marshal(snap)
	if err != nil {
		panic("devices: edges snapshot: " + err.Error()) // only strings, bools and finite floats
	}
	return b
}

// Restore replaces the state of every device with a Snapshot. Level names
// it does not know (from a newer version) are skipped; a value of the
// wrong type, or another version, is an error and leaves the state as it
// was.
func (e *Edges) Restore(data []byte) error {
	var snap edgesSnapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("restore edges: %w", err)
	}
	if snap.Version != 1 {
		return fmt.Errorf("restore edges: snapshot version %d, want 1", snap.Version)
	}
	devices := make(map[string]*deviceEdges, len(snap.Devices))
	for id, ent := range snap.Devices {
		d := &deviceEdges{}
		for name, raw := range ent.Levels {
			slot := levelSlot(name)
			if slot < 0 || string(raw) == "null" {
				continue
			}
			f := Field{Name: name, Type: Bool}
			target := any(&f.B)
			if name == "state" {
				f.Type, target = String, &f.S
			}
			if err := json.Unmarshal(raw, target); err != nil {
				return fmt.Errorf("restore edges: device %q level %s: %w", id, name, err)
			}
			if len(f.S) > maxLevelText {
				return fmt.Errorf("restore edges: device %q level %s: longer than %d bytes", id, name, maxLevelText)
			}
			d.levels[slot] = f
		}
		if ent.LastPress != nil {
			d.lastPress = *ent.LastPress
		}
		devices[id] = d
	}
	e.mu.Lock()
	e.devices = devices
	e.mu.Unlock()
	return nil
}
