package alerts

import (
	"strconv"
	"time"

	"carebed/devices"
)

// ruleLevelSlot returns the level slot of a field name, or -1.
func ruleLevelSlot(name string) int {
	switch name {
	case "sos":
		return lvSOS
	case "state":
		return lvState
	case "door_open":
		return lvDoorOpen
	case "smoke":
		return lvSmoke
	case "gas":
		return lvGas
	case "water_leak":
		return lvWaterLeak
	case "in_bed":
		return lvInBed
	case "motion":
		return lvMotion
	case "tamper":
		return lvTamper
	case "battery_low":
		return lvBatteryLow
	}
	return -1
}

// levelValue encodes a level field's value; ok is false for a value the
// rules do not know (a wrong type, another fall state).
func levelValue(slot int, f *devices.Field) (uint8, bool) {
	if slot == lvState {
		if f.Type != devices.String {
			return 0, false
		}
		switch f.S {
		case "normal":
			return stNormal, true
		case "suspected":
			return stSuspected, true
		case "fall":
			return stFall, true
		}
		return 0, false
	}
	if f.Type != devices.Bool {
		return 0, false
	}
	if f.B {
		return lvTrue, true
	}
	return lvFalse, true
}

// ruleReading gathers what one observation says about the rules that look at
// the whole reading (vital signs, no signal, activity).
type ruleReading struct {
	vals      [numSigns]float64
	has       uint8 // bit per sign present
	noReading bool
	active    bool
}

// apply evaluates one observation of device d of bed b.
func (e *Engine) apply(b *ruleBed, d *ruleDevice, o *devices.Observation, out []Signal) []Signal {
	at := o.Received
	if o.Stream == devices.StreamAvailability {
		online, known := false, false
		for i := range o.Fields {
			if f := &o.Fields[i]; f.Name == "online" && f.Type == devices.Bool {
				online, known = f.B, true
			}
		}
		if !known {
			return out // a retained deletion: the device said nothing
		}
		if !online {
			return e.wentOffline(b, d, at, true, "reported offline", out)
		}
	}
	out = e.heard(b, d, at, out)
	if d.kind == devices.KindSOSButton && d.firstSeen == 0 {
		d.firstSeen = at.UnixNano()
		e.touch(b)
	}
	var r ruleReading
	for i := range o.Fields {
		f := &o.Fields[i]
		switch f.Name {
		case "action":
			if f.Type == devices.String && f.S == "press" {
				out = e.press(b, d, at, &r, out)
			}
		case "heart_rate":
			r.sign(signHR, f)
		case "resp_rate":
			r.sign(signRR, f)
		case "spo2":
			r.sign(signSpO2, f)
		case "temp_c":
			if o.Stream == devices.StreamVitals { // elsewhere it is the room's
				r.sign(signTemp, f)
			}
		case "no_reading":
			r.noReading = r.noReading || f.Type == devices.Bool && f.B
		case "battery":
			if f.Type == devices.Float {
				out = e.battery(b, d, f.F, at, out)
			}
		case "water_flow": // a water meter or flow sensor: someone uses water
			r.active = r.active || f.Type == devices.Bool && f.B || f.Type == devices.Float && f.F > 0
		default:
			if slot := ruleLevelSlot(f.Name); slot >= 0 {
				if v, ok := levelValue(slot, f); ok {
					if slot == lvSOS && v == lvTrue && d.levels[slot] == lvUnknown && o.Via != "" {
						// A hub's cached sos flag seen for the first time: it
						// stays true from some earlier press and comes back in
						// every replay, so it is the device's baseline, not a
						// press. Presses come as action events and always count.
						d.levels[slot] = v
						e.touch(b)
						continue
					}
					out = e.level(b, d, slot, v, at, &r, out)
				}
			}
		}
	}
	if r.has != 0 || r.noReading {
		out = e.vitals(b, d, &r, at, out)
	}
	if r.active {
		out = e.active(b, at, out)
	}
	return out
}

func (r *ruleReading) sign(s int, f *devices.Field) {
	if f.Type == devices.Float {
		r.vals[s] = f.F
		r.has |= 1 << s
	}
}

// level applies a level field: nothing on a repeat, a rule's edge on a
// change. A first value counts as a rising edge, so a first alarming
// value raises.
func (e *Engine) level(b *ruleBed, d *ruleDevice, slot int, v uint8, at time.Time, r *ruleReading, out []Signal) []Signal {
	old := d.levels[slot]
	if slot == lvMotion && v == lvTrue {
		r.active = true // every motion report shows someone about, repeated or not
	}
	if old == v {
		return out
	}
	d.levels[slot] = v
	e.touch(b)
	if old != lvUnknown && (slot == lvDoorOpen || slot == lvInBed) {
		r.active = true
	}
	rising, falling := v == lvTrue, v == lvFalse && old == lvTrue
	switch slot {
	case lvSOS:
		if rising {
			out = e.press(b, d, at, r, out)
		}
	case lvState:
		out = e.fallState(b, d, v, at, out)
	case lvDoorOpen:
		out = e.door(b, d, rising, falling, at, out)
	case lvInBed:
		out = e.inBed(b, d, old, v, at, out)
	case lvMotion:
		if rising {
			e.recovered(b, d)
		}
	case lvSmoke, lvGas, lvWaterLeak, lvTamper:
		kind, sev, what := hazard(slot)
		switch {
		case rising:
			out = append(out, b.signal(Raise, kind, sev, d.id, at, what))
		case falling && !b.anyLevel(slot, lvTrue, nil):
			out = append(out, b.signal(Clear, kind, sev, d.id, at, what+" ended"))
		}
	case lvBatteryLow:
		out = e.batteryLow(b, d, at, "battery_low "+strconv.FormatBool(rising), out)
	}
	return out
}

// hazard is the alert of a level that raises while true.
func hazard(slot int) (Kind, Severity, string) {
	switch slot {
	case lvSmoke:
		return KindSmoke, Critical, "smoke"
	case lvGas:
		return KindGas, Critical, "gas"
	case lvWaterLeak:
		return KindWaterLeak, Major, "water leak"
	}
	return KindTamper, Minor, "tamper"
}

// press counts a press of an SOS button, once per devices.PressWindow
// (Zigbee2MQTT sends the same press in its JSON state and on /action).
// Every counted press raises sos; it is also the button's test and a sign
// of life.
func (e *Engine) press(b *ruleBed, d *ruleDevice, at time.Time, r *ruleReading, out []Signal) []Signal {
	n := at.UnixNano()
	if d.lastPress != 0 && absNanos(n-d.lastPress) < int64(devices.PressWindow) {
		return out
	}
	d.lastPress = n
	e.touch(b)
	r.active = true
	out = append(out, b.signal(Raise, KindSOS, Critical, d.id, at, "SOS button pressed"))
	if d.flags&dfServiceDue != 0 {
		d.flags &^= dfServiceDue
		if !b.anyFlag(dfServiceDue) {
			out = append(out, b.signal(Clear, KindServiceDue, Minor, d.id, at, "SOS button pressed"))
		}
	}
	return out
}

func absNanos(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// fallState applies a change of a device's fall state. An episode begins
// with the first suspected or fall state of the bed: suspected raises
// major (upgraded by a timer), fall raises critical and starts the long
// lie. It ends, without a Clear (falls are resolved by people), when no
// device reports a fall any more. Within an episode each severity is
// raised once; the long lie re-notifies.
func (e *Engine) fallState(b *ruleBed, d *ruleDevice, v uint8, at time.Time, out []Signal) []Signal {
	n := at.UnixNano()
	switch v {
	case stFall, stSuspected:
		if b.fallOnset == 0 {
			b.fallOnset, b.fallDev, b.fallSev, b.fallRecovered, b.longLie = n, d.id, 0, false, 0
		}
		switch {
		case v == stFall && b.fallSev < 2:
			b.fallSev, b.fallDev = 2, d.id
			e.armLongLie(b, n)
			out = append(out, b.signal(Raise, KindFall, Critical, d.id, at, "fall"))
		case v == stSuspected && b.fallSev == 0:
			b.fallSev = 1
			out = append(out, b.signal(Raise, KindFall, Major, d.id, at, "suspected fall"))
		}
	case stNormal:
		if b.fallOnset != 0 && !b.falling() {
			b.endFall()
		}
	}
	return out
}

func (b *ruleBed) endFall() {
	b.fallOnset, b.fallDev, b.fallSev, b.fallRecovered, b.longLie = 0, "", 0, false, 0
}

// recovered notes a sign of recovery from device d (motion, getting into
// bed) during a fall episode: it stops the long lie. The device reporting
// the fall does not count: a radar sees the fallen elder too.
func (e *Engine) recovered(b *ruleBed, d *ruleDevice) {
	if b.fallOnset == 0 || b.fallRecovered || d.levels[lvState] == stFall || d.levels[lvState] == stSuspected {
		return
	}
	b.fallRecovered, b.longLie = true, 0
	e.touch(b)
}

// door applies a door opening or closing: opened in the night window it
// starts door_night; door_night ends when every door is closed.
func (e *Engine) door(b *ruleBed, d *ruleDevice, opened, closed bool, at time.Time, out []Signal) []Signal {
	switch {
	case opened && b.doorOpen == 0 && b.rules.inNight(at, e.cfg.Zone):
		b.doorOpen, b.doorDev = at.UnixNano(), d.id
	case closed && !b.anyLevel(lvDoorOpen, lvTrue, nil):
		b.doorOpen, b.doorDev = 0, ""
		if b.open&openDoorNight != 0 {
			b.open &^= openDoorNight
			out = append(out, b.signal(Clear, KindDoorNight, Major, d.id, at, "door closed"))
		}
	}
	return out
}

// inBed applies a change of a device's in_bed level to the bed: leaving
// it in the night window starts bed_exit, getting back ends it; an empty
// bed ends no_signal; getting into bed is a sign of recovery from a fall.
func (e *Engine) inBed(b *ruleBed, d *ruleDevice, old, v uint8, at time.Time, out []Signal) []Signal {
	others := b.anyLevel(lvInBed, lvTrue, d)
	wasIn, isIn := others || old == lvTrue, others || v == lvTrue
	if v == lvTrue {
		e.recovered(b, d)
	}
	switch {
	case wasIn && !isIn:
		if b.rules.inNight(at, e.cfg.Zone) {
			b.outOfBed, b.exitDev = at.UnixNano(), d.id
		}
		b.noValid, b.noValidDev = 0, ""
		if b.open&openNoSignal != 0 {
			b.open &^= openNoSignal
			out = append(out, b.signal(Clear, KindNoSignal, Major, d.id, at, "out of bed"))
		}
	case !wasIn && isIn:
		b.outOfBed, b.exitDev = 0, ""
		if b.open&openBedExit != 0 {
			b.open &^= openBedExit
			out = append(out, b.signal(Clear, KindBedExit, Major, d.id, at, "back in bed"))
		}
	}
	return out
}

// active notes activity in the home, kept to the minute so that a bed with
// activity all the time changes at most once a minute. The inactivity
// deadline counts from that minute: it may fire up to a minute early,
// always the same way, restart or not.
func (e *Engine) active(b *ruleBed, at time.Time, out []Signal) []Signal {
	q := floorMinute(at.UnixNano())
	if q > b.activity {
		b.activity = q
		e.touch(b)
	}
	if b.open&openInactivity != 0 {
		b.open &^= openInactivity
		e.touch(b)
		out = append(out, b.signal(Clear, KindInactivity, Major, "", at, "activity"))
	}
	return out
}

// floorMinute is n down to the minute (receive times are after 1970).
func floorMinute(n int64) int64 { return n - n%int64(time.Minute) }
