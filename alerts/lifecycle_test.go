package alerts

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// refTime is the reference time of the tests.
var refTime = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)

func atRef(d time.Duration) time.Time     { return refTime.Add(d) }
func timePtr(t time.Time) *time.Time      { return &t }
func atRefPtr(d time.Duration) *time.Time { return timePtr(atRef(d)) }

// jsonOf prints a value for a failure message, pointers followed.
func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// openFixture is a stored alert, open since refTime, escalated once.
func openFixture(k Kind, sev Severity) Alert {
	return Alert{
		ID: 7, AgencyID: "ag-1", BedID: "bed-1", DeviceID: "dev-1", Kind: k, Severity: sev, State: Open,
		RaisedAt: refTime, LastSeen: refTime, Count: 1, EscalationLevel: 1, NextEscalation: atRefPtr(2 * time.Minute),
		Detail: "first",
	}
}

func ackedFixture(k Kind, sev Severity) Alert {
	a := openFixture(k, sev)
	a.State = Acknowledged
	a.AcknowledgedAt = atRefPtr(30 * time.Second)
	a.AcknowledgedBy = "u-1"
	a.NextEscalation = nil
	return a
}

func sysEntry(id int64, d time.Duration, act Action, st State, note string) Transition {
	return Transition{AlertID: id, At: atRef(d), Actor: SystemActor, Action: act, State: st, Note: note}
}

func TestApply(t *testing.T) {
	sig := func(op Op, k Kind, sev Severity, d time.Duration, detail string) Signal {
		return Signal{Op: op, Kind: k, Severity: sev, AgencyID: "ag-1", BedID: "bed-1", DeviceID: "dev-1", At: atRef(d), Detail: detail}
	}
	resolved := ackedFixture(KindVitals, Major)
	resolved.State, resolved.ResolvedAt, resolved.ResolvedBy = Resolved, atRefPtr(time.Minute), "u-1"
	newAlert := func(sev Severity, d time.Duration, silenced bool, detail string) Alert {
		return Alert{AgencyID: "ag-1", BedID: "bed-1", DeviceID: "dev-1", Kind: KindVitals, Severity: sev, State: Open,
			RaisedAt: atRef(d), LastSeen: atRef(d), Count: 1, Silenced: silenced, Detail: detail}
	}
	with := func(a Alert, f func(*Alert)) Alert { f(&a); return a }

	tests := []struct {
		name        string
		cur         *Alert
		sig         Signal
		silenced    bool
		want        Alert
		wantTrail   []Transition
		wantChanged bool
	}{
		{
			name: "raise with no alert opens one", sig: sig(Raise, KindVitals, Major, 0, "hr 150"),
			want:      newAlert(Major, 0, false, "hr 150"),
			wantTrail: []Transition{sysEntry(0, 0, ActionRaised, Open, "hr 150")}, wantChanged: true,
		},
		{
			name: "raise under a silence opens a silenced alert", sig: sig(Raise, KindVitals, Major, 0, ""), silenced: true,
			want:      newAlert(Major, 0, true, ""),
			wantTrail: []Transition{sysEntry(0, 0, ActionRaised, Open, "")}, wantChanged: true,
		},
		{
			name: "renotify with no alert opens one", sig: sig(Renotify, KindVitals, Critical, time.Minute, ""),
			want:      newAlert(Critical, time.Minute, false, ""),
			wantTrail: []Transition{sysEntry(0, time.Minute, ActionRaised, Open, "")}, wantChanged: true,
		},
		{
			name: "clear with no alert does nothing", sig: sig(Clear, KindVitals, Major, 0, ""),
			want: Alert{},
		},
		{
			name: "raise after a resolved alert opens a new one", cur: &resolved, sig: sig(Raise, KindVitals, Minor, time.Hour, ""),
			want:      newAlert(Minor, time.Hour, false, ""),
			wantTrail: []Transition{sysEntry(0, time.Hour, ActionRaised, Open, "")}, wantChanged: true,
		},
		{
			name: "clear of a resolved alert does nothing", cur: &resolved, sig: sig(Clear, KindVitals, Major, time.Hour, ""),
			want: resolved,
		},
		{
			name: "raise repeats an open alert", cur: alertPtr(openFixture(KindVitals, Major)), sig: sig(Raise, KindVitals, Major, time.Minute, "hr 155"),
			want: with(openFixture(KindVitals, Major), func(a *Alert) {
				a.Count, a.LastSeen, a.Detail = 2, atRef(time.Minute), "hr 155"
			}),
			wantTrail: []Transition{sysEntry(7, time.Minute, ActionRepeated, Open, "")}, wantChanged: true,
		},
		{
			name: "a lower severity neither downgrades nor restarts", cur: alertPtr(openFixture(KindVitals, Major)), sig: sig(Raise, KindVitals, Minor, time.Minute, ""),
			want: with(openFixture(KindVitals, Major), func(a *Alert) {
				a.Count, a.LastSeen = 2, atRef(time.Minute)
			}),
			wantTrail: []Transition{sysEntry(7, time.Minute, ActionRepeated, Open, "")}, wantChanged: true,
		},
		{
			name: "a late replayed raise keeps LastSeen", cur: alertPtr(with(openFixture(KindVitals, Major), func(a *Alert) { a.LastSeen = atRef(time.Hour) })),
			sig: sig(Raise, KindVitals, Major, time.Minute, ""),
			want: with(openFixture(KindVitals, Major), func(a *Alert) {
				a.Count, a.LastSeen = 2, atRef(time.Hour)
			}),
			wantTrail: []Transition{sysEntry(7, time.Minute, ActionRepeated, Open, "")}, wantChanged: true,
		},
		{
			name: "raise repeats an acknowledged alert, which stays acknowledged", cur: alertPtr(ackedFixture(KindVitals, Major)),
			sig: sig(Raise, KindVitals, Major, time.Minute, ""),
			want: with(ackedFixture(KindVitals, Major), func(a *Alert) {
				a.Count, a.LastSeen = 2, atRef(time.Minute)
			}),
			wantTrail: []Transition{sysEntry(7, time.Minute, ActionRepeated, Acknowledged, "")}, wantChanged: true,
		},
		{
			name: "upgrade of an open alert restarts its escalation", cur: alertPtr(openFixture(KindVitals, Major)),
			sig: sig(Raise, KindVitals, Critical, time.Minute, ""),
			want: with(openFixture(KindVitals, Major), func(a *Alert) {
				a.Count, a.LastSeen, a.Severity, a.EscalationLevel, a.NextEscalation = 2, atRef(time.Minute), Critical, 0, nil
			}),
			wantTrail: []Transition{sysEntry(7, time.Minute, ActionUpgraded, Open, "major to critical")}, wantChanged: true,
		},
		{
			name: "upgrade of an acknowledged alert reopens it and keeps the first answer", cur: alertPtr(ackedFixture(KindVitals, Minor)),
			sig: sig(Raise, KindVitals, Critical, time.Minute, ""),
			want: with(ackedFixture(KindVitals, Minor), func(a *Alert) {
				a.Count, a.LastSeen, a.Severity, a.State, a.EscalationLevel = 2, atRef(time.Minute), Critical, Open, 0
			}),
			wantTrail: []Transition{sysEntry(7, time.Minute, ActionUpgraded, Open, "minor to critical")}, wantChanged: true,
		},
		{
			name: "raise after the condition cleared is a recurrence", cur: alertPtr(with(openFixture(KindVitals, Major), func(a *Alert) { a.ClearedAt = atRefPtr(time.Minute) })),
			sig: sig(Raise, KindVitals, Major, 2*time.Minute, ""),
			want: with(openFixture(KindVitals, Major), func(a *Alert) {
				a.Count, a.LastSeen = 2, atRef(2*time.Minute)
			}),
			wantTrail: []Transition{sysEntry(7, 2*time.Minute, ActionRecurred, Open, "")}, wantChanged: true,
		},
		{
			name: "an upgraded recurrence says both", cur: alertPtr(with(openFixture(KindVitals, Major), func(a *Alert) { a.ClearedAt = atRefPtr(time.Minute) })),
			sig: sig(Raise, KindVitals, Critical, 2*time.Minute, ""),
			want: with(openFixture(KindVitals, Major), func(a *Alert) {
				a.Count, a.LastSeen, a.Severity, a.EscalationLevel, a.NextEscalation = 2, atRef(2*time.Minute), Critical, 0, nil
			}),
			wantTrail: []Transition{
				sysEntry(7, 2*time.Minute, ActionUpgraded, Open, "major to critical"),
				sysEntry(7, 2*time.Minute, ActionRecurred, Open, ""),
			}, wantChanged: true,
		},
		{
			name: "renotify restarts the escalation of an open alert", cur: alertPtr(openFixture(KindFall, Critical)),
			sig: sig(Renotify, KindFall, Critical, 10*time.Minute, "still on the floor"),
			want: with(openFixture(KindFall, Critical), func(a *Alert) {
				a.Count, a.LastSeen, a.EscalationLevel, a.NextEscalation, a.Detail = 2, atRef(10*time.Minute), 0, nil, "still on the floor"
			}),
			wantTrail: []Transition{sysEntry(7, 10*time.Minute, ActionRenotified, Open, "still on the floor")}, wantChanged: true,
		},
		{
			name: "renotify reopens an acknowledged alert", cur: alertPtr(ackedFixture(KindFall, Critical)),
			sig: sig(Renotify, KindFall, Critical, 10*time.Minute, ""),
			want: with(ackedFixture(KindFall, Critical), func(a *Alert) {
				a.Count, a.LastSeen, a.State, a.EscalationLevel = 2, atRef(10*time.Minute), Open, 0
			}),
			wantTrail: []Transition{sysEntry(7, 10*time.Minute, ActionRenotified, Open, "")}, wantChanged: true,
		},
		{
			name: "clear marks an open alert cleared and leaves it open", cur: alertPtr(openFixture(KindSmoke, Critical)),
			sig: sig(Clear, KindSmoke, Critical, 3*time.Minute, ""),
			want: with(openFixture(KindSmoke, Critical), func(a *Alert) {
				a.ClearedAt = atRefPtr(3 * time.Minute)
			}),
			wantTrail: []Transition{sysEntry(7, 3*time.Minute, ActionCleared, Open, "")}, wantChanged: true,
		},
		{
			name: "a second clear changes nothing", cur: alertPtr(with(openFixture(KindSmoke, Critical), func(a *Alert) { a.ClearedAt = atRefPtr(time.Minute) })),
			sig:  sig(Clear, KindSmoke, Critical, 3*time.Minute, ""),
			want: with(openFixture(KindSmoke, Critical), func(a *Alert) { a.ClearedAt = atRefPtr(time.Minute) }),
		},
		{
			name: "clear resolves an acknowledged alert", cur: alertPtr(ackedFixture(KindGas, Critical)),
			sig: sig(Clear, KindGas, Critical, 3*time.Minute, ""),
			want: with(ackedFixture(KindGas, Critical), func(a *Alert) {
				a.State, a.ClearedAt, a.ResolvedAt, a.ResolvedBy = Resolved, atRefPtr(3*time.Minute), atRefPtr(3*time.Minute), SystemActor
			}),
			wantTrail: []Transition{sysEntry(7, 3*time.Minute, ActionResolved, Resolved, "condition ended")}, wantChanged: true,
		},
		{
			name: "clear never touches an open sos", cur: alertPtr(openFixture(KindSOS, Critical)),
			sig:  sig(Clear, KindSOS, Critical, 3*time.Minute, ""),
			want: openFixture(KindSOS, Critical),
		},
		{
			name: "clear never resolves an acknowledged fall", cur: alertPtr(ackedFixture(KindFall, Critical)),
			sig:  sig(Clear, KindFall, Critical, 3*time.Minute, ""),
			want: ackedFixture(KindFall, Critical),
		},
		{
			name: "a silence starting after the raise does not silence the alert", cur: alertPtr(openFixture(KindVitals, Major)),
			sig: sig(Raise, KindVitals, Major, time.Minute, ""), silenced: true,
			want: with(openFixture(KindVitals, Major), func(a *Alert) {
				a.Count, a.LastSeen = 2, atRef(time.Minute)
			}),
			wantTrail: []Transition{sysEntry(7, time.Minute, ActionRepeated, Open, "")}, wantChanged: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before string
			if tt.cur != nil {
				before = jsonOf(*tt.cur)
			}
			got, trail, changed := Apply(tt.cur, tt.sig, tt.silenced)
			if !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(trail, tt.wantTrail) || changed != tt.wantChanged {
				t.Errorf("Apply(%s, %s, %v) =\n %s, %s, %v\nwant\n %s, %s, %v",
					jsonOf(tt.cur), jsonOf(tt.sig), tt.silenced, jsonOf(got), jsonOf(trail), changed,
					jsonOf(tt.want), jsonOf(tt.wantTrail), tt.wantChanged)
			}
			if tt.cur != nil && jsonOf(*tt.cur) != before {
				t.Errorf("Apply changed its input alert: %s, was %s", jsonOf(*tt.cur), before)
			}
		})
	}
}

func alertPtr(a Alert) *Alert { return &a }

func TestAcknowledge(t *testing.T) {
	cleared := openFixture(KindSmoke, Critical)
	cleared.ClearedAt = atRefPtr(time.Minute)
	reopened := ackedFixture(KindVitals, Critical) // upgraded after an acknowledgement
	reopened.State = Open
	resolved := ackedFixture(KindVitals, Major)
	resolved.State, resolved.ResolvedAt = Resolved, atRefPtr(time.Minute)

	tests := []struct {
		name      string
		in        Alert
		actor     string
		note      string
		want      Alert
		wantTrail []Transition
		wantErr   error
	}{
		{
			name: "open alert", in: openFixture(KindSOS, Critical), actor: "u-2", note: " on my way ",
			want: func() Alert {
				a := openFixture(KindSOS, Critical)
				a.State, a.AcknowledgedAt, a.AcknowledgedBy, a.NextEscalation = Acknowledged, atRefPtr(45*time.Second), "u-2", nil
				return a
			}(),
			wantTrail: []Transition{{AlertID: 7, At: atRef(45 * time.Second), Actor: "u-2", Action: ActionAcknowledged, State: Acknowledged, Note: "on my way"}},
		},
		{
			name: "cleared alert is resolved at once", in: cleared, actor: "u-2",
			want: func() Alert {
				a := cleared
				a.State, a.AcknowledgedAt, a.AcknowledgedBy, a.NextEscalation = Resolved, atRefPtr(45*time.Second), "u-2", nil
				a.ResolvedAt, a.ResolvedBy = atRefPtr(45*time.Second), "u-2"
				return a
			}(),
			wantTrail: []Transition{
				{AlertID: 7, At: atRef(45 * time.Second), Actor: "u-2", Action: ActionAcknowledged, State: Acknowledged},
				{AlertID: 7, At: atRef(45 * time.Second), Actor: "u-2", Action: ActionResolved, State: Resolved, Note: "condition ended"},
			},
		},
		{
			name: "reopened alert keeps its first answer", in: reopened, actor: "u-2",
			want: func() Alert {
				a := reopened
				a.State = Acknowledged
				return a
			}(),
			wantTrail: []Transition{{AlertID: 7, At: atRef(45 * time.Second), Actor: "u-2", Action: ActionAcknowledged, State: Acknowledged}},
		},
		{name: "acknowledged alert", in: ackedFixture(KindSOS, Critical), actor: "u-2", want: ackedFixture(KindSOS, Critical), wantErr: ErrState},
		{name: "resolved alert", in: resolved, actor: "u-2", want: resolved, wantErr: ErrState},
		{name: "no actor", in: openFixture(KindSOS, Critical), actor: " ", want: openFixture(KindSOS, Critical), wantErr: ErrActorRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, trail, err := Acknowledge(tt.in, tt.actor, tt.note, atRef(45*time.Second))
			if !errors.Is(err, tt.wantErr) || !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(trail, tt.wantTrail) {
				t.Errorf("Acknowledge(%s, %q, %q) =\n %s, %s, %v\nwant\n %s, %s, %v", jsonOf(tt.in), tt.actor, tt.note,
					jsonOf(got), jsonOf(trail), err, jsonOf(tt.want), jsonOf(tt.wantTrail), tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "alert 7") {
				t.Errorf("Acknowledge(%s) error = %q, want it to name alert 7", jsonOf(tt.in), err)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	resolved := ackedFixture(KindVitals, Major)
	resolved.State, resolved.ResolvedAt, resolved.ResolvedBy = Resolved, atRefPtr(time.Minute), "u-1"
	done := func(a Alert, note string) (Alert, []Transition) {
		a.State, a.ResolvedAt, a.ResolvedBy, a.NextEscalation = Resolved, atRefPtr(10*time.Minute), "u-2", nil
		return a, []Transition{{AlertID: 7, At: atRef(10 * time.Minute), Actor: "u-2", Action: ActionResolved, State: Resolved, Note: note}}
	}
	openMinor, openMinorTrail := done(openFixture(KindBatteryLow, Minor), "")
	ackedCrit, ackedCritTrail := done(ackedFixture(KindSOS, Critical), "false alarm: pressed while cleaning")

	tests := []struct {
		name      string
		in        Alert
		note      string
		want      Alert
		wantTrail []Transition
		wantErr   error
	}{
		{name: "open minor alert without a note", in: openFixture(KindBatteryLow, Minor), want: openMinor, wantTrail: openMinorTrail},
		{name: "acknowledged critical alert with a note", in: ackedFixture(KindSOS, Critical), note: "false alarm: pressed while cleaning\n",
			want: ackedCrit, wantTrail: ackedCritTrail},
		{name: "critical alert without a note", in: ackedFixture(KindSOS, Critical), note: "  ", want: ackedFixture(KindSOS, Critical), wantErr: ErrNoteRequired},
		{name: "resolved alert", in: resolved, note: "again", want: resolved, wantErr: ErrState},
		{name: "resolved critical alert without a note is a state error", in: func() Alert { a := resolved; a.Severity = Critical; return a }(),
			want: func() Alert { a := resolved; a.Severity = Critical; return a }(), wantErr: ErrState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, trail, err := Resolve(tt.in, "u-2", tt.note, atRef(10*time.Minute))
			if !errors.Is(err, tt.wantErr) || !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(trail, tt.wantTrail) {
				t.Errorf("Resolve(%s, %q) =\n %s, %s, %v\nwant\n %s, %s, %v", jsonOf(tt.in), tt.note,
					jsonOf(got), jsonOf(trail), err, jsonOf(tt.want), jsonOf(tt.wantTrail), tt.wantErr)
			}
		})
	}
}

func TestAddNote(t *testing.T) {
	resolved := ackedFixture(KindFall, Critical)
	resolved.State = Resolved
	tests := []struct {
		name    string
		in      Alert
		actor   string
		note    string
		want    Transition
		wantErr error
	}{
		{name: "open alert", in: openFixture(KindFall, Critical), actor: "u-3", note: "called the daughter",
			want: Transition{AlertID: 7, At: atRef(time.Hour), Actor: "u-3", Action: ActionNoted, State: Open, Note: "called the daughter"}},
		{name: "resolved alert", in: resolved, actor: "u-3", note: "report filed",
			want: Transition{AlertID: 7, At: atRef(time.Hour), Actor: "u-3", Action: ActionNoted, State: Resolved, Note: "report filed"}},
		{name: "empty note", in: resolved, actor: "u-3", note: " \t", wantErr: ErrNoteRequired},
		{name: "no actor", in: resolved, note: "x", wantErr: ErrActorRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AddNote(tt.in, tt.actor, tt.note, atRef(time.Hour))
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("AddNote(%s, %q, %q) = %s, %v, want %s, %v", jsonOf(tt.in), tt.actor, tt.note, jsonOf(got), err, jsonOf(tt.want), tt.wantErr)
			}
		})
	}
}
