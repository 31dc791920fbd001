package devices

import (
	"errors"
	"testing"
)

// z2mKinds are the kinds DecodeZigbee2MQTT reads, for the fuzzer to pick
// from.
var z2mKinds = []Kind{KindSOSButton, KindFallSensor, KindVitalsMonitor, KindDoorSensor, KindMotionSensor,
	KindSmokeAlarm, KindGasAlarm, KindWaterLeak, KindClimate}

func FuzzDecodeZigbee2MQTT(f *testing.F) {
	for _, fx := range readZ2MFixtures(f) {
		if k, ok := z2mFixtureKinds[fx.DeviceKind]; ok {
			for i, z := range z2mKinds {
				if z == k {
					f.Add(uint8(i), []byte(fx.Payload))
				}
			}
		}
	}
	f.Add(uint8(0), []byte(`{"action":null,"sos":null,"last_seen":1e308}`))
	f.Fuzz(func(t *testing.T, k uint8, payload []byte) {
		kind := z2mKinds[int(k)%len(z2mKinds)]
		r, err := DecodeZigbee2MQTT(kind, payload, z2mReceived)
		if err != nil {
			var re *RejectError
			if !errors.As(err, &re) {
				t.Fatalf("DecodeZigbee2MQTT(%s, %q) = %v, want a *RejectError", kind, payload, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, f := range r.Fields {
			if seen[f.Name] {
				t.Fatalf("DecodeZigbee2MQTT(%s, %q) repeats field %s", kind, payload, f.Name)
			}
			seen[f.Name] = true
			if f.Name == "action" && f.S != "press" {
				t.Fatalf("DecodeZigbee2MQTT(%s, %q) = action %q, want only press", kind, payload, f.S)
			}
		}
		if r.Time.After(z2mReceived.Add(MaxFutureSkew)) {
			t.Fatalf("DecodeZigbee2MQTT(%s, %q) time %v is in the future", kind, payload, r.Time)
		}
		NewEdges().Step("d", r, z2mReceived)
	})
}

func FuzzDecodeAvailability(f *testing.F) {
	for _, fx := range readZ2MFixtures(f) {
		if fx.DeviceKind == "availability" {
			f.Add([]byte(fx.Payload))
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		online, deleted, err := DecodeAvailability(payload)
		if err != nil {
			var re *RejectError
			if !errors.As(err, &re) {
				t.Fatalf("DecodeAvailability(%q) = %v, want a *RejectError", payload, err)
			}
			return
		}
		if deleted != (len(payload) == 0) || deleted && online {
			t.Fatalf("DecodeAvailability(%q) = %v, %v", payload, online, deleted)
		}
	})
}

// BenchmarkDecodeZigbee2MQTT decodes typical messages: an SOS press and a
// door contact report.
func BenchmarkDecodeZigbee2MQTT(b *testing.B) {
	cases := []struct {
		name    string
		kind    Kind
		payload string
	}{
		{"sos", KindSOSButton, `{"action":"emergency","battery":100,"last_seen":"2026-04-17T23:33:22+08:00","linkquality":18}`},
		{"contact", KindDoorSensor, `{"battery":100,"battery_low":false,"contact":false,"linkquality":144,"tamper":false,"voltage":3000}`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			p := []byte(c.payload)
			b.ReportAllocs()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if _, err := DecodeZigbee2MQTT(c.kind, p, z2mReceived); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
