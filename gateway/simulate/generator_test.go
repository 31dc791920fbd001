package simulate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"carebed/devices"
)

// sent is one generated message, decoded for checking.
type sent struct {
	wall     time.Time
	topic    string
	device   string
	stream   devices.Stream
	raw      string
	retained bool
	fields   map[string]any // nil for plain-text availability
}

// generate plays the traffic of opts from start for d as Run's realistic
// cadence would, with the wall clock equal to the simulated clock, and
// returns every message.
func generate(t *testing.T, opts Options, start time.Time, d time.Duration) []sent {
	t.Helper()
	var out []sent
	each(t, opts, start, d, func(s sent) { out = append(out, s) })
	return out
}

// each is generate handing every message to f as it goes.
func each(t *testing.T, opts Options, start time.Time, d time.Duration, f func(sent)) {
	t.Helper()
	opts.Broker = "tcp://127.0.0.1:1"
	opts, err := opts.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}
	g := newGenerator(newBeds(opts, start, 0, opts.Beds), opts, start)
	end := start.Add(d)
	var buf []byte
	for {
		due, ok := g.nextDue()
		if !ok || due.After(end) {
			return
		}
		m, ok := g.next(due, buf[:0])
		if !ok {
			continue
		}
		buf = m.payload
		f(decodeSent(t, due, m))
	}
}

// decodeSent checks the topic shape and that the payload is JSON (or a
// plain availability word).
func decodeSent(t *testing.T, wall time.Time, m message) sent {
	t.Helper()
	parts := strings.Split(m.topic, "/")
	if len(parts) != 3 || parts[0] != "carebed" {
		t.Fatalf("topic %q, want carebed/<device>/<stream>", m.topic)
	}
	s := sent{wall: wall, topic: m.topic, device: parts[1], stream: devices.Stream(parts[2]), raw: string(m.payload), retained: m.retained}
	if s.stream == devices.StreamAvailability {
		return s
	}
	dec := json.NewDecoder(bytes.NewReader(m.payload))
	dec.UseNumber()
	if err := dec.Decode(&s.fields); err != nil {
		t.Fatalf("payload %s on %s is not a JSON object: %v", m.payload, m.topic, err)
	}
	if dec.More() {
		t.Fatalf("payload %s on %s has data after the object", m.payload, m.topic)
	}
	return s
}

// num returns a number field, failing when it is missing or not a number.
func (s sent) num(t *testing.T, key string) float64 {
	t.Helper()
	n, ok := s.fields[key].(json.Number)
	if !ok {
		t.Fatalf("%s %s: %q is %T, want a number", s.topic, s.raw, key, s.fields[key])
	}
	f, err := n.Float64()
	if err != nil {
		t.Fatalf("%s %s: %q: %v", s.topic, s.raw, key, err)
	}
	return f
}

func (s sent) has(key string) bool { _, ok := s.fields[key]; return ok }

// contract lists, per stream, each field the simulator may send and a
// check of its value; ts and seq are checked separately.
var contract = map[devices.Stream]map[string]func(any) bool{
	devices.StreamVitals: {
		"heart_rate": numIn(0, 0, 45, 110, 255, 255),
		"resp_rate":  numIn(0, 0, 12, 20),
		"spo2":       numIn(94, 99),
		"temp_c":     numIn(36.2, 37.2),
		"in_bed":     isBool,
		"movement":   numIn(0, 100),
	},
	devices.StreamEnv: {
		"smoke": isFalse, "gas": isFalse, "water_leak": isFalse,
		"door_open": isBool, "motion": isBool,
		"temp_c": numIn(5, 40), "humidity": numIn(10, 95),
	},
	devices.StreamStatus: {"battery": numIn(1, 100), "rssi": numIn(-100, -20), "tamper": isFalse},
	devices.StreamSOS:    {"action": oneOf("press", "cancel")},
	devices.StreamFall:   {"state": oneOf("normal", "fall")},
	devices.StreamVisit: {
		"caregiver": oneOf(visitCaregiver), "action": oneOf("check_in", "check_out"), "method": oneOf(visitMethod),
		"services": func(v any) bool { return fmt.Sprint(v) == "[0101 0103 0201]" },
	},
}

// numIn accepts an integer or decimal within any of the [lo, hi] pairs.
func numIn(bounds ...float64) func(any) bool {
	return func(v any) bool {
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		if err != nil {
			return false
		}
		for i := 0; i+1 < len(bounds); i += 2 {
			if f >= bounds[i] && f <= bounds[i+1] {
				return true
			}
		}
		return false
	}
}

func isBool(v any) bool  { _, ok := v.(bool); return ok }
func isFalse(v any) bool { return v == false }

func oneOf(vals ...string) func(any) bool {
	return func(v any) bool {
		for _, x := range vals {
			if v == x {
				return true
			}
		}
		return false
	}
}

// checkContract checks one message against the native contract, with the
// gateway's own decoder as the final word.
func checkContract(t *testing.T, s sent, wantSeq bool) {
	t.Helper()
	if s.stream == devices.StreamAvailability {
		if s.raw != "online" && s.raw != "offline" || !s.retained {
			t.Errorf("%s: %q retained=%v, want online or offline, retained", s.topic, s.raw, s.retained)
		}
		return
	}
	fields, ok := contract[s.stream]
	if !ok {
		t.Fatalf("%s: stream %q is not simulated", s.topic, s.stream)
	}
	for k, v := range s.fields {
		if k == "ts" || k == "seq" {
			continue
		}
		check, ok := fields[k]
		if !ok {
			t.Errorf("%s %s: field %q is not in the %s contract", s.topic, s.raw, k, s.stream)
		} else if !check(v) {
			t.Errorf("%s %s: field %q = %v is out of range", s.topic, s.raw, k, v)
		}
	}
	if ts := s.num(t, "ts"); ts < float64(s.wall.UnixMilli()) || ts > float64(s.wall.Add(time.Second).UnixMilli()) {
		t.Errorf("%s %s: ts %v, want the wall clock %d", s.topic, s.raw, ts, s.wall.UnixMilli())
	}
	if s.has("seq") != wantSeq {
		t.Errorf("%s %s: has seq = %v, want %v", s.topic, s.raw, s.has("seq"), wantSeq)
	}
	if _, err := devices.DecodeNative(s.stream, []byte(s.raw), s.wall); err != nil {
		t.Errorf("DecodeNative(%s, %s) = %v, want no error", s.stream, s.raw, err)
	}
}

// at is a time in Asia/Shanghai.
func at(t *testing.T, y int, m time.Month, d, hh, mm int) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatalf("load Asia/Shanghai: %v", err)
	}
	return time.Date(y, m, d, hh, mm, 0, 0, loc)
}

func TestGeneratorPayloadsFollowTheContract(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		d       time.Duration
		wantSeq bool
	}{
		{"realistic, all streams", Options{Beds: 3, Seed: 7}, 30 * time.Hour, false},
		{"paced, seq", Options{Beds: 1, Seed: 8, Rate: 10}, 24 * time.Hour, true},
		{"fast vitals", Options{Beds: 3, Seed: 9, Fast: true}, 2 * time.Hour, true},
		{"env only", Options{Beds: 2, Seed: 10, Stream: "env"}, 30 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			perStream := map[devices.Stream]int{}
			lastTS := map[string]float64{}
			each(t, tt.opts, at(t, 2026, 3, 2, 0, 0), tt.d, func(s sent) {
				checkContract(t, s, tt.wantSeq)
				perStream[s.stream]++
				if s.fields != nil {
					ts := s.num(t, "ts")
					if ts <= lastTS[s.device] {
						t.Errorf("%s: ts %v after %v, want strictly increasing per device", s.topic, ts, lastTS[s.device])
					}
					lastTS[s.device] = ts
				}
				if t.Failed() {
					t.FailNow() // one bad message is enough to read
				}
			})
			beds := float64(tt.opts.Beds)
			hours := tt.d.Hours()
			stream := tt.opts.Stream
			if tt.opts.Fast {
				stream = "vitals"
			}
			switch stream {
			case "":
				wantVitals := beds * hours * 720
				if got := float64(perStream[devices.StreamVitals]); math.Abs(got-wantVitals) > beds {
					t.Errorf("vitals messages = %v, want %v (every 5 s per bed)", got, wantVitals)
				}
				if got, want := float64(perStream[devices.StreamStatus]), beds*9*hours*2; math.Abs(got-want) > beds*9 {
					t.Errorf("status messages = %v, want about %v (every 30 min per device)", got, want)
				}
				if perStream[devices.StreamEnv] == 0 || perStream[devices.StreamFall] == 0 || perStream[devices.StreamVisit] == 0 {
					t.Errorf("messages per stream = %v, want env, fall and visit too", perStream)
				}
			case "vitals":
				if len(perStream) != 1 {
					t.Errorf("messages per stream = %v, want vitals only", perStream)
				}
			case "env":
				if len(perStream) != 1 || perStream[devices.StreamEnv] == 0 {
					t.Errorf("messages per stream = %v, want env only", perStream)
				}
			}
		})
	}
}

func TestVisitsDaily(t *testing.T) {
	const beds = 3
	start := at(t, 2026, 5, 10, 0, 0)
	checkIn := map[string]time.Time{}
	var checkIns []sent
	visits := map[string]int{}
	each(t, Options{Beds: beds, Seed: 3, Stream: "visit"}, start, 72*time.Hour, func(s sent) {
		bed := s.device[:len("bed-0001")]
		switch s.fields["action"] {
		case "check_in":
			if _, open := checkIn[bed]; open {
				t.Errorf("%s: check_in at %v while a visit is open", bed, s.wall)
			}
			checkIn[bed] = s.wall
			checkIns = append(checkIns, s)
		case "check_out":
			in, open := checkIn[bed]
			if !open {
				t.Fatalf("%s: check_out at %v without check_in", bed, s.wall)
			}
			if d := s.wall.Sub(in); d < time.Hour || d > 100*time.Minute {
				t.Errorf("%s: visit of %v, want 60-100 min", bed, d)
			}
			if h := s.wall.In(shanghai).Hour(); h < 8 || h > 19 {
				t.Errorf("%s: visit ends at %v, want by day", bed, s.wall.In(shanghai))
			}
			delete(checkIn, bed)
			visits[bed]++
		}
	})
	for n := 1; n <= beds; n++ {
		if got := visits[BedID(n)]; got != 3 {
			t.Errorf("visits to %s in 3 days = %d, want 3", BedID(n), got)
		}
	}
	// The caregiver opens the door just before checking in; the same seed
	// gives the same visits whatever the stream.
	doorOpened := map[string]bool{}
	each(t, Options{Beds: beds, Seed: 3, Stream: "env"}, start, 72*time.Hour, func(s sent) {
		if s.fields["door_open"] == true {
			doorOpened[s.device[:len("bed-0001")]+s.wall.Add(time.Minute).Format(time.RFC3339)] = true
		}
	})
	for _, in := range checkIns {
		if key := in.device[:len("bed-0001")] + in.wall.Format(time.RFC3339); !doorOpened[key] {
			t.Errorf("%s: check_in at %v without the door opening a minute before", in.device, in.wall)
		}
	}
}

func TestVitalsNightAndDay(t *testing.T) {
	tests := []struct {
		name                 string
		hour                 int
		inBedMin, inBedMax   float64
		hrMin, hrMax         float64 // mean heart rate of in-bed readings
		movementMax, glitchy float64
	}{
		{"03:00 asleep", 3, 0.85, 1, 55, 70, 10, 0.01},
		{"10:00 up", 10, 0.15, 0.6, 60, 80, 40, 0.01},
		{"15:00 up", 15, 0.15, 0.6, 60, 80, 40, 0.01},
		{"13:00 nap", 13, 0.6, 1, 60, 80, 40, 0.01},
	}
	const beds, samples = 40, 720 // an hour of readings each
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := at(t, 2026, 1, 15, tt.hour, 0)
			var inBed, n, hrSum, moveSum, hrN, glitches float64
			for i := range beds {
				b := newSimBed(42, i+1, i, start, "moderate")
				for k := range samples {
					v := b.vitals(start.Add(time.Duration(k) * vitalsEvery))
					n++
					if !v.InBed {
						if v.HeartRate != 0 || v.RespRate != 0 || v.Movement != 0 {
							t.Fatalf("empty bed reads %+v, want heart_rate 0, resp_rate 0, movement 0", v)
						}
						continue
					}
					inBed++
					moveSum += float64(v.Movement)
					if v.HeartRate == 255 {
						glitches++
						continue
					}
					hrSum += float64(v.HeartRate)
					hrN++
				}
			}
			if f := inBed / n; f < tt.inBedMin || f > tt.inBedMax {
				t.Errorf("in bed %.2f of the time, want %.2f-%.2f", f, tt.inBedMin, tt.inBedMax)
			}
			if hr := hrSum / hrN; hr < tt.hrMin || hr > tt.hrMax {
				t.Errorf("mean heart rate %.1f, want %v-%v", hr, tt.hrMin, tt.hrMax)
			}
			if m := moveSum / inBed; m > tt.movementMax {
				t.Errorf("mean movement %.1f, want at most %v", m, tt.movementMax)
			}
			if g := glitches / inBed; g > tt.glitchy {
				t.Errorf("255 glitches in %.3f of readings, want at most %v", g, tt.glitchy)
			}
		})
	}
	// Night against day for the same beds.
	mean := func(hour int) float64 {
		start := at(t, 2026, 1, 15, hour, 0)
		var sum, n float64
		for i := range beds {
			b := newSimBed(42, i+1, i, start, "total") // bedridden: in bed by day too
			for k := range samples {
				if v := b.vitals(start.Add(time.Duration(k) * vitalsEvery)); v.InBed && v.HeartRate != 255 {
					sum += float64(v.HeartRate)
					n++
				}
			}
		}
		return sum / n
	}
	if night, day := mean(3), mean(16); night > day-4 {
		t.Errorf("mean heart rate at 03:00 = %.1f, at 16:00 = %.1f; want the night at least 4 bpm lower", night, day)
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	start := at(t, 2026, 7, 1, 8, 0)
	render := func(seed int64, beds int) []string {
		var out []string
		for _, s := range generate(t, Options{Beds: beds, Seed: seed}, start, 3*time.Hour) {
			out = append(out, s.topic+" "+s.raw)
		}
		return out
	}
	a, b, c := render(5, 3), render(5, 3), render(6, 3)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("two runs with seed 5 differ")
	}
	if strings.Join(a, "\n") == strings.Join(c, "\n") {
		t.Errorf("seeds 5 and 6 give the same traffic")
	}
	// A bed's traffic does not depend on how many beds run.
	only := func(msgs []string, bed string) []string {
		var out []string
		for _, m := range msgs {
			if strings.HasPrefix(m, "carebed/"+bed+"-") {
				out = append(out, m)
			}
		}
		return out
	}
	if x, y := only(a, "bed-0002"), only(render(5, 6), "bed-0002"); strings.Join(x, "\n") != strings.Join(y, "\n") {
		t.Errorf("bed-0002 sends %d messages with 3 beds and %d with 6, or different ones", len(x), len(y))
	}
}

func TestScenarios(t *testing.T) {
	start := at(t, 2026, 2, 3, 2, 30) // 02:30, a night
	tests := []struct {
		scenario string
		stream   string
		d        time.Duration
		check    func(t *testing.T, first, other []sent)
	}{
		{ScenarioFallAtNight, "", 30 * time.Minute, func(t *testing.T, first, other []sent) {
			if len(first) == 0 || first[0].topic != "carebed/bed-0001-fall/fall" || first[0].fields["state"] != "fall" || !first[0].wall.Equal(start) {
				t.Fatalf("first message of bed-0001 = %+v, want fall at the start", first[0])
			}
			for _, s := range first {
				switch {
				case s.stream == devices.StreamVitals && (s.fields["in_bed"] != false || s.num(t, "heart_rate") != 0):
					t.Errorf("%v: vitals %s, want an empty bed", s.wall, s.raw)
				case s.fields["motion"] == true || s.has("door_open") || s.stream == devices.StreamVisit:
					t.Errorf("%v: %s %s, want no sign of life", s.wall, s.topic, s.raw)
				case s.stream == devices.StreamFall && s.fields["state"] != "fall":
					t.Errorf("%v: fall state %s, want fall until help comes", s.wall, s.raw)
				}
			}
		}},
		{ScenarioSOS, "", 5 * time.Minute, func(t *testing.T, first, other []sent) {
			var got []string
			for _, s := range first {
				if s.stream == devices.StreamSOS {
					got = append(got, fmt.Sprintf("%v %v", s.fields["action"], s.wall.Sub(start)))
				}
			}
			if want := []string{"press 0s", "cancel 2m0s"}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("SOS of bed-0001 = %v, want %v", got, want)
			}
		}},
		{ScenarioVitalsDecline, "", 15 * time.Minute, func(t *testing.T, first, other []sent) {
			prev := 100.0
			var last sent
			for _, s := range first {
				if s.stream != devices.StreamVitals {
					continue
				}
				spo2, hr := s.num(t, "spo2"), s.num(t, "heart_rate")
				if s.fields["in_bed"] != true || spo2 > prev {
					t.Errorf("%v: %s, want in bed with SpO2 not rising", s.wall.Sub(start), s.raw)
				}
				if el := s.wall.Sub(start); el < 5*time.Second && (spo2 != 97 || hr > 80) {
					t.Errorf("at the start: %s, want spo2 97 and heart rate about 75", s.raw)
				}
				prev, last = spo2, s
			}
			if last.num(t, "spo2") != 88 || last.num(t, "heart_rate") < 132 {
				t.Errorf("after 15 min: %s, want spo2 88 and heart rate about 135", last.raw)
			}
		}},
		{ScenarioDeviceSilent, "", 2 * time.Hour, func(t *testing.T, first, other []sent) {
			var offline bool
			var vitals int
			for _, s := range first {
				if !strings.HasPrefix(s.device, "bed-0001-vitals") {
					continue
				}
				switch {
				case s.stream == devices.StreamAvailability:
					if s.raw != "offline" || !s.retained || s.wall.Sub(start) != time.Minute {
						t.Errorf("%v: availability %q retained=%v, want offline, retained, after 1 min", s.wall.Sub(start), s.raw, s.retained)
					}
					offline = true
				case s.wall.Sub(start) >= time.Minute:
					t.Errorf("%v: %s %s after going silent", s.wall.Sub(start), s.topic, s.raw)
				default:
					vitals++
				}
			}
			if !offline || vitals < 10 {
				t.Errorf("offline = %v after %d messages, want offline after about 12", offline, vitals)
			}
		}},
		{ScenarioMissedVisit, "visit", 72 * time.Hour, func(t *testing.T, first, other []sent) {
			for _, s := range first {
				if s.stream == devices.StreamVisit {
					t.Errorf("%v: bed-0001 visit %s, want none", s.wall, s.raw)
				}
			}
			var visits int
			for _, s := range other {
				if s.stream == devices.StreamVisit {
					visits++
				}
			}
			if visits != 6 {
				t.Errorf("bed-0002 has %d visit messages in 3 days, want 6", visits)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			var first, other []sent
			for _, s := range generate(t, Options{Beds: 2, Seed: 11, Scenario: tt.scenario, Stream: tt.stream}, start, tt.d) {
				if s.stream != devices.StreamAvailability || s.raw != "offline" {
					checkContractScenario(t, s)
				}
				if strings.HasPrefix(s.device, "bed-0001-") {
					first = append(first, s)
				} else {
					other = append(other, s)
				}
			}
			tt.check(t, first, other)
			if tt.stream != "" {
				return
			}
			// The other bed goes on as usual.
			var vitals int
			for _, s := range other {
				if s.stream == devices.StreamVitals {
					vitals++
				}
			}
			if want := int(tt.d / vitalsEvery); vitals < want-1 || vitals > want+1 {
				t.Errorf("bed-0002 sent %d vitals, want %d", vitals, want)
			}
		})
	}
}

// checkContractScenario checks a scenario's message with the gateway's
// decoder only: scripted incidents leave the everyday ranges.
func checkContractScenario(t *testing.T, s sent) {
	t.Helper()
	if s.stream == devices.StreamAvailability {
		return
	}
	if _, err := devices.DecodeNative(s.stream, []byte(s.raw), s.wall); err != nil {
		t.Errorf("DecodeNative(%s, %s) = %v, want no error", s.stream, s.raw, err)
	}
}

func TestScenarioStepsFollowTheStream(t *testing.T) {
	start := at(t, 2026, 2, 3, 9, 0)
	tests := []struct {
		scenario, stream string
		wantTopic        string // "" for no step at all
	}{
		{ScenarioSOS, "vitals", ""},
		{ScenarioSOS, "sos", "carebed/bed-0001-sos/sos"},
		{ScenarioFallAtNight, "vitals", ""},
		{ScenarioFallAtNight, "fall", "carebed/bed-0001-fall/fall"},
		{ScenarioDeviceSilent, "vitals", "carebed/bed-0001-vitals/availability"},
		{ScenarioDeviceSilent, "env", ""},
	}
	for _, tt := range tests {
		t.Run(tt.scenario+" "+tt.stream, func(t *testing.T) {
			// The steps are the messages outside the selected stream (the
			// availability step) and the scripted press or fall, which come
			// before any ambient SOS or fall message.
			var got []string
			for _, s := range generate(t, Options{Beds: 1, Scenario: tt.scenario, Stream: tt.stream}, start, 3*time.Minute) {
				scripted := s.fields["action"] == "press" || s.fields["state"] == "fall"
				if s.stream != devices.Stream(tt.stream) || scripted {
					got = append(got, s.topic)
				}
			}
			want := []string(nil)
			if tt.wantTopic != "" {
				want = []string{tt.wantTopic}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("scripted messages = %v, want %v", got, want)
			}
		})
	}
}
