package devices

import (
	"slices"
	"testing"
	"time"
)

func TestParseTasmotaTopic(t *testing.T) {
	tests := []struct {
		name, topic  string
		device, kind string
		ok           bool
	}{
		{"LWT", "tele/tasmota_3D5E26/LWT", "tasmota_3D5E26", "LWT", true},
		{"SENSOR", "tele/E8DB849DBFAE/SENSOR", "E8DB849DBFAE", "SENSOR", true},
		{"STATE", "tele/tasmota/STATE", "tasmota", "STATE", true},
		{"stat prefix", "stat/tasmota/RESULT", "", "", false},
		{"other tele kind", "tele/tasmota/INFO1", "", "", false},
		{"lower case kind", "tele/tasmota/sensor", "", "", false},
		{"custom full topic", "tele/home/tasmota/SENSOR", "", "", false},
		{"empty topic level", "tele//SENSOR", "", "", false},
		{"wildcard", "tele/+/SENSOR", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, k, ok := ParseTasmotaTopic(tt.topic)
			if d != tt.device || k != tt.kind || ok != tt.ok {
				t.Fatalf("ParseTasmotaTopic(%q) = %q, %q, %v, want %q, %q, %v", tt.topic, d, k, ok, tt.device, tt.kind, tt.ok)
			}
		})
	}
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("time.LoadLocation(%q) = %v (is tzdata installed?)", name, err)
	}
	return z
}

func TestDecodeTasmota(t *testing.T) {
	shanghai, berlin := mustZone(t, "Asia/Shanghai"), mustZone(t, "Europe/Berlin")
	utc := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339, s); return tm }
	env := func(fs ...Field) Reading { return Reading{Stream: StreamEnv, Fields: fs} }
	tests := []struct {
		name, topic, payload string
		zone                 *time.Location
		want                 []TasmotaReading
	}{
		{
			name: "local time in Asia/Shanghai", topic: "tele/t/SENSOR", zone: shanghai,
			payload: `{"Time":"2026-04-19T20:00:00","AM2301":{"Temperature":22.5,"Humidity":41.0,"DewPoint":8.6},"TempUnit":"C"}`,
			want:    []TasmotaReading{{Sensor: "AM2301", Reading: Reading{Stream: StreamEnv, Time: utc("2026-04-19T12:00:00Z"), Fields: []Field{FloatField("temp_c", 22.5), FloatField("humidity", 41)}}}},
		},
		{
			name: "Berlin summer time is UTC+2", topic: "tele/t/SENSOR", zone: berlin,
			payload: `{"Time":"2025-07-01T12:00:00","DS18B20":{"Temperature":20.6}}`,
			want:    []TasmotaReading{{Sensor: "DS18B20", Reading: Reading{Stream: StreamEnv, Time: utc("2025-07-01T10:00:00Z"), Fields: []Field{FloatField("temp_c", 20.6)}}}},
		},
		{
			name: "Berlin winter time is UTC+1", topic: "tele/t/SENSOR", zone: berlin,
			payload: `{"Time":"2025-01-15T12:00:00","DS18B20":{"Temperature":20.6}}`,
			want:    []TasmotaReading{{Sensor: "DS18B20", Reading: Reading{Stream: StreamEnv, Time: utc("2025-01-15T11:00:00Z"), Fields: []Field{FloatField("temp_c", 20.6)}}}},
		},
		{
			name: "SetOption52 offset wins over the zone", topic: "tele/t/SENSOR", zone: berlin,
			payload: `{"Time":"2026-04-19T20:00:00+08:00","DS18B20":{"Temperature":20.6}}`,
			want:    []TasmotaReading{{Sensor: "DS18B20", Reading: Reading{Stream: StreamEnv, Time: utc("2026-04-19T12:00:00Z"), Fields: []Field{FloatField("temp_c", 20.6)}}}},
		},
		{
			name: "nil zone leaves local time unread; F converted", topic: "tele/t/SENSOR",
			payload: `{"Time":"2026-04-19T20:00:00","DS18B20":{"Temperature":68.0},"TempUnit":"F"}`,
			want:    []TasmotaReading{{Sensor: "DS18B20", Reading: env(FloatField("temp_c", 20))}},
		},
		{
			name: "clock not set yet", topic: "tele/t/SENSOR", zone: shanghai,
			payload: `{"Time":"1970-01-01T00:00:12","DS18B20":{"Temperature":20.6}}`,
			want:    []TasmotaReading{{Sensor: "DS18B20", Reading: env(FloatField("temp_c", 20.6))}},
		},
		{
			name: "Contact 1 is open; chip temperature skipped; null is unknown", topic: "tele/b/SENSOR", zone: shanghai,
			payload: `{"ESP32":{"Temperature":48.3},"ZbReceived":{"0x6841":{"Device":"0x6841","Name":"Front door","Contact":1,"Temperature":null,"BatteryPercentage":87,"Endpoint":1,"LinkQuality":105}}}`,
			want: []TasmotaReading{
				{Device: "0x6841", Name: "Front door", Reading: env(BoolField("door_open", true))},
				{Device: "0x6841", Name: "Front door", Reading: Reading{Stream: StreamStatus, Fields: []Field{FloatField("battery", 87)}}},
			},
		},
		{
			name: "Contact 0 is closed; friendly-name key, Device gives the address", topic: "tele/b/SENSOR", zone: shanghai,
			payload: `{"ZbReceived":{"Back door":{"Device":"0x1A2B","Contact":0},"0x9":{"Occupancy":true,"Water":0,"Fire":1},"0x7":{"LinkQuality":3}}}`,
			want: []TasmotaReading{
				{Device: "0x1A2B", Reading: env(BoolField("door_open", false))},
				{Device: "0x9", Reading: env(BoolField("smoke", true), BoolField("water_leak", false), BoolField("motion", true))},
			},
		},
		{
			name: "STATE Wifi signal is rssi", topic: "tele/t/STATE", zone: shanghai,
			payload: `{"Time":"2026-04-19T20:00:00","Uptime":"0T01:00:00","Wifi":{"AP":1,"RSSI":100,"Signal":-42}}`,
			want:    []TasmotaReading{{Reading: Reading{Stream: StreamStatus, Time: utc("2026-04-19T12:00:00Z"), Fields: []Field{FloatField("rssi", -42)}}}},
		},
		{
			name: "LWT any case", topic: "tele/t/LWT", payload: "Offline",
			want: []TasmotaReading{{Reading: Reading{Stream: StreamAvailability, Fields: []Field{BoolField("online", false)}}}},
		},
		{
			name: "LWT retained deletion", topic: "tele/t/LWT", payload: "",
			want: []TasmotaReading{{Reading: Reading{Stream: StreamAvailability}}},
		},
		{name: "nothing we read", topic: "tele/t/SENSOR", payload: `{"Time":"2026-04-19T20:00:00","Switch1":"ON","ANALOG":{"A0":512}}`, zone: shanghai},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeTasmota(tt.topic, []byte(tt.payload), tt.zone, formatsReceived)
			if err != nil || !slices.EqualFunc(got, tt.want, tasmotaEqual) {
				t.Fatalf("DecodeTasmota(%q, %s) = %v, %v, want %v", tt.topic, tt.payload, fmtTasmota(got), err, fmtTasmota(tt.want))
			}
		})
	}
}

func TestDecodeTasmotaRejects(t *testing.T) {
	shanghai := mustZone(t, "Asia/Shanghai")
	tests := []struct {
		name, topic, payload string
		reason               Reason
		field                string
	}{
		{"Contact as a string", "tele/b/SENSOR", `{"ZbReceived":{"0x6841":{"Contact":"open"}}}`, ReasonWrongType, "Contact"},
		{"Contact 2", "tele/b/SENSOR", `{"ZbReceived":{"0x6841":{"Contact":2}}}`, ReasonInvalidValue, "Contact"},
		{"Temperature as a string", "tele/t/SENSOR", `{"DS18B20":{"Temperature":"20.6"}}`, ReasonWrongType, "Temperature"},
		{"Humidity out of range", "tele/b/SENSOR", `{"ZbReceived":{"0x1067":{"Humidity":170.89}}}`, ReasonOutOfRange, "humidity"},
		{"Device as a number", "tele/b/SENSOR", `{"ZbReceived":{"0x1067":{"Device":4199}}}`, ReasonWrongType, "Device"},
		{"Zigbee device not an object", "tele/b/SENSOR", `{"ZbReceived":{"0x1067":[1]}}`, ReasonWrongType, "0x1067"},
		{"ZbReceived not an object", "tele/b/SENSOR", `{"ZbReceived":"x"}`, ReasonWrongType, "ZbReceived"},
		{"Time as a number", "tele/t/SENSOR", `{"Time":1700000000}`, ReasonWrongType, "Time"},
		{"Time unparseable", "tele/t/SENSOR", `{"Time":"19/04/2026 20:00"}`, ReasonInvalidValue, "Time"},
		{"Time in the future", "tele/t/SENSOR", `{"Time":"2030-01-01T00:00:00"}`, ReasonFutureTime, "Time"},
		{"TempUnit K", "tele/t/SENSOR", `{"TempUnit":"K"}`, ReasonInvalidValue, "TempUnit"},
		{"not an object", "tele/t/SENSOR", `[1]`, ReasonWrongType, ""},
		{"malformed", "tele/t/SENSOR", `{"Time":`, ReasonMalformed, ""},
		{"empty SENSOR", "tele/t/SENSOR", ``, ReasonEmpty, ""},
		{"LWT word", "tele/t/LWT", `Sleeping`, ReasonInvalidValue, ""},
		{"unknown topic", "stat/t/RESULT", `{}`, ReasonUnknownTopic, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeTasmota(tt.topic, []byte(tt.payload), shanghai, formatsReceived)
			if re := asReject(err); re == nil || re.Reason != tt.reason || re.Field != tt.field {
				t.Fatalf("DecodeTasmota(%q, %s) = %v, %v, want %s field %q", tt.topic, tt.payload, fmtTasmota(got), err, tt.reason, tt.field)
			}
		})
	}
}

func tasmotaEqual(a, b TasmotaReading) bool {
	return a.Device == b.Device && a.Name == b.Name && a.Sensor == b.Sensor && readingEqual(a.Reading, b.Reading)
}

func fmtTasmota(rs []TasmotaReading) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Device + "|" + r.Name + "|" + r.Sensor + "|" + fmtReading(r.Reading)
	}
	return out
}

func FuzzDecodeTasmota(f *testing.F) {
	for _, fx := range loadFormatFixtures(f, "tasmota/fixtures.jsonl") {
		f.Add(fx.Topic, []byte(fx.Payload))
	}
	f.Add("tele/t/STATE", []byte(`{"Time":"2026-04-19T20:00:00+08:00","Wifi":{"Signal":-42},"TempUnit":"F","X":{"Temperature":70}}`))
	zone := mustZone(f, "Asia/Shanghai")
	f.Fuzz(func(t *testing.T, topic string, in []byte) {
		got, err := DecodeTasmota(topic, in, zone, formatsReceived)
		if err != nil {
			checkFormatRejection(t, "DecodeTasmota", in, err)
			return
		}
		for _, r := range got {
			checkFormatReading(t, "DecodeTasmota", in, r.Reading)
		}
	})
}

func BenchmarkDecodeTasmota(b *testing.B) {
	zone := mustZone(b, "Asia/Shanghai")
	cases := []struct{ name, topic, payload string }{
		{"sensor", "tele/tasmota/SENSOR", `{"Time":"2026-04-19T20:00:00","AM2301":{"Temperature":22.5,"Humidity":41.0,"DewPoint":8.6},"TempUnit":"C"}`},
		{"zigbee", "tele/bridge/SENSOR", `{"ZbReceived":{"0x6841":{"Device":"0x6841","Contact":1,"BatteryPercentage":87,"Endpoint":1,"LinkQuality":105}}}`},
		{"lwt", "tele/tasmota/LWT", "Online"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			in := []byte(c.payload)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeTasmota(c.topic, in, zone, formatsReceived); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
