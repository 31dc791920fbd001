// Package ingest subscribes to the MQTT broker and hands every message to
// the durable journal. A message is acknowledged to the broker only after the
// journal has committed it, in arrival order, so a crash replays instead of
// losing.
//
// It must never decode payloads or wait on anything but the journal: decoding
// and storage are the consumers' work.
package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/gateway/journal"
	"carebed/gateway/mqttconn"
)

// Journal is where messages go before they are acknowledged.
type Journal interface {
	Append(ctx context.Context, rec journal.Record, ack func()) error
}

// Options configure the subscriber.
type Options struct {
	URL      string // tcp://host:1883, ssl://host:8883, ws://...
	ClientID string // stable: the broker keeps this client's session
	Username string
	Password string
	TLS      *tls.Config
	Topics   []string
	// KeepAlive, ConnectTimeout and MaxReconnectInterval default to 30 s,
	// 10 s and 5 s. paho's own reconnect ceiling is 10 minutes.
	KeepAlive            time.Duration
	ConnectTimeout       time.Duration
	MaxReconnectInterval time.Duration
	Logger               *slog.Logger
}

// Subscriber is the MQTT side of ingest.
type Subscriber struct {
	opts      Options
	journal   Journal
	log       *slog.Logger
	connected atomic.Bool
	received  atomic.Uint64
	refused   atomic.Uint64
	accepting atomic.Bool
}

// New returns a subscriber that appends to j.
func New(opts Options, j Journal) (*Subscriber, error) {
	if _, err := url.Parse(opts.URL); err != nil || opts.URL == "" {
		return nil, fmt.Errorf("mqtt-url %q: not a broker URL (want tcp://host:1883)", opts.URL)
	}
	if opts.ClientID == "" {
		return nil, errors.New("mqtt-client-id: empty (set a stable id so the broker keeps the session)")
	}
	if len(opts.Topics) == 0 {
		return nil, errors.New("mqtt-topics: no topic to subscribe to")
	}
	if opts.KeepAlive == 0 {
		opts.KeepAlive = 30 * time.Second
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	if opts.MaxReconnectInterval == 0 {
		opts.MaxReconnectInterval = 5 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Subscriber{opts: opts, journal: j, log: log.With("component", "mqtt")}, nil
}

// Connected reports whether the broker connection is up.
func (s *Subscriber) Connected() bool { return s.connected.Load() }

// Received counts messages delivered by the broker.
func (s *Subscriber) Received() uint64 { return s.received.Load() }

// Run connects (retrying until ctx ends), subscribes on every (re)connect
// and delivers messages to the journal until ctx ends. Before it disconnects
// it waits, within the grace of drain, for what was appended to be
// committed and acknowledged.
func (s *Subscriber) Run(ctx context.Context, drain func(context.Context) error) error {
	s.accepting.Store(true)
	var dialer *mqttconn.Dialer
	handler := func(_ mqtt.Client, m mqtt.Message) {
		s.received.Add(1)
		if !s.accepting.Load() {
			return // not acknowledged: the broker redelivers it to the next session
		}
		rec := journal.Record{Received: time.Now(), Topic: m.Topic(), Payload: m.Payload(), Duplicate: m.Duplicate()}
		if err := s.journal.Append(ctx, rec, ackFor(m, dialer)); err != nil {
			s.refused.Add(1)
		}
	}
	o := mqtt.NewClientOptions().
		AddBroker(s.opts.URL).
		SetClientID(s.opts.ClientID).
		SetUsername(s.opts.Username).
		SetPassword(s.opts.Password).
		SetCleanSession(false). // keep queued QoS1 messages while we are away
		SetAutoAckDisabled(true).
		SetStore(noStore{}).   // the journal and the broker session are the durable copies
		SetOrderMatters(true). // acks in arrival order; the handler never blocks for long
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(s.opts.MaxReconnectInterval).
		SetKeepAlive(s.opts.KeepAlive).
		SetConnectTimeout(s.opts.ConnectTimeout).
		SetWriteTimeout(10 * time.Second).
		SetDefaultPublishHandler(handler). // registered before Connect: queued messages arrive at once
		SetOnConnectHandler(func(c mqtt.Client) {
			s.connected.Store(true)
			s.log.Info("connected to broker", "url", redact(s.opts.URL))
			filters := make(map[string]byte, len(s.opts.Topics))
			for _, t := range s.opts.Topics {
				filters[t] = 1
			}
			tok := c.SubscribeMultiple(filters, nil)
			go func() {
				if tok.WaitTimeout(s.opts.ConnectTimeout) && tok.Error() != nil {
					s.log.Error("subscribe failed", "err", tok.Error())
				}
			}()
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			s.connected.Store(false)
			s.log.Warn("connection to broker lost", "err", err)
		}).
		SetReconnectingHandler(func(mqtt.Client, *mqtt.ClientOptions) {
			s.log.Info("reconnecting to broker")
		})
	if s.opts.TLS != nil {
		o.SetTLSConfig(s.opts.TLS)
	}
	if u, err := url.Parse(s.opts.URL); err == nil && mqttconn.Supports(u) {
		dialer = &mqttconn.Dialer{}
		o.SetCustomOpenConnectionFn(dialer.Open) // buffered reads, coalesced acks
	}
	client := mqtt.NewClient(o)
	client.Connect() // with ConnectRetry the token completes only once connected or disconnected

	<-ctx.Done()
	s.accepting.Store(false)
	if drain != nil {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := drain(dctx); err != nil {
			s.log.Warn("journal drain before disconnect", "err", err)
		}
		cancel()
	}
	s.settleAcks(client)
	client.Disconnect(250)
	s.connected.Store(false)
	return nil
}

// ackBarrier is a topic filter never subscribed to: unsubscribing from it
// is a round trip that changes nothing.
const ackBarrier = "carebed/.ack-barrier"

// settleAcks waits, up to the connect timeout, until the broker has read
// every acknowledgement written so far. A broker reads a connection's
// packets in order but may read them much later than they were sent
// (Mosquitto 2.0 reads one packet per connection per turn of its event
// loop, so acknowledgements of a fast stream pile up in its socket buffer),
// and closing the connection discards what it has not read: it would then
// send all those messages again to the next session, without the DUP flag,
// and they would be journaled twice. An UNSUBSCRIBE is answered only after
// everything sent before it has been read.
func (s *Subscriber) settleAcks(client mqtt.Client) {
	if !client.IsConnectionOpen() {
		return
	}
	tok := client.Unsubscribe(ackBarrier)
	if !tok.WaitTimeout(s.opts.ConnectTimeout) {
		s.log.Warn("broker did not confirm the last acknowledgements before disconnect; it may deliver some messages again", "waited", s.opts.ConnectTimeout)
		return
	}
	if err := tok.Error(); err != nil {
		s.log.Warn("broker did not confirm the last acknowledgements before disconnect; it may deliver some messages again", "err", err)
	}
}

// ackFor returns how message m is acknowledged once it is journaled. On a
// connection of our own, the PUBACK is written straight to the connection
// the message arrived on (MQTT 3.1.1 §3.4: 0x40, length 2, packet id), in
// the journal's commit order; paho's own Ack passes every acknowledgement
// through two goroutines and their channels. If that connection has closed
// meanwhile, the write fails and the broker redelivers the message to the
// next session, where it is recognised as a duplicate.
func ackFor(m mqtt.Message, dialer *mqttconn.Dialer) func() {
	if dialer == nil || m.Qos() != 1 {
		return m.Ack
	}
	w := dialer.Latest()
	if w == nil {
		return m.Ack
	}
	id := m.MessageID()
	return func() {
		_, _ = w.Write([]byte{0x40, 0x02, byte(id >> 8), byte(id)})
	}
}

// redact drops credentials from a URL before it is logged.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	u.User = nil
	return u.String()
}
