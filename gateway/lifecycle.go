package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"golang.org/x/sync/errgroup"
)

// lifecycle remembers how each started part stops, and stops them in
// reverse order. Its errgroup owns every goroutine it starts: stop returns
// only after all of them have returned (or the deadline passed).
type lifecycle struct {
	stops []namedStop
	group errgroup.Group
}

type namedStop struct {
	name string
	stop func(context.Context) error
}

func (l *lifecycle) add(name string, stop func(context.Context) error) {
	l.stops = append(l.stops, namedStop{name, stop})
}

// goRun runs fn in its own goroutine with its own context. Stopping cancels
// that context and waits for fn to return. An error fn returns while the
// gateway runs is sent to failed.
func (l *lifecycle) goRun(name string, failed chan<- error, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	l.group.Go(func() error {
		err := fn(ctx)
		if err != nil && ctx.Err() == nil {
			select {
			case failed <- fmt.Errorf("%s: %w", name, err):
			default:
			}
		}
		done <- err
		return nil // errors travel through failed and stop
	})
	l.add(name, func(sctx context.Context) error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-sctx.Done():
			return fmt.Errorf("%s did not stop in time: %w", name, sctx.Err())
		}
	})
}

func (l *lifecycle) stop(ctx context.Context, log *slog.Logger) error {
	var errs []error
	for i := len(l.stops) - 1; i >= 0; i-- {
		s := l.stops[i]
		if err := s.stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("stop", "part", s.name, "err", err)
			errs = append(errs, fmt.Errorf("stop %s: %w", s.name, err))
		}
	}
	l.stops = nil
	waited := make(chan struct{})
	go func() { _ = l.group.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("goroutines still running at the shutdown deadline: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http-addr %s: %w (choose a free address)", addr, err)
	}
	return ln, nil
}
