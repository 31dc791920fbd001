package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"carebed/devices"
	"carebed/gateway/gatewaytest"
	"carebed/store"
)

// registerBed registers an agency, one bed and the given devices.
func registerBed(t *testing.T, api, bed string, devs map[string]devices.Kind) {
	t.Helper()
	mustCall(t, "POST", api+"/api/v1/agencies", devices.Agency{ID: "agency-1", Name: "Test agency"}, nil, 201, 409)
	mustCall(t, "POST", api+"/api/v1/beds", devices.Bed{ID: bed, AgencyID: "agency-1",
		Elder: devices.Elder{Name: "Test Elder", BirthYear: 1940, DisabilityLevel: "severe"}}, nil, 201)
	for id, kind := range devs {
		mustCall(t, "POST", api+"/api/v1/devices", devices.Device{ID: id, BedID: bed, Kind: kind, Format: devices.FormatNative}, nil, 201)
	}
}

type fluxPoint struct {
	measurement, field string
	value              any
	tags               map[string]string
	time               time.Time
}

// fluxPoints reads every point of a bed back through the Flux query API.
func fluxPoints(t *testing.T, s servers, bed string) []fluxPoint {
	t.Helper()
	c := influxdb2.NewClient(s.influx.URL, "")
	defer c.Close()
	q := fmt.Sprintf(`from(bucket: %q) |> range(start: 2015-01-01T00:00:00Z) |> filter(fn: (r) => r.bed == %q)`, s.influx.Bucket, bed)
	res, err := c.QueryAPI("").Query(context.Background(), q)
	if err != nil {
		t.Fatalf("flux query: %v", err)
	}
	var out []fluxPoint
	for res.Next() {
		r := res.Record()
		tags := map[string]string{}
		for _, k := range []string{"agency", "bed", "device", "kind"} {
			if v, ok := r.ValueByKey(k).(string); ok {
				tags[k] = v
			}
		}
		out = append(out, fluxPoint{r.Measurement(), r.Field(), r.Value(), tags, r.Time()})
	}
	if res.Err() != nil {
		t.Fatalf("flux result: %v", res.Err())
	}
	return out
}

func TestEndToEndEveryNativeStream(t *testing.T) {
	s := startServers(t)
	g := startInProcess(t, s.gatewayArgs(t.TempDir())...)
	api := g.api()
	devs := map[string]devices.Kind{
		"e2e-sos": devices.KindSOSButton, "e2e-fall": devices.KindFallSensor, "e2e-vitals": devices.KindVitalsMonitor,
		"e2e-env": devices.KindSmokeAlarm, "e2e-status": devices.KindDoorSensor, "e2e-visit": devices.KindVisitReader,
	}
	registerBed(t, api, "bed-e2e", devs)

	ts := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	msgs := []struct {
		device, stream, payload string
		want                    map[string]any // field -> value
	}{
		{"e2e-sos", "sos", `{"action":"press"}`, map[string]any{"action": "press"}},
		{"e2e-fall", "fall", `{"state":"fall"}`, map[string]any{"state": "fall"}},
		{"e2e-vitals", "vitals", `{"heart_rate":72,"resp_rate":16,"spo2":97,"temp_c":36.6,"in_bed":true,"movement":12}`,
			map[string]any{"heart_rate": 72.0, "resp_rate": 16.0, "spo2": 97.0, "temp_c": 36.6, "in_bed": true, "movement": 12.0}},
		{"e2e-env", "env", `{"smoke":false,"gas":false,"water_leak":false,"door_open":true,"motion":true,"temp_c":22.5,"humidity":55}`,
			map[string]any{"smoke": false, "gas": false, "water_leak": false, "door_open": true, "motion": true, "temp_c": 22.5, "humidity": 55.0}},
		{"e2e-status", "status", `{"battery":87,"rssi":-61,"tamper":false}`, map[string]any{"battery": 87.0, "rssi": -61.0, "tamper": false}},
		{"e2e-status", "availability", `online`, map[string]any{"online": true}},
		{"e2e-visit", "visit", `{"caregiver":"cg-001","action":"check_in","method":"nfc","services":["0101","0203"]}`,
			map[string]any{"caregiver": "cg-001", "action": "check_in", "method": "nfc", "services": "0101,0203"}},
	}
	pub := newPublisher(t, s.mqtt.URL, "e2e-publisher")
	want := map[string]any{} // measurement/field -> value
	for i, m := range msgs {
		payload := m.payload
		if strings.HasPrefix(payload, "{") {
			payload = fmt.Sprintf(`{"ts":%d,%s`, ts.Add(time.Duration(i)*time.Second).UnixMilli(), payload[1:])
		}
		pub.mustPublish("carebed/"+m.device+"/"+m.stream, []byte(payload))
		for f, v := range m.want {
			want[m.stream+"/"+f] = v
		}
	}

	var got []fluxPoint
	gatewaytest.WaitFor(t, 30*time.Second, "every point in InfluxDB", func() bool {
		got = fluxPoints(t, s, "bed-e2e")
		return len(got) >= len(want)
	})
	if len(got) != len(want) {
		t.Errorf("points of bed-e2e = %d, want %d", len(got), len(want))
	}
	for _, p := range got {
		key := p.measurement + "/" + p.field
		w, ok := want[key]
		if !ok {
			t.Errorf("unexpected point %s = %v", key, p.value)
			continue
		}
		if fmt.Sprint(p.value) != fmt.Sprint(w) {
			t.Errorf("point %s = %v, want %v", key, p.value, w)
		}
		if p.tags["agency"] != "agency-1" || p.tags["bed"] != "bed-e2e" || p.tags["device"] == "" || devs[p.tags["device"]] != devices.Kind(p.tags["kind"]) {
			t.Errorf("point %s tags = %v, want agency-1, bed-e2e and the device's kind", key, p.tags)
		}
		if p.measurement != "availability" && p.time.Before(ts) {
			t.Errorf("point %s time = %v, want the device's ts (>= %v)", key, p.time, ts)
		}
	}

	// The device's health is visible through the API.
	var dev devices.Device
	gatewaytest.WaitFor(t, 10*time.Second, "battery of e2e-status", func() bool {
		mustCall(t, "GET", api+"/api/v1/devices/e2e-status", nil, &dev, 200)
		return dev.Battery != nil
	})
	if *dev.Battery != 87 || !dev.Online || dev.LastSeen == nil {
		t.Errorf("GET /devices/e2e-status health = %+v, want battery 87, online, last_seen set", dev.Health)
	}
	// And the telemetry endpoint answers from InfluxDB.
	var series struct {
		Items []struct{ Value float64 } `json:"items"`
	}
	mustCall(t, "GET", api+"/api/v1/beds/bed-e2e/telemetry?field=heart_rate&from=-1h", nil, &series, 200)
	if len(series.Items) != 1 || series.Items[0].Value != 72 {
		t.Errorf("telemetry heart_rate = %+v, want one point of 72", series.Items)
	}
}

// badCase is one line of devices/testdata/native-bad.jsonl (format in its
// README).
type badCase struct {
	Name        string `json:"name"`
	Topic       string `json:"topic"`
	Payload     string `json:"payload"`
	PayloadB64  []byte `json:"payload_b64"`
	Reason      string `json:"reason"`
	Publishable *bool  `json:"publishable"`
	Repeat      []struct {
		S string `json:"s"`
		N int    `json:"n"`
	} `json:"payload_repeat"`
}

func readBadCases(t *testing.T) []badCase {
	t.Helper()
	f, err := os.Open("../../devices/testdata/native-bad.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []badCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var c badCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("native-bad.jsonl: %v", err)
		}
		if c.PayloadB64 != nil {
			c.Payload = string(c.PayloadB64)
		}
		for _, r := range c.Repeat {
			c.Payload += strings.Repeat(r.S, r.N)
		}
		out = append(out, c)
	}
	return out
}

// mqttPublishable says whether a topic can travel over MQTT to a
// subscriber of carebed/#: no wildcards, valid UTF-8, no NUL, our prefix.
func mqttPublishable(topic string) bool {
	return strings.HasPrefix(topic, "carebed/") && !strings.ContainsAny(topic, "+#\x00") &&
		strings.ToValidUTF8(topic, "\uFFFD") == topic && len(topic) < 65535
}

// TestBadInputThroughBroker publishes every hostile payload of the decoder
// table through a real broker: each ends as a dead letter with the expected
// reason, and the pipeline still takes good messages afterwards.
func TestBadInputThroughBroker(t *testing.T) {
	s := startServers(t)
	g := startInProcess(t, s.gatewayArgs(t.TempDir())...)
	api := g.api()
	cases := readBadCases(t)
	devs := map[string]devices.Kind{}
	var sent []badCase
	for _, c := range cases {
		if (c.Publishable != nil && !*c.Publishable) || !mqttPublishable(c.Topic) {
			continue
		}
		if id, _, err := devices.ParseNativeTopic(c.Topic); err == nil {
			devs[id] = devices.KindVitalsMonitor
		}
		sent = append(sent, c)
	}
	if len(sent) < 50 {
		t.Fatalf("bad cases publishable over MQTT = %d, want at least 50", len(sent))
	}
	registerBed(t, api, "bed-bad", devs)
	pub := newPublisher(t, s.mqtt.URL, "bad-publisher")
	for _, c := range sent {
		pub.mustPublish(c.Topic, []byte(c.Payload))
	}
	// A good message after them all still gets through.
	var anyDev string
	for id := range devs {
		anyDev = id
		break
	}
	pub.mustPublish("carebed/"+anyDev+"/status", []byte(`{"battery":42}`))
	gatewaytest.WaitFor(t, 30*time.Second, "good message after the bad ones", func() bool {
		var d devices.Device
		mustCall(t, "GET", api+"/api/v1/devices/"+anyDev, nil, &d, 200)
		return d.Battery != nil && *d.Battery == 42
	})

	var letters struct{ Items []store.DeadLetter }
	mustCall(t, "GET", api+"/api/v1/deadletters?limit=1000", nil, &letters, 200)
	got := map[string][]string{} // topic -> reasons, in arrival order
	for i := len(letters.Items) - 1; i >= 0; i-- {
		l := letters.Items[i]
		got[l.Topic] = append(got[l.Topic], string(l.Reason))
	}
	want := map[string][]string{}
	for _, c := range sent {
		want[c.Topic] = append(want[c.Topic], c.Reason)
	}
	topics := make([]string, 0, len(want))
	for k := range want {
		topics = append(topics, k)
	}
	sort.Strings(topics)
	for _, topic := range topics {
		if fmt.Sprint(got[topic]) != fmt.Sprint(want[topic]) {
			t.Errorf("dead letter reasons of %q = %v, want %v", topic, got[topic], want[topic])
		}
	}
	if len(letters.Items) != len(sent) {
		t.Errorf("dead letters = %d, want %d", len(letters.Items), len(sent))
	}
	for _, l := range letters.Items {
		if len(l.Payload) > 1024+16 {
			t.Errorf("dead letter %d payload kept %d bytes, want a truncated payload", l.ID, len(l.Payload))
		}
	}

	// Messages from a device nobody registered are listed, not dead letters.
	pub.mustPublish("carebed/stranger-1/vitals", []byte(`{"heart_rate":70}`))
	gatewaytest.WaitFor(t, 10*time.Second, "stranger-1 in the unknown list", func() bool {
		var u struct{ Items []store.UnknownDevice }
		mustCall(t, "GET", api+"/api/v1/devices/unknown", nil, &u, 200)
		return len(u.Items) == 1 && u.Items[0].Key == "stranger-1" && u.Items[0].Count == 1
	})

	// Metrics count every reason.
	resp := metricsText(t, api)
	if !strings.Contains(resp, `carebed_dead_letters_total{reason="out_of_range"}`) {
		t.Errorf("metrics lack carebed_dead_letters_total{reason=\"out_of_range\"}")
	}
}
