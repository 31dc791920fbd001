package broker

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

func startBroker(t *testing.T, dir, addr string) *Broker {
	t.Helper()
	b, err := Start(Options{Addr: addr, DataDir: dir, MaxInflight: 1000, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("Start(%s) = %v", addr, err)
	}
	return b
}

func connect(t *testing.T, addr, id string, clean bool, onMsg mqtt.MessageHandler) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).
		SetDefaultPublishHandler(onMsg).SetAutoReconnect(false)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s to %s: %v", id, addr, tok.Error())
	}
	return c
}

// TestBrokerQueuesAcrossRestart: a QoS1 message published while a
// persistent subscriber is away reaches it when it comes back after the
// broker restarted.
//
// Known gap, not covered here: without a restart, the same sequence loses
// the queued message in about 1 run in 20 (mochi v2.7.9's session takeover
// of an offline client); see the package documentation.
func TestBrokerQueuesAcrossRestart(t *testing.T) {
	queuedMessage(t, true)
}

func queuedMessage(t *testing.T, restart bool) {
	dir := t.TempDir()
	b := startBroker(t, dir, "127.0.0.1:0")
	addr := b.Addr()

	sub := connect(t, addr, "gateway", false, func(mqtt.Client, mqtt.Message) {})
	if tok := sub.Subscribe("carebed/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	sub.Disconnect(100)
	// Publish only once the broker has closed the subscriber's connection;
	// before that the message could still reach (and be acknowledged by)
	// the first connection.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if cl, ok := b.srv.Clients.Get("gateway"); ok && cl.Closed() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the broker never saw the subscriber disconnect")
		}
		time.Sleep(5 * time.Millisecond)
	}

	pub := connect(t, addr, "button", true, nil)
	if tok := pub.Publish("carebed/sos-1/sos", 1, false, `{"action":"press"}`); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	pub.Disconnect(100)

	if restart {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Fatalf("Close() = %v", err)
		}
		b = startBroker(t, dir, addr)
	}
	defer b.Close(context.Background())

	got := make(chan string, 1)
	sub = connect(t, addr, "gateway", false, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) })
	defer sub.Disconnect(100)
	select {
	case p := <-got:
		if p != `{"action":"press"}` {
			t.Errorf("queued message = %q, want the SOS press", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the message queued while the subscriber was away never arrived")
	}
}

func TestStartReportsTakenAddress(t *testing.T) {
	b := startBroker(t, "", "127.0.0.1:0")
	defer b.Close(context.Background())
	_, err := Start(Options{Addr: b.Addr(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil {
		t.Fatalf("Start(%s) on a taken address = nil, want an error", b.Addr())
	}
}
