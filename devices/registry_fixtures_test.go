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

var updateRoutes = flag.Bool("update-routes", false, "rewrite testdata/registry/routed.golden")

// routeFixture is one line of the fixture files of every format.
type routeFixture struct {
	file       string
	Name       string `json:"name"`
	DeviceKind string `json:"device_kind"`
	Topic      string `json:"topic"`
	Payload    string `json:"payload"`
	Decode     struct {
		Names map[string]string `json:"names"`
	} `json:"decode"`
}

// routeFiles are the fixture files, each a copy of lines of the shared
// field-payloads catalogue, and the receive time their decoder tests use.
var routeFiles = []struct {
	name     string
	received time.Time
}{
	{"zigbee2mqtt/fixtures.jsonl", z2mReceived},
	{"esphome/fixtures.jsonl", formatsReceived},
	{"tasmota/fixtures.jsonl", formatsReceived},
	{"senml/fixtures.jsonl", formatsReceived},
}

func loadRouteFixtures(t *testing.T) []routeFixture {
	t.Helper()
	var out []routeFixture
	for _, f := range routeFiles {
		data, err := os.ReadFile(filepath.Join("testdata", f.name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var fx routeFixture
			if err := json.Unmarshal(sc.Bytes(), &fx); err != nil {
				t.Fatalf("%s: %v", f.name, err)
			}
			fx.file = f.name
			out = append(out, fx)
		}
	}
	return out
}

// fixtureRegistry registers a device for every sender in the fixtures: a
// Zigbee2MQTT hub at zigbee2mqtt and each friendly name behind it (the
// leak sensor in attribute mode by its IEEE address, through the list),
// the ESPHome node, the Tasmota nodes and the Zigbee devices behind a
// Tasmota bridge, and the SenML topics. SenML lines without a topic are
// sent to carebed/senml-any/senml.
func fixtureRegistry(t *testing.T, fixtures []routeFixture) *Registry {
	t.Helper()
	var names map[string]string
	for _, fx := range fixtures {
		if fx.Decode.Names != nil {
			names = fx.Decode.Names
		}
	}
	r := NewRegistry(WithZone(mustZone(t, "Asia/Shanghai")), WithSenMLNames(names))
	r.PutBed(Bed{ID: "bed-1", AgencyID: "agency-1"})
	r.LearnZigbee2MQTTNames("zigbee2mqtt", map[string]string{"kitchen_leak": "0x00158d00028208ae"}, z2mReceived.Add(-time.Hour))
	put := func(id string, kind Kind, f Format, source string) {
		r.PutDevice(Device{ID: id, BedID: "bed-1", Kind: kind, Format: f, Source: source})
	}
	put("hub-z2m", KindHub, FormatZigbee2MQTT, "zigbee2mqtt")
	put("z2m-kitchen-leak", KindWaterLeak, FormatZigbee2MQTT, "0x00158d00028208ae")
	put("z2m-bedroom-sos-button", KindSOSButton, FormatZigbee2MQTT, "Bedroom SOS button") // its availability fixture
	put("radar", KindVitalsMonitor, FormatESPHome, "bedroom-radar")
	put("tasmota-node", KindClimate, FormatTasmota, "tasmota_3D5E26")
	put("tasmota-bridge", KindHub, FormatTasmota, "bridge_tasmota_2D251C")
	put("tasmota-pir", KindMotionSensor, FormatTasmota, "bridge_tasmota_2D251C/0x6841")
	put("tasmota-ds18b20", KindClimate, FormatTasmota, "tasmota")
	put("tasmota-th", KindClimate, FormatTasmota, "E8DB849DBFAE/0x1067")
	put("senml-radar", KindVitalsMonitor, FormatSenML, "care/home-17/bedroom-radar/senml")
	put("senml-door", KindDoorSensor, FormatSenML, "care/home-17/door/senml")
	put("senml-any", KindClimate, FormatSenML, "")
	known := func(n string) bool { return n == "kitchen_leak" }
	for _, fx := range fixtures {
		kind, ok := z2mFixtureKinds[fx.DeviceKind]
		if !ok || !strings.HasPrefix(fx.Topic, "zigbee2mqtt/") {
			continue
		}
		name, _, ok := SplitZigbee2MQTTTopic("zigbee2mqtt", fx.Topic, known)
		if !ok || name == "kitchen_leak" {
			continue
		}
		id := "z2m-" + proposedID(strings.ToLower(name))
		if !r.Known(id) {
			put(id, kind, FormatZigbee2MQTT, name)
		}
	}
	return r
}

type routedCase struct {
	File         string       `json:"file"`
	Name         string       `json:"name,omitempty"`
	Topic        string       `json:"topic"`
	Announced    []string     `json:"announced,omitempty"`
	Observations []routedObs  `json:"observations,omitempty"`
	Error        *routedError `json:"error,omitempty"`
	Nothing      bool         `json:"nothing,omitempty"`
}

type routedObs struct {
	Device string         `json:"device"`
	Kind   Kind           `json:"kind"`
	Via    string         `json:"via,omitempty"`
	Stream Stream         `json:"stream"`
	Time   string         `json:"time,omitempty"` // when not the receive time
	Fields map[string]any `json:"fields,omitempty"`
}

type routedError struct {
	Reason  Reason `json:"reason"`
	Field   string `json:"field,omitempty"`
	Unknown string `json:"unknown,omitempty"`
}

// TestRegistryRoutesEveryFixture routes every line of every format's
// fixtures through one registry, discovery first as the gateway does, and
// compares what comes out with testdata/registry/routed.golden (refresh
// with -update-routes after checking the difference).
func TestRegistryRoutesEveryFixture(t *testing.T) {
	fixtures := loadRouteFixtures(t)
	r := fixtureRegistry(t, fixtures)
	received := map[string]time.Time{}
	for _, f := range routeFiles {
		received[f.name] = f.received
	}
	var got []routedCase
	for _, fx := range fixtures {
		topic := fx.Topic
		if strings.HasPrefix(topic, "(any") {
			topic = "carebed/senml-any/senml"
		}
		at := received[fx.file]
		m := Message{Topic: topic, Payload: []byte(fx.Payload), Received: at}
		c := routedCase{File: fx.file, Name: fx.Name, Topic: topic}
		if a, ok, err := r.Announced(m); ok {
			c.Error = routedErr(err)
			for _, d := range a.Devices {
				c.Announced = append(c.Announced, d.ID+" "+string(d.Kind)+" "+string(d.Format))
			}
			if a.Deleted {
				c.Announced = append(c.Announced, "deleted")
			}
			got = append(got, c)
			continue
		}
		obs, err := r.Decode(m, nil)
		c.Error = routedErr(err)
		for _, o := range obs {
			ro := routedObs{Device: o.DeviceID, Kind: o.Kind, Via: o.Via, Stream: o.Stream}
			if !o.Time.Equal(at) {
				ro.Time = o.Time.Format(time.RFC3339Nano)
			}
			for _, f := range o.Fields {
				if ro.Fields == nil {
					ro.Fields = map[string]any{}
				}
				switch f.Type {
				case Bool:
					ro.Fields[f.Name] = f.B
				case String:
					ro.Fields[f.Name] = f.S
				default:
					ro.Fields[f.Name] = f.F
				}
			}
			c.Observations = append(c.Observations, ro)
		}
		c.Nothing = err == nil && len(obs) == 0
		got = append(got, c)
	}
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	golden := filepath.Join("testdata", "registry", "routed.golden")
	if *updateRoutes {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-routes to create it)", err)
	}
	if !bytes.Equal(out, want) {
		var w []routedCase
		if err := json.Unmarshal(want, &w); err != nil || len(w) != len(got) {
			t.Fatalf("routed fixtures differ from %s (run with -update-routes after checking)", golden)
		}
		for i := range got {
			g, _ := json.Marshal(got[i])
			x, _ := json.Marshal(w[i])
			if !bytes.Equal(g, x) {
				t.Errorf("fixture %s %q:\n got %s\nwant %s", got[i].File, got[i].Topic, g, x)
			}
		}
	}
}

func routedErr(err error) *routedError {
	if err == nil {
		return nil
	}
	var re *RejectError
	if !errors.As(err, &re) {
		return &routedError{Reason: "not a rejection: " + Reason(err.Error())}
	}
	key, _ := UnknownKey(err)
	return &routedError{Reason: re.Reason, Field: re.Field, Unknown: key}
}
