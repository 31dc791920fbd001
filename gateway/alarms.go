package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"carebed/alerts"
	"carebed/devices"
	"carebed/gateway/journal"
	"carebed/store"
)

// consumerAlerts is the journal consumer that runs the alarm rules.
const consumerAlerts = "alerts"

// alarmDesk is where alarms live while the gateway runs: the rules engine,
// every alert not yet resolved, and the escalations in progress. It is
// the only writer of alerts.
//
// Everything one journal batch changes (alerts, their trail, notification
// requests, the rules' timers and the journal index applied) is stored in
// one transaction, so after a crash the desk restarts exactly where that
// transaction left it: the journal replays what came after, nothing is
// lost and nothing is raised twice.
type alarmDesk struct {
	db      *store.DB
	decoded *decodedRing
	metrics *metrics
	log     *slog.Logger
	zone    *time.Location
	cfg     alerts.Config
	now     func() time.Time
	// wake tells the notification dispatcher that requests are waiting.
	wake chan struct{}
	// pendingSince gives the receive time of the first journal entry after
	// an index, when there is one: the rules' timers must not run past a
	// message they have not seen yet.
	pendingSince func(after uint64) (time.Time, bool)

	mu      sync.Mutex
	engine  *alerts.Engine
	open    map[alertKey]alerts.Alert // not resolved, by bed and kind
	applied uint64                    // last journal index applied (stored, or changing nothing)
	obs     []devices.Observation
	// stale says that a failed unit of work left the desk's memory ahead
	// of the database and the reload that should have undone it failed
	// too: the desk must reload before it does anything else.
	stale bool
}

type alertKey struct {
	bed  string
	kind alerts.Kind
}

func newAlarmDesk(db *store.DB, decoded *decodedRing, m *metrics, log *slog.Logger, cfg alerts.Config) *alarmDesk {
	return &alarmDesk{
		db: db, decoded: decoded, metrics: m, log: log, zone: cfg.Zone, cfg: cfg, now: time.Now,
		wake: make(chan struct{}, 1),
	}
}

// load rebuilds the desk from the state database: the rules' state, the
// unresolved alerts and the journal index they reflect.
func (d *alarmDesk) load(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.loadLocked(ctx)
}

func (d *alarmDesk) loadLocked(ctx context.Context) error {
	engine := alerts.NewEngine(d.cfg)
	for p := (store.Page{Limit: 1000}); ; {
		beds, err := d.db.ListBeds(ctx, store.BedFilter{Page: p})
		if err != nil {
			return fmt.Errorf("load beds for the alarm rules: %w", err)
		}
		for _, b := range beds {
			engine.PutBed(alerts.BedRules{BedID: b.ID, AgencyID: b.AgencyID})
		}
		if len(beds) < p.Limit {
			break
		}
		p.After = beds[len(beds)-1].ID
	}
	if err := d.applyBedRules(ctx, engine); err != nil {
		return err
	}
	states, err := d.db.RuleStates(ctx)
	if err != nil {
		return fmt.Errorf("load alarm rule state: %w", err)
	}
	bs := make([]alerts.BedState, len(states))
	for i, s := range states {
		bs[i] = alerts.BedState{BedID: s.BedID, Data: s.Data}
	}
	if err := engine.Restore(bs); err != nil {
		return fmt.Errorf("restore alarm rule state: %w", err)
	}
	list, err := d.db.UnresolvedAlerts(ctx)
	if err != nil {
		return fmt.Errorf("load unresolved alerts: %w", err)
	}
	open := make(map[alertKey]alerts.Alert, len(list))
	for _, a := range list {
		open[alertKey{a.BedID, a.Kind}] = a
	}
	applied, err := d.db.AlertCursor(ctx)
	if err != nil {
		return fmt.Errorf("load alert cursor: %w", err)
	}
	// A reload after a failure keeps the index of the entries applied
	// since the last store: they changed nothing that is not stored, and
	// the journal will not offer them again (a failed batch never moved
	// it). Going back would let the next store put the rules' state, past
	// them, with the older index.
	d.engine, d.open, d.applied = engine, open, max(applied, d.applied)
	d.stale = false
	d.metrics.alertsOpen.Set(float64(len(open)))
	return nil
}

// ready reloads the desk when a failure left it stale.
func (d *alarmDesk) ready(ctx context.Context) error {
	if !d.stale {
		return nil
	}
	if err := d.loadLocked(ctx); err != nil {
		return fmt.Errorf("reload the alarm desk: %w", err)
	}
	return nil
}

// BedChanged gives the rules a bed as the store now holds it (created, or
// moved to another agency), with its overrides.
func (d *alarmDesk) BedChanged(ctx context.Context, bedID string) error {
	return d.syncBedRules(ctx, bedID)
}

// BedRemoved forgets a deleted bed's rule state. Its unresolved alerts stay
// until someone resolves them.
func (d *alarmDesk) BedRemoved(ctx context.Context, bedID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ready(ctx); err != nil {
		return err
	}
	d.engine.RemoveBed(bedID)
	if err := d.commit(ctx, d.newWork(), d.engine.TakeDirty(), nil); err != nil {
		return d.failed(ctx, err)
	}
	return nil
}

// DeviceRemoved forgets a device taken off a bed (deleted or moved): the
// conditions only it held (offline, low battery, smoke...) clear.
func (d *alarmDesk) DeviceRemoved(ctx context.Context, bedID, deviceID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ready(ctx); err != nil {
		return err
	}
	w := d.newWork()
	if err := w.apply(ctx, d.engine.ForgetDevice(bedID, deviceID, d.ruleTime(w.now))); err != nil {
		return d.failed(ctx, err)
	}
	return d.keep(ctx, w)
}

// consume runs the rules over one journal batch and stores the outcome.
func (d *alarmDesk) consume(ctx context.Context, batch []journal.Entry) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ready(ctx); err != nil {
		return err
	}
	w := d.newWork()
	last := d.applied
	if len(batch) > 0 && !batch[0].Received.IsZero() {
		d.metrics.alertDelay.Observe(time.Since(batch[0].Received).Seconds())
	}
	for _, e := range batch {
		if e.Index <= d.applied {
			continue // stored before a crash; the journal's own cursor lagged
		}
		last = e.Index
		var err error
		d.obs, err = d.decoded.decode(e, d.obs[:0])
		if err != nil {
			continue // counted and kept by the device-state consumer
		}
		for _, o := range d.obs {
			if o.BedID == "" {
				continue
			}
			w.origin = origin(o)
			if err := w.apply(ctx, d.engine.Observe(o)); err != nil {
				return d.failed(ctx, err)
			}
			w.origin = time.Time{}
		}
	}
	if last == d.applied {
		return nil
	}
	states := d.engine.TakeDirty()
	if len(w.changes) == 0 && len(states) == 0 {
		// Nothing to keep: replaying these entries after a crash would
		// change nothing either, so the stored cursor may stay behind.
		d.applied = last
		return nil
	}
	if err := d.commit(ctx, w, states, &last); err != nil {
		return d.failed(ctx, err)
	}
	return nil
}

// tick fires the rules' timers and the escalations that are due.
func (d *alarmDesk) tick(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ready(ctx); err != nil {
		return err
	}
	now := d.now()
	w := d.newWork()
	ruleTime := d.ruleTime(now)
	if err := w.apply(ctx, d.engine.Tick(ruleTime)); err != nil {
		return d.failed(ctx, err)
	}
	for k, a := range d.open {
		if a.NextEscalation == nil || a.NextEscalation.After(now) {
			continue
		}
		if _, taken := w.pending[k]; taken {
			continue
		}
		if err := w.escalate(ctx, a); err != nil {
			return d.failed(ctx, err)
		}
	}
	return d.keep(ctx, w)
}

// devicesSilent tells the rules that devices said nothing for too long.
func (d *alarmDesk) devicesSilent(ctx context.Context, ids []string, at time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ready(ctx); err != nil {
		return err
	}
	// The rules' clock must not pass a message they have not seen yet:
	// DeviceSilent fires the bed's timers up to at.
	at = d.ruleTime(at)
	w := d.newWork()
	for _, id := range ids {
		dev, err := d.db.GetDevice(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			// Earlier devices of the list already changed the rules.
			return d.failed(ctx, fmt.Errorf("silent device %q: %w", id, err))
		}
		bed, err := d.db.GetBed(ctx, dev.BedID)
		if errors.Is(err, store.ErrNotFound) {
			continue // moved and its bed removed meanwhile
		}
		if err != nil {
			return d.failed(ctx, fmt.Errorf("bed of silent device %q: %w", id, err))
		}
		if err := w.apply(ctx, d.engine.DeviceSilent(id, dev.BedID, bed.AgencyID, dev.Kind, at)); err != nil {
			return d.failed(ctx, err)
		}
	}
	return d.keep(ctx, w)
}

// keep stores a unit of work that did not come from the journal (timers,
// silent devices, registry changes), when it changed anything.
func (d *alarmDesk) keep(ctx context.Context, w *work) error {
	states := d.engine.TakeDirty()
	if len(w.changes) == 0 && len(states) == 0 {
		return nil
	}
	if err := d.commit(ctx, w, states, nil); err != nil {
		return d.failed(ctx, err)
	}
	return nil
}

// failed puts the desk back to what the database holds, so that a retry
// of the batch starts from a consistent state.
func (d *alarmDesk) failed(ctx context.Context, err error) error {
	if lerr := d.loadLocked(ctx); lerr != nil {
		d.stale = true // memory may be ahead of the database: reload first next time
		return errors.Join(err, fmt.Errorf("reload the alarm desk: %w", lerr))
	}
	return err
}

// ruleGuard holds the rules' clock back from the wall clock: a message
// received just now may still be on its way into the journal (group
// commit and fsync), and a timer must not fire ahead of a message that
// would have stopped it (back in bed at the last moment).
const ruleGuard = 200 * time.Millisecond

// ruleTime is t less ruleGuard, or the receive time of the first journal
// entry the rules have not seen yet when that is earlier.
func (d *alarmDesk) ruleTime(t time.Time) time.Time {
	t = t.Add(-ruleGuard)
	if d.pendingSince != nil {
		if p, ok := d.pendingSince(d.applied); ok && p.Before(t) {
			return p
		}
	}
	return t
}

// commit stores a unit of work and then makes it the desk's state.
func (d *alarmDesk) commit(ctx context.Context, w *work, states []alerts.BedState, cursor *uint64) error {
	if cursor == nil {
		// The rule state stored below reflects every entry applied, those
		// that changed nothing included: store the index with it, or a
		// replay after a crash would run them again on a state that is
		// already past them (timers fired since).
		applied := d.applied
		cursor = &applied
	}
	b := store.AlertBatch{Changes: w.changes, Cursor: cursor}
	b.RuleStates = make([]store.RuleState, len(states))
	for i, s := range states {
		b.RuleStates[i] = store.RuleState{BedID: s.BedID, Data: s.Data}
	}
	start := time.Now()
	if err := d.db.SaveAlerts(ctx, b); err != nil {
		return fmt.Errorf("store %d alert changes: %w", len(w.changes), err)
	}
	stored := time.Now()
	d.metrics.alertSaveSeconds.Observe(stored.Sub(start).Seconds())
	requests := 0
	for _, c := range w.changes {
		a := *c.Alert
		k := alertKey{a.BedID, a.Kind}
		if a.State == alerts.Resolved {
			// Only if it is this alert: a note on an old resolved alert
			// must not drop its unresolved successor.
			if o, ok := d.open[k]; ok && o.ID == a.ID {
				delete(d.open, k)
			}
		} else {
			d.open[k] = a
		}
		requests += len(c.Requests)
		for _, t := range c.Trail {
			switch t.Action {
			case alerts.ActionRaised:
				d.metrics.alertsRaised.WithLabelValues(string(a.Kind), string(a.Severity)).Inc()
				d.metrics.alertLatency.WithLabelValues(string(a.Kind)).Observe(stored.Sub(w.since[k]).Seconds())
			case alerts.ActionEscalated:
				d.metrics.alertEscalations.Inc()
			}
		}
	}
	if cursor != nil {
		d.applied = *cursor
	}
	d.metrics.alertsOpen.Set(float64(len(d.open)))
	if requests > 0 {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Acknowledge, Resolve and AddNote are the people's side of an alert
// (the API's AlertDesk).
func (d *alarmDesk) Acknowledge(ctx context.Context, id int64, actor, note string) (alerts.Alert, error) {
	return d.decide(ctx, id, func(a alerts.Alert, now time.Time) (alerts.Alert, []alerts.Transition, error) {
		return alerts.Acknowledge(a, actor, note, now)
	})
}

// Resolve closes an alert.
func (d *alarmDesk) Resolve(ctx context.Context, id int64, actor, note string) (alerts.Alert, error) {
	return d.decide(ctx, id, func(a alerts.Alert, now time.Time) (alerts.Alert, []alerts.Transition, error) {
		return alerts.Resolve(a, actor, note, now)
	})
}

// AddNote adds a note to an alert's trail.
func (d *alarmDesk) AddNote(ctx context.Context, id int64, actor, note string) (alerts.Transition, error) {
	var out alerts.Transition
	_, err := d.decide(ctx, id, func(a alerts.Alert, now time.Time) (alerts.Alert, []alerts.Transition, error) {
		t, err := alerts.AddNote(a, actor, note, now)
		out = t
		return a, []alerts.Transition{t}, err
	})
	return out, err
}

func (d *alarmDesk) decide(ctx context.Context, id int64, fn func(alerts.Alert, time.Time) (alerts.Alert, []alerts.Transition, error)) (alerts.Alert, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ready(ctx); err != nil {
		return alerts.Alert{}, err
	}
	a, err := d.alert(ctx, id)
	if err != nil {
		return alerts.Alert{}, err
	}
	w := d.newWork()
	next, trail, err := fn(a, w.now)
	if err != nil {
		return alerts.Alert{}, err
	}
	w.put(alertKey{a.BedID, a.Kind}, next, trail, nil)
	if err := d.commit(ctx, w, nil, nil); err != nil {
		return alerts.Alert{}, d.failed(ctx, err)
	}
	if a.AcknowledgedAt == nil && next.AcknowledgedAt != nil {
		// The first answer, as the response KPI counts it: also when it
		// resolves a cleared alert at once, never again after a reopen.
		d.metrics.alertAckSeconds.WithLabelValues(string(a.Severity)).Observe(w.now.Sub(a.RaisedAt).Seconds())
	}
	return next, nil
}

// alert finds an alert in memory, or in the database once resolved.
func (d *alarmDesk) alert(ctx context.Context, id int64) (alerts.Alert, error) {
	for _, a := range d.open {
		if a.ID == id {
			return a, nil
		}
	}
	return d.db.GetAlert(ctx, id)
}

// runTimers ticks the desk every interval until ctx ends.
func (d *alarmDesk) runTimers(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := d.tick(ctx); err != nil && ctx.Err() == nil {
				d.log.Error("alarm timers", "err", err)
			}
		}
	}
}

// origin is when the message behind an observation was sent: the device's
// own time when it is plausible (not after receipt, at most 10 s before),
// else the receive time. The raise latency metric counts from it, so it
// includes the broker's share.
func origin(o devices.Observation) time.Time {
	if !o.Time.IsZero() && !o.Time.After(o.Received) && o.Received.Sub(o.Time) <= 10*time.Second {
		return o.Time
	}
	return o.Received
}
