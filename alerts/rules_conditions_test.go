package alerts

import (
	"slices"
	"testing"

	"carebed/devices"
)

// Rule tests of the conditions of a home: no signal, bed exit,
// inactivity, hazards, doors at night, devices, batteries and button
// tests. The helpers are in rules_test.go.

func TestRulesNoSignal(t *testing.T) {
	noReading := `native vitals {"in_bed":true,"heart_rate":0,"resp_rate":0}`
	runRuleCases(t, []ruleCase{
		{name: "in bed with no valid reading for 5 min; a valid reading clears", steps: []ruleStep{
			{0, "radar", noReading, nil},
			{rmin, "radar", noReading, nil},
			{5*rmin - rms, "", "tick", nil},
			{5 * rmin, "", "tick", []string{"raise no_signal major radar @5m0s"}},
			{6 * rmin, "radar", noReading, nil},
			{7 * rmin, "radar", `native vitals {"in_bed":true,"heart_rate":70,"resp_rate":14}`, []string{"clear no_signal major radar @7m0s"}},
			{20 * rmin, "", "tick", nil},
		}},
		{name: "leaving the bed clears", steps: []ruleStep{
			{0, "radar", noReading, nil},
			{5 * rmin, "", "tick", []string{"raise no_signal major radar @5m0s"}},
			{6 * rmin, "radar", `native vitals {"in_bed":false}`, []string{"clear no_signal major radar @6m0s"}},
		}},
		{name: "a valid reading within 5 min stops it", steps: []ruleStep{
			{0, "radar", noReading, nil},
			{4 * rmin, "radar", `native vitals {"resp_rate":12}`, nil},
			{20 * rmin, "", "tick", nil},
		}},
		{name: "not in bed, or no no-reading marker, is no signal missing", steps: []ruleStep{
			{0, "radar", `native vitals {"in_bed":false,"heart_rate":0}`, nil},
			{rmin, "strap", `z2m {"battery":90,"occupancy":true,"work_state":"presence"}`, nil},
			{20 * rmin, "", "tick", nil},
		}},
		{name: "suspended while the hub is offline", steps: []ruleStep{
			{0, "hub", `avail {"state":"offline"}`, []string{"raise hub_offline major hub @0s"}},
			{rmin, "radar", noReading, nil},
			{10 * rmin, "", "tick", nil},
			{10 * rmin, "hub", `avail {"state":"online"}`, []string{"clear hub_offline major hub @10m0s"}},
			{15*rmin - rms, "", "tick", nil},
			{15 * rmin, "", "tick", []string{"raise no_signal major radar @15m0s"}},
		}},
	})
}

func TestRulesBedExit(t *testing.T) {
	in, out := `native vitals {"in_bed":true}`, `native vitals {"in_bed":false}`
	runRuleCases(t, []ruleCase{
		{name: "leaving at 22:00 exactly is night", start: ruleDay(21, 50), steps: []ruleStep{
			{0, "radar", in, nil},
			{10 * rmin, "radar", out, nil},
			{30*rmin - rms, "", "tick", nil},
			{30 * rmin, "", "tick", []string{"raise bed_exit major radar @30m0s"}},
			{35 * rmin, "radar", in, []string{"clear bed_exit major radar @35m0s"}},
		}},
		{name: "leaving at 21:59:59 is day", start: ruleDay(21, 50), steps: []ruleStep{
			{0, "radar", in, nil},
			{9*rmin + 59*rsec, "radar", out, nil},
			{2 * rhour, "", "tick", nil},
		}},
		{name: "leaving at 05:59:59.999 is night", start: ruleDay(5, 50), steps: []ruleStep{
			{0, "radar", in, nil},
			{10*rmin - rms, "radar", out, nil},
			{30*rmin - 2*rms, "", "tick", nil},
			{30*rmin - rms, "", "tick", []string{"raise bed_exit major radar @29m59.999s"}},
		}},
		{name: "leaving at 06:00 is day", start: ruleDay(5, 50), steps: []ruleStep{
			{0, "radar", in, nil},
			{10 * rmin, "radar", out, nil},
			{2 * rhour, "", "tick", nil},
		}},
		{name: "the window crosses midnight", start: ruleDay(23, 40), steps: []ruleStep{
			{0, "radar", in, nil},
			{10 * rmin, "radar", out, nil},
			{30*rmin - rms, "", "tick", nil},
			{30 * rmin, "", "tick", []string{"raise bed_exit major radar @30m0s"}},
		}},
		{name: "back within 20 min", start: ruleDay(21, 50), steps: []ruleStep{
			{0, "radar", in, nil},
			{10 * rmin, "radar", out, nil},
			{30*rmin - rms, "radar", in, nil},
			{2 * rhour, "", "tick", nil},
		}},
		{name: "back at exactly 20 min: the timer fires first", start: ruleDay(21, 50), steps: []ruleStep{
			{0, "radar", in, nil},
			{10 * rmin, "radar", out, nil},
			{30 * rmin, "radar", in, []string{"raise bed_exit major radar @30m0s", "clear bed_exit major radar @30m0s"}},
		}},
		{name: "a first out-of-bed value is no exit", start: ruleDay(23, 0), steps: []ruleStep{
			{0, "radar", out, nil},
			{rhour, "", "tick", nil},
		}},
		{name: "a pressure strap through Zigbee2MQTT", start: ruleDay(2, 0), steps: []ruleStep{
			{0, "strap", `z2m {"battery":90,"illuminance":3,"linkquality":110,"occupancy":true,"work_state":"presence"}`, nil},
			{rmin, "strap", `z2m {"battery":90,"illuminance":3,"linkquality":110,"occupancy":false,"work_state":"none_30min"}`, nil},
			{11 * rmin, "strap", `z2m {"battery":90,"illuminance":3,"linkquality":110,"occupancy":false,"work_state":"none_30min"}`, nil},
			{21 * rmin, "", "tick", []string{"raise bed_exit major strap @21m0s"}},
		}},
		{name: "a bed's own night window", start: ruleDay(20, 0), rules: &BedRules{NightStart: rulePtr(Clock(20, 0))}, steps: []ruleStep{
			{0, "radar", in, nil},
			{rmin, "radar", out, nil},
			{21 * rmin, "", "tick", []string{"raise bed_exit major radar @21m0s"}},
		}},
	})
}

func rulePtr[T any](v T) *T { return &v }

func TestRulesInactivity(t *testing.T) {
	motion := `native env {"motion":true}`
	runRuleCases(t, []ruleCase{
		{name: "nothing before any activity", steps: []ruleStep{
			{0, "pir", `native status {"battery":90}`, nil},
			{48 * rhour, "", "tick", nil},
		}},
		{name: "12 h after the minute of the last activity; activity clears", steps: []ruleStep{
			{30 * rsec, "pir", motion, nil},
			{12*rhour - rms, "", "tick", nil},
			{12 * rhour, "", "tick", []string{"raise inactivity major - @12h0m0s"}},
			{13 * rhour, "pir", motion, []string{"clear inactivity major - @13h0m0s"}},
		}},
		{name: "repeated motion reports are activity", steps: []ruleStep{
			{0, "pir", motion, nil},
			{6 * rhour, "pir", motion, nil},
			{12 * rhour, "", "tick", nil},
			{18 * rhour, "", "tick", []string{"raise inactivity major - @18h0m0s"}},
		}},
		{name: "a door's first value is not activity, its changes are", start: ruleDay(8, 0), steps: []ruleStep{
			{0, "door", `z2m {"contact":true}`, nil},
			{12 * rhour, "", "tick", nil},
			{12*rhour + 30*rmin, "door", `z2m {"contact":false}`, nil},
			{12*rhour + 31*rmin, "door", `z2m {"contact":true}`, nil},
			{24*rhour + 31*rmin, "", "tick", []string{"raise inactivity major - @24h31m0s"}},
		}},
		{name: "suspended while the hub is offline, restarted when it is back", steps: []ruleStep{
			{0, "pir", motion, nil},
			{rhour, "hub", `avail offline`, []string{"raise hub_offline major hub @1h0m0s"}},
			{13 * rhour, "", "tick", nil},
			{14 * rhour, "hub", `avail online`, []string{"clear hub_offline major hub @14h0m0s"}},
			{26*rhour - rms, "", "tick", nil},
			{26 * rhour, "", "tick", []string{"raise inactivity major - @26h0m0s"}},
		}},
	})
}

func TestRulesHazards(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "smoke raises on true, once, and clears on false", steps: []ruleStep{
			{0, "smoke", `z2m {"smoke":true,"battery":100}`, []string{"raise smoke critical smoke @0s"}},
			{rmin, "smoke", `z2m {"smoke":true,"battery":99}`, nil},
			{2 * rmin, "smoke", `z2m {"smoke":false,"battery":99}`, []string{"clear smoke critical smoke @2m0s"}},
		}},
		{name: "a first false raises nothing; a first battery_low does", steps: []ruleStep{
			// fixture: TS0601_smoke_1
			{0, "smoke", `z2m {"battery_low":true,"linkquality":90,"smoke":false,"tamper":false}`, []string{"raise battery_low minor smoke @0s"}},
			{rmin, "smoke", `z2m {"battery_low":true,"linkquality":90,"smoke":false,"tamper":false}`, nil},
		}},
		{name: "gas", steps: []ruleStep{
			// fixture: Heiman HS1CG
			{0, "gas", `z2m {"battery_low":false,"gas":true,"linkquality":160,"tamper":false}`, []string{"raise gas critical gas @0s"}},
			{rmin, "gas", `z2m {"gas":false,"preheat":true}`, nil},
			{2 * rmin, "gas", `z2m {"gas":false,"preheat":false}`, []string{"clear gas critical gas @2m0s"}},
		}},
		{name: "water leak clears when no device is wet", steps: []ruleStep{
			{0, "leak", `z2m {"battery":100,"water_leak":true}`, []string{"raise water_leak major leak @0s"}},
			{rmin, "leak2", `native env {"water_leak":true}`, []string{"raise water_leak major leak2 @1m0s"}},
			{2 * rmin, "leak", `z2m {"battery":100,"water_leak":false}`, nil},
			{3 * rmin, "leak2", `native env {"water_leak":false}`, []string{"clear water_leak major leak2 @3m0s"}},
		}},
		{name: "tamper", steps: []ruleStep{
			// fixtures: TS0203 with the tamper bit, then without
			{0, "door", `z2m {"battery":100,"battery_low":false,"contact":true,"linkquality":140,"tamper":true}`, []string{"raise tamper minor door @0s"}},
			{rmin, "door", `z2m {"battery":100,"battery_low":false,"contact":true,"linkquality":140,"tamper":true}`, nil},
			{2 * rmin, "door", `z2m {"battery":100,"battery_low":false,"contact":false,"linkquality":144,"tamper":false}`, []string{"clear tamper minor door @2m0s"}},
		}},
	})
}

func TestRulesDoorNight(t *testing.T) {
	open, closed := `z2m {"battery":100,"contact":false}`, `z2m {"battery":100,"contact":true}`
	runRuleCases(t, []ruleCase{
		{name: "opened at night and open for 5 min", start: ruleDay(21, 58), steps: []ruleStep{
			{0, "door", closed, nil},
			{2 * rmin, "door", open, nil},
			{7*rmin - rms, "", "tick", nil},
			{7 * rmin, "", "tick", []string{"raise door_night major door @7m0s"}},
			{9 * rmin, "door", open, nil},
			{10 * rmin, "door", closed, []string{"clear door_night major door @10m0s"}},
		}},
		{name: "opened at 21:59:59 is day", start: ruleDay(21, 58), steps: []ruleStep{
			{0, "door", closed, nil},
			{rmin + 59*rsec, "door", open, nil},
			{rhour, "", "tick", nil},
		}},
		{name: "closed within 5 min", start: ruleDay(23, 0), steps: []ruleStep{
			{0, "door", closed, nil},
			{rmin, "door", open, nil},
			{6*rmin - rms, "door", closed, nil},
			{rhour, "", "tick", nil},
		}},
		{name: "a first open value at night counts as an opening", start: ruleDay(23, 0), steps: []ruleStep{
			{0, "door", open, nil},
			{5 * rmin, "", "tick", []string{"raise door_night major door @5m0s"}},
		}},
		{name: "native door_open", start: ruleDay(3, 0), steps: []ruleStep{
			{0, "door", `native env {"door_open":false}`, nil},
			{rmin, "door", `native env {"door_open":true}`, nil},
			{6 * rmin, "", "tick", []string{"raise door_night major door @6m0s"}},
		}},
	})
}

func TestRulesDevices(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "a silent device, back with its next message", steps: []ruleStep{
			{0, "pir", "silent", []string{"raise device_offline minor pir @0s"}},
			{rhour, "pir", "silent", nil},
			{2 * rhour, "pir", `native env {"motion":false}`, []string{"clear device_offline minor pir @2h0m0s"}},
		}},
		{name: "a silent SOS button is major", steps: []ruleStep{
			{0, "btn", "silent", []string{"raise device_offline major btn @0s"}},
		}},
		{name: "availability offline; repeats and retained deletions change nothing", steps: []ruleStep{
			// fixtures: Z2M 2.x availability, the empty retained payload of a rename
			{0, "btn", `avail {"state":"offline"}`, []string{"raise device_offline major btn @0s"}},
			{rmin, "btn", `avail {"state":"offline"}`, nil},
			{2 * rmin, "btn", `avail `, nil},
			{3 * rmin, "btn", `avail {"state":"online"}`, []string{"clear device_offline major btn @3m0s"}},
			{4 * rmin, "btn", `avail {"state":"online"}`, nil},
		}},
		{name: "clear when every device is back", steps: []ruleStep{
			{0, "pir", "silent", []string{"raise device_offline minor pir @0s"}},
			{rmin, "radar", `avail offline`, []string{"raise device_offline minor radar @1m0s"}},
			{2 * rmin, "pir", `native status {"battery":80}`, nil},
			{3 * rmin, "radar", `avail online`, []string{"clear device_offline minor radar @3m0s"}},
		}},
		{name: "a hub offline is one hub_offline, not device_offline", steps: []ruleStep{
			// fixtures: Z2M will message and the 1.x plain birth
			{0, "hub", `avail {"state":"offline"}`, []string{"raise hub_offline major hub @0s"}},
			{rmin, "hub", `avail offline`, nil},
			{2 * rmin, "hub", `avail online`, []string{"clear hub_offline major hub @2m0s"}},
			{3 * rmin, "hub", "silent", []string{"raise device_offline minor hub @3m0s"}},
		}},
		{name: "a Zigbee2MQTT restart replays state: nothing new", steps: []ruleStep{
			{0, "fall", `z2m {"fall_down_status":"fall","linkquality":150}`, []string{"raise fall critical fall @0s"}},
			{10 * rsec, "btn", `z2m {"battery":95,"sos":true}`, []string{"raise sos critical btn @10s"}},
			{rmin, "hub", `avail {"state":"offline"}`, []string{"raise hub_offline major hub @1m0s"}},
			{rmin + 5*rsec, "hub", `avail {"state":"online"}`, []string{"clear hub_offline major hub @1m5s"}},
			{rmin + 6*rsec, "fall", `z2m {"fall_down_status":"fall","linkquality":150}`, nil},
			{rmin + 6*rsec, "btn", `z2m {"battery":95,"battery_low":false,"linkquality":99,"sos":true,"tamper":false}`, nil},
		}},
	})
}

func TestRulesBattery(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "low at 20%, clear at 25%", steps: []ruleStep{
			{0, "pir", `native status {"battery":21}`, nil},
			{rhour, "pir", `native status {"battery":20}`, []string{"raise battery_low minor pir @1h0m0s"}},
			{2 * rhour, "pir", `native status {"battery":19}`, nil},
			{3 * rhour, "pir", `native status {"battery":22}`, nil},
			{4 * rhour, "pir", `native status {"battery":24.9}`, nil},
			{5 * rhour, "pir", `native status {"battery":25}`, []string{"clear battery_low minor pir @5h0m0s"}},
		}},
		{name: "battery_low level, whatever the percentage says", steps: []ruleStep{
			{0, "btn", `z2m {"battery":90,"battery_low":true}`, []string{"raise battery_low minor btn @0s"}},
			{rhour, "btn", `z2m {"battery":90,"battery_low":true}`, nil},
			{2 * rhour, "btn", `z2m {"battery":90,"battery_low":false}`, []string{"clear battery_low minor btn @2h0m0s"}},
		}},
		{name: "both say low: clear when both say fine", steps: []ruleStep{
			{0, "btn", `z2m {"battery":15,"battery_low":true}`, []string{"raise battery_low minor btn @0s"}},
			{rhour, "btn", `z2m {"battery":15,"battery_low":false}`, nil},
			{2 * rhour, "btn", `z2m {"battery":30,"battery_low":false}`, []string{"clear battery_low minor btn @2h0m0s"}},
		}},
	})
}

func TestRulesServiceDue(t *testing.T) {
	day := 24 * rhour
	runRuleCases(t, []ruleCase{
		{name: "30 days after the first message, then after the last press", steps: []ruleStep{
			{0, "btn", `native status {"battery":90}`, nil},
			{30*day - rms, "", "tick", nil},
			{30 * day, "", "tick", []string{"raise service_due minor btn @720h0m0s"}},
			{31 * day, "btn", `native sos {"action":"press"}`, []string{"raise sos critical btn @744h0m0s", "clear service_due minor btn @744h0m0s"}},
			// the press was also the home's last activity
			{61*day - rms, "", "tick", []string{"raise inactivity major - @756h0m0s"}},
			{61 * day, "", "tick", []string{"raise service_due minor btn @1464h0m0s"}},
		}},
	})
}

func TestRulesForgetDevice(t *testing.T) {
	e := NewEngine(DefaultConfig())
	start := ruleDay(12, 0)
	runRules(t, e, start, []ruleStep{
		{0, "pir", "silent", []string{"raise device_offline minor pir @0s"}},
		{0, "leak", `native env {"water_leak":true}`, []string{"raise water_leak major leak @0s"}},
	})
	got := ruleSummary(e.ForgetDevice("bed1", "pir", start.Add(rmin)), start)
	if want := []string{"clear device_offline minor pir @1m0s"}; !slices.Equal(got, want) {
		t.Errorf("ForgetDevice(bed1, pir) = %q, want %q", got, want)
	}
	if got := e.ForgetDevice("bed1", "nobody", start); got != nil {
		t.Errorf("ForgetDevice(bed1, nobody) = %v, want nil", got)
	}
}

func TestRulesWaterFlow(t *testing.T) {
	e := NewEngine(DefaultConfig())
	start := ruleDay(12, 0)
	for _, f := range []devices.Field{devices.FloatField("water_flow", 0), devices.BoolField("water_flow", false)} {
		o := devices.Observation{Reading: devices.Reading{Stream: devices.StreamEnv, Fields: []devices.Field{f}},
			DeviceID: "meter", BedID: "bed1", AgencyID: "ag1", Received: start}
		e.Observe(o)
	}
	if got := e.Tick(start.Add(24 * rhour)); got != nil {
		t.Fatalf("Tick(+24h) after no water used = %q, want nothing", ruleSummary(got, start))
	}
	o := devices.Observation{Reading: devices.Reading{Stream: devices.StreamEnv, Fields: []devices.Field{devices.FloatField("water_flow", 2.5)}},
		DeviceID: "meter", BedID: "bed1", AgencyID: "ag1", Received: start.Add(25 * rhour)}
	e.Observe(o)
	got := ruleSummary(e.Tick(start.Add(37*rhour)), start)
	if want := []string{"raise inactivity major - @37h0m0s"}; !slices.Equal(got, want) {
		t.Errorf("Tick(+37h) after water used at +25h = %q, want %q", got, want)
	}
}
