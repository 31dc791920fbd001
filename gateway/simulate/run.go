package simulate

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"carebed/devices"
)

// Run publishes the traffic of opts.Beds beds to opts.Broker until opts.Count
// messages are sent, opts.Duration has passed or ctx ends, then stops
// cleanly: it waits for the broker to acknowledge every publish in flight,
// publishes retained "offline" on every device's availability topic, waits
// for those acknowledgements too, and disconnects. Once ctx has ended the
// clean stop gets 5 s.
//
// Beds are spread over opts.Conns connections in contiguous blocks. MQTT
// gives a connection one will message, so each connection's will is the
// retained "offline" of one representative device, the vitals monitor of its
// first bed (or the first device that publishes opts.Stream): if the
// simulator dies, the gateway sees that device go offline and the others
// fall silent.
//
// The error is nil when the run stopped as asked (ctx ending included) and
// every publish was acknowledged; otherwise it says what failed, and Stats
// counts what was done.
func Run(ctx context.Context, opts Options) (Stats, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Stats{}, err
	}
	if err := checkBroker(opts.Broker); err != nil {
		return Stats{}, err
	}
	start := opts.Clock()
	stats := &counters{}
	bud := newBudget(opts.Count)
	runID := newRunID()
	var lastErr errBox

	workers := make([]*worker, opts.Conns)
	for i := range workers {
		beds := newBeds(opts, start, i*opts.Beds/opts.Conns, (i+1)*opts.Beds/opts.Conns)
		w := &worker{beds: beds, opts: opts, budget: bud, stream: devices.Stream(opts.Stream)}
		w.gen = newGenerator(beds, opts, start)
		w.pub = newPublisher(opts.Broker, runID, i, opts.QoS, will{topic: w.representative()}, stats, &lastErr)
		workers[i] = w
	}

	cg, cctx := errgroup.WithContext(ctx)
	for _, w := range workers {
		cg.Go(func() error { return w.pub.connect(cctx, opts.Broker, &lastErr) })
	}
	if err := cg.Wait(); err != nil {
		for _, w := range workers {
			w.pub.client.Disconnect(0)
		}
		return stats.stats(), err
	}

	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if opts.Duration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, opts.Duration)
	}
	defer cancel()
	stopCtx, stopCancel := graceContext(ctx, stopGrace)
	defer stopCancel()

	var g errgroup.Group
	for _, w := range workers {
		g.Go(func() error { return w.run(runCtx, stopCtx) })
	}
	err = g.Wait()
	for _, w := range workers {
		w.pub.client.Disconnect(250)
	}
	st := stats.stats()
	if err == nil && st.Errors > 0 {
		stats.mu.Lock()
		err = fmt.Errorf("simulate: %d of %d publishes failed; the first: %w", st.Errors, st.Published, stats.firstErr)
		stats.mu.Unlock()
	}
	return st, err
}

// newBeds makes the beds at positions [lo, hi) of the fleet.
func newBeds(opts Options, start time.Time, lo, hi int) []*simBed {
	beds := make([]*simBed, 0, hi-lo)
	for idx := lo; idx < hi; idx++ {
		n := opts.FirstBed + idx
		level := makeBed(opts.Seed, n, opts.Agency, start).Elder.DisabilityLevel
		beds = append(beds, newSimBed(opts.Seed, n, idx, start, level))
	}
	return beds
}

// graceContext returns a context that ends grace after parent ends.
func graceContext(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(ctx, func() { t.Stop() })
	})
	return ctx, func() { stop(); cancel() }
}

// budget is what is left of Options.Count, shared by the connections.
type budget struct {
	limited bool
	left    atomic.Int64
}

func newBudget(count int) *budget {
	b := &budget{limited: count > 0}
	b.left.Store(int64(count))
	return b
}

// take claims one message; false means the count is reached.
func (b *budget) take() bool { return !b.limited || b.left.Add(-1) >= 0 }

// worker drives the beds of one connection.
type worker struct {
	beds   []*simBed
	gen    *generator
	pub    *publisher
	opts   Options
	budget *budget
	stream devices.Stream
}

// representative returns the availability topic of the device whose
// availability the connection's will speaks for.
func (w *worker) representative() string {
	for r := range numRoles {
		if r.publishes(w.stream) {
			return w.beds[0].dev[r].availTopic
		}
	}
	return ""
}

// run announces the devices, publishes traffic until ctx ends, the count is
// reached or nothing is left to send, and then stops cleanly within
// stopCtx.
func (w *worker) run(ctx, stopCtx context.Context) error {
	if err := w.announce(ctx, "online"); err == nil {
		w.traffic(ctx)
	}
	if err := w.pub.drain(stopCtx); err != nil {
		return w.unacked(err)
	}
	if err := w.announce(stopCtx, "offline"); err != nil {
		return w.unacked(err)
	}
	if err := w.pub.drain(stopCtx); err != nil {
		return w.unacked(err)
	}
	return nil
}

func (w *worker) unacked(err error) error {
	return fmt.Errorf("simulate: stopped with %d publishes unacknowledged: %w", w.pub.n, err)
}

// announce publishes the retained availability of every device the worker
// drives.
func (w *worker) announce(ctx context.Context, state string) error {
	for _, b := range w.beds {
		for r := range numRoles {
			if !r.publishes(w.stream) {
				continue
			}
			if err := w.pub.publish(ctx, b.dev[r].availTopic, state, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// pacingSlack is how far behind its schedule a paced sender may fall before
// it sleeps: sleeping for less than this per message would cost more than
// the messages.
const pacingSlack = time.Millisecond

// traffic publishes until ctx ends, the budget is spent or the generator
// has nothing more to send.
func (w *worker) traffic(ctx context.Context) {
	rate := w.opts.Rate * float64(len(w.beds)) / float64(w.opts.Beds)
	paced := rate > 0 && !w.opts.Fast
	realistic := !paced && !w.opts.Fast
	began := time.Now()
	var sent int64
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	sleep := func(d time.Duration) bool {
		timer.Reset(d)
		select {
		case <-timer.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for ctx.Err() == nil {
		due, ok := w.gen.nextDue()
		if !ok {
			return
		}
		if realistic {
			if d := due.Sub(w.opts.Clock()); d > 0 && !sleep(d) {
				return
			}
		}
		if paced {
			target := began.Add(time.Duration(float64(sent) / rate * float64(time.Second)))
			if d := time.Until(target); d > pacingSlack && !sleep(d) {
				return
			}
		}
		s, err := w.pub.acquire(ctx)
		if err != nil {
			return
		}
		m, ok := w.gen.next(w.opts.Clock(), s.buf[:0])
		if !ok {
			// Only a scenario step is left, not due yet.
			if d := due.Sub(w.opts.Clock()); d > 0 && !sleep(d) {
				return
			}
			continue
		}
		if !w.budget.take() {
			return
		}
		w.pub.send(s, m)
		sent++
	}
}
