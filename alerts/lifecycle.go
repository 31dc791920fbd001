package alerts

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of the lifecycle. The API maps ErrState to 409 Conflict and
// ErrNoteRequired to 422 Unprocessable Content; both come wrapped with the
// alert id.
var (
	// ErrState is an action the alert's state does not allow, such as
	// acknowledging an alert that is already acknowledged or resolved.
	ErrState = errors.New("not allowed in the alert's state")
	// ErrNoteRequired is a missing note: a note without text, or the
	// resolution of a critical alert without one.
	ErrNoteRequired = errors.New("note required")
	// ErrActorRequired is an acknowledgement, resolution or note without a
	// user id to put in the audit trail: a bug of the caller (500).
	ErrActorRequired = errors.New("actor required")
)

// noteConditionEnded is the note of the resolution the gateway makes by
// itself when a condition ends after someone acknowledged its alert.
const noteConditionEnded = "condition ended"

// Apply folds a signal into the alert of its bed and kind. cur is that
// alert, or nil when the bed has none; silenced says whether a silence
// covers the signal (it only matters for a new alert: an alert is
// silenced, or not, for its whole life).
//
// It returns the alert as it is after the signal, its new trail entries,
// and whether anything changed (when changed is false, next and trail say
// nothing and there is nothing to store). A new alert has ID 0: the store
// assigns it and fills the AlertID of its trail.
//
//   - No alert, or a resolved one: Raise and Renotify open a new alert; Clear
//     does nothing.
//   - Open or acknowledged: Raise repeats it (severity upgraded when higher;
//     an upgrade reopens an acknowledged alert and restarts the escalation
//     of any alert from the first step; a raise after the condition cleared
//     is "recurred"). Renotify repeats
//     it and restarts its escalation. Clear resolves an acknowledged alert
//     and marks an open one cleared; it stays open until someone
//     acknowledges it, and escalation goes on meanwhile (nobody has answered
//     the alarm yet).
//   - Event kinds (sos, fall) have no end: Clear never touches them.
//
// Apply trusts the caller to pass the alert of the signal's bed and kind.
func Apply(cur *Alert, s Signal, silenced bool) (next Alert, trail []Transition, changed bool) {
	if cur == nil || (cur.State != Open && cur.State != Acknowledged) {
		if s.Op != Raise && s.Op != Renotify {
			if cur != nil {
				return *cur, nil, false
			}
			return Alert{}, nil, false
		}
		return openNew(s, silenced)
	}
	switch s.Op {
	case Raise, Renotify:
		next, trail = repeatAlert(*cur, s)
		return next, trail, true
	case Clear:
		return clearAlert(*cur, s)
	}
	return *cur, nil, false
}

// openNew opens a new alert for s.
func openNew(s Signal, silenced bool) (Alert, []Transition, bool) {
	a := Alert{
		AgencyID: s.AgencyID,
		BedID:    s.BedID,
		DeviceID: s.DeviceID,
		Kind:     s.Kind,
		Severity: s.Severity,
		State:    Open,
		RaisedAt: s.At,
		LastSeen: s.At,
		Count:    1,
		Silenced: silenced,
		Detail:   s.Detail,
	}
	return a, []Transition{systemEntry(a, s.At, ActionRaised, s.Detail)}, true
}

// repeatAlert folds a Raise or Renotify into an open or acknowledged alert.
func repeatAlert(a Alert, s Signal) (Alert, []Transition) {
	var trail []Transition
	a.Count++
	if s.At.After(a.LastSeen) {
		a.LastSeen = s.At // a late replayed signal never moves it back
	}
	if s.Detail != "" {
		a.Detail = s.Detail
	}
	restart := s.Op == Renotify
	if s.Severity.Rank() > a.Severity.Rank() {
		note := fmt.Sprintf("%s to %s", a.Severity, s.Severity)
		a.Severity = s.Severity
		// Escalation restarts at the first step with the new severity's
		// timeouts: an acknowledged alert needs a new answer, an open one
		// must not wait out the slower timeout of its old severity.
		restart = true
		a.State = Open
		trail = append(trail, systemEntry(a, s.At, ActionUpgraded, note))
	}
	if restart {
		// An acknowledged alert that needs attention again is open again;
		// AcknowledgedAt and AcknowledgedBy keep the first answer (the
		// response KPI measures it), the trail keeps every one.
		a.State = Open
		a.EscalationLevel = 0
		a.NextEscalation = nil
	}
	switch {
	case s.Op == Renotify:
		trail = append(trail, systemEntry(a, s.At, ActionRenotified, s.Detail))
	case a.ClearedAt != nil:
		a.ClearedAt = nil
		trail = append(trail, systemEntry(a, s.At, ActionRecurred, s.Detail))
	case len(trail) == 0:
		trail = append(trail, systemEntry(a, s.At, ActionRepeated, ""))
	}
	return a, trail
}

// clearAlert folds a Clear into an open or acknowledged alert.
func clearAlert(a Alert, s Signal) (Alert, []Transition, bool) {
	if isEvent(a.Kind) {
		return a, nil, false
	}
	at := s.At
	switch {
	case a.State == Acknowledged:
		a.ClearedAt = &at
		a.State = Resolved
		a.ResolvedAt = &at
		a.ResolvedBy = SystemActor
		a.NextEscalation = nil
		return a, []Transition{systemEntry(a, at, ActionResolved, noteConditionEnded)}, true
	case a.ClearedAt == nil:
		a.ClearedAt = &at
		return a, []Transition{systemEntry(a, at, ActionCleared, "")}, true
	}
	return a, nil, false
}

// isEvent reports whether alerts of kind k are events, which happen and
// are over (a call, a fall), rather than conditions, which last and end.
func isEvent(k Kind) bool { return k == KindSOS || k == KindFall }

// Acknowledge records that actor took charge of an open alert at now: it
// stops the escalation. An alert whose condition already ended is resolved
// at once. An alert that is not open gives ErrState.
func Acknowledge(a Alert, actor, note string, now time.Time) (Alert, []Transition, error) {
	if err := checkActor(a, "acknowledge", actor); err != nil {
		return a, nil, err
	}
	if a.State != Open {
		return a, nil, fmt.Errorf("acknowledge alert %d: it is %s: %w", a.ID, a.State, ErrState)
	}
	at := now
	if a.AcknowledgedAt == nil { // keep the first answer (see repeatAlert)
		a.AcknowledgedAt = &at
		a.AcknowledgedBy = actor
	}
	a.State = Acknowledged
	a.NextEscalation = nil
	trail := []Transition{trailEntry(a, at, actor, ActionAcknowledged, strings.TrimSpace(note))}
	if a.ClearedAt != nil {
		a.State = Resolved
		a.ResolvedAt = &at
		a.ResolvedBy = actor
		trail = append(trail, trailEntry(a, at, actor, ActionResolved, noteConditionEnded))
	}
	return a, trail, nil
}

// Resolve closes an open or acknowledged alert at now. A critical alert
// needs a note saying what happened (ErrNoteRequired); a resolved alert
// gives ErrState.
func Resolve(a Alert, actor, note string, now time.Time) (Alert, []Transition, error) {
	if err := checkActor(a, "resolve", actor); err != nil {
		return a, nil, err
	}
	if a.State != Open && a.State != Acknowledged {
		return a, nil, fmt.Errorf("resolve alert %d: it is %s: %w", a.ID, a.State, ErrState)
	}
	note = strings.TrimSpace(note)
	if note == "" && a.Severity == Critical {
		return a, nil, fmt.Errorf("resolve critical alert %d: say what happened: %w", a.ID, ErrNoteRequired)
	}
	at := now
	a.State = Resolved
	a.ResolvedAt = &at
	a.ResolvedBy = actor
	a.NextEscalation = nil
	return a, []Transition{trailEntry(a, at, actor, ActionResolved, note)}, nil
}

// AddNote records a note on an alert in any state, resolved included (a
// report written after the visit).
func AddNote(a Alert, actor, note string, now time.Time) (Transition, error) {
	if err := checkActor(a, "add a note to", actor); err != nil {
		return Transition{}, err
	}
	note = strings.TrimSpace(note)
	if note == "" {
		return Transition{}, fmt.Errorf("add a note to alert %d: empty note: %w", a.ID, ErrNoteRequired)
	}
	return trailEntry(a, now, actor, ActionNoted, note), nil
}

func checkActor(a Alert, verb, actor string) error {
	if strings.TrimSpace(actor) == "" {
		return fmt.Errorf("%s alert %d: %w", verb, a.ID, ErrActorRequired)
	}
	return nil
}

// trailEntry is a trail entry for a as it is after the action.
func trailEntry(a Alert, at time.Time, actor string, act Action, note string) Transition {
	return Transition{AlertID: a.ID, At: at, Actor: actor, Action: act, State: a.State, Note: note}
}

func systemEntry(a Alert, at time.Time, act Action, note string) Transition {
	return trailEntry(a, at, SystemActor, act, note)
}
