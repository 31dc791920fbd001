package alerts

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// mapRoster is a roster that ignores time: the people of each target.
type mapRoster map[Target][]string

func (f mapRoster) OnDuty(t Target, a Alert, now time.Time) []string {
	if t == TargetFamily {
		return []string{"family:" + a.BedID}
	}
	return f[t]
}

var staffedRoster = mapRoster{
	TargetPrimaryCaregiver: {"p-cg1", "p-cg2"},
	TargetBackupCaregiver:  {"p-cg3"},
	TargetDispatcher:       {"p-d1"},
	TargetManager:          {"p-m1"},
}

func TestEscalate(t *testing.T) {
	now := atRef(10 * time.Minute)
	base := func(sev Severity, level int, next *time.Time) Alert {
		return Alert{ID: 42, AgencyID: "ag-1", BedID: "bed-1", Kind: KindVitals, Severity: sev, State: Open,
			RaisedAt: refTime, LastSeen: refTime, Count: 1, EscalationLevel: level, NextEscalation: next}
	}
	with := func(a Alert, f func(*Alert)) Alert { f(&a); return a }
	req := func(person string, tg Target, level int, reason Action) Request {
		return Request{AlertID: 42, PersonID: person, Target: tg, Level: level, Reason: reason, At: now}
	}
	step := func(act Action, note string) Transition { return sysEntry(42, 10*time.Minute, act, Open, note) }
	nowPlus := func(d time.Duration) *time.Time { return timePtr(now.Add(d)) }
	custom := Policy{AgencyID: "ag-1", RepeatEvery: Duration(2 * time.Minute), Steps: []Step{
		{Target: TargetPrimaryCaregiver, Critical: Duration(30 * time.Second), Major: Duration(2 * time.Minute)},
		{Target: TargetDispatcher},
	}}

	tests := []struct {
		name      string
		in        Alert
		policy    Policy
		roster    Roster
		want      Alert
		wantReqs  []Request
		wantTrail []Transition
	}{
		{
			name: "new critical alert calls step 0 and waits 60 s", in: base(Critical, 0, nil), roster: staffedRoster,
			want: base(Critical, 0, nowPlus(time.Minute)),
			wantReqs: []Request{
				req("p-cg1", TargetPrimaryCaregiver, 0, ActionRaised),
				req("p-cg2", TargetPrimaryCaregiver, 0, ActionRaised),
			},
		},
		{
			name: "new major alert waits 5 min", in: base(Major, 0, nil), roster: mapRoster{TargetPrimaryCaregiver: {"p-cg1"}},
			want: base(Major, 0, nowPlus(5*time.Minute)), wantReqs: []Request{req("p-cg1", TargetPrimaryCaregiver, 0, ActionRaised)},
		},
		{
			name: "new minor alert waits 30 min", in: base(Minor, 0, nil), roster: mapRoster{TargetPrimaryCaregiver: {"p-cg1"}},
			want: base(Minor, 0, nowPlus(30*time.Minute)), wantReqs: []Request{req("p-cg1", TargetPrimaryCaregiver, 0, ActionRaised)},
		},
		{
			name: "policy timeouts", in: base(Major, 0, nil), policy: custom, roster: mapRoster{TargetPrimaryCaregiver: {"p-cg1"}},
			want: base(Major, 0, nowPlus(2*time.Minute)), wantReqs: []Request{req("p-cg1", TargetPrimaryCaregiver, 0, ActionRaised)},
		},
		{
			name: "renotified alert starts again at step 0", in: with(base(Critical, 0, nil), func(a *Alert) { a.Count = 3 }), roster: staffedRoster,
			want: with(base(Critical, 0, nowPlus(time.Minute)), func(a *Alert) { a.Count = 3 }),
			wantReqs: []Request{
				req("p-cg1", TargetPrimaryCaregiver, 0, ActionRenotified),
				req("p-cg2", TargetPrimaryCaregiver, 0, ActionRenotified),
			},
		},
		{
			name: "not due a nanosecond before", in: base(Critical, 0, nowPlus(time.Nanosecond)), roster: staffedRoster,
			want: base(Critical, 0, nowPlus(time.Nanosecond)),
		},
		{
			name: "due exactly at NextEscalation", in: base(Critical, 0, timePtr(now)), roster: staffedRoster,
			want:      base(Critical, 1, nowPlus(time.Minute)),
			wantReqs:  []Request{req("p-cg3", TargetBackupCaregiver, 1, ActionEscalated)},
			wantTrail: []Transition{step(ActionEscalated, "escalated to backup_caregiver (step 2 of 5): 1 person notified")},
		},
		{
			name: "a late call moves one step and gives it a full timeout", in: base(Major, 1, timePtr(refTime)), roster: staffedRoster,
			want:      base(Major, 2, nowPlus(5*time.Minute)),
			wantReqs:  []Request{req("p-d1", TargetDispatcher, 2, ActionEscalated)},
			wantTrail: []Transition{step(ActionEscalated, "escalated to dispatcher (step 3 of 5): 1 person notified")},
		},
		{
			name: "a step with nobody on duty is passed at once", in: base(Critical, 0, timePtr(now)),
			roster: mapRoster{TargetPrimaryCaregiver: {"p-cg1"}, TargetDispatcher: {"p-d1", "p-d2"}},
			want:   base(Critical, 2, nowPlus(time.Minute)),
			wantReqs: []Request{
				req("p-d1", TargetDispatcher, 2, ActionEscalated),
				req("p-d2", TargetDispatcher, 2, ActionEscalated),
			},
			wantTrail: []Transition{
				step(ActionNoted, "nobody on duty for backup_caregiver"),
				step(ActionEscalated, "escalated to dispatcher (step 3 of 5): 2 people notified"),
			},
		},
		{
			name: "a new alert with nobody at step 0 goes to step 1", in: base(Major, 0, nil), roster: mapRoster{TargetBackupCaregiver: {"p-cg3"}},
			want:     base(Major, 1, nowPlus(5*time.Minute)),
			wantReqs: []Request{req("p-cg3", TargetBackupCaregiver, 1, ActionRaised)},
			wantTrail: []Transition{
				step(ActionNoted, "nobody on duty for primary_caregiver"),
				step(ActionEscalated, "escalated to backup_caregiver (step 2 of 5): 1 person notified"),
			},
		},
		{
			name: "critical past the last step repeats it every RepeatEvery", in: base(Critical, 1, timePtr(now)), policy: custom, roster: staffedRoster,
			want:      base(Critical, 1, nowPlus(2*time.Minute)),
			wantReqs:  []Request{req("p-d1", TargetDispatcher, 1, ActionRepeated)},
			wantTrail: []Transition{step(ActionEscalated, "repeated dispatcher (step 2 of 2): 1 person notified")},
		},
		{
			name: "critical repeat defaults to the last step's timeout", in: base(Critical, 4, timePtr(now)), roster: staffedRoster,
			want:      base(Critical, 4, nowPlus(time.Minute)),
			wantReqs:  []Request{req("family:bed-1", TargetFamily, 4, ActionRepeated)},
			wantTrail: []Transition{step(ActionEscalated, "repeated family (step 5 of 5): 1 person notified")},
		},
		{
			name: "critical beyond a policy that shrank repeats its last step", in: base(Critical, 4, timePtr(now)), policy: custom, roster: staffedRoster,
			want:      base(Critical, 1, nowPlus(2*time.Minute)),
			wantReqs:  []Request{req("p-d1", TargetDispatcher, 1, ActionRepeated)},
			wantTrail: []Transition{step(ActionEscalated, "repeated dispatcher (step 2 of 2): 1 person notified")},
		},
		{
			name: "major past the last step stops", in: base(Major, 4, timePtr(now)), roster: staffedRoster,
			want:      base(Major, 5, nil),
			wantTrail: []Transition{step(ActionNoted, "no acknowledgement after the last step (family); escalation stopped")},
		},
		{
			name: "stopped escalation stays stopped", in: base(Minor, 5, nil), roster: staffedRoster,
			want: base(Minor, 5, nil),
		},
		{
			name: "critical with nobody on duty anywhere tries again later", in: base(Critical, 0, nil), policy: custom, roster: mapRoster{},
			want: base(Critical, 1, nowPlus(2*time.Minute)),
			wantTrail: []Transition{
				step(ActionNoted, "nobody on duty for primary_caregiver"),
				step(ActionNoted, "nobody on duty for dispatcher"),
			},
		},
		{
			name: "major with nobody on duty in the later steps stops", in: base(Major, 0, timePtr(now)), policy: custom, roster: mapRoster{},
			want: base(Major, 2, nil),
			wantTrail: []Transition{
				step(ActionNoted, "nobody on duty for dispatcher"),
				step(ActionNoted, "no later step has anyone on duty; escalation stopped"),
			},
		},
		{
			name: "a policy without steps is the default policy", in: base(Critical, 0, timePtr(now)), policy: Policy{AgencyID: "ag-1"}, roster: staffedRoster,
			want:      base(Critical, 1, nowPlus(time.Minute)),
			wantReqs:  []Request{req("p-cg3", TargetBackupCaregiver, 1, ActionEscalated)},
			wantTrail: []Transition{step(ActionEscalated, "escalated to backup_caregiver (step 2 of 5): 1 person notified")},
		},
		{
			name: "a roster that repeats a person pages them once", in: base(Critical, 0, nil),
			roster:   mapRoster{TargetPrimaryCaregiver: {"p-cg1", "", "p-cg1"}},
			want:     base(Critical, 0, nowPlus(time.Minute)),
			wantReqs: []Request{req("p-cg1", TargetPrimaryCaregiver, 0, ActionRaised)},
		},
		{
			name: "an unknown severity escalates like a critical one", in: base("", 0, nil), roster: mapRoster{TargetPrimaryCaregiver: {"p-cg1"}},
			want: base("", 0, nowPlus(time.Minute)), wantReqs: []Request{req("p-cg1", TargetPrimaryCaregiver, 0, ActionRaised)},
		},
		{
			name: "acknowledged alert is not escalated", in: with(base(Critical, 1, timePtr(now)), func(a *Alert) { a.State = Acknowledged }), roster: staffedRoster,
			want: with(base(Critical, 1, nil), func(a *Alert) { a.State = Acknowledged }),
		},
		{
			name: "resolved alert is not escalated", in: with(base(Critical, 0, nil), func(a *Alert) { a.State = Resolved }), roster: staffedRoster,
			want: with(base(Critical, 0, nil), func(a *Alert) { a.State = Resolved }),
		},
		{
			name: "silenced alert pages nobody", in: with(base(Critical, 0, nil), func(a *Alert) { a.Silenced = true }), roster: staffedRoster,
			want: with(base(Critical, 0, nil), func(a *Alert) { a.Silenced = true }),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.policy
			if p.Steps == nil && p.AgencyID == "" {
				p = DefaultPolicy("ag-1")
			}
			got, reqs, trail := Escalate(tt.in, p, tt.roster, now)
			if !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(reqs, tt.wantReqs) || !reflect.DeepEqual(trail, tt.wantTrail) {
				t.Errorf("Escalate(%s, %s) =\n %s\n %s\n %s\nwant\n %s\n %s\n %s", jsonOf(tt.in), jsonOf(p),
					jsonOf(got), jsonOf(reqs), jsonOf(trail), jsonOf(tt.want), jsonOf(tt.wantReqs), jsonOf(tt.wantTrail))
			}
			for _, tr := range trail {
				if strings.Contains(tr.Note, "p-") {
					t.Errorf("Escalate(%s) trail note %q names a person", jsonOf(tt.in), tr.Note)
				}
			}
		})
	}
}

// TestEscalateRun follows one critical alert through the default policy
// from its raise to its acknowledgement, calling Escalate every 10 s like
// the scheduler does.
func TestEscalateRun(t *testing.T) {
	a := Alert{ID: 1, AgencyID: "ag-1", BedID: "bed-9", Kind: KindSOS, Severity: Critical, State: Open, RaisedAt: refTime, Count: 1}
	p := DefaultPolicy("ag-1")
	type call struct {
		at     time.Duration
		level  int
		reason Action
	}
	var got []call
	for d := time.Duration(0); d <= 7*time.Minute; d += 10 * time.Second {
		var reqs []Request
		a, reqs, _ = Escalate(a, p, staffedRoster, atRef(d))
		for _, r := range reqs {
			got = append(got, call{d, r.Level, r.Reason})
		}
		if d == 6*time.Minute+30*time.Second {
			var err error
			if a, _, err = Acknowledge(a, "p-d1", "", atRef(d)); err != nil {
				t.Fatalf("Acknowledge(%s) = %v, want no error", jsonOf(a), err)
			}
		}
	}
	want := []call{
		{0, 0, ActionRaised}, {0, 0, ActionRaised},
		{time.Minute, 1, ActionEscalated},
		{2 * time.Minute, 2, ActionEscalated},
		{3 * time.Minute, 3, ActionEscalated},
		{4 * time.Minute, 4, ActionEscalated},
		{5 * time.Minute, 4, ActionRepeated},
		{6 * time.Minute, 4, ActionRepeated},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Escalate every 10 s, acknowledged at 6m30s: requests %v, want %v", got, want)
	}
	if a.State != Acknowledged || a.NextEscalation != nil {
		t.Errorf("Escalate after Acknowledge = %s, want acknowledged with no next escalation", jsonOf(a))
	}
}

func TestPolicyTimeout(t *testing.T) {
	p := Policy{Steps: []Step{
		{Target: TargetPrimaryCaregiver, Critical: Duration(20 * time.Second)},
		{Target: TargetDispatcher, Major: Duration(3 * time.Minute), Minor: Duration(time.Hour)},
	}}
	tests := []struct {
		name string
		p    Policy
		step int
		sev  Severity
		want time.Duration
	}{
		{"default critical", DefaultPolicy("a"), 0, Critical, 60 * time.Second},
		{"default major", DefaultPolicy("a"), 2, Major, 5 * time.Minute},
		{"default minor", DefaultPolicy("a"), 4, Minor, 30 * time.Minute},
		{"set critical", p, 0, Critical, 20 * time.Second},
		{"unset major falls back", p, 0, Major, 5 * time.Minute},
		{"set minor", p, 1, Minor, time.Hour},
		{"step past the end is the last", p, 9, Major, 3 * time.Minute},
		{"negative step is the first", p, -1, Critical, 20 * time.Second},
		{"unknown severity is critical", p, 0, "urgent", 20 * time.Second},
		{"no steps", Policy{}, 0, Minor, 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Timeout(tt.step, tt.sev); got != tt.want {
				t.Errorf("Timeout(%d, %q) = %s, want %s", tt.step, tt.sev, got, tt.want)
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		want []string // substrings of the error; none means valid
	}{
		{name: "default", p: DefaultPolicy("ag-1")},
		{name: "one step, one second", p: Policy{Steps: []Step{{Target: TargetDispatcher, Critical: Duration(time.Second)}}, RepeatEvery: Duration(time.Second)}},
		{name: "no steps", p: Policy{AgencyID: "ag-1"}, want: []string{`agency "ag-1"`, "steps: empty"}},
		{name: "unknown target", p: Policy{Steps: []Step{{Target: "neighbour"}}}, want: []string{`steps[0].target: "neighbour"`, "dispatcher"}},
		{name: "too short", p: Policy{Steps: []Step{{Target: TargetDispatcher}, {Target: TargetManager, Major: Duration(500 * time.Millisecond)}}},
			want: []string{"steps[1].major: 500ms is shorter than 1s", "default 5m0s"}},
		{name: "negative", p: Policy{Steps: []Step{{Target: TargetDispatcher, Minor: Duration(-time.Minute)}}}, want: []string{"steps[0].minor: -1m0s"}},
		{name: "repeat too short", p: Policy{Steps: []Step{{Target: TargetDispatcher}}, RepeatEvery: Duration(time.Millisecond)},
			want: []string{"repeat_every: 1ms"}},
		{name: "every problem", p: Policy{Steps: []Step{{Target: "x", Critical: Duration(1)}}}, want: []string{"steps[0].target", "steps[0].critical"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if (err != nil) != (len(tt.want) > 0) {
				t.Fatalf("Validate(%s) = %v, want error %v", jsonOf(tt.p), err, tt.want != nil)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%s) = %q, want it to contain %q", jsonOf(tt.p), err, w)
				}
			}
		})
	}
}
