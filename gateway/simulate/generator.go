package simulate

import (
	"math"
	"time"

	"carebed/devices"
)

// evKind is a kind of ambient event in a bed's day.
type evKind uint8

const (
	evVitals    evKind = iota // radar report, every 5 s
	evClimate                 // room temperature and humidity, every 10 min
	evMotion                  // motion, when someone is up
	evMotionOff               // motion cleared
	evDoor                    // door opened, a few times a day
	evDoorClose               // door closed
	evSafety                  // smoke, gas or water heartbeat (role), every hour
	evFallState               // fall sensor state, every hour
	evStatus                  // device status (role), every 30 min
	evSOS                     // SOS press, about once a week
	evSOSCancel               // SOS cancelled
	evVisit                   // a caregiver visit, step by step (phase)
)

// evStream is the stream each event kind publishes on (visits also open
// and close the door, on env).
var evStream = [...]devices.Stream{
	evVitals: devices.StreamVitals, evClimate: devices.StreamEnv, evMotion: devices.StreamEnv,
	evMotionOff: devices.StreamEnv, evDoor: devices.StreamEnv, evDoorClose: devices.StreamEnv,
	evSafety: devices.StreamEnv, evFallState: devices.StreamFall, evStatus: devices.StreamStatus,
	evSOS: devices.StreamSOS, evSOSCancel: devices.StreamSOS, evVisit: devices.StreamVisit,
}

// Cadences of the ambient traffic.
const (
	vitalsEvery  = 5 * time.Second
	climateEvery = 10 * time.Minute
	statusEvery  = 30 * time.Minute
	safetyEvery  = time.Hour
	sosMeanEvery = 7 * 24 * time.Hour
	doorMeanGap  = 4 * time.Hour
)

// event is one due ambient event; at is simulated time in Unix ns.
type event struct {
	at    int64
	bed   int32
	kind  evKind
	role  role
	phase uint8
}

// message is one message to publish. payload aliases the buffer given to
// generator.next.
type message struct {
	topic    string
	payload  []byte
	retained bool
}

// generator produces the traffic of a set of beds in time order: ambient
// events from a heap ordered by simulated time, and the scenario's steps
// by wall time when it holds the first bed of the fleet.
type generator struct {
	beds   []*simBed
	events eventHeap
	stream devices.Stream // "" for all
	stamp  bool           // add ts
	seq    bool           // add seq
	// realtime: the simulated clock is the wall clock, so an event fires
	// only once the wall clock reaches it.
	realtime bool
	start    time.Time // wall clock at the start

	first *simBed // the bed the scenario plays on, when it is here
	scen  scenario
	step  int // next scenario step
}

// newGenerator schedules the first events of beds, starting at start.
func newGenerator(beds []*simBed, opts Options, start time.Time) *generator {
	g := &generator{
		beds: beds, stream: devices.Stream(opts.Stream), start: start,
		stamp: !opts.OmitTimestamps, seq: opts.Fast || opts.Rate > 0,
		realtime: !opts.Fast && opts.Rate == 0,
	}
	if len(beds) > 0 && beds[0].index == 0 && opts.Scenario != "" {
		g.first, g.scen = beds[0], newScenario(opts.Scenario)
		var steps []step
		for _, s := range g.scen.steps {
			if g.stream == "" || s.kind.stream() == g.stream {
				steps = append(steps, s)
			}
		}
		g.scen.steps = steps
	}
	t0 := start.UnixNano()
	for i, b := range beds {
		uniform := func(d time.Duration) int64 { return t0 + int64(b.rng.Float64()*float64(d)) }
		add := func(at int64, kind evKind, r role) {
			if g.wants(kind) {
				g.events.push(event{at: at, bed: int32(i), kind: kind, role: r})
			}
		}
		add(uniform(vitalsEvery), evVitals, roleVitals)
		add(uniform(climateEvery), evClimate, roleMotion)
		add(t0+expGap(b, 3*time.Minute), evMotion, roleMotion)
		add(t0+expGap(b, doorMeanGap), evDoor, roleDoor)
		for _, r := range []role{roleSmoke, roleGas, roleWater} {
			add(uniform(safetyEvery), evSafety, r)
		}
		add(uniform(safetyEvery), evFallState, roleFall)
		for r := range numRoles {
			add(uniform(statusEvery), evStatus, r)
		}
		add(t0+expGap(b, sosMeanEvery), evSOS, roleSOS)
		if (g.wants(evVisit) || g.wants(evDoor)) && !(b == g.first && (g.scen.noVisits || g.scen.fallen)) {
			g.events.push(event{at: b.nextVisit(start).UnixNano() - int64(time.Minute), bed: int32(i), kind: evVisit, role: roleVisit})
		}
	}
	return g
}

// wants reports whether events of kind are in the selected stream.
func (g *generator) wants(kind evKind) bool { return g.stream == "" || evStream[kind] == g.stream }

// nextDue returns when the next message is due: the next ambient event in
// simulated time or the next step in wall time, whichever is first; ok is
// false when nothing more will ever be due.
func (g *generator) nextDue() (due time.Time, ok bool) {
	var at int64 = math.MaxInt64
	if len(g.events) > 0 {
		at = g.events[0].at
	}
	if g.step < len(g.scen.steps) {
		at = min(at, g.start.Add(g.scen.steps[g.step].after).UnixNano())
	}
	if at == math.MaxInt64 {
		return time.Time{}, false
	}
	return time.Unix(0, at), true
}

// maxSkips bounds the events one call to next may pass over without a
// message, so that a generator whose events all stay quiet cannot spin.
const maxSkips = 10000

// next renders the next message into buf: a scenario step when one is due
// at wall, else the next ambient event (in realtime, only when it is due at
// wall; otherwise whatever its time). ok is false when no message is to be
// had now (see nextDue).
func (g *generator) next(wall time.Time, buf []byte) (m message, ok bool) {
	if g.step < len(g.scen.steps) && !wall.Before(g.start.Add(g.scen.steps[g.step].after)) {
		s := g.scen.steps[g.step]
		g.step++
		return g.renderStep(s, wall, buf), true
	}
	for range maxSkips {
		if len(g.events) == 0 {
			return message{}, false
		}
		e := &g.events[0]
		if g.realtime && e.at > wall.UnixNano() {
			return message{}, false
		}
		if m, ok = g.fire(e, wall, buf); ok {
			return m, true
		}
	}
	return message{}, false
}

// outcome is what firing an event gave: a message (when ok), when the
// event comes again (-1: never) and a follow-up event (when follow.at > 0).
type outcome struct {
	m      message
	ok     bool
	next   int64
	follow event
}

// fire renders the top event (or not, when it stays quiet), then moves it
// to its next time or removes it, and queues any follow-up event.
func (g *generator) fire(e *event, wall time.Time, buf []byte) (message, bool) {
	var o outcome
	switch e.kind {
	case evVitals:
		o = g.vitals(e, wall, buf)
	case evClimate, evMotion, evMotionOff, evDoor, evDoorClose, evSafety:
		o = g.home(e, wall, buf)
	case evVisit:
		o = g.visit(e, wall, buf)
	default:
		o = g.device(e, wall, buf)
	}
	if o.next < 0 {
		g.events.pop()
	} else {
		e.at = o.next
		if e.kind == evVisit {
			e.phase = (e.phase + 1) % visitPhases
		}
		g.events.fix()
	}
	if o.follow.at > 0 && g.wants(o.follow.kind) {
		g.events.push(o.follow)
	}
	return o.m, o.ok
}

// vitals renders a radar report, with the scenario's changes on the first
// bed.
func (g *generator) vitals(e *event, wall time.Time, buf []byte) outcome {
	b := g.beds[e.bed]
	first := b == g.first
	if first && g.scen.silent(wall.Sub(g.start)) {
		return outcome{next: -1}
	}
	v := b.vitals(time.Unix(0, e.at))
	switch {
	case first && g.scen.fallen:
		v = vitalsReading{} // on the floor, not in bed
	case first && g.scen.declineOver > 0:
		v = g.scen.decline(b, v, wall.Sub(g.start))
	}
	return outcome{m: g.msg(b, roleVitals, wall, appendVitals(buf, v)), ok: true, next: e.at + int64(vitalsEvery)}
}

// home renders the env sensors: room climate, motion while someone is up,
// the door a few times a day (rarely at night), and the safety alarms'
// heartbeats.
func (g *generator) home(e *event, wall time.Time, buf []byte) outcome {
	b := g.beds[e.bed]
	at := time.Unix(0, e.at)
	lying := b == g.first && g.scen.fallen // no sign of life
	o := outcome{next: -1}
	switch e.kind {
	case evClimate:
		t, h := b.climate(at)
		o.m, o.ok, o.next = g.msg(b, roleMotion, wall, appendClimate(buf, t, h)), true, e.at+int64(climateEvery)
	case evMotion:
		o.next = e.at + expGap(b, 5*time.Minute)
		if (b.visiting(at) || !b.inBed(at)) && !lying {
			o.m, o.ok = g.msg(b, roleMotion, wall, appendBool(buf, "motion", true)), true
			off := e.at + int64(time.Minute) + int64(b.rng.Float64()*float64(time.Minute))
			o.follow = event{at: off, bed: e.bed, kind: evMotionOff, role: roleMotion}
			o.next = off + int64(time.Minute) + expGap(b, 3*time.Minute)
		}
	case evMotionOff:
		o.m, o.ok = g.msg(b, roleMotion, wall, appendBool(buf, "motion", false)), true
	case evDoor:
		o.next = e.at + int64(10*time.Minute) + expGap(b, doorMeanGap)
		mod := minuteOfDay(at)
		night := mod >= 22*60 || mod < 6*60
		if (night && b.rng.Float64() < 0.95) || lying {
			break
		}
		o.m, o.ok = g.msg(b, roleDoor, wall, appendBool(buf, "door_open", true)), true
		closeAt := e.at + int64(20*time.Second) + int64(b.rng.Float64()*float64(160*time.Second))
		o.follow = event{at: closeAt, bed: e.bed, kind: evDoorClose, role: roleDoor}
	case evDoorClose:
		o.m, o.ok = g.msg(b, roleDoor, wall, appendBool(buf, "door_open", false)), true
	case evSafety:
		o.m, o.ok, o.next = g.msg(b, e.role, wall, appendBool(buf, safetyKey(e.role), false)), true, e.at+int64(safetyEvery)
	}
	return o
}

// device renders device status, the fall sensor's state and SOS presses.
func (g *generator) device(e *event, wall time.Time, buf []byte) outcome {
	b := g.beds[e.bed]
	first := b == g.first
	o := outcome{next: -1}
	switch e.kind {
	case evStatus:
		if first && e.role == roleVitals && g.scen.silent(wall.Sub(g.start)) {
			break
		}
		battery, rssi := b.status(e.role, time.Unix(0, e.at))
		o.m, o.ok = g.msgOn(b, e.role, b.dev[e.role].statusTopic, wall, appendStatus(buf, battery, rssi)), true
		o.next = e.at + int64(statusEvery)
	case evFallState:
		state := "normal"
		if first && g.scen.fallen {
			state = "fall"
		}
		o.m, o.ok, o.next = g.msg(b, roleFall, wall, appendString(buf, "state", state)), true, e.at+int64(safetyEvery)
	case evSOS:
		o.m, o.ok, o.next = g.msg(b, roleSOS, wall, appendString(buf, "action", "press")), true, e.at+expGap(b, sosMeanEvery)
		cancelAt := e.at + int64(40*time.Second) + int64(b.rng.Float64()*float64(110*time.Second))
		o.follow = event{at: cancelAt, bed: e.bed, kind: evSOSCancel, role: roleSOS}
	case evSOSCancel:
		o.m, o.ok = g.msg(b, roleSOS, wall, appendString(buf, "action", "cancel")), true
	}
	return o
}

// visitPhases are the steps of a visit: the door opens, the caregiver
// checks in, the door closes; at the end the caregiver checks out, the door
// opens and closes.
const visitPhases = 6

// visit renders phase e.phase of a visit and says when the next phase is
// due.
func (g *generator) visit(e *event, wall time.Time, buf []byte) outcome {
	b := g.beds[e.bed]
	at := time.Unix(0, e.at)
	// Phases 0-2 fall on the visit's day: phase 0 is a minute before the
	// check-in, phase 2 40 s after it.
	from, to := b.visitWindow(at.Add(time.Minute))
	door := func(open bool) (message, bool) {
		if !g.wants(evDoor) {
			return message{}, false
		}
		return g.msg(b, roleDoor, wall, appendBool(buf, "door_open", open)), true
	}
	checkin := func(action string) (message, bool) {
		if !g.wants(evVisit) {
			return message{}, false
		}
		return g.msg(b, roleVisit, wall, appendVisit(buf, action)), true
	}
	var o outcome
	switch e.phase {
	case 0:
		o.m, o.ok = door(true)
		o.next = from.UnixNano()
	case 1:
		o.m, o.ok = checkin("check_in")
		o.next = from.Add(40 * time.Second).UnixNano()
	case 2:
		o.m, o.ok = door(false)
		o.next = to.UnixNano()
	case 3:
		o.m, o.ok = checkin("check_out")
		o.next = at.Add(20 * time.Second).UnixNano()
	case 4:
		o.m, o.ok = door(true)
		o.next = at.Add(40 * time.Second).UnixNano()
	case 5:
		o.m, o.ok = door(false)
		o.next = b.nextVisit(at).UnixNano() - int64(time.Minute)
	}
	return o
}

// nextVisit returns the start of the first visit that starts after t.
func (b *simBed) nextVisit(t time.Time) time.Time {
	for d := 0; ; d++ {
		from, _ := b.visitWindow(t.AddDate(0, 0, d))
		if from.After(t) {
			return from
		}
	}
}

// renderStep renders a scenario step on the first bed.
func (g *generator) renderStep(s step, wall time.Time, buf []byte) message {
	b := g.first
	switch s.kind {
	case stepFall:
		return g.msg(b, roleFall, wall, appendString(buf, "state", "fall"))
	case stepSOSPress:
		return g.msg(b, roleSOS, wall, appendString(buf, "action", "press"))
	case stepSOSCancel:
		return g.msg(b, roleSOS, wall, appendString(buf, "action", "cancel"))
	default: // stepVitalsOffline
		return message{topic: b.dev[roleVitals].availTopic, payload: append(buf, "offline"...), retained: true}
	}
}

// msg closes payload as a message of device r of bed b on its stream.
func (g *generator) msg(b *simBed, r role, wall time.Time, payload []byte) message {
	return g.msgOn(b, r, b.dev[r].topic, wall, payload)
}

// msgOn closes payload with ts and seq and addresses it to topic.
func (g *generator) msgOn(b *simBed, r role, topic string, wall time.Time, payload []byte) message {
	d := &b.dev[r]
	d.seq++
	var ts int64
	if g.stamp {
		ts = max(wall.UnixMilli(), d.lastTS+1)
		d.lastTS = ts
	}
	var seq uint64
	if g.seq {
		seq = d.seq
	}
	return message{topic: topic, payload: closePayload(payload, ts, seq)}
}

// safetyKey is the env field a safety alarm of role r reports.
func safetyKey(r role) string {
	switch r {
	case roleSmoke:
		return "smoke"
	case roleGas:
		return "gas"
	default:
		return "water_leak"
	}
}

// expGap is an exponentially distributed gap with the given mean, in ns.
func expGap(b *simBed, mean time.Duration) int64 {
	return int64(b.rng.ExpFloat64() * float64(mean))
}
