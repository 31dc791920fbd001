package alerts

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"carebed/devices"
)

// restoreInto saves e's dirty beds and loads them into a new engine.
func restoreInto(t *testing.T, e *Engine, saved map[string][]byte, rules ...BedRules) *Engine {
	t.Helper()
	for _, s := range e.TakeDirty() {
		if s.Data == nil {
			delete(saved, s.BedID)
		} else {
			saved[s.BedID] = s.Data
		}
	}
	states := make([]BedState, 0, len(saved))
	for id, data := range saved {
		states = append(states, BedState{BedID: id, Data: data})
	}
	next := NewEngine(e.Config())
	for _, r := range rules {
		next.PutBed(r)
	}
	if err := next.Restore(states); err != nil {
		t.Fatalf("Restore(%d states) = %v, want nil", len(states), err)
	}
	if got := next.TakeDirty(); got != nil {
		t.Errorf("TakeDirty() after Restore = %d states, want none", len(got))
	}
	return next
}

func TestRulesRestore(t *testing.T) {
	tests := []struct {
		name          string
		start         time.Time
		before, after []ruleStep
	}{
		{"a bed exit timer resumes with its remaining time", ruleDay(21, 50),
			[]ruleStep{
				{0, "radar", `native vitals {"in_bed":true}`, nil},
				{10 * rmin, "radar", `native vitals {"in_bed":false}`, nil},
				{15 * rmin, "", "tick", nil},
			},
			[]ruleStep{
				{30*rmin - rms, "", "tick", nil},
				{30 * rmin, "", "tick", []string{"raise bed_exit major radar @30m0s"}},
				{2 * rhour, "", "tick", nil},
				{2 * rhour, "radar", `native vitals {"in_bed":true}`, []string{"clear bed_exit major radar @2h0m0s"}},
			}},
		{"a fall replayed after the restart raises nothing; the long lie goes on", ruleDay(3, 0),
			[]ruleStep{
				{0, "fall", `z2m {"fall_down_status":"fall","linkquality":150}`, []string{"raise fall critical fall @0s"}},
				{5 * rmin, "", "tick", []string{"renotify fall critical fall @5m0s"}},
			},
			[]ruleStep{
				{6 * rmin, "fall", `z2m {"fall_down_status":"fall","linkquality":150}`, nil},
				{10*rmin - rms, "", "tick", nil},
				{10 * rmin, "", "tick", []string{"renotify fall critical fall @10m0s"}},
			}},
		{"a suspected fall is upgraded on time", ruleDay(3, 0),
			[]ruleStep{{0, "fall", `native fall {"state":"suspected"}`, []string{"raise fall major fall @0s"}}},
			[]ruleStep{
				{59 * rsec, "", "tick", nil},
				{60 * rsec, "", "tick", []string{"raise fall critical fall @1m0s"}},
			}},
		{"a vital sign's run goes on", ruleDay(12, 0),
			[]ruleStep{{0, "radar", `native vitals {"heart_rate":145}`, nil}},
			[]ruleStep{{60 * rsec, "radar", `native vitals {"heart_rate":145}`, []string{"raise vitals major radar @1m0s"}}},
		},
		{"open conditions are not raised twice, and clear", ruleDay(12, 0),
			[]ruleStep{
				{0, "smoke", `z2m {"smoke":true,"battery":15}`, []string{"raise smoke critical smoke @0s", "raise battery_low minor smoke @0s"}},
				{0, "btn", `avail {"state":"offline"}`, []string{"raise device_offline major btn @0s"}},
				{0, "hub", `avail {"state":"offline"}`, []string{"raise hub_offline major hub @0s"}},
			},
			[]ruleStep{
				{rmin, "smoke", `z2m {"smoke":true,"battery":15}`, nil},
				{rmin, "btn", `avail {"state":"offline"}`, nil},
				{rmin, "hub", `avail {"state":"offline"}`, nil},
				{2 * rmin, "smoke", `z2m {"smoke":false,"battery":30}`, []string{"clear smoke critical smoke @2m0s", "clear battery_low minor smoke @2m0s"}},
				{2 * rmin, "btn", `avail {"state":"online"}`, []string{"clear device_offline major btn @2m0s"}},
				{2 * rmin, "hub", `avail {"state":"online"}`, []string{"clear hub_offline major hub @2m0s"}},
			}},
		{"presses within 2 s of a press before the restart count once", ruleDay(12, 0),
			[]ruleStep{{0, "btn", `z2m {"action":"emergency","battery":100}`, []string{"raise sos critical btn @0s"}}},
			[]ruleStep{{500 * rms, "btn", `action emergency`, nil}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine(DefaultConfig())
			e.PutBed(BedRules{BedID: "bed1", AgencyID: "ag1"})
			runRules(t, e, tt.start, tt.before)
			e = restoreInto(t, e, map[string][]byte{}, BedRules{BedID: "bed1", AgencyID: "ag1"})
			runRules(t, e, tt.start, tt.after)
		})
	}
}

// TestRulesReplayAfterRestore runs one long random history of a few beds
// twice: straight through, and with a save and a restore into a new engine
// every few inputs, as a crash and a restart would. The signals must be
// the same, to the nanosecond: everything that decides a signal is in the
// saved state.
func TestRulesReplayAfterRestore(t *testing.T) {
	inputs := randomHistory(rand.New(rand.NewPCG(1, 2)), ruleDay(18, 0), 4, 3*24*time.Hour)
	cfg := DefaultConfig()
	cfg.TestDueAfter = 24 * time.Hour // so that service_due happens too
	run := func(restoreEvery int) []string {
		e := NewEngine(cfg)
		saved := map[string][]byte{}
		var out []string
		for i, in := range inputs {
			if restoreEvery > 0 && i%restoreEvery == restoreEvery-1 {
				e = restoreInto(t, e, saved)
			}
			for _, s := range in.run(e) {
				out = append(out, fmt.Sprintf("%d %s %s %s %s %s %d %q", s.Op, s.Kind, s.Severity, s.BedID, s.AgencyID, s.DeviceID, s.At.UnixNano(), s.Detail))
			}
		}
		return out
	}
	straight := run(0)
	if len(straight) < 50 {
		t.Fatalf("the random history gave %d signals, want a history with at least 50", len(straight))
	}
	kinds := map[Kind]bool{}
	for _, s := range straight {
		kinds[Kind(strings.Fields(s)[1])] = true
	}
	t.Logf("%d inputs, %d signals, kinds %v", len(inputs), len(straight), kinds)
	for _, k := range []Kind{KindVitals, KindNoSignal, KindBedExit, KindInactivity, KindDoorNight, KindFall, KindServiceDue, KindDeviceOffline} {
		if !kinds[k] {
			t.Errorf("the random history raised no %s, want every timer and condition exercised", k)
		}
	}
	for _, every := range []int{1, 7, 100} {
		got := run(every)
		if i := ruleFirstDiff(got, straight); i >= 0 {
			t.Errorf("signals with a restore every %d inputs differ at %d: %s, want %s", every, i, ruleAt(got, i), ruleAt(straight, i))
		}
	}
}

func ruleFirstDiff(a, b []string) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return -1
}

func ruleAt(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}

// ruleInput is one call of a random history.
type ruleInput struct {
	obs    *devices.Observation
	silent *devices.Observation // DeviceID, BedID, AgencyID, Kind, Received
	tick   time.Time
}

func (in ruleInput) run(e *Engine) []Signal {
	switch {
	case in.obs != nil:
		return e.Observe(*in.obs)
	case in.silent != nil:
		s := in.silent
		return e.DeviceSilent(s.DeviceID, s.BedID, s.AgencyID, s.Kind, s.Received)
	}
	return e.Tick(in.tick)
}

// randomHistory makes a history of beds over d: vital signs every 30 s
// with spells of abnormal values, of no reading in bed and of an empty
// bed, falls, presses, doors, motion, smoke, hubs and devices going away,
// and a tick every 10 min. Bed 0 has no motion or door sensor and its
// elder stays in bed, so that inactivity raises.
func randomHistory(r *rand.Rand, start time.Time, beds int, d time.Duration) []ruleInput {
	var out []ruleInput
	obs := func(bed int, dev string, at time.Time, stream devices.Stream, fields ...devices.Field) {
		o := &devices.Observation{Reading: devices.Reading{Stream: stream, Fields: fields},
			DeviceID: fmt.Sprintf("b%d-%s", bed, dev), BedID: fmt.Sprintf("b%d", bed), AgencyID: "ag", Kind: ruleKinds[dev], Received: at}
		out = append(out, ruleInput{obs: o})
	}
	f, bl := devices.FloatField, devices.BoolField
	const (
		normal = iota
		abnormal
		noReading
		outOfBed
	)
	spell, left := make([]int, beds), make([]int, beds)
	obs(0, "pir", start, devices.StreamEnv, bl("motion", true))
	for t := start; t.Before(start.Add(d)); t = t.Add(30 * time.Second) {
		if t.Sub(start)%(10*time.Minute) == 0 {
			out = append(out, ruleInput{tick: t})
		}
		for bed := range beds {
			at := t.Add(time.Duration(r.IntN(30000)) * time.Millisecond)
			if left[bed] == 0 {
				spell[bed], left[bed] = normal, 2+r.IntN(80)
				switch x := r.IntN(100); {
				case x < 4:
					spell[bed] = abnormal
				case x < 7:
					spell[bed] = noReading
				case x < 15 && bed != 0:
					spell[bed] = outOfBed
				}
			}
			left[bed]--
			switch spell[bed] {
			case normal:
				obs(bed, "radar", at, devices.StreamVitals, f("heart_rate", 60+r.Float64()*30), f("resp_rate", 12+r.Float64()*6), bl("in_bed", true))
			case abnormal:
				obs(bed, "radar", at, devices.StreamVitals, f("heart_rate", 128+r.Float64()*20), f("spo2", 88+r.Float64()*8), bl("in_bed", true))
			case noReading:
				obs(bed, "radar", at, devices.StreamVitals, bl("in_bed", true), bl("no_reading", true))
			case outOfBed:
				obs(bed, "radar", at, devices.StreamVitals, bl("in_bed", false), bl("no_reading", true))
			}
			at = at.Add(time.Second)
			switch x := r.IntN(3000); {
			case x < 10:
				obs(bed, "fall", at, devices.StreamFall, devices.StringField("state", []string{"normal", "suspected", "fall"}[r.IntN(3)]))
			case x < 15:
				obs(bed, "btn", at, devices.StreamSOS, devices.StringField("action", []string{"press", "cancel"}[r.IntN(2)]))
			case x < 60 && bed != 0:
				obs(bed, "door", at, devices.StreamEnv, bl("door_open", r.IntN(2) == 0), f("battery", float64(15+r.IntN(20))))
			case x < 120 && bed != 0:
				obs(bed, "pir", at, devices.StreamEnv, bl("motion", r.IntN(3) == 0))
			case x < 123:
				obs(bed, "smoke", at, devices.StreamEnv, bl("smoke", r.IntN(2) == 0), bl("tamper", r.IntN(4) == 0))
			case x < 126:
				obs(bed, "hub", at, devices.StreamAvailability, bl("online", r.IntN(5) != 0))
			case x < 128:
				out = append(out, ruleInput{silent: &devices.Observation{DeviceID: fmt.Sprintf("b%d-btn", bed), BedID: fmt.Sprintf("b%d", bed), AgencyID: "ag", Kind: devices.KindSOSButton, Received: at}})
			}
		}
	}
	return out
}

func TestRulesRestoreErrors(t *testing.T) {
	e := NewEngine(DefaultConfig())
	start := ruleDay(21, 50)
	runRules(t, e, start, []ruleStep{
		{0, "radar", `native vitals {"in_bed":true}`, nil},
		{10 * rmin, "radar", `native vitals {"in_bed":false}`, nil},
	})
	good := e.TakeDirty()
	tests := []struct {
		name   string
		states []BedState
		want   string
	}{
		{"not JSON", []BedState{{BedID: "bed1", Data: []byte("{")}}, "bed1"},
		{"another version", []BedState{{BedID: "bed1", Data: []byte(`{"v":2}`)}}, "version 2"},
		{"a bad level", []BedState{{BedID: "bed1", Data: []byte(`{"v":1,"d":[{"id":"x","l":"??????????"}]}`)}}, "level sos"},
		{"an unknown sign", []BedState{{BedID: "bed1", Data: []byte(`{"v":1,"abn":{"pulse":1}}`)}}, "pulse"},
		{"a device twice", []BedState{{BedID: "bed1", Data: []byte(`{"v":1,"d":[{"id":"x"},{"id":"x"}]}`)}}, "twice"},
		{"a bed twice", append(slices.Clone(good), good...), "twice"},
		{"no bed id", []BedState{{Data: []byte(`{"v":1}`)}}, "bed id"},
	}
	for _, tt := range tests {
		n := NewEngine(DefaultConfig())
		err := n.Restore(tt.states)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Restore() = %v, want an error naming %q", tt.name, err, tt.want)
		}
		if got := n.Tick(start.Add(24 * time.Hour)); got != nil {
			t.Errorf("%s: Tick after a failed Restore = %v, want nothing restored", tt.name, ruleSummary(got, start))
		}
	}
}

func TestRulesTakeDirty(t *testing.T) {
	e := NewEngine(DefaultConfig())
	start := ruleDay(12, 0)
	runRules(t, e, start, []ruleStep{
		{0, "btn", `native sos {"action":"press"}`, []string{"raise sos critical btn @0s"}},
	})
	got := e.TakeDirty()
	if len(got) != 1 || got[0].BedID != "bed1" || len(got[0].Data) == 0 {
		t.Fatalf("TakeDirty() = %v, want the state of bed1", got)
	}
	if again := e.TakeDirty(); again != nil {
		t.Errorf("TakeDirty() again = %v, want nil", again)
	}
	e.MarkDirty([]string{"bed1", "gone"})
	got = e.TakeDirty()
	if ids := ruleBedIDs(got); !slices.Equal(ids, []string{"bed1", "gone"}) || got[1].Data != nil {
		t.Errorf("TakeDirty() after MarkDirty(bed1, gone) = %v, want bed1 with data and gone without", ids)
	}
	e.RemoveBed("bed1")
	if got = e.TakeDirty(); len(got) != 1 || got[0].BedID != "bed1" || got[0].Data != nil {
		t.Errorf("TakeDirty() after RemoveBed(bed1) = %v, want bed1 with nil data", got)
	}
	if got := e.Tick(start.Add(365 * 24 * time.Hour)); got != nil {
		t.Errorf("Tick after RemoveBed = %v, want no timer of the removed bed", ruleSummary(got, start))
	}
}

func ruleBedIDs(states []BedState) []string {
	var ids []string
	for _, s := range states {
		ids = append(ids, s.BedID)
	}
	return ids
}

// TestRulesNormalTrafficIsNotDirty checks that the state saved with every
// batch changes only when something happens: normal vital signs, repeated
// Zigbee2MQTT states and battery reports make no bed dirty, and constant
// motion makes a bed dirty at most once a minute.
func TestRulesNormalTrafficIsNotDirty(t *testing.T) {
	e := NewEngine(DefaultConfig())
	start := ruleDay(12, 0)
	o := func(dev, do string, at time.Duration) devices.Observation {
		return ruleObservation(t, ruleStep{dev: dev, do: do}, start.Add(at))
	}
	e.Observe(o("radar", `native vitals {"heart_rate":72,"resp_rate":14,"in_bed":true}`, 0))
	e.Observe(o("door", `z2m {"battery":100,"battery_low":false,"contact":true,"linkquality":140,"tamper":false}`, 0))
	e.Observe(o("pir", `native env {"motion":true}`, 0))
	if got := e.TakeDirty(); len(got) != 1 {
		t.Fatalf("TakeDirty() after the first messages = %d states, want 1", len(got))
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 10000 {
		at := time.Duration(i) * 3 * time.Second / 10 // 10,000 readings in 50 min
		payload := fmt.Sprintf(`native vitals {"heart_rate":%d,"resp_rate":%d,"spo2":%d,"temp_c":36.%d,"in_bed":true,"movement":%d}`,
			55+r.IntN(60), 10+r.IntN(12), 94+r.IntN(7), r.IntN(10), r.IntN(100))
		if got := e.Observe(o("radar", payload, at)); got != nil {
			t.Fatalf("Observe(%s) = %v, want nothing", payload, got)
		}
		if i%100 == 0 {
			e.Observe(o("door", fmt.Sprintf(`z2m {"battery":%d,"battery_low":false,"contact":true,"linkquality":%d,"tamper":false}`, 90+r.IntN(10), r.IntN(255)), at))
		}
		if got := e.TakeDirty(); got != nil {
			t.Fatalf("TakeDirty() after %d normal readings = %s, want nothing", i+1, got[0].Data)
		}
	}
	dirty := 0
	for i := range 120 { // motion every 5 s for 10 min
		e.Observe(o("pir", `native env {"motion":true}`, time.Hour+time.Duration(i)*5*time.Second))
		if e.TakeDirty() != nil {
			dirty++
		}
	}
	if dirty > 11 {
		t.Errorf("TakeDirty() under constant motion for 10 min = dirty %d times, want at most 11", dirty)
	}
}

// ruleFleet builds an engine with n beds of six devices each (vitals
// monitor, fall sensor, motion sensor, door sensor, SOS button, hub), each
// having sent one message.
func ruleFleet(tb testing.TB, n int, start time.Time) *Engine {
	e := NewEngine(DefaultConfig())
	msgs := []ruleStep{
		{dev: "radar", do: `native vitals {"heart_rate":72,"resp_rate":14,"in_bed":true}`},
		{dev: "fall", do: `native fall {"state":"normal"}`},
		{dev: "pir", do: `native env {"motion":true}`},
		{dev: "door", do: `z2m {"battery":100,"battery_low":false,"contact":true,"linkquality":140,"tamper":false}`},
		{dev: "btn", do: `native status {"battery":90}`},
		{dev: "hub", do: `avail {"state":"online"}`},
	}
	obs := make([]devices.Observation, len(msgs))
	for i, m := range msgs {
		obs[i] = ruleObservation(tb, m, start)
	}
	for i := range n {
		bed := fmt.Sprintf("bed-%05d", i)
		e.PutBed(BedRules{BedID: bed, AgencyID: "agency-1"})
		for _, o := range obs {
			o.BedID, o.DeviceID = bed, bed+"-"+o.DeviceID
			e.Observe(o)
		}
	}
	return e
}

// TestRulesMemoryPerBed measures the heap an engine holds per bed of six
// devices, for 10,000 beds.
func TestRulesMemoryPerBed(t *testing.T) {
	const n = 10000
	perBed, jsonPerBed := memoryPerBed(t, n)
	t.Logf("%d beds of 6 devices: %d bytes of heap per bed, %d bytes of saved state per bed", n, perBed, jsonPerBed)
	if perBed > 2048 {
		t.Errorf("heap per bed = %d bytes, want at most 2048", perBed)
	}
}

func memoryPerBed(tb testing.TB, n int) (heap, saved int) {
	var before, after runtime.MemStats
	start := ruleDay(12, 0)
	runtime.GC()
	runtime.ReadMemStats(&before)
	e := ruleFleet(tb, n, start)
	for _, s := range e.TakeDirty() { // leaves the dirty list empty, as in service
		saved += len(s.Data)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(e)
	return int(after.HeapAlloc-before.HeapAlloc) / n, saved / n
}

// TestRulesTickIdle checks that Tick with nothing due costs neither an
// allocation nor a look at the beds.
func TestRulesTickIdle(t *testing.T) {
	start := ruleDay(12, 0)
	e := ruleFleet(t, 10000, start)
	now := start.Add(time.Hour)
	if got := e.Tick(now); got != nil {
		t.Fatalf("Tick(+1h) = %v, want nothing due", ruleSummary(got, start))
	}
	if allocs := testing.AllocsPerRun(100, func() { e.Tick(now) }); allocs != 0 {
		t.Errorf("Tick(+1h) allocates %v times, want 0", allocs)
	}
	res := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			e.Tick(now)
		}
	})
	if ns := res.NsPerOp(); ns > 20000 {
		t.Errorf("Tick(+1h) with 10,000 beds = %d ns, want far less than a look at every bed", ns)
	}
	if next, ok := e.NextDeadline(); !ok || !next.Equal(start.Add(12*time.Hour)) {
		t.Errorf("NextDeadline() = %v, %v, want %v (inactivity)", next, ok, start.Add(12*time.Hour))
	}
}

func TestRulesObserveNormalAllocs(t *testing.T) {
	start := ruleDay(12, 0)
	e := ruleFleet(t, 100, start)
	o := ruleObservation(t, ruleStep{dev: "radar", do: `native vitals {"heart_rate":72,"resp_rate":14,"spo2":97,"temp_c":36.5,"in_bed":true,"movement":20}`}, start)
	o.BedID, o.DeviceID = "bed-00042", "bed-00042-radar"
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		o.Received = start.Add(time.Duration(i) * time.Second)
		e.Observe(o)
	})
	if allocs != 0 {
		t.Errorf("Observe(normal vitals) allocates %v times, want 0", allocs)
	}
}
