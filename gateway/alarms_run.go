package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"carebed/alerts"
	"carebed/gateway/journal"
	"carebed/store"
)

// alarmTick is how often rule timers and escalations are checked.
const alarmTick = 250 * time.Millisecond

// startAlarms loads the alarm desk and starts its parts: the journal
// consumer that runs the rules, the timer that fires rule deadlines and
// escalations, and the dispatcher of notification requests.
func startAlarms(ctx context.Context, cfg Config, db *store.DB, decoded *decodedRing, j *journal.Journal,
	m *metrics, log *slog.Logger, parts *lifecycle, failed chan<- error) (*alarmDesk, error) {
	rules, err := alarmConfig(cfg.Zone, cfg.AlarmTimers)
	if err != nil {
		return nil, err
	}
	desk := newAlarmDesk(db, decoded, m, log, rules)
	desk.pendingSince = pendingSince(j, consumerAlerts)
	if err := desk.load(ctx); err != nil {
		return nil, err
	}
	if err := desk.newJournal(ctx, j.LastIndex()); err != nil {
		return nil, err
	}
	parts.goRun("alarm rules", failed, func(ctx context.Context) error {
		// No linger: an alarm must not wait for company.
		return j.Consume(ctx, consumerAlerts, 1024, desk.consume, journal.WithBeforeCursorSave(db.Sync))
	})
	parts.goRun("alarm timers", failed, func(ctx context.Context) error { return desk.runTimers(ctx, alarmTick) })
	d := &dispatcher{db: db, notifier: alerts.LogNotifier{Log: log}, metrics: m, log: log, wake: desk.wake, now: time.Now, poll: time.Second}
	parts.goRun("notification dispatcher", failed, d.run)
	return desk, nil
}

// pendingSince gives the receive time of the first journal entry that
// consumer has not been given yet, after index after. The consumer's own
// cursor counts too: the desk's stored index stays behind entries that
// changed nothing, and after a restart the desk's index is that stored
// one, while the journal will not offer those entries again.
func pendingSince(j *journal.Journal, consumer string) func(after uint64) (time.Time, bool) {
	return func(after uint64) (time.Time, bool) {
		after = max(after, j.Cursor(consumer))
		if j.LastIndex() <= after {
			return time.Time{}, false
		}
		es, err := j.Read(after+1, 1, nil)
		if err != nil || len(es) == 0 {
			return time.Time{}, false
		}
		return es[0].Received, true
	}
}

// newJournal notices a journal that started again from index 1 (its
// directory lost or removed) while the state database remembers a later
// index: without a reset the desk would skip every new message as applied.
func (d *alarmDesk) newJournal(ctx context.Context, last uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.applied <= last {
		return nil
	}
	d.log.Warn("the journal is newer than the alarm state: reading it from its start", "stored_index", d.applied, "journal_last", last)
	zero := uint64(0)
	if err := d.db.SaveAlerts(ctx, store.AlertBatch{Cursor: &zero}); err != nil {
		return fmt.Errorf("reset the alert cursor: %w", err)
	}
	d.applied = 0
	return nil
}
