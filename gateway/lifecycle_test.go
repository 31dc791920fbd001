package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestLifecycleStopsInReverseOrder(t *testing.T) {
	var mu sync.Mutex
	var order []string
	note := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	var l lifecycle
	failed := make(chan error, 4)
	l.add("database", func(context.Context) error { note("database"); return nil })
	l.goRun("journal", failed, func(ctx context.Context) error { <-ctx.Done(); note("journal"); return nil })
	l.goRun("subscriber", failed, func(ctx context.Context) error { <-ctx.Done(); note("subscriber"); return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.stop(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("stop() = %v, want nil", err)
	}
	if want := []string{"subscriber", "journal", "database"}; !slices.Equal(order, want) {
		t.Errorf("stop order = %v, want %v", order, want)
	}
}

func TestLifecycleReportsEarlyFailureAndDeadline(t *testing.T) {
	var l lifecycle
	failed := make(chan error, 4)
	boom := errors.New("boom")
	l.goRun("broken", failed, func(context.Context) error { return boom })
	if err := <-failed; !errors.Is(err, boom) {
		t.Errorf("failed = %v, want boom", err)
	}
	l.goRun("stuck", failed, func(context.Context) error { select {} })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := l.stop(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stop() with a stuck part = %v, want a deadline error", err)
	}
}
