package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/gateway/gatewaytest"
)

// recorder is an MQTT subscriber that keeps what arrives.
type recorder struct {
	mu       sync.Mutex
	vitals   map[string][]payloadIDs // by device
	avail    map[string][]string     // by device, in arrival order
	topics   map[string]int          // every topic
	total    int
	badJSON  []string
	retained int
}

type payloadIDs struct{ TS, Seq int64 }

// subscribe connects a QoS1 subscriber to topic filter and records every
// message until the test ends.
func subscribe(t *testing.T, broker, filter string) *recorder {
	t.Helper()
	r := &recorder{vitals: map[string][]payloadIDs{}, avail: map[string][]string{}, topics: map[string]int{}}
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("sim-test-%d", time.Now().UnixNano())).
		SetCleanSession(true).SetOrderMatters(true)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect to %s: %v", broker, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.total++
		r.topics[m.Topic()]++
		if m.Retained() {
			r.retained++
		}
		parts := strings.Split(m.Topic(), "/")
		switch parts[2] {
		case "availability":
			r.avail[parts[1]] = append(r.avail[parts[1]], string(m.Payload()))
		case "vitals":
			var p payloadIDs
			if err := json.Unmarshal(m.Payload(), &p); err != nil {
				r.badJSON = append(r.badJSON, string(m.Payload()))
			}
			r.vitals[parts[1]] = append(r.vitals[parts[1]], p)
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	return r
}

// waitFor polls until cond holds (the broker delivers asynchronously) or
// fails the test after timeout.
func (r *recorder) waitFor(t *testing.T, timeout time.Duration, what string, cond func(*recorder) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r.mu.Lock()
		ok := cond(r)
		total := r.total
		r.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s not reached (%d messages received)", timeout, what, total)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunFastCountsExactly(t *testing.T) {
	m := gatewaytest.StartMosquitto(t)
	rec := subscribe(t, m.URL, "carebed/#")
	const beds, count = 50, 5000
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := Run(ctx, Options{Broker: m.URL, Beds: beds, Count: count, Fast: true, Conns: 3, Seed: 1})
	if err != nil {
		t.Fatalf("Run = %v; broker log:\n%s", err, m.Log())
	}
	// Availability: online and offline for each vitals monitor.
	if want := (Stats{Published: count + 2*beds, Acked: count + 2*beds}); st != want {
		t.Errorf("Run stats = %+v, want %+v", st, want)
	}
	rec.waitFor(t, 30*time.Second, "every message", func(r *recorder) bool { return r.total >= count+2*beds })
	time.Sleep(200 * time.Millisecond) // anything extra would arrive now
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.total != count+2*beds || len(rec.badJSON) > 0 {
		t.Fatalf("received %d messages (%d not JSON), want exactly %d", rec.total, len(rec.badJSON), count+2*beds)
	}
	var vitals int
	for dev, ps := range rec.vitals {
		if !strings.HasSuffix(dev, "-vitals") {
			t.Errorf("fast mode sent vitals as %s", dev)
		}
		vitals += len(ps)
		for i, p := range ps {
			// Per device, seq counts 1, 2, 3... and ts strictly increases:
			// every message is its own time-series point.
			if p.Seq != int64(i+1) {
				t.Fatalf("%s: message %d has seq %d, want %d", dev, i, p.Seq, i+1)
			}
			if i > 0 && p.TS <= ps[i-1].TS {
				t.Fatalf("%s: ts %d after %d, want strictly increasing", dev, p.TS, ps[i-1].TS)
			}
		}
	}
	if vitals != count || len(rec.vitals) != beds {
		t.Errorf("%d vitals from %d devices, want %d from %d", vitals, len(rec.vitals), count, beds)
	}
	for i := range beds {
		dev := BedID(i+1) + "-vitals"
		if got := strings.Join(rec.avail[dev], ","); got != "online,offline" {
			t.Errorf("availability of %s = %s, want online,offline", dev, got)
		}
	}

	// The offline state stays retained for whoever subscribes later.
	late := subscribe(t, m.URL, "carebed/+/availability")
	late.waitFor(t, 10*time.Second, "retained availability", func(r *recorder) bool { return r.retained >= beds })
}

func TestRunRealisticWithScenario(t *testing.T) {
	m := gatewaytest.StartMosquitto(t)
	rec := subscribe(t, m.URL, "carebed/#")
	const beds = 2
	st, err := Run(context.Background(), Options{Broker: m.URL, Beds: beds, Duration: 1500 * time.Millisecond, Scenario: ScenarioSOS, Seed: 2})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if st.Acked != st.Published || st.Errors != 0 {
		t.Errorf("Run stats = %+v, want every publish acknowledged", st)
	}
	rec.waitFor(t, 10*time.Second, "every message", func(r *recorder) bool { return uint64(r.total) >= st.Published })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.topics["carebed/bed-0001-sos/sos"] != 1 || rec.topics["carebed/bed-0002-sos/sos"] != 0 {
		t.Errorf("SOS messages = %d on bed-0001, %d on bed-0002, want the scripted press on bed-0001 only",
			rec.topics["carebed/bed-0001-sos/sos"], rec.topics["carebed/bed-0002-sos/sos"])
	}
	_, _, devs := Fleet(Options{Beds: beds})
	for _, d := range devs {
		if got := strings.Join(rec.avail[d.ID], ","); got != "online,offline" {
			t.Errorf("availability of %s = %s, want online,offline", d.ID, got)
		}
	}
}

func TestRunRatePaces(t *testing.T) {
	m := gatewaytest.StartMosquitto(t)
	began := time.Now()
	st, err := Run(context.Background(), Options{Broker: m.URL, Beds: 10, Rate: 400, Count: 200, Conns: 2})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	// 200 messages at 400/s take half a second, whatever else runs here.
	if el := time.Since(began); el < 450*time.Millisecond {
		t.Errorf("200 messages at 400/s took %v, want at least 0.45 s", el)
	}
	if want := uint64(200 + 2*10*int(numRoles)); st.Published != want || st.Acked != want {
		t.Errorf("Run stats = %+v, want %d published and acknowledged", st, want)
	}
}

func TestRunConnectFails(t *testing.T) {
	port := gatewaytest.FreePort(t) // nothing listens there
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	broker := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	_, err := Run(ctx, Options{Broker: broker, Beds: 1})
	if err == nil || !strings.Contains(err.Error(), broker) {
		t.Errorf("Run against a closed port = %v, want an error naming %s", err, broker)
	}
}

func TestRunRejectsOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no beds", Options{Broker: "tcp://127.0.0.1:1883"}, "Beds"},
		{"no broker", Options{Beds: 1}, "Broker"},
		{"bad scheme", Options{Broker: "http://127.0.0.1:1883", Beds: 1}, "scheme"},
		{"bad scenario", Options{Broker: "tcp://127.0.0.1:1883", Beds: 1, Scenario: "flood"}, "Scenario"},
		{"bad stream", Options{Broker: "tcp://127.0.0.1:1883", Beds: 1, Stream: "availability"}, "Stream"},
		{"bad qos", Options{Broker: "tcp://127.0.0.1:1883", Beds: 1, QoS: 3}, "QoS"},
		{"negative rate", Options{Broker: "tcp://127.0.0.1:1883", Beds: 1, Rate: -1}, "Rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run(%+v) = %v, want an error naming %s", tt.opts, err, tt.want)
			}
		})
	}
}
