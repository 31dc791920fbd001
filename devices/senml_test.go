package devices

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

var senmlTestNames = map[string]string{
	"heart-rate":       "heart_rate",
	"respiration-rate": "resp_rate",
	"spo2":             "spo2",
	"battery":          "battery",
	"door-open":        "door_open",
	"temp":             "temp_c",
	"body-temp":        "vitals.temp_c",
	"humidity":         "humidity",
	"fall":             "fall.state",
	"urn:dev:ow:1:hr":  "heart_rate", // the whole name wins over the segment
	"hr":               "resp_rate",
	"bogus":            "pulse",
}

func TestDecodeSenML(t *testing.T) {
	at := func(secs float64) time.Time {
		return time.Unix(0, 0).Add(time.Duration(secs * float64(time.Second))).UTC()
	}
	rel := func(d time.Duration) time.Time { return formatsReceived.Add(d).UTC() }
	tests := []struct {
		name    string
		payload string
		want    []Reading
	}{
		{
			name:    "bn prefixes n; last segment matches",
			payload: `[{"bn":"urn:dev:mac:1:","n":"heart-rate","u":"beat/min","v":61}]`,
			want:    []Reading{{Stream: StreamVitals, Fields: []Field{FloatField("heart_rate", 61)}}},
		},
		{
			name:    "whole resolved name is matched before its last segment",
			payload: `[{"bn":"urn:dev:ow:1:","n":"hr","u":"1/min","v":70}]`,
			want:    []Reading{{Stream: StreamVitals, Fields: []Field{FloatField("heart_rate", 70)}}},
		},
		{
			name:    "a later bn replaces the earlier one (b:hr matches by segment)",
			payload: `[{"bn":"a:","n":"x","v":1},{"bn":"urn:dev:ow:1:","n":"hr","v":70},{"bn":"b:","n":"hr","v":15}]`,
			want:    []Reading{{Stream: StreamVitals, Fields: []Field{FloatField("heart_rate", 70), FloatField("resp_rate", 15)}}},
		},
		{
			name:    "bt plus t, grouped by resolved time and ordered by time",
			payload: `[{"bt":1777000000,"n":"heart-rate","v":70,"t":10},{"n":"heart-rate","v":72},{"n":"respiration-rate","v":14}]`,
			want: []Reading{
				{Stream: StreamVitals, Time: at(1777000000), Fields: []Field{FloatField("heart_rate", 72), FloatField("resp_rate", 14)}},
				{Stream: StreamVitals, Time: at(1777000010), Fields: []Field{FloatField("heart_rate", 70)}},
			},
		},
		{
			name:    "times below 2^28 are relative to received",
			payload: `[{"bt":-60,"n":"heart-rate","v":70},{"n":"respiration-rate","v":14,"t":30.5}]`,
			want: []Reading{
				{Stream: StreamVitals, Time: rel(-time.Minute), Fields: []Field{FloatField("heart_rate", 70)}},
				{Stream: StreamVitals, Time: rel(-29500 * time.Millisecond), Fields: []Field{FloatField("resp_rate", 14)}},
			},
		},
		{
			name:    "bu applies until u overrides; a later bu replaces it",
			payload: `[{"bu":"/","n":"spo2","v":0.97},{"n":"battery","u":"%EL","v":80},{"bu":"%RH","n":"humidity","v":40}]`,
			want: []Reading{
				{Stream: StreamVitals, Fields: []Field{FloatField("spo2", 97)}},
				{Stream: StreamEnv, Fields: []Field{FloatField("humidity", 40)}},
				{Stream: StreamStatus, Fields: []Field{FloatField("battery", 80)}},
			},
		},
		{
			name:    "percent is a ratio",
			payload: `[{"n":"battery","u":"%","v":0.87},{"n":"humidity","u":"%","v":0.4},{"n":"door-open","u":"%","v":0}]`,
			want: []Reading{
				{Stream: StreamEnv, Fields: []Field{BoolField("door_open", false), FloatField("humidity", 40)}},
				{Stream: StreamStatus, Fields: []Field{FloatField("battery", 87)}},
			},
		},
		{
			name:    "bv is added to v; kelvin and 1/s are converted",
			payload: `[{"bv":36,"n":"body-temp","u":"Cel","v":0.6},{"bv":0,"n":"temp","u":"K","v":296.25},{"n":"heart-rate","u":"1/s","v":1.2}]`,
			want: []Reading{
				{Stream: StreamVitals, Fields: []Field{FloatField("heart_rate", 72), FloatField("temp_c", 36.6)}},
				{Stream: StreamEnv, Fields: []Field{FloatField("temp_c", 23.1)}},
			},
		},
		{
			name:    "0 and 255 from a radar are no reading",
			payload: `[{"n":"heart-rate","u":"beat/min","v":0},{"n":"respiration-rate","v":255},{"n":"spo2","u":"/","v":0.95}]`,
			want:    []Reading{{Stream: StreamVitals, Fields: []Field{FloatField("spo2", 95), BoolField("no_reading", true)}}},
		},
		{
			name:    "fall state from vs and vb; unknown records and keys ignored",
			payload: `[{"n":"fall","vs":"suspected","x":{"y":[1]}},{"n":"other","u":"furlong","v":9},{"n":"other2","vd":"aGk"}]`,
			want:    []Reading{{Stream: StreamFall, Fields: []Field{StringField("state", "suspected")}}},
		},
		{
			name:    "base-only and sum-only records carry nothing",
			payload: `[{"bn":"urn:dev:mac:1:","bver":10},{"n":"heart-rate","s":100},{"n":"heart-rate","v":64}]`,
			want:    []Reading{{Stream: StreamVitals, Fields: []Field{FloatField("heart_rate", 64)}}},
		},
		{
			name:    "a field twice at one time keeps the later record",
			payload: `[{"n":"heart-rate","v":64},{"n":"heart-rate","v":66}]`,
			want:    []Reading{{Stream: StreamVitals, Fields: []Field{FloatField("heart_rate", 66)}}},
		},
		{
			name:    "more readings than kept inline",
			payload: `[{"bt":-5,"n":"heart-rate","v":61},{"t":1,"n":"heart-rate","v":62},{"t":2,"n":"heart-rate","v":63},{"t":3,"n":"heart-rate","v":64},{"t":4,"n":"heart-rate","v":65},{"t":0,"n":"battery","u":"%EL","v":50}]`,
			want: []Reading{
				{Stream: StreamVitals, Time: rel(-5 * time.Second), Fields: []Field{FloatField("heart_rate", 61)}},
				{Stream: StreamStatus, Time: rel(-5 * time.Second), Fields: []Field{FloatField("battery", 50)}},
				{Stream: StreamVitals, Time: rel(-4 * time.Second), Fields: []Field{FloatField("heart_rate", 62)}},
				{Stream: StreamVitals, Time: rel(-3 * time.Second), Fields: []Field{FloatField("heart_rate", 63)}},
				{Stream: StreamVitals, Time: rel(-2 * time.Second), Fields: []Field{FloatField("heart_rate", 64)}},
				{Stream: StreamVitals, Time: rel(-1 * time.Second), Fields: []Field{FloatField("heart_rate", 65)}},
			},
		},
		{name: "nothing mapped", payload: `[{"n":"voltage","u":"V","v":120.1}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSenML([]byte(tt.payload), senmlTestNames, formatsReceived)
			if err != nil || !slices.EqualFunc(got, tt.want, readingEqual) {
				t.Fatalf("DecodeSenML(%s) = %s, %v, want %s", tt.payload, fmtReadings(got), err, fmtReadings(tt.want))
			}
		})
	}
}

func TestDecodeSenMLRejects(t *testing.T) {
	tests := []struct {
		name, payload string
		reason        Reason
		field         string
	}{
		{"heart rate in Cel", `[{"bn":"urn:dev:mac:1:","n":"heart-rate","u":"Cel","v":72}]`, ReasonInvalidValue, "urn:dev:mac:1:heart-rate"},
		{"unknown unit", `[{"n":"temp","u":"degC","v":21}]`, ReasonInvalidValue, "temp"},
		{"bu applies to a mismatch", `[{"bu":"%RH","n":"battery","v":50}]`, ReasonInvalidValue, "battery"},
		{"door ratio not 0 or 1", `[{"n":"door-open","u":"%","v":0.5}]`, ReasonInvalidValue, "door-open"},
		{"heart rate out of range", `[{"n":"heart-rate","u":"beat/min","v":400}]`, ReasonOutOfRange, "heart_rate"},
		{"spo2 ratio over 1", `[{"n":"spo2","u":"%","v":1.2}]`, ReasonOutOfRange, "spo2"},
		{"body temp out of range", `[{"n":"body-temp","u":"Cel","v":20}]`, ReasonOutOfRange, "temp_c"},
		{"number for the fall state", `[{"n":"fall","v":1}]`, ReasonWrongType, "fall"},
		{"string for a heart rate", `[{"n":"heart-rate","vs":"72"}]`, ReasonWrongType, "heart-rate"},
		{"data for a door", `[{"n":"door-open","vd":"aGk"}]`, ReasonWrongType, "door-open"},
		{"fall state not in the enum", `[{"n":"fall","vs":"Fall"}]`, ReasonInvalidValue, "fall"},
		{"mapped to no field of ours", `[{"n":"bogus","v":1}]`, ReasonInvalidValue, "bogus"},
		{"v is a string", `[{"n":"heart-rate","v":"72"}]`, ReasonWrongType, "v"},
		{"bt is a string", `[{"bt":"now","n":"heart-rate","v":72}]`, ReasonWrongType, "bt"},
		{"vb is a number", `[{"n":"door-open","vb":1}]`, ReasonWrongType, "vb"},
		{"two values", `[{"n":"heart-rate","v":72,"vs":"x"}]`, ReasonInvalidValue, "heart-rate"},
		{"duplicate key", `[{"n":"heart-rate","v":72,"v":73}]`, ReasonMalformed, "v"},
		{"must-understand key", `[{"n":"heart-rate","v":72,"sec_":1}]`, ReasonInvalidValue, "sec_"},
		{"version too new", `[{"bver":11,"n":"heart-rate","v":72}]`, ReasonInvalidValue, "bver"},
		{"empty name", `[{"v":72}]`, ReasonInvalidValue, "n"},
		{"name starting with a dash", `[{"n":"-hr","v":72}]`, ReasonInvalidValue, "n"},
		{"future time", `[{"bt":4102444800,"n":"heart-rate","v":72}]`, ReasonFutureTime, "heart-rate"},
		{"relative time 6 minutes ahead", `[{"t":360,"n":"heart-rate","v":72}]`, ReasonFutureTime, "heart-rate"},
		{"relative time beyond 2^28 s ago", `[{"t":-1e12,"n":"heart-rate","v":72}]`, ReasonOutOfRange, "heart-rate"},
		{"malformed", `[{"n":"heart-rate","v":72}`, ReasonMalformed, ""},
		{"not an array", `{"n":"heart-rate","v":72}`, ReasonWrongType, ""},
		{"record not an object", `[72]`, ReasonWrongType, ""},
		{"empty array", ` [ ] `, ReasonEmpty, ""},
		{"empty payload", ``, ReasonEmpty, ""},
		{"oversized", `[` + strings.Repeat(`{"n":"x","v":1},`, MaxPayload/15) + `{}]`, ReasonOversized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSenML([]byte(tt.payload), senmlTestNames, formatsReceived)
			if re := asReject(err); re == nil || re.Reason != tt.reason || re.Field != tt.field {
				t.Fatalf("DecodeSenML(%s) = %s, %v, want %s field %q", clip(tt.payload), fmtReadings(got), err, tt.reason, tt.field)
			}
		})
	}
}

func FuzzDecodeSenML(f *testing.F) {
	for _, fx := range loadFormatFixtures(f, "senml/fixtures.jsonl") {
		f.Add([]byte(fx.Payload))
	}
	f.Add([]byte(`[{"bt":-60,"bu":"/","n":"spo2","v":0.97},{"n":"fall","vs":"fall","t":1},{"n":"door-open","vb":true}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := DecodeSenML(in, senmlTestNames, formatsReceived)
		if err != nil {
			checkFormatRejection(t, "DecodeSenML", in, err)
			return
		}
		for _, r := range got {
			checkFormatReading(t, "DecodeSenML", in, r)
		}
	})
}

// checkFormatRejection checks what every decoder rejection must be: a
// *RejectError with a catalogue reason and a short detail.
func checkFormatRejection(t *testing.T, fn string, in []byte, err error) {
	t.Helper()
	re, ok := err.(*RejectError)
	if !ok {
		t.Fatalf("%s(%q) = %T %v, want a *RejectError", fn, in, err, err)
	}
	if !slices.Contains(Reasons, re.Reason) || re.Reason == ReasonUnknownDevice || re.Reason == ReasonStoreRejected {
		t.Fatalf("%s(%q) = %v, want a decoder reason", fn, in, err)
	}
	checkDetail(t, in, re)
}

// checkFormatReading checks what every decoded Reading must be.
func checkFormatReading(t *testing.T, fn string, in []byte, r Reading) {
	t.Helper()
	if !slices.Contains(Streams, r.Stream) && r.Stream != "" {
		t.Fatalf("%s(%q) = %s: unknown stream", fn, in, fmtReading(r))
	}
	if !r.Time.IsZero() && (r.Time.Year() < 1970 || r.Time.After(formatsReceived.Add(MaxFutureSkew))) {
		t.Fatalf("%s(%q) = %s: time out of bounds", fn, in, fmtReading(r))
	}
	seen := map[string]bool{}
	for _, f := range r.Fields {
		if seen[f.Name] {
			t.Fatalf("%s(%q) = %s: field %s twice", fn, in, fmtReading(r), f.Name)
		}
		seen[f.Name] = true
		if f.Type == Float && (math.IsNaN(f.F) || math.IsInf(f.F, 0)) {
			t.Fatalf("%s(%q) = %s: field %s not finite", fn, in, fmtReading(r), f.Name)
		}
		if c, ok := lookupCanon(string(r.Stream) + "." + f.Name); ok && f.Type == Float && (f.F < c.spec.min || f.F > c.spec.max) {
			t.Fatalf("%s(%q) = %s: field %s out of range", fn, in, fmtReading(r), f.Name)
		}
	}
}

func fmtReadings(rs []Reading) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmtReading(r)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func BenchmarkDecodeSenML(b *testing.B) {
	in := []byte(`[{"bn":"urn:dev:mac:0024befffe804ff1:","bt":1.7766e+09,"n":"heart-rate","u":"beat/min","v":72},{"n":"respiration-rate","u":"1/min","v":16},{"n":"battery","u":"%EL","v":87}]`)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeSenML(in, senmlTestNames, formatsReceived); err != nil {
			b.Fatal(err)
		}
	}
}
