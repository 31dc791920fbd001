package devices

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// testReceived is the receive time of the inline and fuzz cases.
var testReceived = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func TestDecodeNative(t *testing.T) {
	ms := func(d time.Duration) string { return fmt.Sprint(testReceived.Add(d).UnixMilli()) }
	tests := []struct {
		name    string
		stream  Stream
		payload string
		want    Reading
		reason  Reason
		field   string
	}{
		{
			name: "vitals in contract order, no_reading last", stream: StreamVitals,
			payload: `{"movement":3,"in_bed":true,"temp_c":36.4,"spo2":255,"resp_rate":14,"heart_rate":61,"ts":1740816000000}`,
			want: Reading{Stream: StreamVitals, Time: time.UnixMilli(1740816000000).UTC(), Fields: []Field{
				FloatField("heart_rate", 61), FloatField("resp_rate", 14), FloatField("temp_c", 36.4),
				BoolField("in_bed", true), FloatField("movement", 3), BoolField("no_reading", true)}},
		},
		{
			name: "env in contract order", stream: StreamEnv,
			payload: `{"humidity":40,"gas":true,"smoke":false}`,
			want:    Reading{Stream: StreamEnv, Fields: []Field{BoolField("smoke", false), BoolField("gas", true), FloatField("humidity", 40)}},
		},
		{
			name: "visit in contract order", stream: StreamVisit,
			payload: `{"services":["0102"],"method":"qr","action":"check_out","caregiver":"cg-9"}`,
			want: Reading{Stream: StreamVisit, Fields: []Field{StringField("caregiver", "cg-9"), StringField("action", "check_out"),
				StringField("method", "qr"), StringField("services", "0102")}},
		},
		{
			name: "ts 4m59s ahead is kept", stream: StreamSOS,
			payload: `{"action":"press","ts":` + ms(4*time.Minute+59*time.Second) + `}`,
			want:    Reading{Stream: StreamSOS, Time: testReceived.Add(4*time.Minute + 59*time.Second), Fields: []Field{StringField("action", "press")}},
		},
		{
			name: "ts exactly MaxFutureSkew ahead is kept", stream: StreamSOS,
			payload: `{"action":"press","ts":` + ms(MaxFutureSkew) + `}`,
			want:    Reading{Stream: StreamSOS, Time: testReceived.Add(MaxFutureSkew), Fields: []Field{StringField("action", "press")}},
		},
		{
			name: "ts 1 ms past MaxFutureSkew", stream: StreamSOS,
			payload: `{"action":"press","ts":` + ms(MaxFutureSkew+time.Millisecond) + `}`,
			reason:  ReasonFutureTime, field: "ts",
		},
		{
			name: "ts an hour old is kept", stream: StreamFall,
			payload: `{"state":"fall","ts":` + ms(-time.Hour) + `}`,
			want:    Reading{Stream: StreamFall, Time: testReceived.Add(-time.Hour), Fields: []Field{StringField("state", "fall")}},
		},
		{
			name: "fractional ts keeps sub-millisecond time", stream: StreamSOS,
			payload: `{"action":"cancel","ts":1740816000000.25}`,
			want:    Reading{Stream: StreamSOS, Time: time.UnixMilli(1740816000000).Add(250 * time.Microsecond).UTC(), Fields: []Field{StringField("action", "cancel")}},
		},
		{
			name: "availability retained deletion", stream: StreamAvailability, payload: "",
			want: Reading{Stream: StreamAvailability},
		},
		{
			name: "availability json ts", stream: StreamAvailability, payload: `{"ts":1740816000000,"state":"Online"}`,
			want: Reading{Stream: StreamAvailability, Time: time.UnixMilli(1740816000000).UTC(), Fields: []Field{BoolField("online", true)}},
		},
		{name: "unknown stream", stream: "heartbeat", payload: `{"heart_rate":72}`, reason: ReasonUnknownStream},
		{name: "empty stream", stream: "", payload: `{"heart_rate":72}`, reason: ReasonUnknownStream},
		{name: "oversized availability deletion is still oversized", stream: StreamAvailability, payload: strings.Repeat(" ", MaxPayload+1), reason: ReasonOversized},
		{name: "first bad field in contract order wins", stream: StreamVitals, payload: `{"movement":500,"heart_rate":900}`, reason: ReasonOutOfRange, field: "heart_rate"},
		{name: "ts is checked before fields", stream: StreamVitals, payload: `{"heart_rate":900,"ts":"now"}`, reason: ReasonWrongType, field: "ts"},
		{name: "syntax is checked before types", stream: StreamVitals, payload: `{"heart_rate":"72",}`, reason: ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeNative(tt.stream, []byte(tt.payload), testReceived)
			if tt.reason != "" {
				if re := asReject(err); re == nil || re.Reason != tt.reason || re.Field != tt.field {
					t.Fatalf("DecodeNative(%q) = %v, want %s field %q", tt.payload, err, tt.reason, tt.field)
				}
				return
			}
			if err != nil || !readingEqual(got, tt.want) {
				t.Fatalf("DecodeNative(%q) = %s, %v, want %s", tt.payload, fmtReading(got), err, fmtReading(tt.want))
			}
		})
	}
}

func TestNumberMatchesStrconv(t *testing.T) {
	ins := []string{"0", "-0", "72", "36.6", "-67", "0.1", "0.3", "255.0", "1740816000000", "1740816000000.25",
		"999999999999999", "9999999999999999", "9007199254740993", "0.000000000000001", "123456789012345.6",
		"1.00000000000000011", "-40.05", "98.6", "1e2", "1E-3", "1e400", "-1e400", "1" + strings.Repeat("0", 30)}
	for i := range 2000 {
		ins = append(ins, strconv.FormatFloat(float64(i)*0.37-300, 'f', -1, 64), strconv.FormatFloat(float64(i)/7, 'f', i%17, 64))
	}
	for _, in := range ins {
		want, _ := strconv.ParseFloat(in, 64)
		if got := (rawValue{kind: kindNumber, raw: []byte(in)}).number(); got != want || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("number(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestDecodeNativeTimeIsUTC(t *testing.T) {
	in := `{"action":"press","ts":1740816000000}`
	r, err := DecodeNative(StreamSOS, []byte(in), testReceived.In(time.FixedZone("CST", 8*3600)))
	if err != nil || r.Time.Location() != time.UTC {
		t.Fatalf("DecodeNative(%q) = %v in %v, %v, want a UTC time", in, r.Time, r.Time.Location(), err)
	}
}

func TestDecodeNativeDetailHidesPersonalData(t *testing.T) {
	for _, in := range []string{
		`{"caregiver":"` + strings.Repeat("王秀英", 22) + `","action":"check_in","method":"nfc"}`,
		`{"caregiver":"王秀英\u0007","action":"check_in","method":"nfc"}`,
	} {
		_, err := DecodeNative(StreamVisit, []byte(in), testReceived)
		if re := asReject(err); re == nil || strings.Contains(re.Detail, "王") {
			t.Errorf("DecodeNative(%q) = %v, want a rejection that does not name the caregiver", in, err)
		}
	}
}

func TestNativeGoodCases(t *testing.T) {
	cases := loadNativeCases(t, "native-good.jsonl")
	streams := map[Stream]bool{}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			_, stream, err := ParseNativeTopic(c.Topic)
			if err != nil {
				t.Fatalf("ParseNativeTopic(%q) = %v, want no error", c.Topic, err)
			}
			streams[stream] = true
			in := c.wire()
			got, err := DecodeNative(stream, in, time.Now())
			if err != nil {
				t.Fatalf("DecodeNative(%q) = %v, want %v", clip(string(in)), err, c.Fields)
			}
			if !fieldsMatch(got.Fields, c.Fields) || !timeMatches(got.Time, c.TS) {
				t.Fatalf("DecodeNative(%q) = %s, want fields %v ts %v", clip(string(in)), fmtReading(got), c.Fields, fmtTS(c.TS))
			}
		})
	}
	for _, s := range Streams {
		if !streams[s] {
			t.Errorf("native-good.jsonl has no case for stream %s", s)
		}
	}
}

func TestNativeBadCases(t *testing.T) {
	cases := loadNativeCases(t, "native-bad.jsonl")
	if len(cases) < 60 {
		t.Errorf("native-bad.jsonl has %d cases, want at least 60", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if !slices.Contains(Reasons, c.Reason) || c.Reason == ReasonUnknownDevice {
				t.Fatalf("case reason %q is not a decoder reason", c.Reason)
			}
			in := c.wire()
			_, stream, err := ParseNativeTopic(c.Topic)
			if c.Reason == ReasonUnknownTopic || c.Reason == ReasonUnknownStream {
				if re := asReject(err); re == nil || re.Reason != c.Reason || re.Field != c.Field {
					t.Fatalf("ParseNativeTopic(%q) = %v, want %s", c.Topic, err, c.Reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseNativeTopic(%q) = %v, want no error", c.Topic, err)
			}
			_, err = DecodeNative(stream, in, time.Now())
			re := asReject(err)
			if re == nil || re.Reason != c.Reason || re.Field != c.Field {
				t.Fatalf("DecodeNative(%q) = %v, want %s field %q", clip(string(in)), err, c.Reason, c.Field)
			}
			checkDetail(t, in, re)
		})
	}
}

func FuzzDecodeNative(f *testing.F) {
	for _, file := range []string{"native-good.jsonl", "native-bad.jsonl"} {
		for _, c := range loadNativeCases(f, file) {
			f.Add(c.wire())
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, stream := range Streams {
			got, err := DecodeNative(stream, in, testReceived)
			if err != nil {
				checkRejection(t, stream, in, err)
				continue
			}
			checkAccepted(t, stream, in, got)
		}
	})
}

// checkRejection checks the invariants of every rejection.
func checkRejection(t *testing.T, stream Stream, in []byte, err error) {
	t.Helper()
	re, ok := err.(*RejectError)
	if !ok {
		t.Fatalf("DecodeNative(%s, %q) = %T %v, want a *RejectError", stream, in, err, err)
	}
	switch re.Reason {
	case ReasonMalformed, ReasonWrongType, ReasonOutOfRange, ReasonOversized, ReasonFutureTime, ReasonEmpty, ReasonInvalidValue:
	default:
		t.Fatalf("DecodeNative(%s, %q) = %v, want a payload reason", stream, in, err)
	}
	checkDetail(t, in, re)
	if stream == StreamAvailability || len(in) > MaxPayload {
		return
	}
	// encoding/json agrees on syntax, except where this decoder is stricter.
	valid := json.Valid(in) && utf8.Valid(in)
	if !valid && re.Reason != ReasonMalformed && re.Reason != ReasonEmpty {
		t.Fatalf("DecodeNative(%s, %q) = %v, want %s: encoding/json rejects it", stream, in, err, ReasonMalformed)
	}
	if valid && re.Reason == ReasonMalformed &&
		!strings.HasPrefix(re.Detail, "duplicate key") && !strings.HasPrefix(re.Detail, "nested deeper") {
		t.Fatalf("DecodeNative(%s, %q) = %v, want no syntax error: encoding/json accepts it", stream, in, err)
	}
}

// checkAccepted checks a Reading against the payload as encoding/json sees it.
func checkAccepted(t *testing.T, stream Stream, in []byte, got Reading) {
	t.Helper()
	bad := func(why string) {
		t.Fatalf("DecodeNative(%s, %q) = %s: %s", stream, in, fmtReading(got), why)
	}
	if got.Stream != stream {
		bad("wrong stream")
	}
	if len(got.Fields) == 0 && !(stream == StreamAvailability && len(in) == 0) {
		bad("no fields")
	}
	if !got.Time.IsZero() && (got.Time.Before(time.UnixMilli(minDeviceMillis)) || got.Time.After(testReceived.Add(MaxFutureSkew))) {
		bad("time outside 2015..received+MaxFutureSkew")
	}
	seen := map[string]bool{}
	for _, f := range got.Fields {
		if seen[f.Name] {
			bad("field " + f.Name + " twice")
		}
		seen[f.Name] = true
		if f.Type == Float && (math.IsNaN(f.F) || math.IsInf(f.F, 0)) {
			bad("field " + f.Name + " not finite")
		}
	}
	if stream == StreamAvailability && (len(in) == 0 || bytes.TrimSpace(in)[0] != '{') {
		return
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber() // numbers beyond float64 are not a syntax error
	if !utf8.Valid(in) || dec.Decode(&m) != nil {
		bad("encoding/json rejects the payload")
	}
	for k, v := range m {
		if n, ok := v.(json.Number); ok {
			m[k], _ = strconv.ParseFloat(string(n), 64)
		}
	}
	for _, f := range got.Fields {
		v, ok := m[f.Name]
		switch f.Name {
		case "no_reading":
			continue
		case "online":
			v, ok = m["state"]
			s, _ := v.(string)
			ok = ok && strings.EqualFold(s, "online") == f.B
		case "caregiver":
			s, _ := v.(string)
			ok = ok && strings.TrimSpace(s) == f.S
		case "services":
			var codes []string
			list, _ := v.([]any)
			for _, c := range list {
				s, _ := c.(string)
				codes = append(codes, s)
			}
			ok = ok && strings.Join(codes, ",") == f.S
		default:
			ok = ok && (f.Type == Float && v == f.F || f.Type == Bool && v == f.B || f.Type == String && v == f.S)
		}
		if !ok {
			bad(fmt.Sprintf("encoding/json reads %s as %v", f.Name, v))
		}
	}
	if ts, ok := m["ts"].(float64); ok && !got.Time.IsZero() && got.Time.UnixMilli() != int64(math.Floor(ts)) {
		bad(fmt.Sprintf("encoding/json reads ts as %v", ts))
	}
}

// checkDetail checks that a rejection's detail is short and does not repeat
// the payload.
func checkDetail(t *testing.T, in []byte, re *RejectError) {
	t.Helper()
	if re.Detail == "" || re.Detail[0] == ' ' {
		t.Fatalf("rejection of %q has a blank detail: %v", clip(string(in)), re)
	}
	if len(re.Detail) > 200 {
		t.Fatalf("rejection of %q has a %d-byte detail, want at most 200", clip(string(in)), len(re.Detail))
	}
	if len(in) > 64 && strings.Contains(re.Detail, string(in)) {
		t.Fatalf("rejection of %q repeats the payload in its detail %q", clip(string(in)), re.Detail)
	}
}

var benchPayloads = []struct {
	stream  Stream
	payload string
}{
	{StreamVitals, `{"ts":1740816000000,"heart_rate":72,"resp_rate":16,"spo2":97,"temp_c":36.6,"in_bed":true,"movement":12}`},
	{StreamEnv, `{"ts":1740816000000,"smoke":false,"gas":false,"water_leak":false,"door_open":true,"motion":false,"temp_c":21.5,"humidity":48}`},
	{StreamSOS, `{"ts":1740816000000,"action":"press"}`},
	{StreamAvailability, `online`},
	{StreamStatus, `{"ts":1740816000000,"battery":87,"rssi":-67,"tamper":false}`},
	{StreamVisit, `{"ts":1740816000000,"caregiver":"cg-0042","action":"check_out","method":"nfc","services":["0101","0103","0203"]}`},
}

func BenchmarkDecodeNative(b *testing.B) {
	for _, bp := range benchPayloads {
		b.Run(string(bp.stream), func(b *testing.B) {
			in := []byte(bp.payload)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeNative(bp.stream, in, testReceived); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// nativeCase is one line of testdata/native-good.jsonl or native-bad.jsonl
// (see testdata/README.md).
type nativeCase struct {
	Name       string `json:"name"`
	Topic      string `json:"topic"`
	Payload    string `json:"payload"`
	PayloadB64 []byte `json:"payload_b64"`
	Repeat     []struct {
		S string `json:"s"`
		N int    `json:"n"`
	} `json:"payload_repeat"`
	Reason      Reason         `json:"reason"`
	Field       string         `json:"field"`
	Publishable *bool          `json:"publishable"`
	Fields      map[string]any `json:"fields"`
	TS          *float64       `json:"ts"`
}

// wire returns the exact payload bytes of the case.
func (c nativeCase) wire() []byte {
	b := []byte(c.Payload)
	if c.PayloadB64 != nil {
		b = c.PayloadB64
	}
	for _, r := range c.Repeat {
		b = append(b, strings.Repeat(r.S, r.N)...)
	}
	return b
}

func loadNativeCases(tb testing.TB, name string) []nativeCase {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var cases []nativeCase
	names := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var c nativeCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			tb.Fatalf("%s:%d: %v", name, n, err)
		}
		if c.Name == "" || names[c.Name] {
			tb.Fatalf("%s:%d: name %q is empty or not unique", name, n, c.Name)
		}
		names[c.Name] = true
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return cases
}

func asReject(err error) *RejectError {
	var re *RejectError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

func readingEqual(a, b Reading) bool {
	return a.Stream == b.Stream && a.Time.Equal(b.Time) && slices.Equal(a.Fields, b.Fields)
}

// fieldsMatch reports whether fields are exactly want (name to JSON value).
func fieldsMatch(fields []Field, want map[string]any) bool {
	if len(fields) != len(want) {
		return false
	}
	for _, f := range fields {
		v, ok := want[f.Name]
		if !ok || !(f.Type == Float && v == f.F || f.Type == Bool && v == f.B || f.Type == String && v == f.S) {
			return false
		}
	}
	return true
}

func timeMatches(got time.Time, ms *float64) bool {
	if ms == nil {
		return got.IsZero()
	}
	whole := math.Floor(*ms)
	want := time.UnixMilli(int64(whole)).Add(time.Duration(math.Round((*ms - whole) * 1e6)))
	return got.Equal(want)
}

func fmtTS(ms *float64) string {
	if ms == nil {
		return "null"
	}
	return fmt.Sprint(*ms)
}

func fmtReading(r Reading) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s@", r.Stream)
	if r.Time.IsZero() {
		b.WriteString("-")
	} else {
		b.WriteString(r.Time.Format(time.RFC3339Nano))
	}
	b.WriteString("{")
	for i, f := range r.Fields {
		if i > 0 {
			b.WriteString(" ")
		}
		switch f.Type {
		case Float:
			fmt.Fprintf(&b, "%s=%v", f.Name, f.F)
		case Bool:
			fmt.Fprintf(&b, "%s=%v", f.Name, f.B)
		default:
			fmt.Fprintf(&b, "%s=%q", f.Name, f.S)
		}
	}
	b.WriteString("}")
	return b.String()
}
