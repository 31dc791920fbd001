package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Notifier is a notification channel (Web Push, webhook, SMS gateway,
// log): it tells one person about one alert. The gateway stores every
// Request before it calls Notify and retries the ones whose failure is
// Retryable, so a channel must not retry on its own for long, and must
// say which failures are worth another try.
type Notifier interface {
	Notify(ctx context.Context, r Request) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, r Request) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, r Request) error { return f(ctx, r) }

// RetryableError is a failure that may pass if tried again: a timeout, a
// refused connection, HTTP 429 or 5xx. A channel returns any other error
// for failures that will fail again the same way (HTTP 400, 404 or 410,
// an expired subscription, a request it cannot encode): the gateway drops
// those after recording them.
type RetryableError struct {
	Err error
	// After is how long the receiver asked to wait (Retry-After); zero
	// leaves the back-off to the gateway.
	After time.Duration
}

// Error says what failed.
func (e *RetryableError) Error() string {
	if e.After > 0 {
		return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
	}
	return fmt.Sprint(e.Err)
}

// Unwrap returns the failure.
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable reports whether err is worth another try: it wraps a
// *RetryableError, or it is a deadline that ran out (the receiver was
// slow, not wrong). Cancellation is not retryable from the channel's
// point of view: the gateway is stopping, and the stored request is sent
// again on the next start.
func Retryable(err error) bool {
	var re *RetryableError
	return errors.As(err, &re) || errors.Is(err, context.DeadlineExceeded)
}

// RetryAfter is the wait the receiver asked for, when err carries one.
func RetryAfter(err error) (time.Duration, bool) {
	var re *RetryableError
	if errors.As(err, &re) && re.After > 0 {
		return re.After, true
	}
	return 0, false
}

// LogNotifier writes each request to a log: the channel of a demo, a test
// or an agency without any other channel. It logs ids only, never a name
// or a phone number.
type LogNotifier struct {
	Log *slog.Logger // nil means slog.Default()
}

// Notify logs r at Info level.
func (n LogNotifier) Notify(ctx context.Context, r Request) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("log notification of alert %d to %q: %w", r.AlertID, r.PersonID, err)
	}
	l := n.Log
	if l == nil {
		l = slog.Default()
	}
	l.LogAttrs(ctx, slog.LevelInfo, "alert notification",
		slog.Int64("request_id", r.ID),
		slog.Int64("alert_id", r.AlertID),
		slog.String("person_id", r.PersonID),
		slog.String("target", string(r.Target)),
		slog.Int("escalation_level", r.Level), // "level" is the log level's key
		slog.String("reason", string(r.Reason)),
		slog.Time("at", r.At),
	)
	return nil
}
