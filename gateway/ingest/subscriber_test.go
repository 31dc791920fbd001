package ingest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/gateway/gatewaytest"
	"carebed/gateway/ingest"
	"carebed/gateway/journal"
	"carebed/gateway/simulate"
)

// A subscriber that stops cleanly leaves nothing for the broker to deliver
// again: every message it journaled was acknowledged and the broker read
// the acknowledgements before the connection closed. Mosquitto reads a fast
// subscriber's acknowledgements long after they are sent; closing without
// waiting for them made it send tens of thousands of journaled messages
// again, without the DUP flag, to the next session.
func TestCleanStopLeavesNothingToRedeliver(t *testing.T) {
	const messages = 150000
	broker := gatewaytest.StartMosquitto(t)
	j, err := journal.Open(journal.Options{Dir: t.TempDir(), CommitInterval: 3 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	jctx, stopJournal := context.WithCancel(context.Background())
	journalDone := make(chan error, 1)
	go func() { journalDone <- j.Run(jctx) }()

	const clientID = "carebed-clean-stop"
	sub, err := ingest.New(ingest.Options{URL: broker.URL, ClientID: clientID, Topics: []string{"carebed/#"}}, j)
	if err != nil {
		t.Fatal(err)
	}
	sctx, stopSub := context.WithCancel(context.Background())
	subDone := make(chan error, 1)
	go func() { subDone <- sub.Run(sctx, j.Drain) }()
	gatewaytest.WaitFor(t, 10*time.Second, "subscriber connected", sub.Connected)
	time.Sleep(200 * time.Millisecond) // the SUBACK

	stats, err := simulate.Run(context.Background(), simulate.Options{
		Broker: broker.URL, Beds: 200, Fast: true, Count: messages, Conns: 4, Stream: "vitals", OmitTimestamps: true,
	})
	if err != nil || stats.Errors != 0 {
		t.Fatalf("simulate.Run() = %+v, %v, want no errors", stats, err)
	}
	published := uint64(stats.Published)
	gatewaytest.WaitFor(t, 60*time.Second, "every message journaled", func() bool { return j.LastIndex() >= published })

	stopSub()
	if err := <-subDone; err != nil {
		t.Fatalf("Subscriber.Run() = %v, want nil", err)
	}
	stopJournal()
	if err := <-journalDone; err != nil {
		t.Fatalf("Journal.Run() = %v, want nil", err)
	}
	if got := j.LastIndex(); got != published {
		t.Fatalf("journal holds %d entries, want the %d published", got, published)
	}

	// The same session again: only retained messages may come.
	var again atomic.Int64
	o := mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID(clientID).SetCleanSession(false).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			if !m.Retained() {
				again.Add(1)
			}
		})
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect again: %v", tok.Error())
	}
	defer c.Disconnect(0)
	time.Sleep(2 * time.Second)
	if n := again.Load(); n != 0 {
		t.Errorf("broker delivered %d of the %d journaled messages again after a clean stop, want 0", n, published)
	}
}
