package gateway

import (
	"context"
	"log/slog"
	"time"

	"carebed/alerts"
	"carebed/devices"
	"carebed/gateway/journal"
	"carebed/store"
)

// alarmTick is how often rule timers and escalations are checked.
const alarmTick = 250 * time.Millisecond

// startAlarms loads the alarm desk and starts its parts: the journal
// consumer that runs the rules, the timer that fires rule deadlines and
// escalations, and the dispatcher of notification requests.
func startAlarms(ctx context.Context, cfg Config, db *store.DB, reg *devices.Registry, j *journal.Journal,
	m *metrics, log *slog.Logger, parts *lifecycle, failed chan<- error) (*alarmDesk, error) {
	rules, err := alarmConfig(cfg.Zone, cfg.AlarmTimers)
	if err != nil {
		return nil, err
	}
	desk := newAlarmDesk(db, reg, m, log, rules)
	desk.pendingSince = func(after uint64) (time.Time, bool) {
		if j.LastIndex() <= after {
			return time.Time{}, false
		}
		es, err := j.Read(after+1, 1, nil)
		if err != nil || len(es) == 0 {
			return time.Time{}, false
		}
		return es[0].Received, true
	}
	if err := desk.load(ctx); err != nil {
		return nil, err
	}
	parts.goRun("alarm rules", failed, func(ctx context.Context) error {
		// No linger: an alarm must not wait for company.
		return j.Consume(ctx, consumerAlerts, 1024, desk.consume)
	})
	parts.goRun("alarm timers", failed, func(ctx context.Context) error { return desk.runTimers(ctx, alarmTick) })
	d := &dispatcher{db: db, notifier: alerts.LogNotifier{Log: log}, metrics: m, log: log, wake: desk.wake, now: time.Now, poll: time.Second}
	parts.goRun("notification dispatcher", failed, d.run)
	return desk, nil
}
