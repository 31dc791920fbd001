package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"testing"
	"time"
)

func TestRetryable(t *testing.T) {
	refused := errors.New("connection refused")
	tests := []struct {
		name      string
		err       error
		want      bool
		wantAfter time.Duration
	}{
		{"nil", nil, false, 0},
		{"plain failure", errors.New("410 gone: subscription expired"), false, 0},
		{"retryable", &RetryableError{Err: refused}, true, 0},
		{"retryable with a wait", &RetryableError{Err: errors.New("429"), After: 30 * time.Second}, true, 30 * time.Second},
		{"wrapped", fmt.Errorf("web push to %q: %w", "p-1", &RetryableError{Err: refused, After: time.Second}), true, time.Second},
		{"joined", errors.Join(errors.New("a"), &RetryableError{Err: refused}), true, 0},
		{"deadline", fmt.Errorf("webhook: %w", context.DeadlineExceeded), true, 0},
		{"cancelled", fmt.Errorf("webhook: %w", context.Canceled), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
			after, ok := RetryAfter(tt.err)
			if after != tt.wantAfter || ok != (tt.wantAfter > 0) {
				t.Errorf("RetryAfter(%v) = %s, %v, want %s, %v", tt.err, after, ok, tt.wantAfter, tt.wantAfter > 0)
			}
		})
	}
}

func TestRetryableErrorMessage(t *testing.T) {
	refused := errors.New("connection refused")
	tests := []struct {
		name string
		err  *RetryableError
		want string
	}{
		{"no wait", &RetryableError{Err: refused}, "connection refused"},
		{"wait", &RetryableError{Err: refused, After: time.Minute}, "connection refused (retry after 1m0s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error(%#v) = %q, want %q", tt.err, got, tt.want)
			}
			if !errors.Is(tt.err, refused) {
				t.Errorf("errors.Is(%v, refused) = false, want true", tt.err)
			}
		})
	}
}

func TestLogNotifier(t *testing.T) {
	r := Request{ID: 3, AlertID: 42, PersonID: "p-cg1", Target: TargetPrimaryCaregiver, Level: 0, Reason: ActionRaised, At: refTime}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		want    map[string]any
		wantErr error
	}{
		{
			name: "logs ids only", ctx: context.Background(),
			want: map[string]any{"level": "INFO", "msg": "alert notification", "request_id": 3.0, "alert_id": 42.0,
				"person_id": "p-cg1", "target": "primary_caregiver", "escalation_level": 0.0, "reason": "raised", "at": "2026-11-03T10:00:00Z"},
		},
		{name: "cancelled", ctx: cancelled, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey && len(groups) == 0 {
					return slog.Attr{} // the clock of the log line, not of the request
				}
				return a
			}})
			var n Notifier = LogNotifier{Log: slog.New(h)}
			err := n.Notify(tt.ctx, r)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Notify(%s) = %v, want %v", jsonOf(r), err, tt.wantErr)
			}
			var got map[string]any
			if buf.Len() > 0 {
				if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
					t.Fatalf("Notify(%s) logged %q, want one JSON line: %v", jsonOf(r), buf.String(), err)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Notify(%s) logged %v, want %v", jsonOf(r), got, tt.want)
			}
		})
	}
}

func TestNotifierFunc(t *testing.T) {
	var got Request
	n := NotifierFunc(func(_ context.Context, r Request) error { got = r; return &RetryableError{Err: errors.New("busy")} })
	r := Request{AlertID: 1, PersonID: "p-1"}
	if err := n.Notify(context.Background(), r); !Retryable(err) || got != r {
		t.Errorf("NotifierFunc.Notify(%s) = %v and saw %s, want a retryable error and the request", jsonOf(r), err, jsonOf(got))
	}
}
