package devices

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultSenMLNamesAreFields(t *testing.T) {
	for name, field := range DefaultSenMLNames() {
		if !ValidField(field) {
			t.Errorf("DefaultSenMLNames()[%q] = %q, not one of our fields", name, field)
		}
	}
	for _, f := range Fields() {
		if !ValidField(f) {
			t.Errorf("Fields() lists %q, which ValidField refuses", f)
		}
	}
	if ValidField("pulse") || ValidField("vitals.smoke") {
		t.Errorf("ValidField accepts a name that is not ours")
	}
}

// FuzzRegistryDecode: no message, whatever its topic, panics, blocks or
// breaks Decode's contract.
func FuzzRegistryDecode(f *testing.F) {
	f.Add("z2m/home-1/Bedroom/SOS button", []byte(`{"sos":true,"battery":95}`))
	f.Add("z2m/home-1/Bedroom/SOS button/action", []byte("emergency"))
	f.Add("z2m/home-1/bridge/state", []byte(`{"state":"offline"}`))
	f.Add("z2m/home-1/bridge/devices", []byte(`[{"ieee_address":"0x1","friendly_name":"a/b"}]`))
	f.Add("carebed/dev-1/vitals", []byte(`{"heart_rate":72}`))
	f.Add("carebed/dev-1/senml", []byte(`[{"n":"hr","v":72}]`))
	f.Add("bedroom-radar/sensor/heart_rate/state", []byte("72.00"))
	f.Add("tele/tasmota/SENSOR", []byte(`{"Time":"2026-05-01T07:30:00","DS18B20":{"Temperature":20.6}}`))
	f.Add("homeassistant/binary_sensor/x/sos/config", []byte(`{}`))
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	r := z2mRegistry(f, at)
	foreignRoutes(r)
	r.PutDevice(Device{ID: "dev-1", BedID: "bed-1", Kind: KindVitalsMonitor})
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		prev := []Observation{{DeviceID: "earlier"}}
		m := Message{Topic: topic, Payload: payload, Received: at}
		_, _, _ = r.Announced(m)
		got, err := r.Decode(m, prev)
		if len(got) == 0 || got[0].DeviceID != "earlier" {
			t.Fatalf("Decode(%q) lost the observations it was given", topic)
		}
		if err != nil {
			var re *RejectError
			if ReasonOf(err) == "" || len(got) != 1 {
				t.Fatalf("Decode(%q) = %d observations, %T %v; want a rejection and only the one given", topic, len(got), err, re)
			}
			if key, ok := UnknownKey(err); ok && key == "" {
				t.Fatalf("Decode(%q) = unknown device with no key", topic)
			}
			return
		}
		for _, o := range got[1:] {
			if o.DeviceID == "" || o.BedID == "" || o.Kind == "" || o.Received != at || o.Time.IsZero() {
				t.Fatalf("Decode(%q) = %+v, want identity and times set", topic, o)
			}
		}
	})
}

// Routing benchmarks: the native path must stay a single map lookup; a
// Zigbee2MQTT state message adds a prefix lookup, the friendly-name
// resolution and the JSON state decoder. Each runs with 10,000 registered
// devices, as a large gateway has.
func benchRegistry(b *testing.B) *Registry {
	b.Helper()
	r := z2mRegistry(b, time.Now())
	for i := range 10000 {
		id := "dev-" + strings.Repeat("0", 5-len(itoa(i))) + itoa(i)
		r.PutDevice(Device{ID: id, BedID: "bed-1", Kind: KindVitalsMonitor})
	}
	return r
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func benchDecode(b *testing.B, r *Registry, topic, payload string, want int) {
	m := Message{Topic: topic, Payload: []byte(payload), Received: time.Now()}
	buf := make([]Observation, 0, 8)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err := r.Decode(m, buf[:0])
		if err != nil || len(out) != want {
			b.Fatalf("Decode(%q) = %d observations, %v", topic, len(out), err)
		}
	}
}

func BenchmarkRegistryDecodeNative(b *testing.B) {
	benchDecode(b, benchRegistry(b), "carebed/dev-04711/vitals", `{"heart_rate":72,"resp_rate":16,"ts":1780000000000}`, 1)
}

func BenchmarkRegistryDecodeZigbee2MQTT(b *testing.B) {
	b.Run("state by friendly name", func(b *testing.B) {
		benchDecode(b, benchRegistry(b), "z2m/home-1/Bedroom/SOS button",
			`{"battery":95,"battery_low":false,"linkquality":99,"sos":true,"tamper":false}`, 1)
	})
	b.Run("action", func(b *testing.B) {
		benchDecode(b, benchRegistry(b), "z2m/home-1/Bedroom/SOS button/action", `emergency`, 1)
	})
	b.Run("bridge state", func(b *testing.B) {
		benchDecode(b, benchRegistry(b), "z2m/home-1/bridge/state", `{"state":"online"}`, 1)
	})
}

// BenchmarkRegistryRouteZigbee2MQTT is mostly routing: the base, the
// friendly name with a '/' in it, the name list and the device, then a
// plain-text availability that costs next to nothing to read.
func BenchmarkRegistryRouteZigbee2MQTT(b *testing.B) {
	benchDecode(b, benchRegistry(b), "z2m/home-1/Bedroom/SOS button/availability", `online`, 1)
}
