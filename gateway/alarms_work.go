package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"carebed/alerts"
	"carebed/store"
)

// work is what one batch, tick or API call changes before it is stored.
type work struct {
	d       *alarmDesk
	now     time.Time
	changes []store.AlertChange
	pending map[alertKey]int // index into changes
	// since is when the observation behind a raised alert was received,
	// for the raise latency metric.
	since    map[alertKey]time.Time
	origin   time.Time // of the observation being applied, for since
	policies map[string]alerts.Policy
	roster   *alerts.Duties
}

func (d *alarmDesk) newWork() *work {
	return &work{d: d, now: d.now(), pending: map[alertKey]int{}, since: map[alertKey]time.Time{}}
}

// current is the alert of a bed and kind as this unit of work sees it.
func (w *work) current(k alertKey) *alerts.Alert {
	if i, ok := w.pending[k]; ok {
		a := *w.changes[i].Alert
		return &a
	}
	if a, ok := w.d.open[k]; ok {
		return &a
	}
	return nil
}

func (w *work) put(k alertKey, a alerts.Alert, trail []alerts.Transition, reqs []alerts.Request) {
	// The successor of an alert resolved in this unit of work (the same
	// bed and kind raised again) is another alert: it gets its own change,
	// stored after the resolution.
	if i, ok := w.pending[k]; ok && !(w.changes[i].Alert.State == alerts.Resolved && a.State != alerts.Resolved) {
		c := &w.changes[i]
		*c.Alert = a
		c.Trail = append(c.Trail, trail...)
		c.Requests = append(c.Requests, reqs...)
		return
	}
	w.pending[k] = len(w.changes)
	w.changes = append(w.changes, store.AlertChange{Alert: &a, Trail: trail, Requests: reqs})
}

// apply turns signals into alert changes, and starts the escalation of
// alerts they open.
func (w *work) apply(ctx context.Context, sigs []alerts.Signal) error {
	for _, s := range sigs {
		k := alertKey{s.BedID, s.Kind}
		cur := w.current(k)
		silenced := false
		if s.Op != alerts.Clear {
			var err error
			if silenced, err = w.silenced(ctx, s); err != nil {
				return err
			}
		}
		next, trail, changed := alerts.Apply(cur, s, silenced)
		if !changed {
			continue
		}
		if next.State != alerts.Resolved && next.NextEscalation == nil && next.EscalationLevel == 0 && !next.Silenced {
			more, reqs, err := w.escalation(ctx, next)
			if err != nil {
				return err
			}
			next, trail = more, append(trail, reqs.trail...)
			w.put(k, next, trail, reqs.requests)
		} else {
			w.put(k, next, trail, nil)
		}
		if cur == nil || cur.State == alerts.Resolved {
			w.since[k] = s.At
			if !w.origin.IsZero() {
				w.since[k] = w.origin
			}
		}
	}
	return nil
}

type escalated struct {
	trail    []alerts.Transition
	requests []alerts.Request
}

// escalation runs one escalation step of a (stored or pending) alert.
func (w *work) escalation(ctx context.Context, a alerts.Alert) (alerts.Alert, escalated, error) {
	p, err := w.policy(ctx, a.AgencyID)
	if err != nil {
		return a, escalated{}, err
	}
	r, err := w.duties(ctx)
	if err != nil {
		return a, escalated{}, err
	}
	next, reqs, trail := alerts.Escalate(a, p, r, w.now)
	return next, escalated{trail: trail, requests: reqs}, nil
}

func (w *work) escalate(ctx context.Context, a alerts.Alert) error {
	next, e, err := w.escalation(ctx, a)
	if err != nil {
		return err
	}
	w.put(alertKey{a.BedID, a.Kind}, next, e.trail, e.requests)
	return nil
}

func (w *work) silenced(ctx context.Context, s alerts.Signal) (bool, error) {
	list, err := w.d.db.ActiveSilences(ctx, s.BedID, s.At)
	if err != nil {
		return false, fmt.Errorf("silences of bed %q: %w", s.BedID, err)
	}
	for _, x := range list {
		if x.Covers(s.BedID, s.DeviceID, s.At) {
			return true, nil
		}
	}
	return false, nil
}

func (w *work) policy(ctx context.Context, agency string) (alerts.Policy, error) {
	if p, ok := w.policies[agency]; ok {
		return p, nil
	}
	p, err := w.d.db.GetPolicy(ctx, agency)
	switch {
	case errors.Is(err, store.ErrNotFound):
		p = alerts.DefaultPolicy(agency)
	case err != nil:
		return alerts.Policy{}, fmt.Errorf("escalation policy of agency %q: %w", agency, err)
	}
	if w.policies == nil {
		w.policies = map[string]alerts.Policy{}
	}
	w.policies[agency] = p
	return p, nil
}

func (w *work) duties(ctx context.Context) (*alerts.Duties, error) {
	if w.roster != nil {
		return w.roster, nil
	}
	list, err := w.d.db.AllDuties(ctx)
	if err != nil {
		return nil, fmt.Errorf("on-call roster: %w", err)
	}
	w.roster = &alerts.Duties{Zone: w.d.zone, List: list}
	return w.roster, nil
}
