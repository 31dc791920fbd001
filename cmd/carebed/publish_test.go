package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// publisher is a QoS1 MQTT client for tests that records which messages
// the broker acknowledged.
type publisher struct {
	t      *testing.T
	client mqtt.Client
	mu     sync.Mutex
	acked  map[int]bool
	failed int
}

func newPublisher(t *testing.T, url, id string) *publisher {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).
		SetCleanSession(false). // keep unacknowledged publishes across a broker restart
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetMaxReconnectInterval(500 * time.Millisecond).SetWriteTimeout(5 * time.Second)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect to %s: %v", url, tok.Error())
	}
	p := &publisher{t: t, client: c, acked: map[int]bool{}}
	t.Cleanup(func() { c.Disconnect(100) })
	return p
}

// publish sends one message and waits for the broker's acknowledgement.
func (p *publisher) publish(topic string, payload []byte, retained bool) error {
	tok := p.client.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("publish %s: no acknowledgement in 10s", topic)
	}
	return tok.Error()
}

func (p *publisher) mustPublish(topic string, payload []byte) {
	p.t.Helper()
	if err := p.publish(topic, payload, false); err != nil {
		p.t.Fatal(err)
	}
}

// publishAsync sends message seq without waiting; done records its outcome.
func (p *publisher) publishAsync(seq int, topic string, payload []byte, done *sync.WaitGroup) {
	tok := p.client.Publish(topic, 1, false, payload)
	done.Add(1)
	go func() {
		defer done.Done()
		ok := tok.WaitTimeout(60*time.Second) && tok.Error() == nil
		p.mu.Lock()
		if ok {
			p.acked[seq] = true
		} else {
			p.failed++
		}
		p.mu.Unlock()
	}()
}
