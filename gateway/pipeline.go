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

// healthSaveEvery is how often device health (last seen, online, battery)
// is written to the state database. Every message changes last_seen, so at
// 10,000 beds each save rewrites most devices; the database has one
// writer, and alarms must not queue behind it. A crash loses at most this
// much of last_seen, never an observation.
const healthSaveEvery = 10 * time.Second

// deviceState is the journal consumer that keeps the registry's view of the
// field: device health, devices nobody registered, devices that discovery
// announces, and dead letters.
type deviceState struct {
	reg     *devices.Registry
	decoded *decodedRing // reg's decodings, shared with the other consumers
	monitor *devices.Monitor
	db      *store.DB
	metrics *metrics
	log     *slog.Logger
	// Health is saved at most every saveEvery: a crash loses at most that
	// much of last_seen, never an observation (the journal keeps those).
	saveEvery time.Duration
	lastSave  atomic.Int64 // unix nanoseconds
	// silent, when set, is told of devices the sweep found silent (the
	// alarm rules raise device_offline).
	silent   func(ctx context.Context, ids []string, at time.Time) error
	unsent   []string // silent devices the alarm rules have not taken yet
	accepted []devices.Observation
}

// resultIgnored counts messages that carry no reading and no fault: a
// retained deletion, a hub's log line, a command to a hub.
const resultIgnored = "ignored"

func (d *deviceState) consume(ctx context.Context, batch []journal.Entry) error {
	var out outcome
	d.accepted = d.accepted[:0]
	for _, e := range batch {
		m := devices.Message{Topic: e.Topic, Payload: e.Payload, Received: e.Received}
		a, isDiscovery, err := d.reg.Announced(m)
		if isDiscovery {
			out.discovered(e, a, err)
			continue
		}
		n := len(d.accepted)
		d.accepted, err = d.decoded.decode(e, d.accepted)
		out.decoded(e, d.accepted[n:], err)
	}
	if err := out.keep(ctx, d.db); err != nil {
		return err
	}
	// Counted once the batch is kept, so a retried batch is not counted twice.
	d.observe(d.accepted)
	out.count(d.metrics)
	if time.Since(time.Unix(0, d.lastSave.Load())) < d.saveEvery {
		return nil
	}
	return d.saveHealth(ctx)
}

// outcome is what one batch leaves besides observations.
type outcome struct {
	dead      []store.DeadLetter
	unknown   map[string]store.UnknownDevice
	discovery []store.DiscoveryMessage
	counts    map[[2]string]int // stream, result
}

func (o *outcome) add(stream, result string) {
	if o.counts == nil {
		o.counts = map[[2]string]int{}
	}
	o.counts[[2]string{stream, result}]++
}

func (o *outcome) discovered(e journal.Entry, a devices.Announcement, err error) {
	if err != nil {
		o.decoded(e, nil, err)
		return
	}
	o.add(streamLabel(e.Topic), resultAccepted)
	o.discovery = append(o.discovery, store.DiscoveryMessage{Announcement: a, Received: e.Received})
}

// decoded sorts one message by what Decode made of it.
func (o *outcome) decoded(e journal.Entry, obs []devices.Observation, err error) {
	stream := streamLabel(e.Topic)
	key, isUnknown := devices.UnknownKey(err)
	switch {
	case err == nil && len(obs) == 0:
		o.add(stream, resultIgnored)
	case err == nil:
		o.add(streamOf(obs[0], stream), resultAccepted)
	case isUnknown:
		o.add(stream, resultUnknown)
		if o.unknown == nil {
			o.unknown = map[string]store.UnknownDevice{}
		}
		u := o.unknown[key]
		if u.Key == "" {
			u = store.UnknownDevice{Key: key, FirstSeen: e.Received}
		}
		u.Topic, u.LastSeen, u.LastPayload = e.Topic, e.Received, string(e.Payload)
		u.Count++
		o.unknown[key] = u
	default:
		reason := devices.ReasonOf(err)
		if reason == "" { // not a rejection: a bug, but never lose the message
			reason = devices.ReasonInvalidValue
		}
		o.add(stream, resultRejected)
		o.dead = append(o.dead, store.DeadLetter{
			Received: e.Received, Topic: e.Topic, Reason: reason,
			Detail: err.Error(), Payload: string(e.Payload), Size: len(e.Payload),
		})
	}
}

// keep stores the dead letters, unknown devices and discovery of a batch.
func (o *outcome) keep(ctx context.Context, db *store.DB) error {
	if len(o.dead) > 0 {
		if err := db.AddDeadLetters(ctx, o.dead); err != nil {
			return fmt.Errorf("keep %d dead letters: %w", len(o.dead), err)
		}
	}
	if len(o.unknown) > 0 {
		list := make([]store.UnknownDevice, 0, len(o.unknown))
		for _, u := range o.unknown {
			list = append(list, u)
		}
		if err := db.SaveUnknown(ctx, list); err != nil {
			return fmt.Errorf("keep %d unknown devices: %w", len(list), err)
		}
	}
	if len(o.discovery) > 0 {
		if err := db.SaveDiscovery(ctx, o.discovery); err != nil {
			return fmt.Errorf("keep %d discovery messages: %w", len(o.discovery), err)
		}
	}
	return nil
}

func (o *outcome) count(m *metrics) {
	for k, n := range o.counts {
		if k[1] == resultIgnored { // not among the label sets metrics.go creates up front
			m.messages.WithLabelValues(k[0], k[1]).Add(float64(n))
			continue
		}
		m.message(k[0], k[1]).Add(float64(n))
	}
	for _, l := range o.dead {
		m.deadLetters.WithLabelValues(string(l.Reason)).Inc()
	}
}

// observe updates device health from a batch of observations, in order. A
// Zigbee2MQTT hub going offline blinds the devices behind it: they are
// marked offline at that point of the batch, and come back with their
// own next messages.
func (d *deviceState) observe(batch []devices.Observation) {
	from := 0
	for i, o := range batch {
		if o.Kind != devices.KindHub || o.Stream != devices.StreamAvailability {
			continue
		}
		if f, ok := o.Field("online"); !ok || f.B {
			continue
		}
		d.monitor.ObserveAll(batch[from : i+1])
		from = i + 1
		if n := d.monitor.MarkOffline(d.reg.BehindHub(o.DeviceID)); n > 0 {
			d.log.Info("hub offline: devices behind it are blind", "hub", o.DeviceID, "devices", n)
		}
	}
	d.monitor.ObserveAll(batch[from:])
}

// streamOf is the metric label of an accepted message: its first
// observation's stream, when it is a contract stream.
func streamOf(o devices.Observation, fallback string) string {
	for _, s := range devices.Streams {
		if o.Stream == s {
			return string(s)
		}
	}
	return fallback
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
			changed := d.monitor.Sweep(now)
			if len(changed) > 0 {
				d.log.Info("devices went silent", "count", len(changed))
			}
			// The sweep reports a device once: a failed hand-off to the
			// alarm rules is kept and tried again at the next sweep.
			d.unsent = append(d.unsent, changed...)
			if d.silent != nil && len(d.unsent) > 0 {
				if err := d.silent(ctx, d.unsent, now); err != nil {
					if ctx.Err() == nil {
						d.log.Error("raise device_offline", "devices", len(d.unsent), "err", err)
					}
				} else {
					d.unsent = d.unsent[:0]
				}
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
	decoded *decodedRing
	store   telemetry.Store
	metrics *metrics
	drops   *dropBox
	db      *store.DB
	obs     []devices.Observation
}

func (t *telemetryWriter) consume(ctx context.Context, batch []journal.Entry) error {
	t.obs = t.obs[:0]
	for _, e := range batch {
		n := len(t.obs)
		var err error
		t.obs, err = t.decoded.decode(e, t.obs)
		if err != nil {
			continue // counted and kept by the device-state consumer
		}
		// Observations without fields are signs of life: nothing to write.
		kept := n
		for _, o := range t.obs[n:] {
			if len(o.Fields) > 0 {
				t.obs[kept] = o
				kept++
			}
		}
		t.obs = t.obs[:kept]
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
