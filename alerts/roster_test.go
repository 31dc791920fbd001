package alerts

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has

	"github.com/robfig/cron/v3"
)

func loadZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q) = %v, want a zone", name, err)
	}
	return loc
}

func TestDutyValidate(t *testing.T) {
	start, end := atRef(0), atRef(8*time.Hour)
	ok := Duty{AgencyID: "ag-1", PersonID: "p-1", Target: TargetDispatcher, Cron: "0 8 * * *", Length: Duration(8 * time.Hour)}
	with := func(f func(*Duty)) Duty { d := ok; f(&d); return d }
	tests := []struct {
		name string
		d    Duty
		want []string // substrings of the error; none means valid
	}{
		{name: "recurring shift", d: ok},
		{name: "descriptor", d: with(func(d *Duty) { d.Cron = "@daily" })},
		{name: "weekday ranges", d: with(func(d *Duty) { d.Cron = "30 20 * * MON-FRI"; d.Beds = []string{"bed-1"} })},
		{name: "shortest and longest", d: with(func(d *Duty) { d.Length = Duration(time.Minute) })},
		{name: "a week", d: with(func(d *Duty) { d.Length = Duration(7 * 24 * time.Hour) })},
		{name: "explicit period", d: with(func(d *Duty) { d.Cron, d.Length, d.Start, d.End = "", 0, &start, &end })},
		{name: "no agency", d: with(func(d *Duty) { d.AgencyID = "" }), want: []string{"agency_id: empty"}},
		{name: "no person", d: with(func(d *Duty) { d.PersonID = "" }), want: []string{"person_id: empty"}},
		{name: "family", d: with(func(d *Duty) { d.Target = TargetFamily }), want: []string{"target: family", "primary_caregiver, backup_caregiver, dispatcher, manager"}},
		{name: "unknown target", d: with(func(d *Duty) { d.Target = "nurse" }), want: []string{`target: "nurse"`}},
		{name: "empty bed", d: with(func(d *Duty) { d.Beds = []string{"bed-1", ""} }), want: []string{"beds[1]: empty"}},
		{name: "bad cron", d: with(func(d *Duty) { d.Cron = "0 25 * * *" }), want: []string{`cron: "0 25 * * *"`, "5 fields"}},
		{name: "six fields", d: with(func(d *Duty) { d.Cron = "0 0 8 * * *" }), want: []string{"cron:"}},
		{name: "every", d: with(func(d *Duty) { d.Cron = "@every 8h" }), want: []string{"a delay, not a shift start"}},
		{name: "zone prefix", d: with(func(d *Duty) { d.Cron = "TZ=UTC 0 8 * * *" }), want: []string{"names a zone"}},
		{name: "no length", d: with(func(d *Duty) { d.Length = 0 }), want: []string{"length: 0s is out of range", "such as \"8h\""}},
		{name: "no cron", d: with(func(d *Duty) { d.Cron = "" }), want: []string{"cron: empty"}},
		{name: "length too short", d: with(func(d *Duty) { d.Length = Duration(59 * time.Second) }), want: []string{"length: 59s"}},
		{name: "length too long", d: with(func(d *Duty) { d.Length = Duration(7*24*time.Hour + time.Second) }), want: []string{"length: 168h0m1s"}},
		{name: "both kinds", d: with(func(d *Duty) { d.Start = &start }), want: []string{"not both"}},
		{name: "neither kind", d: with(func(d *Duty) { d.Cron, d.Length = "", 0 }), want: []string{"no shift"}},
		{name: "start only", d: with(func(d *Duty) { d.Cron, d.Length, d.Start = "", 0, &start }), want: []string{"end: empty"}},
		{name: "end only", d: with(func(d *Duty) { d.Cron, d.Length, d.End = "", 0, &end }), want: []string{"start: empty"}},
		{name: "end before start", d: with(func(d *Duty) { d.Cron, d.Length, d.Start, d.End = "", 0, &end, &start }), want: []string{"end: 2026-11-03T10:00:00Z is not after start"}},
		{name: "empty period", d: with(func(d *Duty) { d.Cron, d.Length, d.Start, d.End = "", 0, &start, &start }), want: []string{"is not after start"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Validate()
			if (err != nil) != (len(tt.want) > 0) {
				t.Fatalf("Validate(%s) = %v, want error %v", jsonOf(tt.d), err, len(tt.want) > 0)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%s) = %q, want it to contain %q", jsonOf(tt.d), err, w)
				}
			}
		})
	}
}

func TestDutyOnDuty(t *testing.T) {
	sh := loadZone(t, "Asia/Shanghai")
	ny := loadZone(t, "America/New_York")
	shanghai := func(s string) time.Time { return wallTime(t, s, sh) }
	newYork := func(s string) time.Time { return wallTime(t, s, ny) }
	utc := func(s string) time.Time { return wallTime(t, s, time.UTC) }
	shift := func(spec string, length time.Duration) Duty {
		return Duty{AgencyID: "ag-1", PersonID: "p-1", Target: TargetDispatcher, Cron: spec, Length: Duration(length)}
	}
	period := func(from, to time.Time) Duty {
		return Duty{AgencyID: "ag-1", PersonID: "p-1", Target: TargetDispatcher, Start: &from, End: &to}
	}
	night := shift("0 22 * * *", 10*time.Hour) // 22:00 to 08:00
	tests := []struct {
		name string
		d    Duty
		zone *time.Location
		now  time.Time
		want bool
	}{
		// A night shift across midnight in Shanghai (no DST).
		{"night: a second before it starts", night, sh, shanghai("2026-11-03 21:59:59"), false},
		{"night: as it starts", night, sh, shanghai("2026-11-03 22:00:00"), true},
		{"night: at midnight", night, sh, shanghai("2026-11-04 00:00:00"), true},
		{"night: the next morning", night, sh, shanghai("2026-11-04 07:59:59.999"), true},
		{"night: as it ends", night, sh, shanghai("2026-11-04 08:00:00"), false},
		{"night: midday", night, sh, shanghai("2026-11-04 12:00:00"), false},
		{"night: read in UTC it is another shift", night, time.UTC, shanghai("2026-11-04 02:00:00"), false},
		{"night: same instant in UTC", night, sh, utc("2026-11-03 18:00:00"), true},
		{"nil zone is UTC", night, nil, utc("2026-11-03 23:00:00"), true},
		// Weekdays: the Friday night shift runs into Saturday, none starts on Saturday.
		{"weekday night into Saturday", shift("0 20 * * 1-5", 12*time.Hour), sh, shanghai("2026-11-07 07:00:00"), true}, // Saturday
		{"no shift starts on Saturday", shift("0 20 * * 1-5", 12*time.Hour), sh, shanghai("2026-11-07 21:00:00"), false},
		{"Sunday night into Monday", shift("0 20 * * SUN", 12*time.Hour), sh, shanghai("2026-11-09 07:59:00"), true},
		{"a week-long shift from Monday", shift("0 9 * * 1", 7*24*time.Hour), sh, shanghai("2026-11-08 23:00:00"), true},
		{"monthly shift, first day", shift("0 0 1 * *", 24*time.Hour), sh, shanghai("2026-11-01 23:59:59"), true},
		{"monthly shift, second day", shift("0 0 1 * *", 24*time.Hour), sh, shanghai("2026-11-02 00:00:00"), false},
		// Many starts in the search window (the bisecting search).
		{"every 10 min for 1 min: inside", shift("*/10 * * * *", time.Minute), sh, shanghai("2026-11-03 10:10:59"), true},
		{"every 10 min for 1 min: outside", shift("*/10 * * * *", time.Minute), sh, shanghai("2026-11-03 10:11:00"), false},
		{"every minute for a week", shift("* * * * *", 7*24*time.Hour), sh, shanghai("2026-11-03 10:10:30"), true},
		{"hourly half hours: inside", shift("0 * * * *", 30*time.Minute), sh, shanghai("2026-11-03 10:29:59"), true},
		{"hourly half hours: outside", shift("0 * * * *", 30*time.Minute), sh, shanghai("2026-11-03 10:30:00"), false},
		// New York: the night shift keeps its wall-clock end when the clocks change.
		{"spring forward: 7 real hours, still on at 05:59 EDT", shift("0 22 * * *", 8*time.Hour), ny, newYork("2026-03-08 05:59:59"), true},
		{"spring forward: off at 06:00 EDT", shift("0 22 * * *", 8*time.Hour), ny, newYork("2026-03-08 06:00:00"), false},
		{"spring forward: the morning shift starts at 06:00 EDT", shift("0 6 * * *", 16*time.Hour), ny, newYork("2026-03-08 06:00:00"), true},
		{"fall back: 9 real hours, still on at 05:30 EST", shift("0 22 * * *", 8*time.Hour), ny, utc("2026-11-01 10:30:00"), true},
		{"fall back: off at 06:00 EST", shift("0 22 * * *", 8*time.Hour), ny, utc("2026-11-01 11:00:00"), false},
		{"fall back: the repeated hour, first time", shift("0 22 * * *", 8*time.Hour), ny, utc("2026-11-01 05:30:00"), true},  // 01:30 EDT
		{"fall back: the repeated hour, second time", shift("0 22 * * *", 8*time.Hour), ny, utc("2026-11-01 06:30:00"), true}, // 01:30 EST
		{"fall back: the day shift ends at 22:00 EST", shift("0 6 * * *", 16*time.Hour), ny, newYork("2026-11-01 21:59:59"), true},
		{"cron library limit: a start in the skipped hour does not happen", shift("30 2 * * *", 2*time.Hour), ny, newYork("2026-03-08 03:45:00"), false},
		// Explicit periods are half open.
		{"period: at its start", period(atRef(0), atRef(time.Hour)), sh, atRef(0), true},
		{"period: just before its end", period(atRef(0), atRef(time.Hour)), sh, atRef(time.Hour - time.Nanosecond), true},
		{"period: at its end", period(atRef(0), atRef(time.Hour)), sh, atRef(time.Hour), false},
		{"period: before", period(atRef(0), atRef(time.Hour)), sh, atRef(-time.Second), false},
		// Entries that do not validate cover nothing.
		{"bad cron", shift("0 25 * * *", time.Hour), sh, atRef(0), false},
		{"every", shift("@every 1m", time.Hour), sh, atRef(0), false},
		{"no length", shift("* * * * *", 0), sh, atRef(0), false},
		{"half a period", Duty{Start: timePtr(atRef(0))}, sh, atRef(time.Minute), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.OnDuty(tt.now, tt.zone); got != tt.want {
				t.Errorf("OnDuty(%s, %s in %v) = %v, want %v", jsonOf(tt.d), tt.now.Format(time.RFC3339Nano), tt.zone, got, tt.want)
			}
		})
	}
}

func wallTime(t *testing.T, s string, loc *time.Location) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, loc)
	if err != nil {
		t.Fatalf("ParseInLocation(%q) = %v, want a time", s, err)
	}
	return v
}

// TestLastActivation compares the search with a walk over every
// activation, on schedules dense and sparse, in zones with and without DST.
func TestLastActivation(t *testing.T) {
	specs := []string{"* * * * *", "*/7 * * * *", "0 * * * *", "0 22 * * *", "30 1 * * *", "0 8 * * 1-5", "15 3 1,15 * *", "0 0 29 2 *"}
	zones := []*time.Location{loadZone(t, "Asia/Shanghai"), loadZone(t, "America/New_York")}
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, spec := range specs {
		sched, err := cron.ParseStandard(spec)
		if err != nil {
			t.Fatalf("ParseStandard(%q) = %v", spec, err)
		}
		for i := range 120 {
			loc := zones[i%len(zones)]
			now := base.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour)))).In(loc)
			window := time.Duration(1+rng.Int64N(int64(26*time.Hour))) + dstMargin
			from := now.Add(-window)
			want, wantOK := time.Time{}, false
			for n := sched.Next(from); !n.IsZero() && !n.After(now); n = sched.Next(n) {
				want, wantOK = n, true
			}
			got, ok := lastActivation(sched, from, now)
			if ok != wantOK || !got.Equal(want) {
				t.Fatalf("lastActivation(%q, %s, %s) = %s, %v, want %s, %v", spec, from, now, got, ok, want, wantOK)
			}
		}
	}
}

func TestCoversBed(t *testing.T) {
	tests := []struct {
		name string
		beds []string
		bed  string
		want bool
	}{
		{"no beds means every bed", nil, "bed-1", true},
		{"listed", []string{"bed-1", "bed-2"}, "bed-2", true},
		{"not listed", []string{"bed-1", "bed-2"}, "bed-3", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Duty{Beds: tt.beds}).CoversBed(tt.bed); got != tt.want {
				t.Errorf("CoversBed(%v, %q) = %v, want %v", tt.beds, tt.bed, got, tt.want)
			}
		})
	}
}

func TestDutiesOnDuty(t *testing.T) {
	sh := loadZone(t, "Asia/Shanghai")
	day := func(id string, tg Target, beds ...string) Duty {
		return Duty{AgencyID: "ag-1", PersonID: id, Target: tg, Beds: beds, Cron: "0 8 * * *", Length: Duration(12 * time.Hour)}
	}
	nightShift := day("p-night", TargetPrimaryCaregiver)
	nightShift.Cron = "0 20 * * *"
	other := day("p-other", TargetPrimaryCaregiver)
	other.AgencyID = "ag-2"
	roster := Duties{Zone: sh, List: []Duty{
		day("p-zhao", TargetPrimaryCaregiver, "bed-1", "bed-2"),
		day("p-an", TargetPrimaryCaregiver, "bed-1"),
		day("p-zhao", TargetPrimaryCaregiver), // listed twice
		day("p-qian", TargetPrimaryCaregiver, "bed-3"),
		day("p-sun", TargetDispatcher),
		nightShift,
		other,
	}}
	noon := wallTime(t, "2026-11-03 12:00:00", sh)
	night := wallTime(t, "2026-11-03 23:00:00", sh)
	alert := func(agency, bed string) Alert { return Alert{AgencyID: agency, BedID: bed} }
	tests := []struct {
		name string
		tg   Target
		a    Alert
		now  time.Time
		want []string
	}{
		{"sorted and deduplicated", TargetPrimaryCaregiver, alert("ag-1", "bed-1"), noon, []string{"p-an", "p-zhao"}},
		{"bed filter", TargetPrimaryCaregiver, alert("ag-1", "bed-3"), noon, []string{"p-qian", "p-zhao"}},
		{"target filter", TargetDispatcher, alert("ag-1", "bed-1"), noon, []string{"p-sun"}},
		{"shift filter", TargetPrimaryCaregiver, alert("ag-1", "bed-1"), night, []string{"p-night"}},
		{"agency filter", TargetPrimaryCaregiver, alert("ag-2", "bed-1"), noon, []string{"p-other"}},
		{"nobody", TargetManager, alert("ag-1", "bed-1"), noon, nil},
		{"family", TargetFamily, alert("ag-1", "bed-1"), night, []string{"family:bed-1"}},
		{"family of no bed", TargetFamily, alert("ag-1", ""), night, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roster.OnDuty(tt.tg, tt.a, tt.now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("OnDuty(%s, %s, %s) = %q, want %q", tt.tg, jsonOf(tt.a), tt.now, got, tt.want)
			}
		})
	}
}
