// Package broker runs the embedded MQTT broker that CareBed uses when no
// external broker is configured. It keeps sessions, subscriptions, queued
// QoS1 messages and retained messages in a Pebble store written in sync
// mode, so a restart of the broker loses nothing it acknowledged to a
// publisher. (mochi's bbolt store does not keep a queued message's packet
// id, and a restarted broker then never redelivers it.)
//
// Known gap: a message published just after a persistent subscriber went
// away is, in about 1 case in 20, never queued for it (its inflight count
// stays 0), and the reconnecting session does not get it (seen in this
// package's tests with mochi v2.7.9, broker not restarted). Production
// deployments use Mosquitto or EMQX (configs/).
//
// It must never decode device payloads: the gateway subscribes to it like
// to any other broker.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/hooks/storage/pebble"

	pebbledb "github.com/cockroachdb/pebble"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Options configure the embedded broker.
type Options struct {
	Addr    string // listen address, e.g. ":1883"
	DataDir string // where the session store lives; empty keeps state in memory
	// MaxInflight bounds QoS1 messages in flight to one client. It must be at
	// least the gateway's unacknowledged bound.
	MaxInflight int
	Logger      *slog.Logger
}

// Broker is a running embedded broker.
type Broker struct {
	srv  *mqtt.Server
	addr string
}

// Start starts the broker listening on opts.Addr.
func Start(opts Options) (*Broker, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	caps := mqtt.NewDefaultServerCapabilities()
	if opts.MaxInflight > 0 {
		caps.MaximumInflight = uint16(min(opts.MaxInflight, 65535))
		caps.MaximumClientWritesPending = int32(opts.MaxInflight)
		if opts.MaxInflight < 65535 {
			caps.ReceiveMaximum = uint16(opts.MaxInflight)
		}
	}
	srv := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		Logger:       slog.New(quiet{logger.Handler()}).With("component", "broker"),
		InlineClient: false,
	})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("embedded broker data dir: %w", err)
		}
		// Sync mode: a QoS1 message is on disk before the publisher's PUBACK.
		err := srv.AddHook(new(pebble.Hook), &pebble.Options{
			Path: filepath.Join(opts.DataDir, "sessions"), Mode: "Sync",
			Options: &pebbledb.Options{Logger: pebbleLog{logger.With("component", "broker-store")}},
		})
		if err != nil {
			return nil, fmt.Errorf("embedded broker store %s: %w", opts.DataDir, err)
		}
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: opts.Addr})
	if err := srv.AddListener(tcp); err != nil {
		_ = srv.Close() // releases the session store for a retry
		return nil, fmt.Errorf("embedded broker listen %s: %w (set mqtt-listen to a free address or \"off\")", opts.Addr, err)
	}
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return &Broker{srv: srv, addr: tcp.Address()}, nil
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker, closing client connections.
func (b *Broker) Close(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- b.srv.Close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return errors.Join(errors.New("embedded broker: close timed out"), ctx.Err())
	}
}

// quiet passes on the broker's warnings and errors, except the bolt store's
// "key not found" for $SYS data that a new store does not have yet.
type quiet struct{ slog.Handler }

func (q quiet) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && q.Handler.Enabled(ctx, l)
}

func (q quiet) Handle(ctx context.Context, r slog.Record) error {
	missing := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" && strings.Contains(a.Value.String(), "key not found") {
			missing = true
		}
		return !missing
	})
	if missing {
		return nil
	}
	return q.Handler.Handle(ctx, r)
}

func (q quiet) WithAttrs(as []slog.Attr) slog.Handler { return quiet{q.Handler.WithAttrs(as)} }
func (q quiet) WithGroup(g string) slog.Handler       { return quiet{q.Handler.WithGroup(g)} }

// pebbleLog keeps the session store's routine messages (WAL replays,
// compactions) out of the gateway's log; fatal ones still reach it.
type pebbleLog struct{ log *slog.Logger }

func (pebbleLog) Infof(string, ...any) {}

func (p pebbleLog) Fatalf(format string, args ...any) {
	p.log.Error(fmt.Sprintf(format, args...))
	os.Exit(1) // pebble's contract: Fatalf does not return
}
