package alerts

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Default step timeouts, used when a Step leaves a severity's timeout zero.
const (
	DefaultCriticalTimeout = 60 * time.Second
	DefaultMajorTimeout    = 5 * time.Minute
	DefaultMinorTimeout    = 30 * time.Minute
)

// minTimeout is the shortest timeout or repeat a policy may set.
const minTimeout = time.Second

// Roster says who covers a target for an alert at a time: the person ids
// on duty, sorted and without duplicates; the family target resolves to
// "family:<bed id>". Nobody on duty is an empty list.
type Roster interface {
	OnDuty(t Target, a Alert, now time.Time) []string
}

// DefaultPolicy is the escalation policy of an agency that has not set
// one: primary caregiver, backup caregiver, dispatcher, manager, family,
// each with the default timeouts.
func DefaultPolicy(agencyID string) Policy {
	p := Policy{AgencyID: agencyID}
	for _, t := range []Target{TargetPrimaryCaregiver, TargetBackupCaregiver, TargetDispatcher, TargetManager, TargetFamily} {
		p.Steps = append(p.Steps, Step{Target: t})
	}
	return p
}

// Validate checks a policy before it is stored: at least one step, known
// targets, and timeouts of at least one second where they are set. The
// error names the field and the fix; it joins every problem found.
func (p Policy) Validate() error {
	var errs []error
	if len(p.Steps) == 0 {
		errs = append(errs, errors.New(`steps: empty; give at least one step, such as {"target": "dispatcher"}`))
	}
	for i, s := range p.Steps {
		if !s.Target.Valid() {
			errs = append(errs, fmt.Errorf("steps[%d].target: %q is not a target; use one of %s",
				i, s.Target, targetList(Targets)))
		}
		for _, f := range []struct {
			name string
			d    Duration
			def  time.Duration
		}{{"critical", s.Critical, DefaultCriticalTimeout}, {"major", s.Major, DefaultMajorTimeout}, {"minor", s.Minor, DefaultMinorTimeout}} {
			if err := checkTimeout(fmt.Sprintf("steps[%d].%s", i, f.name), f.d, f.def); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(p.Steps) > 0 {
		if err := checkTimeout("repeat_every", p.RepeatEvery, p.Timeout(len(p.Steps)-1, Critical)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("escalation policy of agency %q: %w", p.AgencyID, err)
	}
	return nil
}

func checkTimeout(field string, d Duration, def time.Duration) error {
	if d == 0 || time.Duration(d) >= minTimeout {
		return nil
	}
	return fmt.Errorf("%s: %s is shorter than %s; set at least %q, or leave it out for the default %s",
		field, time.Duration(d), minTimeout, minTimeout.String(), def)
}

func targetList(ts []Target) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// Timeout is how long step waits for an acknowledgement of an alert of
// severity s before the next step. A zero timeout in the policy means the
// default; a step out of range counts as the last step; an unknown
// severity counts as critical (when in doubt, escalate sooner).
func (p Policy) Timeout(step int, s Severity) time.Duration {
	var st Step
	if len(p.Steps) > 0 {
		st = p.Steps[max(0, min(step, len(p.Steps)-1))]
	}
	switch s {
	case Major:
		return orDefault(st.Major, DefaultMajorTimeout)
	case Minor:
		return orDefault(st.Minor, DefaultMinorTimeout)
	}
	return orDefault(st.Critical, DefaultCriticalTimeout)
}

// repeatEvery is how often a critical alert past the last step calls the
// last step again.
func (p Policy) repeatEvery() time.Duration {
	return orDefault(p.RepeatEvery, p.Timeout(len(p.Steps)-1, Critical))
}

func orDefault(d Duration, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return time.Duration(d)
}

// Escalate moves an alert along its agency's policy at now and says whom
// to notify. It may be called at any time; it does nothing until
// something is due, so the scheduler can call it on every tick and after
// every Apply. Requests and trail entries carry a.ID: 0 for an alert not
// stored yet, which the store fills in as it does for Apply's trail.
//
//   - An open, unsilenced alert with EscalationLevel 0 and no NextEscalation
//     is new (Reason raised) or renotified (Count > 1, Reason renotified):
//     step 0 is notified and NextEscalation set to now plus its timeout.
//   - When NextEscalation is due (<= now) the next step is notified (Reason
//     escalated) and EscalationLevel is that step's index. Escalation moves
//     one step per call, and each step gets its full timeout from now, even
//     when the call comes late.
//   - A step with nobody on duty is noted in the trail and passed at once
//     to the next step; the requests of the step reached keep the reason of
//     the call (a new alert whose primary caregiver is off duty reaches the
//     backup caregiver with Reason raised, Level 1).
//   - Past the last step a critical alert calls the last step again every
//     RepeatEvery (Reason repeated) until someone acknowledges it; a major
//     or minor alert stops there, noted in the trail: EscalationLevel is
//     len(Steps) and NextEscalation nil. An unknown severity counts as
//     critical.
//   - An acknowledged, resolved or silenced alert is not escalated:
//     NextEscalation is cleared.
//
// A policy without steps is replaced by DefaultPolicy: an alarm is never
// left unannounced for want of a policy. Trail notes name targets and
// counts, never people.
func Escalate(a Alert, p Policy, r Roster, now time.Time) (next Alert, reqs []Request, trail []Transition) {
	if a.State != Open || a.Silenced {
		a.NextEscalation = nil
		return a, nil, nil
	}
	if len(p.Steps) == 0 {
		p = DefaultPolicy(a.AgencyID)
	}
	e := escalation{a: a, p: p, r: r, now: now}
	last := len(p.Steps) - 1
	switch {
	case a.NextEscalation == nil && a.EscalationLevel == 0:
		reason := ActionRaised
		if a.Count > 1 {
			reason = ActionRenotified
		}
		e.from(0, reason)
	case a.NextEscalation == nil:
		// Escalation ran past the last step and stopped.
	case now.Before(*a.NextEscalation):
		// Not due yet.
	case a.EscalationLevel >= last:
		e.pastLast(true)
	default:
		e.from(a.EscalationLevel+1, ActionEscalated)
	}
	return e.a, e.reqs, e.trail
}

// escalation is one call of Escalate in progress.
type escalation struct {
	a     Alert
	p     Policy
	r     Roster
	now   time.Time
	reqs  []Request
	trail []Transition
}

// from notifies step i, or the first step after it with someone on duty.
func (e *escalation) from(i int, reason Action) {
	for ; i < len(e.p.Steps); i++ {
		if e.notify(i, reason) {
			e.a.EscalationLevel = i
			e.due(e.p.Timeout(i, e.a.Severity))
			return
		}
	}
	e.pastLast(false)
}

// pastLast handles an alert that went through every step, because the
// last step timed out or because no later step had anyone on duty: a
// critical one calls the last step again (now if it timed out, else after
// RepeatEvery), others stop.
func (e *escalation) pastLast(timedOut bool) {
	last := len(e.p.Steps) - 1
	if !urgent(e.a.Severity) {
		e.a.EscalationLevel = len(e.p.Steps)
		e.a.NextEscalation = nil
		if timedOut {
			e.note(fmt.Sprintf("no acknowledgement after the last step (%s); escalation stopped", e.p.Steps[last].Target))
		} else {
			e.note("no later step has anyone on duty; escalation stopped")
		}
		return
	}
	if timedOut {
		e.notify(last, ActionRepeated)
	}
	e.a.EscalationLevel = last
	e.due(e.p.repeatEvery())
}

// urgent reports whether alerts of severity s repeat the last step until
// acknowledged: critical ones, and unknown ones (when in doubt, page).
func urgent(s Severity) bool { return s == Critical || !s.Valid() }

// notify asks every person on duty for step i to be told, records the
// step in the trail, and reports whether there was anyone.
func (e *escalation) notify(i int, reason Action) bool {
	t := e.p.Steps[i].Target
	var people []string
	if e.r != nil {
		people = e.r.OnDuty(t, e.a, e.now)
	}
	n := 0
	seen := make(map[string]bool, len(people))
	for _, id := range people {
		if id == "" || seen[id] { // a roster that breaks its contract pages nobody twice
			continue
		}
		seen[id] = true
		e.reqs = append(e.reqs, Request{AlertID: e.a.ID, PersonID: id, Target: t, Level: i, Reason: reason, At: e.now})
		n++
	}
	if n == 0 {
		e.note(fmt.Sprintf("nobody on duty for %s", t))
		return false
	}
	what := fmt.Sprintf("%s (step %d of %d): %s notified", t, i+1, len(e.p.Steps), people1(n))
	switch {
	case reason == ActionRepeated:
		e.escalated("repeated " + what)
	case i > 0: // step 0 of a new or renotified alert follows its raised or renotified entry
		e.escalated("escalated to " + what)
	}
	return true
}

func people1(n int) string {
	if n == 1 {
		return "1 person"
	}
	return fmt.Sprintf("%d people", n)
}

func (e *escalation) due(d time.Duration) {
	at := e.now.Add(d)
	e.a.NextEscalation = &at
}

func (e *escalation) escalated(note string) {
	e.trail = append(e.trail, systemEntry(e.a, e.now, ActionEscalated, note))
}

func (e *escalation) note(note string) {
	e.trail = append(e.trail, systemEntry(e.a, e.now, ActionNoted, note))
}
