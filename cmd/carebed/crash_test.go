package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"carebed/devices"
	"carebed/gateway/gatewaytest"
	"carebed/gateway/simulate"
)

func metricsText(t *testing.T, api string) string {
	t.Helper()
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// simulated registers a fleet and publishes its vitals in the background.
func simulated(t *testing.T, api, broker string, opts simulate.Options) <-chan simulate.Stats {
	t.Helper()
	opts.Broker = broker
	if err := simulate.Register(context.Background(), api, testToken, opts); err != nil {
		t.Fatalf("register fleet: %v", err)
	}
	done := make(chan simulate.Stats, 1)
	go func() {
		st, err := simulate.Run(context.Background(), opts)
		if err != nil {
			t.Errorf("simulate.Run = %v", err)
		}
		done <- st
	}()
	return done
}

// TestSIGKILLWhilePublishing kills the gateway process with SIGKILL while
// 200,000 messages are published at full speed, restarts it, and counts
// every message in InfluxDB exactly once.
func TestSIGKILLWhilePublishing(t *testing.T) {
	const total = 200_000
	s := startServers(t)
	data := t.TempDir()
	port := gatewaytest.FreePort(t)
	args := s.gatewayArgs(data)
	gw := startSubprocess(t, port, args...)

	opts := simulate.Options{Beds: 200, Fast: true, Count: total, Conns: 4, Stream: "vitals", Seed: 7}
	done := simulated(t, gw.api, s.mqtt.URL, opts)

	gatewaytest.WaitFor(t, 60*time.Second, "a third of the messages in InfluxDB", func() bool {
		return s.influx.Count(t, "vitals", "in_bed") > total/3
	})
	gw.kill()
	killedAt := s.influx.Count(t, "vitals", "in_bed")
	t.Logf("SIGKILL with %d of %d points in InfluxDB", killedAt, total)
	gw = startSubprocess(t, port, args...)

	st := <-done
	if st.Errors != 0 {
		t.Fatalf("publisher errors = %d, want 0", st.Errors)
	}
	var n int
	gatewaytest.WaitFor(t, 120*time.Second, fmt.Sprintf("%d points in InfluxDB", total), func() bool {
		n = s.influx.Count(t, "vitals", "in_bed")
		return n >= total
	})
	time.Sleep(2 * time.Second) // a late duplicate would show now
	if n = s.influx.Count(t, "vitals", "in_bed"); n != total {
		t.Errorf("vitals points after SIGKILL and restart = %d, want exactly %d\n%s", n, total, gw.logs.String())
	}
	if m := metricsText(t, gw.api); testing.Verbose() {
		t.Logf("after restart:\n%s", grepLines(m, "carebed_journal"))
	}
}

// TestInfluxDBOutage stops InfluxDB while messages flow and starts it again:
// nothing is lost, and every device's series is complete and in order.
func TestInfluxDBOutage(t *testing.T) {
	const total = 30_000
	s := startServers(t)
	g := startInProcess(t, s.gatewayArgs(t.TempDir())...)
	opts := simulate.Options{Beds: 50, Rate: 6000, Count: total, Stream: "vitals", Seed: 11}
	done := simulated(t, g.api(), s.mqtt.URL, opts)

	gatewaytest.WaitFor(t, 30*time.Second, "first points", func() bool { return s.influx.Count(t, "vitals", "in_bed") > 2000 })
	s.influx.Stop()
	var spooled bool
	gatewaytest.WaitFor(t, 30*time.Second, "readiness reports spooling", func() bool {
		var r struct {
			Checks []struct {
				Name, Detail string
			}
		}
		call(t, "GET", g.api()+"/readyz", nil, &r)
		for _, c := range r.Checks {
			if c.Name == "telemetry" && c.Detail != "" {
				spooled = true
			}
		}
		return spooled
	})
	time.Sleep(2 * time.Second) // messages keep arriving into the journal
	s.influx.Start()
	<-done
	gatewaytest.WaitFor(t, 60*time.Second, "every point after the outage", func() bool {
		return s.influx.Count(t, "vitals", "in_bed") >= total
	})
	if n := s.influx.Count(t, "vitals", "in_bed"); n != total {
		t.Errorf("points after the outage = %d, want %d", n, total)
	}
	// Per series: the device's ts values are consecutive in the order sent,
	// so a gap or a swap shows as a hole or a wrong count.
	rows := s.influx.Query(t, `SELECT count("in_bed") FROM "vitals" GROUP BY "device"`)
	if len(rows) != opts.Beds {
		t.Fatalf("series = %d, want %d", len(rows), opts.Beds)
	}
	sum := 0
	for _, r := range rows {
		sum += int(r["count"].(float64))
	}
	if sum != total {
		t.Errorf("sum over series = %d, want %d", sum, total)
	}
}

// TestBrokerRestart restarts Mosquitto (persistence on) while publishing:
// every message the broker acknowledged to the publisher is in InfluxDB.
func TestBrokerRestart(t *testing.T) {
	const total = 20_000
	const devicesN = 10
	s := startServers(t)
	g := startInProcess(t, s.gatewayArgs(t.TempDir())...)
	devs := map[string]devices.Kind{}
	for i := range devicesN {
		devs[fmt.Sprintf("restart-%02d", i)] = devices.KindVitalsMonitor
	}
	registerBed(t, g.api(), "bed-restart", devs)
	pub := newPublisher(t, s.mqtt.URL, "restart-publisher")
	base := time.Now().Add(-time.Hour).UnixMilli()
	var wg sync.WaitGroup
	for seq := range total {
		if seq == total/3 {
			s.mqtt.Stop()
			s.mqtt.Start()
		}
		dev := fmt.Sprintf("restart-%02d", seq%devicesN)
		payload := fmt.Sprintf(`{"ts":%d,"in_bed":true,"heart_rate":%d,"seq":%d}`, base+int64(seq), 60+seq%30, seq)
		pub.publishAsync(seq, "carebed/"+dev+"/vitals", []byte(payload), &wg)
		if seq%2000 == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	wg.Wait()
	pub.mu.Lock()
	acked := len(pub.acked)
	pub.mu.Unlock()
	t.Logf("broker acknowledged %d of %d publishes across the restart", acked, total)
	if acked < total/2 {
		t.Fatalf("acknowledged publishes = %d, want most of %d", acked, total)
	}
	var times map[int64]bool
	gatewaytest.WaitFor(t, 60*time.Second, "every acknowledged message in InfluxDB", func() bool {
		times = map[int64]bool{}
		for _, r := range s.influx.Query(t, `SELECT "in_bed" FROM "vitals" WHERE "bed" = 'bed-restart'`) {
			tm, err := time.Parse(time.RFC3339Nano, r["time"].(string))
			if err == nil {
				times[tm.UnixMilli()-base] = true
			}
		}
		missing := 0
		for seq := range pub.acked {
			if !times[int64(seq)] {
				missing++
			}
		}
		return missing == 0
	})
	var missing []int
	for seq := range pub.acked {
		if !times[int64(seq)] {
			missing = append(missing, seq)
		}
	}
	sort.Ints(missing)
	if len(missing) > 0 {
		t.Errorf("acknowledged but missing in InfluxDB: %d messages, first %v", len(missing), missing[:min(10, len(missing))])
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
