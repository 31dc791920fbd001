package journal_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"carebed/gateway/journal"
)

// The subscriber appends each message and acknowledges it to the broker in
// the ack; each consumer reads with its own cursor. Every goroutine belongs
// to the errgroup, and the journal is closed after all of them returned.
func Example() {
	dir, err := os.MkdirTemp("", "journal-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	j, err := journal.Open(journal.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return j.Run(gctx) })

	received := time.Date(2024, 3, 1, 8, 30, 0, 0, time.UTC)
	acked := make(chan struct{})
	err = j.Append(gctx, journal.Record{
		Received: received,
		Topic:    "carebed/dev-17/sos",
		Payload:  []byte(`{"action":"press"}`),
	}, func() { close(acked) }) // here: msg.Ack() to the broker
	if err != nil {
		log.Fatal(err)
	}
	<-acked

	g.Go(func() error {
		return j.Consume(gctx, "alarms", 100, func(_ context.Context, batch []journal.Entry) error {
			for _, e := range batch {
				fmt.Printf("%d %s %s\n", e.Index, e.Topic, e.Payload)
			}
			stop() // a real consumer runs until shutdown
			return nil
		})
	})
	if err := g.Wait(); err != nil {
		log.Fatal(err)
	}
	if err := j.Close(); err != nil {
		log.Fatal(err)
	}
	// Output: 1 carebed/dev-17/sos {"action":"press"}
}
