package alerts

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"carebed/devices"
)

// Engine is the alarm rules engine: it turns observations, device
// silences and the passing of time into signals (raise, clear, re-notify)
// for the alert lifecycle (Apply).
//
// It is deterministic: its only clock is the receive time of the
// observations it is given and the now of Tick, never a wall clock, so a
// replay of the journal from a saved state gives the same signals. Timers
// (bed exit, door at night, no signal, inactivity, long lie, suspected
// fall upgrade, SOS button test) are deadlines derived from the persisted
// state; a signal a timer raises carries the deadline as its At, however
// late it is noticed.
//
// Every format's levels are edges: a device's last value of each level is
// remembered and a repeat changes nothing (Zigbee2MQTT repeats its full
// cached state in every message and replays it at start). The first value
// ever seen raises only when it is alarming (sos, a fall, smoke, gas, a
// leak, tamper, a low battery): after a restart without saved state an
// alarm that began meanwhile must not be lost.
//
// Choices the rules make where the product's rule table is silent:
//
//   - A timer due exactly when an observation arrives fires first: "back
//     in bed at 20 min" raises bed_exit and clears it; "exactly 60 s
//     abnormal" raises.
//   - Vitals: one vitals alert per bed; a reading in which several signs
//     reach Sustain raises once, naming them all. Body temperature is
//     temp_c of the vitals stream only (temp_c elsewhere is the room's).
//     Normal again means more than Margin inside the limits.
//   - no_signal starts only on a radar's explicit no-reading marker (0,
//     255, NaN or null, which decoders turn into no_reading) while someone
//     is in bed: ESPHome publishes one entity per message, so a message
//     without a heart rate is not a missing heart rate.
//   - Falls: an episode is the time any fall sensor of the bed reports
//     suspected or fall. It raises major once (suspected) and critical
//     once (fall, or still suspected after SuspectedUpgradeAfter); the
//     long lie counts from the onset of the episode (the elder may have
//     been down since the suspected fall) and re-notifies until a
//     recovery: a rising motion or in_bed edge from a device that is not
//     itself reporting the fall (a radar sees the fallen elder too).
//   - Inactivity: activity is a motion=true report (repeats included), a
//     door or in_bed change (not a first value), a counted SOS press (a
//     sign of life), or water_flow true or > 0. It is kept to the minute,
//     so the 12 h timer always fires up to a minute early, restart or not.
//     While a hub is offline the bed is blind and inactivity and no_signal
//     stop; when it is back they count again from then.
//   - Per-device conditions (device_offline, battery_low, tamper, smoke,
//     gas, water_leak, service_due) are one alert per bed: each device
//     that enters the condition raises (a repeat naming it), and the
//     alert clears when no device of the bed is in it.
//   - A first door_open=true at night starts door_night, as an opening
//     would; a first in_bed value is no exit.
//   - battery_low is low while the percentage (with its hysteresis) or
//     the device's battery_low bit says so.
//   - A hub that goes silent raises device_offline; only its offline
//     message (the will on bridge/state) raises hub_offline and blinds the
//     bed.
//
// Observe takes the full observations of the devices (not the output of
// devices.Edges, which drops vital signs). An Engine is safe for
// concurrent use; calls are serialised.
type Engine struct {
	mu       sync.Mutex
	cfg      Config
	defaults *ruleSet
	beds     map[string]*ruleBed
	heap     ruleHeap
	dirty    []*ruleBed
	removed  map[string]struct{}
}

// ruleNoTimer is the deadline of a bed with no timer running.
const ruleNoTimer = math.MaxInt64

// NewEngine returns an engine with the rules of cfg, every zero field of
// cfg taking its DefaultConfig value (check cfg with Validate first).
func NewEngine(cfg Config) *Engine {
	cfg = cfg.withDefaults()
	return &Engine{
		cfg:      cfg,
		defaults: &ruleSet{vitals: cfg.Vitals, nightStart: cfg.NightStart, nightEnd: cfg.NightEnd},
		beds:     make(map[string]*ruleBed),
		removed:  make(map[string]struct{}),
	}
}

// Config returns the configuration in use, defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// PutBed adds a bed or replaces its rules; its state and running timers
// are kept (a new night window applies to the next exit or opening).
// Observations of a bed that was never put are evaluated with the
// configured rules and the agency the observation names. An override that
// BedRules.Validate rejects keeps the configured value.
func (e *Engine) PutBed(r BedRules) {
	if r.BedID == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.bed(r.BedID, "")
	if r.AgencyID != "" {
		if b.agency != r.AgencyID {
			b.agency = strings.Clone(r.AgencyID)
			e.touch(b)
		}
		b.agencyPut = true
	}
	b.rules = e.defaults
	if r.Vitals != nil || r.NightStart != nil || r.NightEnd != nil {
		rs := *e.defaults
		if r.Vitals != nil {
			if v := r.Vitals.or(e.cfg.Vitals); v.validate() == nil {
				rs.vitals = v
			}
		}
		if r.NightStart != nil && r.NightStart.valid() {
			rs.nightStart = *r.NightStart
		}
		if r.NightEnd != nil && r.NightEnd.valid() {
			rs.nightEnd = *r.NightEnd
		}
		b.rules = &rs
	}
	e.settle(b)
}

// RemoveBed forgets a bed, its state and its timers, without signals; the
// next TakeDirty reports it with nil Data so that its saved state goes
// too.
func (e *Engine) RemoveBed(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.beds[id]
	if b == nil {
		return
	}
	delete(e.beds, id)
	e.heap.remove(b)
	if b.dirty {
		for i, x := range e.dirty {
			if x == b {
				e.dirty = append(e.dirty[:i], e.dirty[i+1:]...)
				break
			}
		}
	}
	e.removed[b.id] = struct{}{}
}

// ForgetDevice drops what the rules know of a device removed from a bed.
// It returns a Clear, at at, for each condition alert (device_offline,
// hub_offline, battery_low, tamper, smoke, gas, water_leak, service_due)
// that only this device held.
func (e *Engine) ForgetDevice(bedID, deviceID string, at time.Time) []Signal {
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.beds[bedID]
	if b == nil {
		return nil
	}
	idx := slices.IndexFunc(b.devs, func(d ruleDevice) bool { return d.id == deviceID })
	if idx < 0 {
		return nil
	}
	d := &b.devs[idx]
	var out []Signal
	for _, h := range ruleHeld {
		if h.has(d) && !slices.ContainsFunc(b.devs, func(x ruleDevice) bool { return x.id != deviceID && h.has(&x) }) {
			out = append(out, b.signal(Clear, h.kind, ruleSeverity(h.kind, d), deviceID, at, "device removed"))
		}
	}
	wasBlind := b.blind()
	b.devs = slices.Delete(b.devs, idx, idx+1)
	if wasBlind && !b.blind() {
		e.unblind(b, at.UnixNano())
	}
	if b.fallOnset != 0 && !b.falling() {
		b.endFall()
	}
	e.touch(b)
	e.settle(b)
	return out
}

// ruleHeld lists the condition alerts of a bed that its devices hold.
var ruleHeld = [...]struct {
	kind Kind
	has  func(*ruleDevice) bool
}{
	{KindDeviceOffline, func(d *ruleDevice) bool { return d.flags&dfOffline != 0 }},
	{KindHubOffline, func(d *ruleDevice) bool { return d.flags&dfHubDown != 0 }},
	{KindBatteryLow, func(d *ruleDevice) bool { return d.flags&dfBatteryLow != 0 }},
	{KindServiceDue, func(d *ruleDevice) bool { return d.flags&dfServiceDue != 0 }},
	{KindTamper, func(d *ruleDevice) bool { return d.levels[lvTamper] == lvTrue }},
	{KindSmoke, func(d *ruleDevice) bool { return d.levels[lvSmoke] == lvTrue }},
	{KindGas, func(d *ruleDevice) bool { return d.levels[lvGas] == lvTrue }},
	{KindWaterLeak, func(d *ruleDevice) bool { return d.levels[lvWaterLeak] == lvTrue }},
}

// ruleSeverity is the severity of the alerts of kind k that the rules
// raise for device d.
func ruleSeverity(k Kind, d *ruleDevice) Severity {
	switch k {
	case KindSOS, KindSmoke, KindGas:
		return Critical
	case KindDeviceOffline:
		if d.kind == devices.KindSOSButton {
			return Major
		}
		return Minor
	case KindBatteryLow, KindTamper, KindServiceDue:
		return Minor
	}
	return Major
}

// Observe applies one observation of a device of a bed: it first fires
// the bed's timers due at or before o.Received (each with its deadline as
// At), then evaluates o, and returns the signals in that order. Timers run
// on o.Received, never on the device's own time. An observation without a
// bed, device or receive time changes nothing.
func (e *Engine) Observe(o devices.Observation) []Signal {
	if o.BedID == "" || o.DeviceID == "" || o.Received.IsZero() {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.bed(o.BedID, o.AgencyID)
	out := e.fireUntil(b, o.Received.UnixNano(), nil)
	d := e.device(b, o.DeviceID, o.Kind)
	out = e.apply(b, d, &o, out)
	e.settle(b)
	return out
}

// DeviceSilent says the health monitor heard nothing from a device for
// three heartbeats: device_offline, minor (major for an SOS button),
// cleared by its next message. A silent hub raises device_offline too but
// does not blind the bed: only the hub's own offline message (its will)
// says that its devices are unreachable.
func (e *Engine) DeviceSilent(deviceID, bedID, agencyID string, kind devices.Kind, at time.Time) []Signal {
	if bedID == "" || deviceID == "" || at.IsZero() {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.bed(bedID, agencyID)
	out := e.fireUntil(b, at.UnixNano(), nil)
	d := e.device(b, deviceID, kind)
	out = e.wentOffline(b, d, at, false, "no message for 3 heartbeats", out)
	e.settle(b)
	return out
}

// Tick fires every timer due at or before now, in deadline order across
// beds, each signal with its deadline as At. When nothing is due it costs
// one comparison. now is the gateway's clock; call it with a time no later
// than the receive time of the next observation still to be given to
// Observe, so that a timer never fires ahead of an observation that would
// have stopped it.
func (e *Engine) Tick(now time.Time) []Signal {
	n := now.UnixNano()
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Signal
	for len(e.heap) > 0 && e.heap[0].next <= n {
		out = e.fireNext(e.heap[0], out)
	}
	return out
}

// NextDeadline returns the earliest timer deadline of all beds, and false
// when no timer runs: when the gateway needs to Tick next.
func (e *Engine) NextDeadline() (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.heap) == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, e.heap[0].next).UTC(), true
}

// bed returns the bed id, created when unknown. agency, when not empty,
// names its agency unless PutBed did.
func (e *Engine) bed(id, agency string) *ruleBed {
	b := e.beds[id]
	if b == nil {
		b = &ruleBed{id: strings.Clone(id), agency: strings.Clone(agency), rules: e.defaults, next: ruleNoTimer, heapIdx: -1}
		e.beds[b.id] = b
		if _, ok := e.removed[b.id]; ok {
			delete(e.removed, b.id)
			e.touch(b) // overwrite the saved state of the removed bed
		}
		return b
	}
	if agency != "" && !b.agencyPut && agency != b.agency {
		b.agency = strings.Clone(agency)
		e.touch(b)
	}
	return b
}

// device returns the device id of b, created when unknown.
func (e *Engine) device(b *ruleBed, id string, kind devices.Kind) *ruleDevice {
	if d := b.device(id); d != nil {
		if kind != "" && d.kind != kind {
			d.kind = internKind(kind)
			e.touch(b)
		}
		return d
	}
	b.devs = append(b.devs, ruleDevice{id: strings.Clone(id), kind: internKind(kind)})
	e.touch(b)
	return &b.devs[len(b.devs)-1]
}

// touch records a change of b's material state: b goes into the dirty
// list and its timers are recomputed at the end of the call.
func (e *Engine) touch(b *ruleBed) {
	b.touched = true
	if !b.dirty {
		b.dirty = true
		e.dirty = append(e.dirty, b)
	}
}

// markDirty puts b into the dirty list without a change.
func (e *Engine) markDirty(b *ruleBed) {
	if !b.dirty {
		b.dirty = true
		e.dirty = append(e.dirty, b)
	}
}

// settle recomputes b's timers after its state changed.
func (e *Engine) settle(b *ruleBed) {
	if b.touched {
		b.touched = false
		e.reschedule(b)
	}
}

// reschedule recomputes b's earliest deadline and its place in the heap.
func (e *Engine) reschedule(b *ruleBed) {
	b.next, _, _ = e.nextTimer(b)
	e.heap.update(b)
}

// fireUntil fires b's timers due at or before n, in order.
func (e *Engine) fireUntil(b *ruleBed, n int64, out []Signal) []Signal {
	for b.next <= n {
		out = e.fireNext(b, out)
	}
	return out
}

// signal builds a signal of b.
func (b *ruleBed) signal(op Op, k Kind, sev Severity, dev string, at time.Time, detail string) Signal {
	return Signal{Op: op, Kind: k, Severity: sev, AgencyID: b.agency, BedID: b.id, DeviceID: dev, At: at, Detail: detail}
}
