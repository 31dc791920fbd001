package alerts

import "carebed/devices"

// Everything below the line "material state" of ruleBed and ruleDevice is
// persisted, and changes only when something happens that a rule must
// remember: a level changing, a sign entering or leaving its alarm band, a
// timer starting or stopping, an alarm raised or cleared. A stream of
// normal readings changes none of it, so it makes no bed dirty. The one
// exception is the last activity, kept to the minute: a bed with activity
// all the time is dirty at most once a minute.
//
// Times are Unix nanoseconds of the gateway's receive time; 0 means unset.

// Level slots: the level fields each device remembers, so that a repeat of
// the same value (Zigbee2MQTT repeats its full cached state in every
// message and replays it at start) is not a new event.
const (
	lvSOS = iota
	lvState
	lvDoorOpen
	lvSmoke
	lvGas
	lvWaterLeak
	lvInBed
	lvMotion
	lvTamper
	lvBatteryLow
	numLevels
)

var ruleLevelNames = [numLevels]string{"sos", "state", "door_open", "smoke", "gas", "water_leak", "in_bed", "motion", "tamper", "battery_low"}

// Level values: 0 is unknown; a boolean is lvFalse or lvTrue; the fall
// state is stNormal, stSuspected or stFall.
const (
	lvUnknown uint8 = iota
	lvFalse
	lvTrue
)

const (
	stNormal uint8 = iota + 1
	stSuspected
	stFall
)

// levelChars write a level value in a snapshot: '-' unknown, '0' / '1' a
// boolean, 'n' / 's' / 'f' the fall state.
const (
	boolChars  = "-01"
	stateChars = "-nsf"
)

// Device flags.
const (
	dfOffline    uint8 = 1 << iota // device_offline raised for it
	dfHubDown                      // a hub that said it is offline: the bed is blind
	dfBatteryLow                   // battery_low raised for it
	dfServiceDue                   // service_due raised for it
	dfPercentLow                   // its battery percentage fell to BatteryLow and has not reached BatteryClear since
)

var ruleFlagNames = [...]string{"offline", "hub_down", "battery_low", "service_due", "percent_low"}

// Open condition alerts a bed keeps (the others are per device).
const (
	openVitals uint8 = 1 << iota
	openNoSignal
	openBedExit
	openInactivity
	openDoorNight
)

var ruleOpenKinds = [...]Kind{KindVitals, KindNoSignal, KindBedExit, KindInactivity, KindDoorNight}

// Vital signs.
const (
	signHR = iota
	signRR
	signSpO2
	signTemp
	numSigns
)

var ruleSignNames = [numSigns]string{"heart_rate", "resp_rate", "spo2", "temp_c"}

func (t *Thresholds) band(sign int) Band {
	switch sign {
	case signHR:
		return t.HeartRate
	case signRR:
		return t.RespRate
	case signSpO2:
		return t.SpO2
	}
	return t.TempC
}

// ruleDevice is what the rules remember of one device of a bed (64 bytes).
type ruleDevice struct {
	id   string
	kind devices.Kind
	// material state
	levels    [numLevels]uint8
	flags     uint8
	firstSeen int64 // SOS buttons: the first message, the start of the test period
	lastPress int64 // the last press counted
}

// ruleBed is the rule state of one bed.
type ruleBed struct {
	id        string
	agency    string
	agencyPut bool     // agency came from PutBed, not from an observation
	rules     *ruleSet // shared by beds without overrides
	devs      []ruleDevice

	// material state
	abnormal      [numSigns]int64 // since when each sign reads abnormal
	raised        uint8           // bit per sign whose sustained abnormality raised vitals
	open          uint8           // open condition alerts of the bed
	noValid       int64           // in bed with no valid heart or breathing rate since
	noValidDev    string
	outOfBed      int64 // left the bed at night at
	exitDev       string
	doorOpen      int64 // a door opened at night at
	doorDev       string
	fallOnset     int64 // the fall episode began (suspected or fall) at
	fallDev       string
	fallSev       uint8 // 1 suspected raised, 2 critical raised
	fallRecovered bool  // someone moved or got into bed since the onset
	longLie       int64 // the next long-lie re-notification
	activity      int64 // the last activity, down to the minute

	// scheduling, derived from the material state
	next    int64 // the earliest timer deadline; ruleNoTimer when none
	heapIdx int   // position in the engine's heap, -1 when not in it
	dirty   bool  // in the engine's dirty list
	touched bool  // material state changed during the current call
}

func (b *ruleBed) device(id string) *ruleDevice {
	for i := range b.devs {
		if b.devs[i].id == id {
			return &b.devs[i]
		}
	}
	return nil
}

// blind reports whether a hub of the bed said it is offline.
func (b *ruleBed) blind() bool { return b.anyFlag(dfHubDown) }

func (b *ruleBed) anyFlag(f uint8) bool {
	for i := range b.devs {
		if b.devs[i].flags&f != 0 {
			return true
		}
	}
	return false
}

// anyLevel reports whether a device of the bed other than skip has level
// slot at value v.
func (b *ruleBed) anyLevel(slot int, v uint8, skip *ruleDevice) bool {
	for i := range b.devs {
		if d := &b.devs[i]; d != skip && d.levels[slot] == v {
			return true
		}
	}
	return false
}

// inBed reports whether any device of the bed says someone is in it.
func (b *ruleBed) inBed() bool { return b.anyLevel(lvInBed, lvTrue, nil) }

// falling reports whether any device of the bed reports a fall or a
// suspected fall.
func (b *ruleBed) falling() bool {
	return b.anyLevel(lvState, stFall, nil) || b.anyLevel(lvState, stSuspected, nil)
}

// ruleHeap orders beds by their earliest timer, so that Tick finds what
// is due without looking at the beds that have nothing due.
type ruleHeap []*ruleBed

// update puts b where its next deadline belongs, or out of the heap when
// it has no timer.
func (h *ruleHeap) update(b *ruleBed) {
	switch {
	case b.next == ruleNoTimer && b.heapIdx < 0:
	case b.next == ruleNoTimer:
		h.remove(b)
	case b.heapIdx < 0:
		b.heapIdx = len(*h)
		*h = append(*h, b)
		h.up(b.heapIdx)
	default:
		if !h.down(b.heapIdx) {
			h.up(b.heapIdx)
		}
	}
}

func (h *ruleHeap) remove(b *ruleBed) {
	i, last := b.heapIdx, len(*h)-1
	if i < 0 {
		return
	}
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	b.heapIdx = -1
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
}

// less orders by deadline, then by bed id, so that beds due at the same
// time fire in the same order whatever the heap's history (a replay from
// restored state gives the same signals in the same order).
func (h ruleHeap) less(i, j int) bool {
	a, b := h[i], h[j]
	return a.next < b.next || a.next == b.next && a.id < b.id
}

func (h ruleHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}

func (h ruleHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down sifts i down and reports whether it moved.
func (h ruleHeap) down(i int) bool {
	start := i
	for {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if r := c + 1; r < len(h) && h.less(r, c) {
			c = r
		}
		if !h.less(c, i) {
			break
		}
		h.swap(i, c)
		i = c
	}
	return i > start
}
