package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"carebed/devices"
	"carebed/gateway/journal"
	"carebed/gateway/telemetry"
	"carebed/store"
)

// Journal consumer names; they name cursor files and metric labels.
const (
	consumerDevices   = "devices"
	consumerTelemetry = "telemetry"
)

// deviceState is the journal consumer that keeps the registry's view of the
// field: device health, devices nobody registered, and dead letters.
type deviceState struct {
	reg     *devices.Registry
	monitor *devices.Monitor
	db      *store.DB
	metrics *metrics
	log     *slog.Logger
	// Health is saved at most every saveEvery: a crash loses at most that
	// much of last_seen, never an observation (the journal keeps those).
	saveEvery time.Duration
	lastSave  atomic.Int64 // unix nanoseconds
	accepted  []devices.Observation
}

func (d *deviceState) consume(ctx context.Context, batch []journal.Entry) error {
	var dead []store.DeadLetter
	var unknown map[string]store.UnknownDevice
	d.accepted = d.accepted[:0]
	counts := map[[2]string]int{} // stream, result
	for _, e := range batch {
		obs, err := d.reg.Observe(devices.Message{Topic: e.Topic, Payload: e.Payload, Received: e.Received})
		stream := streamLabel(e.Topic)
		switch reason := devices.ReasonOf(err); {
		case err == nil:
			counts[[2]string{stream, resultAccepted}]++
			d.accepted = append(d.accepted, obs)
		case reason == devices.ReasonUnknownDevice:
			counts[[2]string{stream, resultUnknown}]++
			if unknown == nil {
				unknown = map[string]store.UnknownDevice{}
			}
			u := unknown[obs.DeviceID]
			if u.Key == "" {
				u = store.UnknownDevice{Key: obs.DeviceID, FirstSeen: e.Received}
			}
			u.Topic, u.LastSeen, u.LastPayload = e.Topic, e.Received, string(e.Payload)
			u.Count++
			unknown[obs.DeviceID] = u
		default:
			if reason == "" { // not a rejection: a bug, but never lose the message
				reason = devices.ReasonInvalidValue
			}
			counts[[2]string{stream, resultRejected}]++
			dead = append(dead, store.DeadLetter{
				Received: e.Received, Topic: e.Topic, Reason: reason,
				Detail: err.Error(), Payload: string(e.Payload), Size: len(e.Payload),
			})
		}
	}
	if len(dead) > 0 {
		if err := d.db.AddDeadLetters(ctx, dead); err != nil {
			return fmt.Errorf("keep %d dead letters: %w", len(dead), err)
		}
	}
	if len(unknown) > 0 {
		list := make([]store.UnknownDevice, 0, len(unknown))
		for _, u := range unknown {
			list = append(list, u)
		}
		if err := d.db.SaveUnknown(ctx, list); err != nil {
			return fmt.Errorf("keep %d unknown devices: %w", len(list), err)
		}
	}
	// Counted once the batch is kept, so a retried batch is not counted twice.
	d.monitor.ObserveAll(d.accepted)
	for k, n := range counts {
		d.metrics.message(k[0], k[1]).Add(float64(n))
	}
	for _, l := range dead {
		d.metrics.deadLetters.WithLabelValues(string(l.Reason)).Inc()
	}
	if time.Since(time.Unix(0, d.lastSave.Load())) < d.saveEvery {
		return nil
	}
	return d.saveHealth(ctx)
}

func (d *deviceState) saveHealth(ctx context.Context) error {
	dirty := d.monitor.TakeDirty()
	if len(dirty) == 0 {
		return nil
	}
	if err := d.db.SaveHealth(ctx, dirty); err != nil {
		d.monitor.MarkDirty(dirty) // try again next time
		return fmt.Errorf("save health of %d devices: %w", len(dirty), err)
	}
	d.lastSave.Store(time.Now().UnixNano())
	return nil
}

// sweep marks silent devices offline, every interval until ctx ends.
func (d *deviceState) sweep(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			if changed := d.monitor.Sweep(now); len(changed) > 0 {
				d.log.Info("devices went silent", "count", len(changed))
			}
			if err := d.saveHealth(ctx); err != nil && ctx.Err() == nil {
				d.log.Error("save device health", "err", err)
			}
		}
	}
}

// streamLabel is the metric label for a message's stream: a contract
// stream name or "none", so labels stay a closed set.
func streamLabel(topic string) string {
	i := strings.LastIndexByte(topic, '/')
	s := devices.Stream(topic[i+1:])
	for _, known := range devices.Streams {
		if s == known {
			return string(s)
		}
	}
	return "none"
}

// telemetryWriter is the journal consumer that writes observations to the
// time-series store. While the store is unreachable its cursor stands still
// and the journal is the spool: nothing is lost and order is kept.
type telemetryWriter struct {
	reg     *devices.Registry
	store   telemetry.Store
	metrics *metrics
	drops   *dropBox
	db      *store.DB
	obs     []devices.Observation
}

func (t *telemetryWriter) consume(ctx context.Context, batch []journal.Entry) error {
	t.obs = t.obs[:0]
	for _, e := range batch {
		o, err := t.reg.Observe(devices.Message{Topic: e.Topic, Payload: e.Payload, Received: e.Received})
		if err != nil || len(o.Fields) == 0 {
			continue // counted and kept by the device-state consumer
		}
		t.obs = append(t.obs, o)
	}
	if len(t.obs) == 0 {
		return nil
	}
	t.drops.take() // forget drops of an earlier attempt at this batch
	start := time.Now()
	err := t.store.Write(ctx, t.obs)
	t.metrics.writeSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		return fmt.Errorf("write %d observations: %w", len(t.obs), err)
	}
	dropped := t.drops.take()
	t.metrics.writePoints.WithLabelValues("written").Add(float64(len(t.obs) - len(dropped)))
	if len(dropped) == 0 {
		return nil
	}
	t.metrics.writePoints.WithLabelValues("dropped").Add(float64(len(dropped)))
	t.metrics.deadLetters.WithLabelValues(string(devices.ReasonStoreRejected)).Add(float64(len(dropped)))
	if err := t.db.AddDeadLetters(ctx, dropped); err != nil {
		return fmt.Errorf("keep %d observations the store refused: %w", len(dropped), err)
	}
	return nil
}
