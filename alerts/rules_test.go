package alerts

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"carebed/devices"
)

// The rule tests run scenarios of one bed ("bed1" of agency "ag1") on an
// injected receive time. Payloads go through the real decoders; the
// Zigbee2MQTT ones are from the shared field-payloads catalogue
// where a test names a fixture.

var ruleZone = DefaultConfig().Zone

// ruleDay is a Tuesday in the default zone, at h:m.
func ruleDay(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, ruleZone) }

// ruleKinds are the devices of the test bed.
var ruleKinds = map[string]devices.Kind{
	"btn": devices.KindSOSButton, "btn2": devices.KindSOSButton,
	"radar": devices.KindVitalsMonitor, "strap": devices.KindVitalsMonitor,
	"fall": devices.KindFallSensor, "fall2": devices.KindFallSensor,
	"door": devices.KindDoorSensor, "pir": devices.KindMotionSensor,
	"smoke": devices.KindSmokeAlarm, "gas": devices.KindGasAlarm,
	"leak": devices.KindWaterLeak, "leak2": devices.KindWaterLeak,
	"hub": devices.KindHub,
}

// ruleStep is one input of a scenario, at a time after its start. do is
// one of:
//
//	native <stream> <payload>   a native message (DecodeNative)
//	z2m <payload>               a Zigbee2MQTT state (DecodeZigbee2MQTT)
//	hub <payload>               the same, routed through the bed's hub
//	action <payload>            a Zigbee2MQTT <name>/action message
//	avail <payload>             an availability message (DecodeAvailability)
//	silent                      DeviceSilent
//	tick                        Tick
//
// want lists the signals as ruleSummary writes them.
type ruleStep struct {
	at   time.Duration
	dev  string
	do   string
	want []string
}

// ruleObservation decodes a step's message received at at.
func ruleObservation(t testing.TB, s ruleStep, at time.Time) devices.Observation {
	t.Helper()
	kind, ok := ruleKinds[s.dev]
	if !ok {
		t.Fatalf("device %q is not in ruleKinds", s.dev)
	}
	verb, arg, _ := strings.Cut(s.do, " ")
	var r devices.Reading
	var err error
	switch verb {
	case "native":
		stream, payload, _ := strings.Cut(arg, " ")
		r, err = devices.DecodeNative(devices.Stream(stream), []byte(payload), at)
	case "z2m", "hub":
		r, err = devices.DecodeZigbee2MQTT(kind, []byte(arg), at)
	case "action":
		r, err = devices.DecodeZigbee2MQTTAction([]byte(arg))
	case "avail":
		var online, deleted bool
		online, deleted, err = devices.DecodeAvailability([]byte(arg))
		r = devices.Reading{Stream: devices.StreamAvailability}
		if !deleted {
			r.Fields = []devices.Field{devices.BoolField("online", online)}
		}
	default:
		t.Fatalf("unknown step %q", s.do)
	}
	if err != nil {
		t.Fatalf("decode %q: %v", s.do, err)
	}
	o := devices.Observation{Reading: r, DeviceID: s.dev, BedID: "bed1", AgencyID: "ag1", Kind: kind, Received: at}
	if verb == "hub" {
		o.Via = "hub"
	}
	return o
}

// runRules feeds steps to e and checks the signals of each.
func runRules(t *testing.T, e *Engine, start time.Time, steps []ruleStep) {
	t.Helper()
	for i, s := range steps {
		at := start.Add(s.at)
		var got []Signal
		var call string
		switch s.do {
		case "tick":
			got, call = e.Tick(at), fmt.Sprintf("Tick(@%v)", s.at)
		case "silent":
			got, call = e.DeviceSilent(s.dev, "bed1", "ag1", ruleKinds[s.dev], at), fmt.Sprintf("DeviceSilent(%s @%v)", s.dev, s.at)
		default:
			got, call = e.Observe(ruleObservation(t, s, at)), fmt.Sprintf("Observe(%s %s @%v)", s.dev, s.do, s.at)
		}
		if g := ruleSummary(got, start); !slices.Equal(g, s.want) {
			t.Errorf("step %d: %s = %q, want %q", i, call, g, s.want)
		}
		for _, sig := range got {
			if sig.BedID != "bed1" || sig.AgencyID != "ag1" {
				t.Errorf("step %d: %s gave a signal of bed %q agency %q, want bed1 ag1", i, call, sig.BedID, sig.AgencyID)
			}
		}
	}
}

// ruleSummary writes signals as "raise vitals major radar @1m0s", the time
// after start.
func ruleSummary(sigs []Signal, start time.Time) []string {
	var out []string
	for _, s := range sigs {
		op := map[Op]string{Raise: "raise", Clear: "clear", Renotify: "renotify"}[s.Op]
		dev := s.DeviceID
		if dev == "" {
			dev = "-"
		}
		out = append(out, fmt.Sprintf("%s %s %s %s @%v", op, s.Kind, s.Severity, dev, s.At.Sub(start)))
	}
	return out
}

type ruleCase struct {
	name  string
	start time.Time // ruleDay(12, 0) when zero
	rules *BedRules
	steps []ruleStep
}

func runRuleCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := NewEngine(DefaultConfig())
			if c.rules != nil {
				r := *c.rules
				r.BedID, r.AgencyID = "bed1", "ag1"
				e.PutBed(r)
			}
			start := c.start
			if start.IsZero() {
				start = ruleDay(12, 0)
			}
			runRules(t, e, start, c.steps)
		})
	}
}

const (
	rsec  = time.Second
	rmin  = time.Minute
	rhour = time.Hour
	rms   = time.Millisecond
)

func TestRulesSOS(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "native press raises, cancel does nothing", steps: []ruleStep{
			{0, "btn", `native sos {"action":"press"}`, []string{"raise sos critical btn @0s"}},
			{10 * rsec, "btn", `native sos {"action":"cancel"}`, nil},
			{20 * rsec, "btn", `native sos {"action":"press"}`, []string{"raise sos critical btn @20s"}},
		}},
		{name: "presses of one device within 2 s count once", steps: []ruleStep{
			{0, "btn", `native sos {"action":"press"}`, []string{"raise sos critical btn @0s"}},
			{1999 * rms, "btn", `native sos {"action":"press"}`, nil},
			{2 * rsec, "btn", `native sos {"action":"press"}`, []string{"raise sos critical btn @2s"}},
			{2500 * rms, "btn2", `native sos {"action":"press"}`, []string{"raise sos critical btn2 @2.5s"}},
		}},
		{name: "Zigbee2MQTT press in the JSON state and on /action counts once", steps: []ruleStep{
			// Koenkk/zigbee2mqtt#31821, then its /action copy and the HA legacy reset (#2797)
			{0, "btn", `z2m {"action":"emergency","battery":0,"linkquality":156}`, []string{"raise sos critical btn @0s", "raise battery_low minor btn @0s"}},
			{300 * rms, "btn", `action emergency`, nil},
			{400 * rms, "btn", `z2m {"action":"","battery":null,"linkquality":90}`, nil},
			{10 * rsec, "btn", `action emergency`, []string{"raise sos critical btn @10s"}},
			{10500 * rms, "btn", `z2m {"action":"emergency","battery":0,"linkquality":150}`, nil},
		}},
		{name: "Heiman off is neither a press nor a cancel", steps: []ruleStep{
			{0, "btn", `z2m {"action":"off","battery":100,"linkquality":118}`, nil},
			{rmin, "btn", `z2m {"action":"hold","battery":100,"linkquality":118}`, []string{"raise sos critical btn @1m0s"}},
		}},
		{name: "a battery report repeating sos true raises nothing", steps: []ruleStep{
			{0, "btn", `z2m {"battery":96,"sos":true}`, []string{"raise sos critical btn @0s"}},
			// fixture: SEB01ZB battery report merged with the cached state
			{rhour, "btn", `z2m {"battery":95,"battery_low":false,"linkquality":99,"sos":true,"tamper":false}`, nil},
			{2 * rhour, "btn", `z2m {"battery":95,"sos":false}`, nil},
			{3 * rhour, "btn", `z2m {"battery":95,"sos":true}`, []string{"raise sos critical btn @3h0m0s"}},
		}},
		{name: "a hub's cached sos flag seen first is the baseline, not a press", steps: []ruleStep{
			// Zigbee2MQTT's start replays the flag left true by an old press
			{0, "btn", `hub {"battery":95,"battery_low":false,"linkquality":99,"sos":true,"tamper":false}`, nil},
			{rmin, "btn", `hub {"battery":95,"battery_low":false,"linkquality":99,"sos":true,"tamper":false}`, nil},
			{2 * rmin, "btn", `hub {"battery":95,"sos":false}`, nil},
			{3 * rmin, "btn", `hub {"battery":95,"sos":true}`, []string{"raise sos critical btn @3m0s"}},
			{4 * rmin, "btn2", `hub {"action":"emergency","sos":true}`, []string{"raise sos critical btn2 @4m0s"}},
		}},
		{name: "a level and an action in one message count once", steps: []ruleStep{
			{0, "btn", `z2m {"sos":false}`, nil},
			{rmin, "btn", `z2m {"action":"sos","sos":true}`, []string{"raise sos critical btn @1m0s"}},
		}},
	})
}

func TestRulesFall(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "fall raises critical; a replay raises nothing; long lie every 5 min", steps: []ruleStep{
			// fixture: MIR-HE200-TY fall_down_status fall
			{0, "fall", `z2m {"fall_down_status":"fall","linkquality":150,"motion_direction":"standing_still"}`, []string{"raise fall critical fall @0s"}},
			{10 * rsec, "fall", `z2m {"fall_down_status":"fall","linkquality":150,"motion_direction":"standing_still"}`, nil},
			{5*rmin - rms, "", "tick", nil},
			{5 * rmin, "", "tick", []string{"renotify fall critical fall @5m0s"}},
			{9 * rmin, "", "tick", nil},
			{10 * rmin, "", "tick", []string{"renotify fall critical fall @10m0s"}},
			{11 * rmin, "fall", `z2m {"fall_down_status":"none","linkquality":150}`, nil},
			{30 * rmin, "", "tick", nil},
		}},
		{name: "suspected is major, upgraded at exactly 60 s", steps: []ruleStep{
			{0, "fall", `native fall {"state":"suspected"}`, []string{"raise fall major fall @0s"}},
			{60*rsec - rms, "", "tick", nil},
			{60 * rsec, "", "tick", []string{"raise fall critical fall @1m0s"}},
			{2 * rmin, "fall", `native fall {"state":"suspected"}`, nil},
			{5 * rmin, "", "tick", []string{"renotify fall critical fall @5m0s"}},
		}},
		{name: "suspected then normal is no fall", steps: []ruleStep{
			{0, "fall", `z2m {"fall_down_status":"maybe_fall","linkquality":150,"occupancy":true,"presence":true}`, []string{"raise fall major fall @0s"}},
			{30 * rsec, "fall", `z2m {"fall_down_status":"none","linkquality":150,"occupancy":true,"presence":true}`, nil},
			{10 * rmin, "", "tick", nil},
		}},
		{name: "suspected then fall raises critical once", steps: []ruleStep{
			{0, "fall", `native fall {"state":"suspected"}`, []string{"raise fall major fall @0s"}},
			{20 * rsec, "fall", `native fall {"state":"fall"}`, []string{"raise fall critical fall @20s"}},
			{2 * rmin, "", "tick", nil},
			{5 * rmin, "", "tick", []string{"renotify fall critical fall @5m0s"}},
		}},
		{name: "a timer due before an observation fires first", steps: []ruleStep{
			{0, "fall", `native fall {"state":"fall"}`, []string{"raise fall critical fall @0s"}},
			{6 * rmin, "pir", `native env {"motion":true}`, []string{"renotify fall critical fall @5m0s"}},
			{30 * rmin, "", "tick", nil},
		}},
		{name: "motion from another device is a recovery", steps: []ruleStep{
			{0, "fall", `native fall {"state":"fall"}`, []string{"raise fall critical fall @0s"}},
			{rmin, "pir", `native env {"motion":true}`, nil},
			{30 * rmin, "", "tick", nil},
		}},
		{name: "getting into bed is a recovery", steps: []ruleStep{
			{0, "strap", `z2m {"battery":90,"occupancy":false,"work_state":"none"}`, nil},
			{rmin, "fall", `native fall {"state":"fall"}`, []string{"raise fall critical fall @1m0s"}},
			{3 * rmin, "strap", `z2m {"battery":90,"occupancy":true,"work_state":"presence"}`, nil},
			{30 * rmin, "", "tick", nil},
		}},
		{name: "motion from the fall sensor itself is no recovery", steps: []ruleStep{
			{0, "fall", `z2m {"fall_down_status":"fall","occupancy":false}`, []string{"raise fall critical fall @0s"}},
			{rmin, "fall", `z2m {"fall_down_status":"fall","occupancy":true}`, nil},
			{5 * rmin, "", "tick", []string{"renotify fall critical fall @5m0s"}},
		}},
		{name: "OWON status falling and low_posture", steps: []ruleStep{
			{0, "fall", `z2m {"linkquality":120,"location_x":35,"location_y":180,"status":"low_posture"}`, []string{"raise fall major fall @0s"}},
			{10 * rsec, "fall", `z2m {"linkquality":120,"location_x":35,"location_y":180,"status":"falling"}`, []string{"raise fall critical fall @10s"}},
			{20 * rsec, "fall", `z2m {"linkquality":118,"status":"Unknown (7)"}`, nil},
			{40 * rsec, "fall", `z2m {"linkquality":118,"status":"on_the_bed"}`, nil},
			{10 * rmin, "", "tick", nil},
		}},
	})
}

func TestRulesVitals(t *testing.T) {
	hr := func(v string) string { return `native vitals {"heart_rate":` + v + `,"resp_rate":14,"in_bed":true}` }
	runRuleCases(t, []ruleCase{
		{name: "abnormal in every reading for exactly 60 s raises", steps: []ruleStep{
			{0, "radar", hr("145"), nil},
			{30 * rsec, "radar", hr("140"), nil},
			{60 * rsec, "radar", hr("150"), []string{"raise vitals major radar @1m0s"}},
			{65 * rsec, "radar", hr("150"), nil},
		}},
		{name: "59.999 s is not sustained", steps: []ruleStep{
			{0, "radar", hr("145"), nil},
			{60*rsec - rms, "radar", hr("145"), nil},
			{60 * rsec, "radar", hr("145"), []string{"raise vitals major radar @1m0s"}},
		}},
		{name: "a normal reading in between starts again", steps: []ruleStep{
			{0, "radar", hr("145"), nil},
			{30 * rsec, "radar", hr("100"), nil},
			{60 * rsec, "radar", hr("145"), nil},
			{119 * rsec, "radar", hr("145"), nil},
			{120 * rsec, "radar", hr("145"), []string{"raise vitals major radar @2m0s"}},
		}},
		{name: "no reading neither breaks nor continues", steps: []ruleStep{
			{0, "radar", hr("145"), nil},
			{30 * rsec, "radar", `native vitals {"heart_rate":0,"resp_rate":14}`, nil},
			{45 * rsec, "radar", `native vitals {"heart_rate":"nan","resp_rate":14}`, nil},
			{60 * rsec, "radar", hr("145"), []string{"raise vitals major radar @1m0s"}},
		}},
		{name: "limits: 40 and 131 are abnormal, 41 and 130 are not", steps: []ruleStep{
			{0, "radar", hr("41"), nil},
			{60 * rsec, "radar", hr("130"), nil},
			{120 * rsec, "radar", hr("41"), nil},
			{180 * rsec, "radar", hr("40"), nil},
			{240 * rsec, "radar", hr("131"), []string{"raise vitals major radar @4m0s"}},
		}},
		{name: "a wobble at the limit does not flap", steps: []ruleStep{
			{0, "radar", hr("131"), nil},
			{60 * rsec, "radar", hr("131"), []string{"raise vitals major radar @1m0s"}},
			{70 * rsec, "radar", hr("130"), nil},
			{80 * rsec, "radar", hr("131"), nil},
			{90 * rsec, "radar", hr("129"), nil},
			{100 * rsec, "radar", hr("130"), nil},
			{110 * rsec, "radar", hr("128"), []string{"clear vitals major radar @1m50s"}},
			{120 * rsec, "radar", hr("131"), nil},
			{130 * rsec, "radar", hr("129"), nil},
			{140 * rsec, "radar", hr("131"), nil},
			{200 * rsec, "radar", hr("131"), []string{"raise vitals major radar @3m20s"}},
		}},
		{name: "every sign must be back for the clear", steps: []ruleStep{
			{0, "radar", `native vitals {"heart_rate":145,"spo2":88}`, nil},
			{60 * rsec, "radar", `native vitals {"heart_rate":145,"spo2":88}`, []string{"raise vitals major radar @1m0s"}},
			{70 * rsec, "radar", `native vitals {"heart_rate":80}`, nil},
			{80 * rsec, "radar", `native vitals {"heart_rate":80,"spo2":92}`, nil},
			{90 * rsec, "radar", `native vitals {"heart_rate":80,"spo2":93}`, []string{"clear vitals major radar @1m30s"}},
		}},
		{name: "low temperature; a room's temp_c is not the body's", steps: []ruleStep{
			{0, "pir", `native env {"temp_c":20}`, nil},
			{2 * rmin, "pir", `native env {"temp_c":20}`, nil},
			{3 * rmin, "radar", `native vitals {"temp_c":34.8}`, nil},
			{4 * rmin, "radar", `native vitals {"temp_c":34.9}`, []string{"raise vitals major radar @4m0s"}},
		}},
		{name: "spo2 91 for 60 s", steps: []ruleStep{
			{0, "radar", `native vitals {"spo2":91}`, nil},
			{60 * rsec, "radar", `native vitals {"spo2":91}`, []string{"raise vitals major radar @1m0s"}},
		}},
		{name: "a bed's own bands", rules: &BedRules{Vitals: &Thresholds{HeartRate: Band{Low: 30, High: 131, Margin: 2}}}, steps: []ruleStep{
			{0, "radar", hr("38"), nil},
			{60 * rsec, "radar", hr("38"), nil},
			{2 * rmin, "radar", `native vitals {"resp_rate":30}`, nil},
			{3 * rmin, "radar", `native vitals {"resp_rate":30}`, []string{"raise vitals major radar @3m0s"}},
		}},
	})
}

func TestRulesVitalsDetail(t *testing.T) {
	tests := []struct {
		name  string
		steps []ruleStep
		want  string
	}{
		{"high heart rate", []ruleStep{
			{at: 0, dev: "radar", do: `native vitals {"heart_rate":145}`},
			{at: 60 * rsec, dev: "radar", do: `native vitals {"heart_rate":145}`},
		}, "heart_rate 145 >= 131 for 60s"},
		{"low spo2 and temperature together", []ruleStep{
			{at: 0, dev: "radar", do: `native vitals {"spo2":88,"temp_c":34.8}`},
			{at: 62 * rsec, dev: "radar", do: `native vitals {"spo2":87,"temp_c":34.8}`},
		}, "spo2 87 <= 91 for 62s; temp_c 34.8 <= 35 for 62s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine(DefaultConfig())
			var got []Signal
			for _, s := range tt.steps {
				got = e.Observe(ruleObservation(t, s, ruleDay(12, 0).Add(s.at)))
			}
			if len(got) != 1 || got[0].Detail != tt.want {
				t.Errorf("Observe(%s).Detail = %+v, want %q", tt.steps[len(tt.steps)-1].do, got, tt.want)
			}
		})
	}
}

func TestRulesIgnored(t *testing.T) {
	e := NewEngine(DefaultConfig())
	at := ruleDay(12, 0)
	r, _ := devices.DecodeNative(devices.StreamSOS, []byte(`{"action":"press"}`), at)
	for _, o := range []devices.Observation{
		{Reading: r, DeviceID: "btn", Received: at},
		{Reading: r, BedID: "bed1", Received: at},
		{Reading: r, BedID: "bed1", DeviceID: "btn"},
	} {
		if got := e.Observe(o); got != nil {
			t.Errorf("Observe(%+v) = %v, want nil", o, got)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"zero takes defaults", func(c *Config) { *c = Config{} }, ""},
		{"negative duration", func(c *Config) { c.Sustain = -time.Second }, "sustain"},
		{"battery clear below low", func(c *Config) { c.BatteryLow, c.BatteryClear = 30, 25 }, "battery"},
		{"band without room", func(c *Config) { c.Vitals.HeartRate = Band{Low: 100, High: 102, Margin: 1} }, "heart_rate"},
		{"empty night", func(c *Config) { c.NightStart, c.NightEnd = Clock(22, 0), Clock(22, 0) }, "night"},
		{"clock out of range", func(c *Config) { c.NightEnd = 24 * 60 }, "night"},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.edit(&c)
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: Validate() = %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
}

func TestBedRulesValidate(t *testing.T) {
	tests := []struct {
		name  string
		rules BedRules
		want  string // "" for valid
	}{
		{"no override", BedRules{BedID: "bed1"}, ""},
		{"a heart rate band", BedRules{BedID: "bed1", Vitals: &Thresholds{HeartRate: Band{Low: 30, High: 120, Margin: 2}}}, ""},
		{"no bed", BedRules{}, "bed id"},
		{"a band without room", BedRules{BedID: "bed1", Vitals: &Thresholds{SpO2: Band{Low: 95, High: 96, Margin: 1}}}, "spo2"},
		{"a clock out of range", BedRules{BedID: "bed1", NightEnd: rulePtr(ClockTime(-1))}, "night"},
	}
	for _, tt := range tests {
		err := tt.rules.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: Validate() = %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
}

func TestClockTime(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want ClockTime
		err  bool
	}{
		{"22:00", Clock(22, 0), false},
		{"06:00", Clock(6, 0), false},
		{"6:30", Clock(6, 30), false},
		{"24:00", 0, true},
		{"noon", 0, true},
	} {
		var c ClockTime
		err := c.UnmarshalText([]byte(tt.in))
		if (err != nil) != tt.err || c != tt.want {
			t.Errorf("UnmarshalText(%q) = %v, %v, want %v, error %v", tt.in, c, err, tt.want, tt.err)
		}
		if !tt.err {
			if b, _ := c.MarshalText(); mustClock(t, string(b)) != c {
				t.Errorf("MarshalText(%v) = %s, does not read back", c, b)
			}
		}
	}
}

func mustClock(t *testing.T, s string) ClockTime {
	t.Helper()
	c, err := ParseClockTime(s)
	if err != nil {
		t.Fatalf("ParseClockTime(%q) = %v", s, err)
	}
	return c
}
