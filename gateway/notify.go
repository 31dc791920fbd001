package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"carebed/alerts"
	"carebed/store"
)

// dispatcher hands stored notification requests (the outbox) to a channel.
// A request is stored in the same transaction as the alert change that made
// it, so a crash between the two never loses one; a request can be sent
// twice (crash after sending, before marking), never zero times.
type dispatcher struct {
	db       *store.DB
	notifier alerts.Notifier
	metrics  *metrics
	log      *slog.Logger
	wake     <-chan struct{}
	now      func() time.Time
	// poll is how often to look for requests due for a retry.
	poll time.Duration
}

func (p *dispatcher) run(ctx context.Context) error {
	t := time.NewTicker(p.poll)
	defer t.Stop()
	for {
		n, err := p.sendDue(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Error("notification outbox", "err", err)
		}
		if n > 0 && err == nil {
			continue // there may be more
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-t.C:
		}
	}
}

// sendDue sends one page of due requests and returns how many it tried.
func (p *dispatcher) sendDue(ctx context.Context) (int, error) {
	reqs, err := p.db.PendingNotifications(ctx, p.now(), 100)
	if err != nil {
		return 0, fmt.Errorf("read pending notifications: %w", err)
	}
	for _, r := range reqs {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		sendErr := p.notifier.Notify(sctx, r)
		cancel()
		result := "sent"
		switch {
		case sendErr == nil:
		case alerts.Retryable(sendErr):
			result = "retry"
		default:
			result = "failed"
		}
		p.metrics.notifications.WithLabelValues(result).Inc()
		if sendErr != nil {
			p.log.Warn("notification not delivered", "alert", r.AlertID, "person", r.PersonID, "result", result, "err", sendErr)
		}
		if err := p.db.MarkNotified(ctx, r.ID, p.now(), sendErr, alerts.Retryable(sendErr)); err != nil {
			return len(reqs), fmt.Errorf("mark notification %d: %w", r.ID, err)
		}
	}
	return len(reqs), nil
}
