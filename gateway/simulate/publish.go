package simulate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/gateway/mqttconn"
)

// Connection settings.
const (
	// inflightPerConn bounds the unacknowledged publishes of one
	// connection. paho numbers them with 16-bit ids (at most 65,535 in
	// flight) and finds a free id by scanning from the last one issued, so
	// the window stays far below that.
	inflightPerConn = 4096
	// refillBatch is how many acknowledgements a full window waits for
	// before it sends again.
	refillBatch = inflightPerConn / 8
	// firstConnectTimeout bounds the wait for the first connection.
	firstConnectTimeout = 30 * time.Second
	connectTimeout      = 10 * time.Second
	keepAlive           = 30 * time.Second
	maxReconnectWait    = 5 * time.Second
	// stopGrace bounds the clean stop (drain, offline, drain) once the
	// caller's context has ended.
	stopGrace = 5 * time.Second
)

// counters are the run's Stats, shared by the connections.
type counters struct {
	published, acked, errors atomic.Uint64

	mu       sync.Mutex
	firstErr error
}

func (c *counters) fail(err error) {
	c.errors.Add(1)
	c.mu.Lock()
	if c.firstErr == nil {
		c.firstErr = err
	}
	c.mu.Unlock()
}

func (c *counters) stats() Stats {
	return Stats{Published: c.published.Load(), Acked: c.acked.Load(), Errors: c.errors.Load()}
}

// publisher is one MQTT connection with a bounded window of unacknowledged
// publishes. Its methods are called from one goroutine.
type publisher struct {
	client mqtt.Client
	qos    byte
	stats  *counters
	win    []slot // ring: win[head] is the oldest publish in flight
	head   int
	n      int
}

// slot is one publish in flight and the buffer its payload lives in: paho
// keeps the payload to resend it after a reconnect until the broker
// acknowledges it, so the buffer is only reused after that.
type slot struct {
	tok mqtt.Token
	buf []byte
}

// will is a connection's last will: the availability of one device.
type will struct{ topic string }

// newPublisher creates the client of connection i. Nothing is sent before
// connect.
func newPublisher(broker string, runID string, i int, qos byte, w will, stats *counters, lastErr *errBox) *publisher {
	o := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(fmt.Sprintf("carebed-sim-%s-%d", runID, i)).
		SetCleanSession(true). // nothing to resume: a publisher owns no subscription
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetConnectTimeout(connectTimeout).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(maxReconnectWait).
		SetKeepAlive(keepAlive).
		SetOrderMatters(false).
		SetConnectionNotificationHandler(func(_ mqtt.Client, n mqtt.ConnectionNotification) {
			switch n := n.(type) {
			case mqtt.ConnectionNotificationBrokerFailed:
				lastErr.set(n.Reason)
			case mqtt.ConnectionNotificationFailed:
				if n.Reason != nil {
					lastErr.set(n.Reason)
				}
			}
		})
	if w.topic != "" {
		// MQTT has one will per connection (MQTT 3.1.1 §3.1.2.5): it
		// speaks for one representative device, see Run.
		o.SetWill(w.topic, "offline", qos, true)
	}
	if u, err := url.Parse(broker); err == nil && mqttconn.Supports(u) {
		o.SetCustomOpenConnectionFn(mqttconn.Open)
	}
	return &publisher{client: mqtt.NewClient(o), qos: qos, stats: stats, win: make([]slot, inflightPerConn)}
}

// connect waits until the first connection is up, ctx ends or
// firstConnectTimeout passes; paho keeps retrying meanwhile.
func (p *publisher) connect(ctx context.Context, broker string, lastErr *errBox) error {
	tok := p.client.Connect()
	timer := time.NewTimer(firstConnectTimeout)
	defer timer.Stop()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("connect to MQTT broker %s: %w", broker, err)
		}
		return nil
	case <-ctx.Done():
		p.client.Disconnect(0)
		if err := lastErr.get(); err != nil {
			return fmt.Errorf("connect to MQTT broker %s: %w (last attempt: %v)", broker, ctx.Err(), err)
		}
		return fmt.Errorf("connect to MQTT broker %s: %w", broker, ctx.Err())
	case <-timer.C:
		p.client.Disconnect(0)
		err := lastErr.get()
		if err == nil {
			err = errors.New("no answer")
		}
		return fmt.Errorf("connect to MQTT broker %s: not connected after %v: %w", broker, firstConnectTimeout, err)
	}
}

// acquire returns a free slot, waiting for the oldest publish to be
// acknowledged when the window is full. It fails only when ctx ends.
func (p *publisher) acquire(ctx context.Context) (*slot, error) {
	if p.n == len(p.win) {
		// Wait for a batch of acknowledgements, not one: publishing one
		// message per acknowledgement would cost a write and a wake-up
		// each, on both sides, when the broker sets the pace.
		for p.n > len(p.win)-refillBatch {
			if err := p.retire(ctx); err != nil {
				return nil, err
			}
		}
	}
	return &p.win[(p.head+p.n)%len(p.win)], nil
}

// send publishes m from the slot that acquire returned; m.payload must live
// in s.buf's backing array.
func (p *publisher) send(s *slot, m message) {
	s.buf = m.payload
	s.tok = p.client.Publish(m.topic, p.qos, m.retained, m.payload)
	p.stats.published.Add(1)
	p.n++
}

// retire waits for the oldest publish in flight and counts its outcome.
// Acknowledgements come back in order on one connection, so waiting for the
// oldest costs nothing while the others complete.
func (p *publisher) retire(ctx context.Context) error {
	s := &p.win[p.head]
	select {
	case <-s.tok.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := s.tok.Error(); err != nil {
		p.stats.fail(err)
		s.buf = nil // paho may still hold it
	} else {
		p.stats.acked.Add(1)
	}
	s.tok = nil
	p.head = (p.head + 1) % len(p.win)
	p.n--
	return nil
}

// drain waits until every publish in flight is acknowledged or ctx ends.
func (p *publisher) drain(ctx context.Context) error {
	for p.n > 0 {
		if err := p.retire(ctx); err != nil {
			return err
		}
	}
	return nil
}

// publish sends a payload that is not built in a slot's buffer (such as
// availability).
func (p *publisher) publish(ctx context.Context, topic, payload string, retained bool) error {
	s, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	p.send(s, message{topic: topic, payload: append(s.buf[:0], payload...), retained: retained})
	return nil
}

// errBox keeps the last error paho reported while connecting, for the
// message when the first connection never comes up.
type errBox struct {
	mu  sync.Mutex
	err error
}

func (b *errBox) set(err error) {
	b.mu.Lock()
	b.err = err
	b.mu.Unlock()
}

func (b *errBox) get() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// newRunID returns a short random id that keeps the client ids of
// simultaneous runs apart.
func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
