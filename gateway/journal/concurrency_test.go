package journal

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Several appenders, several consumers, small segments and frequent front
// truncation at once: every consumer sees every entry once, in order, and
// each appender's acks come in its own append order.
func TestConcurrentAppendersAndConsumers(t *testing.T) {
	const appenders, perAppender = 4, 1500
	const total = appenders * perAppender
	j := openJournal(t, Options{
		Dir:           t.TempDir(),
		SegmentSize:   16 << 10,
		MaxUnacked:    64,
		MaxBatch:      16,
		DedupeWindow:  10,
		TruncateEvery: 2 * time.Millisecond,
	})
	j.persistEvery = time.Millisecond
	stop := run(t, j)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	consumers := []string{"alarms", "telemetry", "state"}
	seen := make([][]uint64, len(consumers))
	errs := make(chan error, len(consumers)+appenders)
	var wg sync.WaitGroup
	var caughtUp sync.WaitGroup
	caughtUp.Add(len(consumers))
	for c, name := range consumers {
		wg.Go(func() {
			reached := false
			err := j.Consume(ctx, name, 50+c*100, func(_ context.Context, batch []Entry) error {
				for _, e := range batch {
					seen[c] = append(seen[c], e.Index)
					if e.Index == total {
						reached = true
						caughtUp.Done()
					}
				}
				return nil
			})
			if !reached { // failed early: do not leave the test waiting
				caughtUp.Done()
			}
			errs <- err
		})
	}
	var acks [appenders][]int
	var acked sync.WaitGroup
	acked.Add(total)
	var appending sync.WaitGroup
	for a := range appenders {
		appending.Go(func() {
			for i := range perAppender {
				r := Record{Received: t0, Topic: fmt.Sprintf("carebed/dev-%d/vitals", a), Payload: fmt.Appendf(nil, `{"seq":%d}`, i)}
				if err := j.Append(context.Background(), r, func() { acks[a] = append(acks[a], i); acked.Done() }); err != nil {
					errs <- fmt.Errorf("Append(appender %d, %d) = %w", a, i, err)
					acked.Add(i - perAppender) // these acks will never come
					return
				}
			}
		})
	}
	appending.Wait()
	acked.Wait()
	caughtUp.Wait()
	cancel()
	wg.Wait()
	stop()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent use: %v, want nil", err)
		}
	}
	for c, name := range consumers {
		if len(seen[c]) != total {
			t.Errorf("consumer %q saw %d entries, want %d", name, len(seen[c]), total)
			continue
		}
		for i, idx := range seen[c] {
			if idx != uint64(i+1) {
				t.Errorf("consumer %q entry %d = index %d, want %d", name, i, idx, i+1)
				break
			}
		}
	}
	for a := range appenders {
		for i, got := range acks[a] {
			if got != i {
				t.Errorf("appender %d ack %d = record %d, want %d", a, i, got, i)
				break
			}
		}
	}
	t.Logf("Stats() = %+v", j.Stats())
}
