package simulate

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"carebed/devices"
)

func TestPayloads(t *testing.T) {
	tests := []struct {
		name    string
		stream  devices.Stream
		payload []byte
		want    map[string]any
	}{
		{"vitals in bed", devices.StreamVitals,
			closePayload(appendVitals(nil, vitalsReading{HeartRate: 68, RespRate: 15, SpO2: 97, TempC: 36.6, InBed: true, Movement: 8}), 1767225600123, 0),
			map[string]any{"heart_rate": 68.0, "resp_rate": 15.0, "spo2": 97.0, "temp_c": 36.6, "in_bed": true, "movement": 8.0, "ts": 1767225600123.0}},
		{"vitals empty bed", devices.StreamVitals,
			closePayload(appendVitals(nil, vitalsReading{}), 1767225600123, 42),
			map[string]any{"heart_rate": 0.0, "resp_rate": 0.0, "in_bed": false, "movement": 0.0, "ts": 1767225600123.0, "seq": 42.0}},
		{"vitals radar glitch", devices.StreamVitals,
			closePayload(appendVitals(nil, vitalsReading{HeartRate: 255, RespRate: 14, SpO2: 96, TempC: 37, InBed: true, Movement: 100}), 0, 0),
			map[string]any{"heart_rate": 255.0, "resp_rate": 14.0, "spo2": 96.0, "temp_c": 37.0, "in_bed": true, "movement": 100.0}},
		{"climate", devices.StreamEnv, closePayload(appendClimate(nil, 23.4, 55), 0, 0),
			map[string]any{"temp_c": 23.4, "humidity": 55.0}},
		{"door", devices.StreamEnv, closePayload(appendBool(nil, "door_open", true), 0, 0), map[string]any{"door_open": true}},
		{"water", devices.StreamEnv, closePayload(appendBool(nil, "water_leak", false), 0, 0), map[string]any{"water_leak": false}},
		{"status battery", devices.StreamStatus, closePayload(appendStatus(nil, 87, -61), 0, 0),
			map[string]any{"battery": 87.0, "rssi": -61.0, "tamper": false}},
		{"status mains", devices.StreamStatus, closePayload(appendStatus(nil, -1, -50), 0, 0), map[string]any{"rssi": -50.0}},
		{"sos", devices.StreamSOS, closePayload(appendString(nil, "action", "press"), 0, 0), map[string]any{"action": "press"}},
		{"fall", devices.StreamFall, closePayload(appendString(nil, "state", "fall"), 0, 0), map[string]any{"state": "fall"}},
		{"visit", devices.StreamVisit, closePayload(appendVisit(nil, "check_in"), 1767225600000, 0),
			map[string]any{"caregiver": "cg-001", "action": "check_in", "method": "nfc", "services": []any{"0101", "0103", "0201"}, "ts": 1767225600000.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]any
			if err := json.Unmarshal(tt.payload, &got); err != nil {
				t.Fatalf("json.Unmarshal(%s) = %v", tt.payload, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("payload %s = %v, want %v", tt.payload, got, tt.want)
			}
			received := time.UnixMilli(1767225600500)
			if _, err := devices.DecodeNative(tt.stream, tt.payload, received); err != nil {
				t.Errorf("DecodeNative(%s, %s) = %v, want no error", tt.stream, tt.payload, err)
			}
		})
	}
}

func TestTimestampsStrictlyIncreasing(t *testing.T) {
	start := time.UnixMilli(1767225600000)
	opts, _ := Options{Beds: 1, Fast: true, Broker: "tcp://x:1"}.withDefaults()
	g := newGenerator(newBeds(opts, start, 0, 1), opts, start)
	var last int64
	for i := range 5000 {
		// Far more than one message a millisecond from one device.
		m, ok := g.next(start, nil)
		if !ok {
			t.Fatalf("next %d: no message", i)
		}
		var p struct{ TS, Seq int64 }
		if err := json.Unmarshal(m.payload, &p); err != nil {
			t.Fatalf("json.Unmarshal(%s) = %v", m.payload, err)
		}
		if p.TS <= last || p.Seq != int64(i+1) {
			t.Fatalf("message %d: ts %d seq %d after ts %d, want ts increasing and seq %d", i, p.TS, p.Seq, last, i+1)
		}
		last = p.TS
	}
}

func BenchmarkPayloadVitals(b *testing.B) {
	start := time.Now()
	opts, _ := Options{Beds: 100, Fast: true, Broker: "tcp://x:1"}.withDefaults()
	g := newGenerator(newBeds(opts, start, 0, 100), opts, start)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		m, ok := g.next(start, buf[:0])
		if !ok {
			b.Fatal("no message")
		}
		buf = m.payload
	}
}
