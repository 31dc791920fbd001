package telemetry

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"carebed/devices"
)

var t0 = time.Date(2024, 5, 1, 8, 0, 0, 123456789, time.UTC) // 1714550400123456789

func observation(stream devices.Stream, fields ...devices.Field) devices.Observation {
	return devices.Observation{
		Reading:  devices.Reading{Stream: stream, Time: t0, Fields: fields},
		DeviceID: "d1",
		BedID:    "b1",
		AgencyID: "a1",
		Kind:     devices.KindVitalsMonitor,
		Received: t0.Add(time.Second),
	}
}

func TestAppendPoint(t *testing.T) {
	const tags = "agency=a1,bed=b1,device=d1,kind=vitals_monitor"
	tests := []struct {
		name string
		obs  devices.Observation
		want string
	}{
		{"float", observation(devices.StreamVitals, devices.FloatField("temp_c", 36.6)),
			"vitals," + tags + " temp_c=36.6 1714550400123456789"},
		{"integral float stays plain", observation(devices.StreamVitals, devices.FloatField("heart_rate", 72)),
			"vitals," + tags + " heart_rate=72 1714550400123456789"},
		{"large integral float", observation(devices.StreamStatus, devices.FloatField("n", 1e6)),
			"status," + tags + " n=1000000 1714550400123456789"},
		{"negative and zero", observation(devices.StreamStatus, devices.FloatField("rssi", -67.5), devices.FloatField("z", 0), devices.FloatField("nz", math.Copysign(0, -1))),
			"status," + tags + " rssi=-67.5,z=0,nz=-0 1714550400123456789"},
		{"tiny and huge floats use exponents", observation(devices.StreamStatus, devices.FloatField("a", 1e-7), devices.FloatField("b", 2.5e21)),
			"status," + tags + " a=1e-07,b=2.5e+21 1714550400123456789"},
		{"bools", observation(devices.StreamEnv, devices.BoolField("smoke", false), devices.BoolField("door_open", true)),
			"env," + tags + " smoke=false,door_open=true 1714550400123456789"},
		{"string", observation(devices.StreamFall, devices.StringField("state", "fall")),
			"fall," + tags + ` state="fall" 1714550400123456789`},
		{"string with quotes and backslashes", observation(devices.StreamVisit, devices.StringField("note", `say "hi" \ C:\dir\`)),
			"visit," + tags + ` note="say \"hi\" \\ C:\\dir\\" 1714550400123456789`},
		{"string with newline, comma, equals, space", observation(devices.StreamVisit, devices.StringField("services", "0101,0102\nx=y z")),
			"visit," + tags + " services=\"0101,0102\nx=y z\" 1714550400123456789"},
		{"unicode", observation(devices.StreamVisit, devices.StringField("note", "助餐 ✓")),
			"visit," + tags + ` note="助餐 ✓" 1714550400123456789`},
		{"escaped tag values", func() devices.Observation {
			o := observation(devices.StreamVitals, devices.FloatField("heart_rate", 70))
			o.BedID, o.DeviceID, o.AgencyID = "bed 1,a=b", `dev\1`, "机构一"
			return o
		}(), `vitals,agency=机构一,bed=bed\ 1\,a\=b,device=dev\1,kind=vitals_monitor heart_rate=70 1714550400123456789`},
		{"escaped field keys", observation(devices.StreamEnv, devices.FloatField("a b,c=d", 1)),
			"env," + tags + ` a\ b\,c\=d=1 1714550400123456789`},
		{"empty tags left out", func() devices.Observation {
			o := observation(devices.StreamSOS, devices.StringField("action", "press"))
			o.AgencyID, o.Kind = "", ""
			return o
		}(), `sos,bed=b1,device=d1 action="press" 1714550400123456789`},
		{"receive time when no device time", func() devices.Observation {
			o := observation(devices.StreamAvailability, devices.StringField("state", "online"))
			o.Time = time.Time{}
			return o
		}(), "availability," + tags + ` state="online" 1714550401123456789`},
		{"before 1970", func() devices.Observation {
			o := observation(devices.StreamStatus, devices.FloatField("battery", 50))
			o.Time = time.Unix(-1, 0)
			return o
		}(), "status," + tags + " battery=50 -1000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := invalid(&tt.obs); r != "" {
				t.Fatalf("invalid(%s) = %q, want \"\"", tt.name, r)
			}
			if got := string(appendPoint(nil, &tt.obs)); got != tt.want {
				t.Errorf("appendPoint(%s) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestInvalid(t *testing.T) {
	mod := func(f func(o *devices.Observation)) devices.Observation {
		o := observation(devices.StreamVitals, devices.FloatField("heart_rate", 70))
		f(&o)
		return o
	}
	tests := []struct {
		name string
		obs  devices.Observation
		want string // substring of the reason
	}{
		{"unknown stream", mod(func(o *devices.Observation) { o.Stream = "weather" }), `unknown stream "weather"`},
		{"no time", mod(func(o *devices.Observation) { o.Time, o.Received = time.Time{}, time.Time{} }), "no timestamp"},
		{"time out of range", mod(func(o *devices.Observation) { o.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }), "out of range"},
		{"NaN", mod(func(o *devices.Observation) { o.Fields[0].F = math.NaN() }), "not a finite number"},
		{"Inf", mod(func(o *devices.Observation) { o.Fields[0].F = math.Inf(-1) }), "not a finite number"},
		{"empty field name", mod(func(o *devices.Observation) { o.Fields[0].Name = "" }), "empty field name"},
		{"newline in tag", mod(func(o *devices.Observation) { o.DeviceID = "d\n1" }), "tag device: contains a line break"},
		{"trailing backslash in tag", mod(func(o *devices.Observation) { o.BedID = `b1\` }), "tag bed: ends with a backslash"},
		{"trailing backslash in field name", mod(func(o *devices.Observation) { o.Fields[0].Name = `x\` }), "ends with a backslash"},
		{"invalid UTF-8 string", mod(func(o *devices.Observation) { o.Fields[0] = devices.StringField("note", "\xff") }), "not valid UTF-8"},
		{"field named time", mod(func(o *devices.Observation) { o.Fields[0].Name = "time" }), `field name "time" is reserved`},
		{"unknown field type", mod(func(o *devices.Observation) { o.Fields[0].Type = 9 }), "unknown type 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := invalid(&tt.obs); !strings.Contains(got, tt.want) || tt.want == "" {
				t.Errorf("invalid(%s) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestBatchEncode(t *testing.T) {
	var dropped []string
	drop := func(o devices.Observation, reason string) { dropped = append(dropped, o.DeviceID+": "+reason) }
	in := []devices.Observation{
		observation(devices.StreamVitals, devices.FloatField("heart_rate", 70)),
		observation(devices.StreamVitals), // no fields: skipped, not dropped
		observation(devices.StreamVisit, devices.StringField("note", "two\nlines")),
		observation("weather", devices.FloatField("t", 1)),
		observation(devices.StreamEnv, devices.BoolField("smoke", true)),
	}
	in[3].DeviceID = "d4"
	var b batch
	b.encode(in, drop)
	if got, want := b.lines(), 3; got != want {
		t.Fatalf("batch.encode(...).lines() = %d, want %d", got, want)
	}
	if got, want := b.obs, []int{0, 2, 4}; !slices.Equal(got, want) {
		t.Errorf("batch.encode(...).obs = %v, want %v", got, want)
	}
	wantLines := []string{
		"vitals,agency=a1,bed=b1,device=d1,kind=vitals_monitor heart_rate=70 1714550400123456789",
		"visit,agency=a1,bed=b1,device=d1,kind=vitals_monitor note=\"two\nlines\" 1714550400123456789",
		"env,agency=a1,bed=b1,device=d1,kind=vitals_monitor smoke=true 1714550400123456789",
	}
	for i, want := range wantLines {
		if got := string(b.body(i, i+1)); got != want {
			t.Errorf("batch.body(%d, %d) = %q, want %q", i, i+1, got, want)
		}
	}
	if got, want := string(b.body(1, 3)), wantLines[1]+"\n"+wantLines[2]; got != want {
		t.Errorf("batch.body(1, 3) = %q, want %q", got, want)
	}
	if got, want := string(b.body(0, 3)), strings.Join(wantLines, "\n"); got != want {
		t.Errorf("batch.body(0, 3) = %q, want %q", got, want)
	}
	if got, want := dropped, []string{`d4: unknown stream "weather"`}; !slices.Equal(got, want) {
		t.Errorf("dropped = %q, want %q", got, want)
	}
}

func TestFluxQuery(t *testing.T) {
	from := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"raw", Query{BedID: "b1", Field: "heart_rate", From: from}, `from(bucket: "carebed/autogen")
  |> range(start: 2024-05-01T00:00:00Z, stop: 2024-05-02T00:00:00Z)
  |> filter(fn: (r) => r._field == "heart_rate" and r.bed == "b1" and r._time < 2024-05-02T00:00:00Z)
`},
		{"windows", Query{BedID: "b1", Field: "spo2", From: from.Add(time.Nanosecond), Every: time.Minute}, `from(bucket: "carebed/autogen")
  |> range(start: 2024-05-01T00:00:00.000000001Z, stop: 2024-05-02T00:00:00Z)
  |> filter(fn: (r) => r._field == "spo2" and r.bed == "b1" and r._time < 2024-05-02T00:00:00Z)
  |> toFloat()
  |> group()
  |> aggregateWindow(every: 60000000000ns, fn: mean, timeSrc: "_start", createEmpty: false)
`},
		{"hostile bed id is a string", Query{BedID: `b1" or r.bed != "${x}\`, Field: "heart_rate", From: from}, `from(bucket: "carebed/autogen")
  |> range(start: 2024-05-01T00:00:00Z, stop: 2024-05-02T00:00:00Z)
  |> filter(fn: (r) => r._field == "heart_rate" and r.bed == "b1\" or r.bed != \"\${x}\\" and r._time < 2024-05-02T00:00:00Z)
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.q.check(to); err != nil {
				t.Fatalf("Query.check(%s) = %v, want nil", tt.name, err)
			}
			if got := fluxQuery("carebed/autogen", tt.q, to); got != tt.want {
				t.Errorf("fluxQuery(%s) = %s, want %s", tt.name, got, tt.want)
			}
		})
	}
}

func TestQueryCheck(t *testing.T) {
	now := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	from := now.Add(-time.Hour)
	tests := []struct {
		name string
		q    Query
		ok   bool
	}{
		{"good", Query{BedID: "b1", Field: "heart_rate", From: from}, true},
		{"digits in field", Query{BedID: "b1", Field: "spo2", From: from}, true},
		{"unicode bed", Query{BedID: "床位-01", Field: "temp_c", From: from}, true},
		{"field with quote", Query{BedID: "b1", Field: `heart_rate"`, From: from}, false},
		{"upper-case field", Query{BedID: "b1", Field: "Heart", From: from}, false},
		{"empty field", Query{BedID: "b1", From: from}, false},
		{"empty bed", Query{Field: "heart_rate", From: from}, false},
		{"control character in bed", Query{BedID: "b\n1", Field: "heart_rate", From: from}, false},
		{"no from", Query{BedID: "b1", Field: "heart_rate"}, false},
		{"from after to", Query{BedID: "b1", Field: "heart_rate", From: now, To: from}, false},
		{"negative every", Query{BedID: "b1", Field: "heart_rate", From: from, Every: -time.Second}, false},
		{"every below 1ms", Query{BedID: "b1", Field: "heart_rate", From: from, Every: time.Microsecond}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.q.check(now)
			if got := err == nil; got != tt.ok {
				t.Errorf("Query.check(%s) = %v, want ok %v", tt.name, err, tt.ok)
			}
		})
	}
}

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "-0"},
		{72, "72"},
		{-61, "-61"},
		{36.6, "36.6"},
		{0.1, "0.1"},
		{1e15, "1000000000000000"},
		{1e16, "10000000000000000"},
		{123456789.125, "123456789.125"},
		{1e-6, "0.000001"},
		{1e-7, "1e-07"},
		{1e21, "1e+21"},
		{-2.5e-9, "-2.5e-09"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{math.SmallestNonzeroFloat64, "5e-324"},
	}
	for _, tt := range tests {
		if got := string(appendFloat(nil, tt.in)); got != tt.want {
			t.Errorf("appendFloat(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Every float survives the round trip.
	for i := range 100000 {
		f := math.Float64frombits(uint64(i) * 0x9E3779B97F4A7C15)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		s := string(appendFloat(nil, f))
		if got, err := strconv.ParseFloat(s, 64); err != nil || got != f {
			t.Fatalf("ParseFloat(appendFloat(%v) = %q) = %v, %v, want %v", f, s, got, err, f)
		}
	}
}
