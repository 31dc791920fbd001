package devices

import (
	"testing"
)

func TestParseESPHomeTopic(t *testing.T) {
	tests := []struct {
		name, prefix, topic string
		component, id       string
		ok                  bool
	}{
		{"status", "bedroom-radar", "bedroom-radar/status", "status", "", true},
		{"sensor state", "bedroom-radar", "bedroom-radar/sensor/heart_rate/state", "sensor", "heart_rate", true},
		{"binary sensor state", "bedroom-radar", "bedroom-radar/binary_sensor/fall_detected/state", "binary_sensor", "fall_detected", true},
		{"nested prefix", "care/home-17/radar", "care/home-17/radar/sensor/x/state", "sensor", "x", true},
		{"command topic", "bedroom-radar", "bedroom-radar/switch/relay/command", "", "", false},
		{"debug topic", "bedroom-radar", "bedroom-radar/debug", "", "", false},
		{"other prefix", "bedroom-radar", "kitchen-radar/status", "", "", false},
		{"prefix without slash", "bedroom-radar", "bedroom-radarx/status", "", "", false},
		{"empty object id", "bedroom-radar", "bedroom-radar/sensor//state", "", "", false},
		{"extra level", "bedroom-radar", "bedroom-radar/sensor/a/b/state", "", "", false},
		{"wildcard", "bedroom-radar", "bedroom-radar/sensor/+/state", "", "", false},
		{"empty prefix", "", "/status", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, id, ok := ParseESPHomeTopic(tt.prefix, tt.topic)
			if c != tt.component || id != tt.id || ok != tt.ok {
				t.Fatalf("ParseESPHomeTopic(%q, %q) = %q, %q, %v, want %q, %q, %v", tt.prefix, tt.topic, c, id, ok, tt.component, tt.id, tt.ok)
			}
		})
	}
}

func TestDecodeESPHome(t *testing.T) {
	const p = "bedroom-radar"
	noReading := []Field{BoolField("no_reading", true)}
	tests := []struct {
		name, topic, payload string
		want                 Reading
	}{
		{"two decimals", p + "/sensor/heart_rate/state", "72.00", Reading{Stream: StreamVitals, Fields: []Field{FloatField("heart_rate", 72)}}},
		{"nan", p + "/sensor/heart_rate/state", "nan", Reading{Stream: StreamVitals, Fields: noReading}},
		{"None (publish_nan_as_none)", p + "/sensor/breath_rate/state", "None", Reading{Stream: StreamVitals, Fields: noReading}},
		{"0.00 from a radar", p + "/sensor/respiratory_rate/state", "0.00", Reading{Stream: StreamVitals, Fields: noReading}},
		{"ambient temperature", p + "/sensor/temperature/state", " 21.50\n", Reading{Stream: StreamEnv, Fields: []Field{FloatField("temp_c", 21.5)}}},
		{"nan temperature leaves no field", p + "/sensor/temperature/state", "nan", Reading{Stream: StreamEnv}},
		{"negative ambient temperature", p + "/sensor/temperature/state", "-0.85", Reading{Stream: StreamEnv, Fields: []Field{FloatField("temp_c", -0.85)}}},
		{"fall OFF is normal", p + "/binary_sensor/fall_detected/state", "OFF", Reading{Stream: StreamFall, Fields: []Field{StringField("state", "normal")}}},
		{"presence is in bed", p + "/binary_sensor/presence/state", "ON", Reading{Stream: StreamVitals, Fields: []Field{BoolField("in_bed", true)}}},
		{"occupancy is motion", p + "/binary_sensor/occupancy/state", "off", Reading{Stream: StreamEnv, Fields: []Field{BoolField("motion", false)}}},
		{"status any case", p + "/status", "Online", Reading{Stream: StreamAvailability, Fields: []Field{BoolField("online", true)}}},
		{"status retained deletion", p + "/status", "", Reading{Stream: StreamAvailability}},
		{"state retained deletion", p + "/sensor/heart_rate/state", "", Reading{Stream: StreamVitals}},
		{"unmapped object ignored", p + "/sensor/uptime/state", "1234", Reading{}},
		{"other component ignored", p + "/light/lamp/state", `{"state":"ON"}`, Reading{}},
		{"text sensor fall state", p + "/text_sensor/fall/state", "suspected", Reading{Stream: StreamFall, Fields: []Field{StringField("state", "suspected")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeESPHome(tt.topic, p, []byte(tt.payload), formatsReceived)
			if err != nil || !readingEqual(got, tt.want) {
				t.Fatalf("DecodeESPHome(%q, %q) = %s, %v, want %s", tt.topic, tt.payload, fmtReading(got), err, fmtReading(tt.want))
			}
		})
	}
}

func TestDecodeESPHomeWithMap(t *testing.T) {
	objects := map[string]string{"mr60_hr": "heart_rate", "pillow": "vitals.temp_c", "broken": "pulse"}
	tests := []struct {
		name, topic, payload string
		want                 Reading
		reason               Reason
		field                string
	}{
		{name: "own object id", topic: "r/sensor/mr60_hr/state", payload: "64.00", want: Reading{Stream: StreamVitals, Fields: []Field{FloatField("heart_rate", 64)}}},
		{name: "default table not consulted", topic: "r/sensor/heart_rate/state", payload: "64.00"},
		{name: "body temperature range", topic: "r/sensor/pillow/state", payload: "21.0", reason: ReasonOutOfRange, field: "temp_c"},
		{name: "mapped to no field of ours", topic: "r/sensor/broken/state", payload: "1", reason: ReasonInvalidValue, field: "broken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeESPHomeWith(tt.topic, "r", objects, []byte(tt.payload), formatsReceived)
			if tt.reason != "" {
				if re := asReject(err); re == nil || re.Reason != tt.reason || re.Field != tt.field {
					t.Fatalf("DecodeESPHomeWith(%q, %q) = %v, want %s field %q", tt.topic, tt.payload, err, tt.reason, tt.field)
				}
				return
			}
			if err != nil || !readingEqual(got, tt.want) {
				t.Fatalf("DecodeESPHomeWith(%q, %q) = %s, %v, want %s", tt.topic, tt.payload, fmtReading(got), err, fmtReading(tt.want))
			}
		})
	}
}

func TestDecodeESPHomeRejects(t *testing.T) {
	const p = "bedroom-radar"
	tests := []struct {
		name, topic, payload string
		reason               Reason
		field                string
	}{
		{"text for a number", p + "/sensor/heart_rate/state", "seventy", ReasonWrongType, "heart_rate"},
		{"number with unit", p + "/sensor/heart_rate/state", "72 bpm", ReasonWrongType, "heart_rate"},
		{"inf is not a number here", p + "/sensor/heart_rate/state", "inf", ReasonWrongType, "heart_rate"},
		{"heart rate out of range", p + "/sensor/heart_rate/state", "301.00", ReasonOutOfRange, "heart_rate"},
		{"humidity out of range", p + "/sensor/humidity/state", "100.5", ReasonOutOfRange, "humidity"},
		{"ON for a heart rate", p + "/binary_sensor/heart_rate/state", "ON", ReasonWrongType, "heart_rate"},
		{"binary not ON or OFF", p + "/binary_sensor/fall_detected/state", "maybe", ReasonInvalidValue, "fall_detected"},
		{"presence 0.5", p + "/sensor/presence/state", "0.5", ReasonInvalidValue, "presence"},
		{"blank state", p + "/sensor/heart_rate/state", "  ", ReasonEmpty, "heart_rate"},
		{"status word", p + "/status", "sleeping", ReasonInvalidValue, ""},
		{"foreign topic", "other/sensor/heart_rate/state", "72", ReasonUnknownTopic, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeESPHome(tt.topic, p, []byte(tt.payload), formatsReceived)
			if re := asReject(err); re == nil || re.Reason != tt.reason || re.Field != tt.field {
				t.Fatalf("DecodeESPHome(%q, %q) = %s, %v, want %s field %q", tt.topic, tt.payload, fmtReading(got), err, tt.reason, tt.field)
			}
		})
	}
}

func TestDecodePlainNumber(t *testing.T) {
	tests := []struct {
		name, field, payload string
		want                 Reading
		reason               Reason
	}{
		{name: "heartbeat", field: "heart_rate", payload: "72", want: Reading{Stream: StreamVitals, Fields: []Field{FloatField("heart_rate", 72)}}},
		{name: "255 is no reading", field: "heart_rate", payload: "255", want: Reading{Stream: StreamVitals, Fields: []Field{BoolField("no_reading", true)}}},
		{name: "bed status 1", field: "in_bed", payload: "1\r\n", want: Reading{Stream: StreamVitals, Fields: []Field{BoolField("in_bed", true)}}},
		{name: "movement 0 is real", field: "movement", payload: "0", want: Reading{Stream: StreamVitals, Fields: []Field{FloatField("movement", 0)}}},
		{name: "body temperature", field: "vitals.temp_c", payload: "36.6", want: Reading{Stream: StreamVitals, Fields: []Field{FloatField("temp_c", 36.6)}}},
		{name: "bed status 2", field: "in_bed", payload: "2", reason: ReasonInvalidValue},
		{name: "leading plus", field: "heart_rate", payload: "+72", reason: ReasonWrongType},
		{name: "hex", field: "heart_rate", payload: "0x48", reason: ReasonWrongType},
		{name: "empty", field: "heart_rate", payload: "", reason: ReasonEmpty},
		{name: "unknown field", field: "pulse", payload: "72", reason: ReasonInvalidValue},
		{name: "unknown stream", field: "visit.caregiver", payload: "72", reason: ReasonInvalidValue},
		{name: "number for the fall state", field: "fall.state", payload: "1", reason: ReasonWrongType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodePlainNumber(tt.field, []byte(tt.payload), formatsReceived)
			if tt.reason != "" {
				if ReasonOf(err) != tt.reason {
					t.Fatalf("DecodePlainNumber(%q, %q) = %v, want %s", tt.field, tt.payload, err, tt.reason)
				}
				return
			}
			if err != nil || !readingEqual(got, tt.want) {
				t.Fatalf("DecodePlainNumber(%q, %q) = %s, %v, want %s", tt.field, tt.payload, fmtReading(got), err, fmtReading(tt.want))
			}
		})
	}
}

func FuzzDecodeESPHome(f *testing.F) {
	for _, fx := range loadFormatFixtures(f, "esphome/fixtures.jsonl") {
		f.Add(fx.Topic, []byte(fx.Payload))
	}
	f.Add("bedroom-radar/sensor/temperature/state", []byte("-1e400"))
	f.Add("bedroom-radar/binary_sensor/presence/state", []byte("on"))
	f.Fuzz(func(t *testing.T, topic string, in []byte) {
		got, err := DecodeESPHome(topic, "bedroom-radar", in, formatsReceived)
		if err != nil {
			checkFormatRejection(t, "DecodeESPHome", in, err)
			return
		}
		checkFormatReading(t, "DecodeESPHome", in, got)
		if r, err := DecodePlainNumber("heart_rate", in, formatsReceived); err == nil {
			checkFormatReading(t, "DecodePlainNumber", in, r)
		} else {
			checkFormatRejection(t, "DecodePlainNumber", in, err)
		}
	})
}

func BenchmarkDecodeESPHome(b *testing.B) {
	cases := []struct{ name, topic, payload string }{
		{"sensor", "bedroom-radar/sensor/heart_rate/state", "72.00"},
		{"binary_sensor", "bedroom-radar/binary_sensor/fall_detected/state", "ON"},
		{"status", "bedroom-radar/status", "online"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			in := []byte(c.payload)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeESPHome(c.topic, "bedroom-radar", in, formatsReceived); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
