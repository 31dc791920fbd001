package devices

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The -update flag rewrites golden files: go test ./devices -run Golden -update.
// It is registered only if no other test file of the package did so first.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata")
	}
}

func z2mUpdateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// z2mReceived is the receive time of every fixture line: after the
// newest last_seen in the fixtures.
var z2mReceived = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// z2mFixture is one line of testdata/zigbee2mqtt/fixtures.jsonl: a line of
// the shared field-payloads.jsonl with a case name added.
type z2mFixture struct {
	Name       string `json:"name"`
	Source     string `json:"source"`
	DeviceKind string `json:"device_kind"`
	Topic      string `json:"topic"`
	Payload    string `json:"payload"`
	Meaning    string `json:"meaning"`
}

// z2mOtherDecoders lists the shared fixture lines that belong to other
// decoders, by topic and payload, so that none is skipped silently.
var z2mOtherDecoders = []struct{ topic, payload, decoder string }{
	{"(Tuya message queue, not MQTT topic-based; delivered via Pulsar/MQ with protocol:20)", `{"devId":"002dj00118fe34d9****",`, "tuya"},
	{"bedroom-radar/binary_sensor/fall_detected/state", "ON", "esphome"},
	{"bedroom-radar/sensor/heart_rate/state", "nan", "esphome"},
	{"sleepsensor/heartbeat", "72", "plain text (DFRobot C1001 sketch)"},
	{"sleepsensor/bed_status", "0", "plain text (DFRobot C1001 sketch)"},
	{"bedroom-radar/sensor/heart_rate/state", "72.00", "esphome"},
	{"bedroom-radar/sensor/breath_rate/state", "0.00", "esphome"},
	{"tele/bridge_tasmota_2D251C/SENSOR", `{"ZbReceived":{"0x6841":`, "tasmota"},
	{"tele/tasmota/SENSOR", `{"Time":"2017-02-16T10:13:52"`, "tasmota"},
	{"tele/E8DB849DBFAE/SENSOR", `{"ZbReceived":{"0x1067":`, "tasmota"},
	{"care/home-17/bedroom-radar/senml", "[", "senml"},
	{"care/home-17/door/senml", "[", "senml"},
	{"(any)", `[{ "n": "urn:dev:ow:10e2073a01080063"`, "senml"},
	{"(any; RFC 8428 defines media type application/senml+json, not a topic)", "[", "senml"},
	{"(any)", "[\n  {\"bn\":\"urn:dev:ow:10e2073a01080063:\",\"n\":\"temp\"", "senml"},
}

// z2mFixtureKinds maps the fixtures' device_kind to our Kind.
var z2mFixtureKinds = map[string]Kind{
	"sos_button": KindSOSButton, "fall": KindFallSensor, "vitals": KindVitalsMonitor, "contact": KindDoorSensor,
	"motion": KindMotionSensor, "smoke": KindSmokeAlarm, "gas": KindGasAlarm, "water_leak": KindWaterLeak, "climate": KindClimate,
}

// z2mFixtureNames are the friendly names the fixtures' hub would list in
// bridge/devices.
var z2mFixtureNames = map[string]bool{"kitchen_leak": true}

func readZ2MFixtures(t testing.TB) []z2mFixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "zigbee2mqtt", "fixtures.jsonl"))
	if err != nil {
		t.Fatalf("read fixtures: %v", err)
	}
	var out []z2mFixture
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var f z2mFixture
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("fixture line %d: %v", len(out)+1, err)
		}
		out = append(out, f)
	}
	return out
}

// z2mGoldenField is a Field as the golden files show it.
type z2mGoldenField struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

type z2mGoldenError struct {
	Reason Reason `json:"reason"`
	Field  string `json:"field,omitempty"`
}

// z2mGoldenResult is what one fixture line decodes to.
type z2mGoldenResult struct {
	Topic      string           `json:"topic"`
	Decoder    string           `json:"decoder"`
	Device     string           `json:"device,omitempty"`
	Sub        string           `json:"sub,omitempty"`
	Online     *bool            `json:"online,omitempty"`
	Deleted    bool             `json:"deleted,omitempty"`
	Stream     Stream           `json:"stream,omitempty"`
	Time       string           `json:"time,omitempty"`
	Fields     []z2mGoldenField `json:"fields,omitempty"`
	Events     []z2mGoldenField `json:"events,omitempty"` // Edges.Step, lines stepped in file order
	Discovered *Discovered      `json:"discovered,omitempty"`
	Error      *z2mGoldenError  `json:"error,omitempty"`
}

func z2mGoldenFields(fs []Field) []z2mGoldenField {
	var out []z2mGoldenField
	for _, f := range fs {
		g := z2mGoldenField{Name: f.Name, Value: f.F}
		switch f.Type {
		case Bool:
			g.Value = f.B
		case String:
			g.Value = f.S
		}
		out = append(out, g)
	}
	return out
}

func z2mGoldenErr(t *testing.T, name string, err error) *z2mGoldenError {
	if err == nil {
		return nil
	}
	var re *RejectError
	if !errors.As(err, &re) {
		t.Errorf("%s: error %v is not a *RejectError", name, err)
		return &z2mGoldenError{Reason: "not a RejectError"}
	}
	return &z2mGoldenError{Reason: re.Reason, Field: re.Field}
}

// decodeZ2MFixture runs the decoder a fixture line belongs to.
func decodeZ2MFixture(t *testing.T, f z2mFixture, edges *Edges, at time.Time) (file string, g z2mGoldenResult) {
	payload := []byte(f.Payload)
	g.Topic = f.Topic
	switch {
	case f.DeviceKind == "availability":
		file, g.Decoder = "availability", "DecodeAvailability"
		g.Device, g.Sub, _ = ParseZigbee2MQTTTopic("zigbee2mqtt", f.Topic)
		online, deleted, err := DecodeAvailability(payload)
		if err == nil && !deleted {
			g.Online = &online
		}
		g.Deleted, g.Error = deleted, z2mGoldenErr(t, f.Name, err)
	case f.DeviceKind == "discovery":
		file, g.Decoder = "discovery", "ParseHADiscovery"
		d, deleted, err := ParseHADiscovery(f.Topic, payload)
		g.Discovered, g.Deleted, g.Error = &d, deleted, z2mGoldenErr(t, f.Name, err)
	default:
		file = "state"
		name, sub, ok := SplitZigbee2MQTTTopic("zigbee2mqtt", f.Topic, func(n string) bool { return z2mFixtureNames[n] })
		if !ok {
			t.Fatalf("%s: SplitZigbee2MQTTTopic(%q) not ok", f.Name, f.Topic)
		}
		g.Device, g.Sub = name, sub
		var r Reading
		var err error
		switch sub {
		case "":
			g.Decoder = "DecodeZigbee2MQTT"
			r, err = DecodeZigbee2MQTT(z2mFixtureKinds[f.DeviceKind], payload, z2mReceived)
		case Z2MSubAction:
			g.Decoder = "DecodeZigbee2MQTTAction"
			r, err = DecodeZigbee2MQTTAction(payload)
		default:
			g.Decoder = "DecodeZigbee2MQTTAttribute"
			r, err = DecodeZigbee2MQTTAttribute(z2mFixtureKinds[f.DeviceKind], sub, payload, z2mReceived)
		}
		g.Error = z2mGoldenErr(t, f.Name, err)
		if err == nil {
			g.Stream, g.Fields = r.Stream, z2mGoldenFields(r.Fields)
			if !r.Time.IsZero() {
				g.Time = r.Time.Format(time.RFC3339Nano)
			}
			g.Events = z2mGoldenFields(edges.Step(name, r, at))
		}
	}
	return file, g
}

// TestGoldenZigbee2MQTT decodes every Zigbee2MQTT, availability and
// discovery line of the field fixtures and compares with
// testdata/zigbee2mqtt/<decoder group>.golden.
func TestGoldenZigbee2MQTT(t *testing.T) {
	fixtures := readZ2MFixtures(t)
	got := map[string]map[string]z2mGoldenResult{}
	edges := NewEdges()
	for i, f := range fixtures {
		file, g := decodeZ2MFixture(t, f, edges, z2mReceived.Add(time.Duration(i)*time.Minute))
		if got[file] == nil {
			got[file] = map[string]z2mGoldenResult{}
		}
		if _, dup := got[file][f.Name]; dup {
			t.Fatalf("fixture name %q is not unique", f.Name)
		}
		got[file][f.Name] = g
	}
	for _, file := range []string{"availability", "state", "discovery"} {
		path := filepath.Join("testdata", "zigbee2mqtt", file+".golden")
		b, err := json.MarshalIndent(got[file], "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, '\n')
		if z2mUpdateGolden() {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %s (run with -update to create it): %v", path, err)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("golden %s differs; got:\n%s\nrun go test ./devices -run Golden -update and review the diff", path, b)
		}
	}
}

// TestGoldenFixturesCoverShared checks that every line of the shared field
// fixtures is either in testdata/zigbee2mqtt/fixtures.jsonl or listed in
// z2mOtherDecoders.
func TestGoldenFixturesCoverShared(t *testing.T) {
	shared, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "field-payloads.jsonl"))
	if err != nil {
		t.Fatalf("shared fixtures must sit beside the checkout (../shared): %v", err)
	}
	mine := map[[2]string]bool{}
	for _, f := range readZ2MFixtures(t) {
		mine[[2]string{f.Topic, f.Payload}] = true
	}
	used := make([]bool, len(z2mOtherDecoders))
	for i, line := range bytes.Split(bytes.TrimSpace(shared), []byte("\n")) {
		var f z2mFixture
		if err := json.Unmarshal(line, &f); err != nil {
			t.Fatalf("shared line %d: %v", i+1, err)
		}
		if mine[[2]string{f.Topic, f.Payload}] {
			continue
		}
		found := false
		for j, o := range z2mOtherDecoders {
			if !used[j] && o.topic == f.Topic && strings.HasPrefix(f.Payload, o.payload) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("shared line %d (%s %q) is neither in testdata/zigbee2mqtt/fixtures.jsonl nor in z2mOtherDecoders", i+1, f.DeviceKind, f.Topic)
		}
	}
	for j, u := range used {
		if !u {
			t.Errorf("z2mOtherDecoders[%d] (%q) matches no shared line", j, z2mOtherDecoders[j].topic)
		}
	}
}
