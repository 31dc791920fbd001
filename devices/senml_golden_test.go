package devices

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// updateFormats rewrites the golden files of the SenML, ESPHome, Tasmota
// and plain-number decoders: go test ./devices -run Golden -update-formats
var updateFormats = flag.Bool("update-formats", false, "rewrite the golden files under testdata/{senml,esphome,tasmota}")

// formatsReceived is the receive time of every golden case: after the
// SenML fixture's bt (2026-04-19), so that it is not in the future.
var formatsReceived = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

// formatFixture is one line of testdata/<format>/*fixtures.jsonl: a line of
// the field-payloads catalogue, verbatim, plus what the decoder needs to
// read it (see testdata/esphome/README.md).
type formatFixture struct {
	Source     string `json:"source"`
	DeviceKind string `json:"device_kind"`
	Topic      string `json:"topic"`
	Payload    string `json:"payload"`
	Meaning    string `json:"meaning"`
	Decode     struct {
		Names  map[string]string `json:"names"`
		Prefix string            `json:"prefix"`
		Zone   string            `json:"zone"`
		Field  string            `json:"field"`
	} `json:"decode"`
}

// formatGoldenCase is what a golden file holds for one fixture.
type formatGoldenCase struct {
	Topic    string                `json:"topic"`
	Payload  string                `json:"payload"`
	Meaning  string                `json:"meaning"`
	Readings []formatGoldenReading `json:"readings"`
	Error    *formatGoldenError    `json:"error,omitempty"`
}

type formatGoldenReading struct {
	Device string              `json:"device,omitempty"`
	Name   string              `json:"name,omitempty"`
	Sensor string              `json:"sensor,omitempty"`
	Stream Stream              `json:"stream"`
	Time   string              `json:"time,omitempty"`
	Fields []formatGoldenField `json:"fields"`
}

type formatGoldenField struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

type formatGoldenError struct {
	Reason Reason `json:"reason"`
	Field  string `json:"field"`
}

func toFormatGolden(id TasmotaReading) formatGoldenReading {
	g := formatGoldenReading{Device: id.Device, Name: id.Name, Sensor: id.Sensor, Stream: id.Stream, Fields: []formatGoldenField{}}
	if !id.Time.IsZero() {
		g.Time = id.Time.Format(time.RFC3339Nano)
	}
	for _, f := range id.Fields {
		var v any = f.F
		switch f.Type {
		case Bool:
			v = f.B
		case String:
			v = f.S
		}
		g.Fields = append(g.Fields, formatGoldenField{f.Name, v})
	}
	return g
}

// formatDecoders decode a fixture of each format into golden readings.
var formatDecoders = map[string]func(t *testing.T, fx formatFixture) ([]TasmotaReading, error){
	"senml/fixtures": func(t *testing.T, fx formatFixture) ([]TasmotaReading, error) {
		rs, err := DecodeSenML([]byte(fx.Payload), fx.Decode.Names, formatsReceived)
		return formatWrap(rs...), err
	},
	"esphome/fixtures": func(t *testing.T, fx formatFixture) ([]TasmotaReading, error) {
		r, err := DecodeESPHome(fx.Topic, fx.Decode.Prefix, []byte(fx.Payload), formatsReceived)
		return formatWrap(r), err
	},
	"esphome/plain-fixtures": func(t *testing.T, fx formatFixture) ([]TasmotaReading, error) {
		r, err := DecodePlainNumber(fx.Decode.Field, []byte(fx.Payload), formatsReceived)
		return formatWrap(r), err
	},
	"tasmota/fixtures": func(t *testing.T, fx formatFixture) ([]TasmotaReading, error) {
		zone, err := time.LoadLocation(fx.Decode.Zone)
		if err != nil {
			t.Fatal(err)
		}
		return DecodeTasmota(fx.Topic, []byte(fx.Payload), zone, formatsReceived)
	},
}

func formatWrap(rs ...Reading) []TasmotaReading {
	out := make([]TasmotaReading, len(rs))
	for i, r := range rs {
		out[i].Reading = r
	}
	return out
}

func TestFormatsGolden(t *testing.T) {
	for name, decode := range formatDecoders {
		t.Run(name, func(t *testing.T) {
			var got []formatGoldenCase
			for _, fx := range loadFormatFixtures(t, name+".jsonl") {
				c := formatGoldenCase{Topic: fx.Topic, Payload: fx.Payload, Meaning: fx.Meaning, Readings: []formatGoldenReading{}}
				rs, err := decode(t, fx)
				if err != nil {
					re := asReject(err)
					if re == nil {
						t.Fatalf("decode(%q) = %T %v, want a *RejectError", fx.Payload, err, err)
					}
					c.Error = &formatGoldenError{re.Reason, re.Field}
				}
				for _, r := range rs {
					c.Readings = append(c.Readings, toFormatGolden(r))
				}
				got = append(got, c)
			}
			out, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, '\n')
			path := filepath.Join("testdata", name+".golden")
			if *updateFormats {
				if err := os.WriteFile(path, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run Golden -update-formats to create it)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("decoding %s.jsonl = \n%s\nwant (%s)\n%s", name, out, path, want)
			}
		})
	}
}

// formatsOutOfScope says, for each fixture of the shared catalogue that no
// decoder of this file set reads, why not.
var formatsOutOfScope = []struct{ topicPrefix, why string }{
	{"zigbee2mqtt/", "Zigbee2MQTT state and availability: the zigbee2mqtt decoder's fixtures"},
	{"homeassistant/", "Home Assistant discovery: the discovery decoder's fixtures"},
	{"(Tuya message queue", "Tuya cloud messages arrive over Pulsar/MQ, not MQTT topics: no MQTT decoder reads them"},
}

// TestFormatsFixturesCoverCatalogue checks that every line of the shared
// field-payloads catalogue is either decoded by a golden test here or out
// of scope for a stated reason.
func TestFormatsFixturesCoverCatalogue(t *testing.T) {
	const catalogue = "../../shared/fixtures/field-payloads.jsonl"
	f, err := os.Open(catalogue)
	if err != nil {
		t.Fatalf("the shared catalogue must sit beside the checkout (../shared): %v", err)
	}
	defer f.Close()
	ours := map[string]bool{}
	for name := range formatDecoders {
		for _, fx := range loadFormatFixtures(t, name+".jsonl") {
			ours[fx.Source+"\x00"+fx.Topic+"\x00"+fx.Payload] = true
		}
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var fx formatFixture
		if err := json.Unmarshal(sc.Bytes(), &fx); err != nil {
			t.Fatalf("%s:%d: %v", catalogue, n, err)
		}
		if ours[fx.Source+"\x00"+fx.Topic+"\x00"+fx.Payload] {
			continue
		}
		scoped := false
		for _, o := range formatsOutOfScope {
			scoped = scoped || strings.HasPrefix(fx.Topic, o.topicPrefix)
		}
		if !scoped {
			t.Errorf("%s:%d (%s %q) is neither in testdata/{senml,esphome,tasmota} nor out of scope", catalogue, n, fx.DeviceKind, fx.Topic)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func loadFormatFixtures(tb testing.TB, name string) []formatFixture {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	var out []formatFixture
	for n, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var fx formatFixture
		if err := json.Unmarshal(line, &fx); err != nil {
			tb.Fatalf("%s:%d: %v", name, n+1, err)
		}
		out = append(out, fx)
	}
	return out
}
