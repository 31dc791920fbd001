package api

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"carebed/devices"
	"carebed/store"
)

// at is a time relative to testNow.
func at(d time.Duration) time.Time { return testNow.Add(d) }

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// writeVitals writes one vitals observation of dev1 in bed to the
// telemetry store.
func writeVitals(t *testing.T, h *harness, bed string, when time.Time, fields ...devices.Field) {
	t.Helper()
	o := devices.Observation{
		DeviceID: "dev-" + bed, BedID: bed, AgencyID: "ag1", Kind: devices.KindVitalsMonitor, Received: when,
		Reading: devices.Reading{Stream: devices.StreamVitals, Time: when, Fields: fields},
	}
	if err := h.ts.Write(context.Background(), []devices.Observation{o}); err != nil {
		t.Fatalf("telemetry Write = %v, want nil", err)
	}
}

type telemetryBody struct {
	BedID string    `json:"bed_id"`
	Field string    `json:"field"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Every string    `json:"every"`
	Items []struct {
		Time  time.Time `json:"time"`
		Value float64   `json:"value"`
	} `json:"items"`
}

func TestTelemetry(t *testing.T) {
	h := newHarness(t)
	h.seed(t)
	hr := func(v float64) devices.Field { return devices.FloatField("heart_rate", v) }
	writeVitals(t, h, "bed1", at(-90*time.Minute), hr(50))
	writeVitals(t, h, "bed1", at(-50*time.Minute), hr(60), devices.FloatField("resp_rate", 16), devices.BoolField("in_bed", true))
	writeVitals(t, h, "bed1", at(-50*time.Minute+20*time.Second), hr(70))
	writeVitals(t, h, "bed1", at(-49*time.Minute+10*time.Second), hr(80))
	writeVitals(t, h, "bed1", at(-10*time.Minute), hr(90))
	writeVitals(t, h, "bed2", at(-50*time.Minute), hr(120)) // another bed's

	type pt struct {
		t time.Time
		v float64
	}
	tests := []struct {
		name     string
		query    string
		from, to time.Time
		want     []pt
	}{
		{"raw, last hour by default", "field=heart_rate", at(-time.Hour), testNow,
			[]pt{{at(-50 * time.Minute), 60}, {at(-50*time.Minute + 20*time.Second), 70}, {at(-49*time.Minute + 10*time.Second), 80}, {at(-10 * time.Minute), 90}}},
		{"every minute", "field=heart_rate&every=1m", at(-time.Hour), testNow,
			[]pt{{at(-50 * time.Minute), 65}, {at(-49 * time.Minute), 80}, {at(-10 * time.Minute), 90}}},
		{"every hour over two", "field=heart_rate&every=1h&from=-2h", at(-2 * time.Hour), testNow,
			[]pt{{at(-2 * time.Hour), 50}, {at(-time.Hour), 75}}},
		{"relative from", "field=heart_rate&from=-30m", at(-30 * time.Minute), testNow,
			[]pt{{at(-10 * time.Minute), 90}}},
		{"relative from and to", "field=heart_rate&from=-2h&to=-1h", at(-2 * time.Hour), at(-time.Hour),
			[]pt{{at(-90 * time.Minute), 50}}},
		{"RFC 3339, to excluded", "field=heart_rate&from=2025-03-01T11:10:00Z&to=2025-03-01T11:11:00Z",
			at(-50 * time.Minute), at(-49 * time.Minute),
			[]pt{{at(-50 * time.Minute), 60}, {at(-50*time.Minute + 20*time.Second), 70}}},
		{"RFC 3339 with offset", "field=heart_rate&from=2025-03-01T19:49:00%2B08:00&to=now", at(-11 * time.Minute), testNow,
			[]pt{{at(-10 * time.Minute), 90}}},
		{"Unix milliseconds", "field=heart_rate&from=" + ms(at(-50*time.Minute+20*time.Second)) + "&to=" + ms(at(-10*time.Minute)),
			at(-50*time.Minute + 20*time.Second), at(-10 * time.Minute),
			[]pt{{at(-50*time.Minute + 20*time.Second), 70}, {at(-49*time.Minute + 10*time.Second), 80}}},
		{"another field", "field=resp_rate", at(-time.Hour), testNow, []pt{{at(-50 * time.Minute), 16}}},
		{"boolean field", "field=in_bed", at(-time.Hour), testNow, []pt{{at(-50 * time.Minute), 1}}},
		{"field without data", "field=spo2", at(-time.Hour), testNow, []pt{}},
		{"range without data", "field=heart_rate&from=-3h&to=-2h", at(-3 * time.Hour), at(-2 * time.Hour), []pt{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/api/v1/beds/bed1/telemetry?" + tt.query
			r := h.mustDo(t, "GET", path, "", fiber.StatusOK)
			if !strings.Contains(string(r.body), `"items":[`) {
				t.Errorf("GET %s = %s, want an items array", path, r.body)
			}
			got := decode[telemetryBody](t, "GET", path, r)
			field := strings.TrimPrefix(strings.Split(tt.query, "&")[0], "field=")
			every := ""
			if _, e, ok := strings.Cut(tt.query, "every="); ok {
				every, _, _ = strings.Cut(e, "&")
			}
			if got.BedID != "bed1" || got.Field != field || !got.From.Equal(tt.from) || !got.To.Equal(tt.to) || got.Every != every {
				t.Errorf("GET %s = bed %s field %s from %v to %v every %q, want bed1 %s %v %v %q",
					path, got.BedID, got.Field, got.From, got.To, got.Every, field, tt.from, tt.to, every)
			}
			gotPts := []pt{}
			for _, it := range got.Items {
				gotPts = append(gotPts, pt{it.Time.UTC(), it.Value})
			}
			if !reflect.DeepEqual(gotPts, tt.want) {
				t.Errorf("GET %s = %v, want %v", path, gotPts, tt.want)
			}
		})
	}
}

// deadTopics reads a dead-letter page: the topics, newest first, and next.
func deadTopics(t *testing.T, h *harness, path string) ([]string, string) {
	t.Helper()
	r := h.mustDo(t, "GET", path, "", fiber.StatusOK)
	got := decode[listBody[store.DeadLetter]](t, "GET", path, r)
	topics := []string{}
	for _, l := range got.Items {
		topics = append(topics, l.Topic)
	}
	return topics, got.Next
}

func TestDeadLetters(t *testing.T) {
	h := newHarness(t)
	letters := []store.DeadLetter{
		{Received: at(-3 * time.Hour), Topic: "t1", Reason: devices.ReasonMalformed, Detail: "unexpected end", Payload: `{"heart`},
		{Received: at(-2 * time.Hour), Topic: "t2", Reason: devices.ReasonUnknownTopic, Detail: "no such topic"},
		{Received: at(-90 * time.Minute), Topic: "t3", Reason: devices.ReasonMalformed},
		{Received: at(-30 * time.Minute), Topic: "t4", Reason: devices.ReasonMalformed},
		{Received: at(-10 * time.Minute), Topic: "t5", Reason: devices.ReasonUnknownTopic},
	}
	if err := h.db.AddDeadLetters(context.Background(), letters); err != nil {
		t.Fatalf("AddDeadLetters = %v, want nil", err)
	}
	tests := []struct {
		name  string
		query string // filters
		limit int
		want  [][]string // topics, page by page
	}{
		{"all", "", 100, [][]string{{"t5", "t4", "t3", "t2", "t1"}}},
		{"pages of 2", "", 2, [][]string{{"t5", "t4"}, {"t3", "t2"}, {"t1"}}},
		{"one exact page", "", 5, [][]string{{"t5", "t4", "t3", "t2", "t1"}}},
		{"reason", "reason=malformed_json", 2, [][]string{{"t4", "t3"}, {"t1"}}},
		{"reason, exact page", "reason=unknown_topic", 2, [][]string{{"t5", "t2"}}},
		{"reason without letters", "reason=oversized", 2, [][]string{{}}},
		{"since relative", "since=-1h", 100, [][]string{{"t5", "t4"}}},
		{"since RFC 3339, inclusive", "since=" + at(-2*time.Hour).Format(time.RFC3339), 3, [][]string{{"t5", "t4", "t3"}, {"t2"}}},
		{"since Unix ms and reason", "since=" + ms(at(-90*time.Minute)) + "&reason=malformed_json", 1, [][]string{{"t4"}, {"t3"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pages [][]string
			before := ""
			for len(pages) < 10 {
				path := fmt.Sprintf("/api/v1/deadletters?limit=%d", tt.limit)
				if tt.query != "" {
					path += "&" + tt.query
				}
				if before != "" {
					path += "&before=" + before
				}
				topics, next := deadTopics(t, h, path)
				pages = append(pages, topics)
				if next == "" {
					break
				}
				before = next
			}
			if !reflect.DeepEqual(pages, tt.want) {
				t.Errorf("GET /api/v1/deadletters?%s by %d = %v, want %v", tt.query, tt.limit, pages, tt.want)
			}
		})
	}

	const path = "/api/v1/deadletters?reason=malformed_json&limit=1&before=2"
	r := h.mustDo(t, "GET", path, "", fiber.StatusOK)
	got := decode[listBody[store.DeadLetter]](t, "GET", path, r)
	want := store.DeadLetter{ID: 1, Received: at(-3 * time.Hour), Topic: "t1", Reason: devices.ReasonMalformed,
		Detail: "unexpected end", Payload: `{"heart`, Size: 7}
	if len(got.Items) != 1 || !reflect.DeepEqual(got.Items[0], want) || got.Next != "" {
		t.Errorf("GET %s = %s, want only %+v", path, r.body, want)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2025, 3, 1, 20, 0, 0, 0, time.FixedZone("CST", 8*3600))
	def := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"", def, false},
		{"now", now, false},
		{"-1h", now.Add(-time.Hour), false},
		{"-90m", now.Add(-90 * time.Minute), false},
		{"-1h30m", now.Add(-90 * time.Minute), false},
		{"2025-03-01T11:00:00Z", time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC), false},
		{"2025-03-01T19:00:00.5+08:00", time.Date(2025, 3, 1, 11, 0, 0, 5e8, time.UTC), false},
		{"1740826800000", time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC), false},
		{"0", time.Unix(0, 0), false},
		{"-1000", time.Unix(-1, 0), false},
		{"--1h", time.Time{}, true},
		{"-1", time.Unix(0, -1e6), false},
		{"-h", time.Time{}, true},
		{"1h", time.Time{}, true},
		{"2025-03-01", time.Time{}, true},
		{"yesterday", time.Time{}, true},
		{"99999999999999999999", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in, now, def)
		if (err != nil) != tt.wantErr || (!tt.wantErr && (!got.Equal(tt.want) || got.Location() != time.UTC)) {
			t.Errorf("parseTime(%q) = %v, %v, want %v in UTC (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
