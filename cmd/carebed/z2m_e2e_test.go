package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"carebed/devices"
	"carebed/gateway/gatewaytest"
	"carebed/store"
)

// A home behind a Zigbee2MQTT hub, as the end-to-end tests register it: the
// hub by its base topic, an SOS button by its IEEE address (its friendly
// name "Bedroom/SOS button" holds a '/' and a space) and a fall radar by
// its friendly name. The names and addresses are those of
// devices/testdata/discovery/bridge-devices.json.
type z2mHome struct {
	Bed, Base      string
	Hub, SOS, Fall string // device ids
}

const (
	z2mSOSName  = "Bedroom/SOS button"
	z2mSOSIEEE  = "0x0c4314fffe03c247"
	z2mFallName = "Bathroom radar"
	z2mPIRName  = "Hallway PIR" // listed by the hub, registered by nobody
	z2mPIRIEEE  = "0x00158d0001a1b2c3"
)

// registerZ2MHome registers agency-1, the bed and the home's devices.
func registerZ2MHome(t *testing.T, api string, home z2mHome) {
	t.Helper()
	mustCall(t, "POST", api+"/api/v1/agencies", devices.Agency{ID: "agency-1", Name: "Test agency"}, nil, 201, 409)
	mustCall(t, "POST", api+"/api/v1/beds", devices.Bed{ID: home.Bed, AgencyID: "agency-1",
		Elder: devices.Elder{Name: "Test Elder", BirthYear: 1938, DisabilityLevel: "severe"}}, nil, 201)
	for _, d := range []devices.Device{
		{ID: home.Hub, Kind: devices.KindHub, Source: home.Base},
		{ID: home.SOS, Kind: devices.KindSOSButton, Source: z2mSOSIEEE},
		{ID: home.Fall, Kind: devices.KindFallSensor, Source: z2mFallName},
	} {
		d.BedID, d.Format = home.Bed, devices.FormatZigbee2MQTT
		mustCall(t, "POST", api+"/api/v1/devices", d, nil, 201)
	}
}

// z2mStep is one message of a recorded Zigbee2MQTT session and what the
// gateway must make of it. Alarm tests find steps by Name.
type z2mStep struct {
	Name     string
	Topic    string // under the home's base
	Payload  string
	Retained bool
	// What must come out: points of one device (stream/field -> value), a
	// dead letter, an unknown device, or nothing at all.
	Device  string
	Points  map[string]any
	Dead    devices.Reason
	Unknown string
}

// z2mSession is the session of one home: the hub starts with its retained
// list and state, replays every device's cached state (a battery report
// repeating sos:true among them), a resident presses the SOS button (the
// JSON state and the plain-text action), the radar sees a fall, and the
// bridge goes offline. Payloads are lines of the shared field-payloads
// catalogue (devices/testdata/zigbee2mqtt/fixtures.jsonl) moved under the
// home's base, where one fits.
func z2mSession(t *testing.T, home z2mHome) []z2mStep {
	t.Helper()
	fx := z2mFixtures(t)
	list, err := os.ReadFile("../../devices/testdata/discovery/bridge-devices.json")
	if err != nil {
		t.Fatal(err)
	}
	sosState := fx["battery report repeating sos true"]
	return []z2mStep{
		{Name: "retained device list", Topic: "bridge/devices", Payload: string(list), Retained: true},
		{Name: "bridge online", Topic: "bridge/state", Payload: fx["z2m 2.x bridge online"], Retained: true,
			Device: home.Hub, Points: map[string]any{"availability/online": true}},
		{Name: "bridge log line", Topic: "bridge/logging", Payload: `{"level":"info","message":"Zigbee2MQTT started!"}`},
		{Name: "bridge info", Topic: "bridge/info", Payload: `{"version":"2.1.0","coordinator":{"type":"zStack3x0"}}`, Retained: true},
		{Name: "sos button available", Topic: z2mSOSName + "/availability", Payload: `{"state":"online"}`, Retained: true,
			Device: home.SOS, Points: map[string]any{"availability/online": true}},
		{Name: "radar available (1.x)", Topic: z2mFallName + "/availability", Payload: "online", Retained: true,
			Device: home.Fall, Points: map[string]any{"availability/online": true}},
		{Name: "start replay: sos button cached state", Topic: z2mSOSName, Payload: sosState,
			Device: home.SOS, Points: map[string]any{"sos/sos": true, "sos/battery": 95.0, "sos/battery_low": false, "sos/tamper": false, "sos/linkquality": 99.0}},
		{Name: "start replay: radar cached state", Topic: z2mFallName, Payload: fx["radar fall cleared, dwell alarm number"],
			Device: home.Fall, Points: map[string]any{"fall/state": "normal", "fall/motion": true, "fall/linkquality": 150.0}},
		{Name: "start replay: unregistered PIR", Topic: z2mPIRName, Payload: fx["pir synthetic no motion"],
			Unknown: home.Base + "/" + z2mPIRName},
		{Name: "battery report repeating sos true", Topic: z2mSOSName, Payload: sosState,
			Device: home.SOS, Points: map[string]any{"sos/sos": true, "sos/battery": 95.0, "sos/battery_low": false, "sos/tamper": false, "sos/linkquality": 99.0}},
		{Name: "press: JSON state", Topic: z2mSOSName, Payload: fx["sos emergency battery null"],
			Device: home.SOS, Points: map[string]any{"sos/action": "press", "sos/linkquality": 90.0}},
		{Name: "press: plain-text action", Topic: z2mSOSName + "/action", Payload: fx["sos plain-text action topic"],
			Device: home.SOS, Points: map[string]any{"sos/action": "press"}},
		{Name: "press: action reset", Topic: z2mSOSName, Payload: fx["empty action is a reset"],
			Device: home.SOS, Points: map[string]any{"status/linkquality": 90.0}},
		{Name: "command to the hub", Topic: z2mSOSName + "/set", Payload: `{"alarm":"OFF"}`},
		{Name: "radar fall", Topic: z2mFallName, Payload: fx["radar fall"],
			Device: home.Fall, Points: map[string]any{"fall/state": "fall", "fall/motion": true, "fall/linkquality": 150.0}},
		{Name: "radar value of the wrong type", Topic: z2mFallName, Payload: `{"fall_down_status":42}`, Dead: devices.ReasonWrongType},
		{Name: "retained deletion after a rename", Topic: "old bedroom button/availability", Payload: "", Retained: true},
		{Name: "bridge offline", Topic: "bridge/state", Payload: fx["z2m bridge last will offline"], Retained: true,
			Device: home.Hub, Points: map[string]any{"availability/online": false}},
	}
}

// z2mFixtures reads the Zigbee2MQTT fixtures by case name.
func z2mFixtures(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("../../devices/testdata/zigbee2mqtt/fixtures.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var fx struct{ Name, Payload string }
		if err := json.Unmarshal(sc.Bytes(), &fx); err != nil {
			t.Fatal(err)
		}
		out[fx.Name] = fx.Payload
	}
	return out
}

// replayZ2MSession publishes the session under the home's base, in order,
// each message acknowledged by the broker before the next. The device list
// goes first and is waited for: once the gateway lists its devices it is
// subscribed, and knows the friendly names the rest is published under.
func replayZ2MSession(t *testing.T, api string, pub *publisher, home z2mHome, steps []z2mStep) {
	t.Helper()
	for i, st := range steps {
		if err := pub.publish(home.Base+"/"+st.Topic, []byte(st.Payload), st.Retained); err != nil {
			t.Fatalf("step %q: %v", st.Name, err)
		}
		if i == 0 {
			gatewaytest.WaitFor(t, 30*time.Second, "the hub's devices in the discovered list", func() bool {
				var l struct{ Items []store.DiscoveredDevice }
				mustCall(t, "GET", api+"/api/v1/devices/discovered?limit=1000", nil, &l, 200)
				return len(l.Items) > 0
			})
		}
	}
}

// wantPoints is every point the session must write, as
// "<device> <stream>/<field>=<value>", sorted.
func wantPoints(steps []z2mStep) []string {
	var out []string
	for _, st := range steps {
		for k, v := range st.Points {
			out = append(out, fmt.Sprintf("%s %s=%v", st.Device, k, v))
		}
	}
	sort.Strings(out)
	return out
}

func pointKeys(points []fluxPoint) []string {
	out := make([]string, len(points))
	for i, p := range points {
		out[i] = fmt.Sprintf("%s %s/%s=%v", p.tags["device"], p.measurement, p.field, p.value)
	}
	sort.Strings(out)
	return out
}

func TestEndToEndZigbee2MQTTSession(t *testing.T) {
	s := startServers(t)
	dataDir := t.TempDir()
	g := startInProcess(t, s.gatewayArgs(dataDir)...)
	api := g.api()
	home := z2mHome{Bed: "bed-z2m", Base: "z2m/home-1", Hub: "hub-1", SOS: "sos-1", Fall: "fall-1"}
	registerZ2MHome(t, api, home)
	pub := newPublisher(t, s.mqtt.URL, "z2m-home-1")
	steps := z2mSession(t, home)
	start := time.Now()
	replayZ2MSession(t, api, pub, home, steps)

	// Telemetry: every point, with the right device, kind and bed, and
	// nothing else.
	want := wantPoints(steps)
	var got []fluxPoint
	poll(30*time.Second, func() bool { // a shortfall shows in the comparison below
		got = fluxPoints(t, s, home.Bed)
		return len(got) >= len(want)
	})
	kinds := map[string]devices.Kind{home.Hub: devices.KindHub, home.SOS: devices.KindSOSButton, home.Fall: devices.KindFallSensor}
	if g := pointKeys(got); !slices.Equal(g, want) {
		t.Errorf("points of %s =\n%s\nwant\n%s", home.Bed, strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	for _, p := range got {
		if p.tags["agency"] != "agency-1" || kinds[p.tags["device"]] != devices.Kind(p.tags["kind"]) || p.time.Before(start.Add(-time.Second)) {
			t.Errorf("point %s/%s of %s: tags %v time %v, want agency-1, the device's kind and the receive time", p.measurement, p.field, p.tags["device"], p.tags, p.time)
		}
	}

	// Dead letters and unknown devices: exactly the session's.
	var letters struct{ Items []store.DeadLetter }
	mustCall(t, "GET", api+"/api/v1/deadletters?limit=1000", nil, &letters, 200)
	var gotDead, wantDead []string
	for _, l := range letters.Items {
		gotDead = append(gotDead, l.Topic+" "+string(l.Reason))
	}
	var wantUnknown []string
	for _, st := range steps {
		if st.Dead != "" {
			wantDead = append(wantDead, home.Base+"/"+st.Topic+" "+string(st.Dead))
		}
		if st.Unknown != "" {
			wantUnknown = append(wantUnknown, st.Unknown)
		}
	}
	if !slices.Equal(gotDead, wantDead) {
		t.Errorf("dead letters = %q, want %q", gotDead, wantDead)
	}
	var unknown struct{ Items []store.UnknownDevice }
	mustCall(t, "GET", api+"/api/v1/devices/unknown", nil, &unknown, 200)
	var gotUnknown []string
	for _, u := range unknown.Items {
		gotUnknown = append(gotUnknown, u.Key)
	}
	if !slices.Equal(gotUnknown, wantUnknown) {
		t.Errorf("unknown devices = %q, want %q", gotUnknown, wantUnknown)
	}

	// Alarms: the real press once (not the replayed sos flag, not the
	// battery report repeating it, not the press's /action copy), the fall,
	// and the bridge going offline; nothing else.
	wantAlarms := []string{"fall critical fall-1 count=1", "hub_offline major hub-1 count=1", "sos critical sos-1 count=1"}
	var gotAlarms []string
	poll(20*time.Second, func() bool {
		gotAlarms = gotAlarms[:0]
		for _, a := range bedAlerts(t, api, home.Bed) {
			gotAlarms = append(gotAlarms, fmt.Sprintf("%s %s %s count=%d", a.Kind, a.Severity, a.DeviceID, a.Count))
		}
		sort.Strings(gotAlarms)
		return len(gotAlarms) >= len(wantAlarms)
	})
	time.Sleep(time.Second) // a late, wrong alarm would show now
	gotAlarms = gotAlarms[:0]
	for _, a := range bedAlerts(t, api, home.Bed) {
		gotAlarms = append(gotAlarms, fmt.Sprintf("%s %s %s count=%d", a.Kind, a.Severity, a.DeviceID, a.Count))
	}
	sort.Strings(gotAlarms)
	if !slices.Equal(gotAlarms, wantAlarms) {
		t.Errorf("alarms of %s = %q, want %q", home.Bed, gotAlarms, wantAlarms)
	}

	// The bridge went offline: the hub and every device behind it are
	// shown offline.
	for _, id := range []string{home.Hub, home.SOS, home.Fall} {
		var d devices.Device
		gatewaytest.WaitFor(t, 10*time.Second, id+" offline", func() bool {
			mustCall(t, "GET", api+"/api/v1/devices/"+id, nil, &d, 200)
			return !d.Online && d.LastSeen != nil
		})
	}

	// Discovery: the hub's list, kinds guessed, read through the hub.
	var disc struct{ Items []discoveredItem }
	mustCall(t, "GET", api+"/api/v1/devices/discovered?limit=1000", nil, &disc, 200)
	byID := map[string]discoveredItem{}
	for _, d := range disc.Items {
		byID[d.ID] = d
	}
	if pir := byID[z2mPIRIEEE]; len(disc.Items) != 10 || pir.Kind != devices.KindMotionSensor || pir.HubID != home.Hub || pir.FriendlyName != z2mPIRName {
		t.Fatalf("discovered = %d devices, PIR %+v; want the 10 of the list, the PIR a motion sensor behind %s", len(disc.Items), pir, home.Hub)
	}
	if sos := byID[z2mSOSIEEE]; sos.Kind != devices.KindSOSButton {
		t.Errorf("discovered SOS button kind = %q, want sos_button", sos.Kind)
	}

	// Accept the PIR: it joins the hub's bed and is read at once.
	var pir devices.Device
	mustCall(t, "POST", api+"/api/v1/devices/discovered/"+url.PathEscape(z2mPIRIEEE)+"/accept", map[string]string{"id": "pir-1"}, &pir, 201)
	if pir.BedID != home.Bed || pir.Kind != devices.KindMotionSensor || pir.Source != z2mPIRIEEE || pir.Format != devices.FormatZigbee2MQTT {
		t.Errorf("accepted PIR = %+v, want a zigbee2mqtt motion sensor of %s read by its IEEE address", pir, home.Bed)
	}
	mustCall(t, "POST", api+"/api/v1/devices/discovered/"+url.PathEscape(z2mPIRIEEE)+"/accept", map[string]string{"id": "pir-2"}, nil, 409)
	mustCall(t, "GET", api+"/api/v1/devices/unknown", nil, &unknown, 200)
	if len(unknown.Items) != 0 {
		t.Errorf("unknown devices after accepting the PIR = %+v, want none", unknown.Items)
	}
	pub.mustPublish(home.Base+"/bridge/state", []byte(`{"state":"online"}`))
	pub.mustPublish(home.Base+"/"+z2mPIRName, []byte(`{"occupancy":true,"battery":100}`))
	gatewaytest.WaitFor(t, 30*time.Second, "the PIR's motion in InfluxDB", func() bool {
		return slices.Contains(pointKeys(fluxPoints(t, s, home.Bed)), "pir-1 env/motion=true")
	})

	// The friendly names survive a restart without the retained list.
	g.stop(t)
	if err := pub.publish(home.Base+"/bridge/devices", nil, true); err != nil {
		t.Fatal(err)
	}
	g = startInProcess(t, s.gatewayArgs(dataDir)...)
	time.Sleep(devices.PressWindow) // a press closer to the last one is the same press
	pub.mustPublish(home.Base+"/"+z2mSOSName+"/action", []byte("sos"))
	gatewaytest.WaitFor(t, 30*time.Second, "a press after the restart", func() bool {
		n := 0
		for _, k := range pointKeys(fluxPoints(t, s, home.Bed)) {
			if k == "sos-1 sos/action=press" {
				n++
			}
		}
		return n == 3
	})
	mustCall(t, "GET", g.api()+"/api/v1/devices/unknown", nil, &unknown, 200)
	if len(unknown.Items) != 0 {
		t.Errorf("unknown devices after the restart = %+v, want none", unknown.Items)
	}
	// The press after the restart repeats the open SOS alarm.
	if !poll(10*time.Second, func() bool { return waitAlert(t, g.api(), home.Bed, "sos", time.Second).Count == 2 }) {
		for _, a := range bedAlerts(t, g.api(), home.Bed) {
			t.Errorf("after the restart: %+v", a)
		}
	}
}

// poll checks cond until it holds or the timeout passes, and says which.
func poll(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// discoveredItem is an item of GET /api/v1/devices/discovered.
type discoveredItem struct {
	store.DiscoveredDevice
	HubID string `json:"hub_id"`
}
