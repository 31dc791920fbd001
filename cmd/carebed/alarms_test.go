package main

import (
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"carebed/alerts"
	"carebed/devices"
	"carebed/gateway/gatewaytest"
)

// alertView is GET /api/v1/alerts/{id}: the alert with its trail and the
// notification requests it made.
type alertView struct {
	alerts.Alert
	Trail         []alerts.Transition `json:"trail"`
	Notifications []struct {
		PersonID string        `json:"person_id"`
		Target   alerts.Target `json:"target"`
		Level    int           `json:"level"`
		Reason   alerts.Action `json:"reason"`
	} `json:"notifications"`
}

func bedAlerts(t *testing.T, api, bed string) []alerts.Alert {
	t.Helper()
	var out struct{ Items []alerts.Alert }
	mustCall(t, "GET", api+"/api/v1/alerts?bed="+url.QueryEscape(bed), nil, &out, 200)
	return out.Items
}

func getAlert(t *testing.T, api string, id int64) alertView {
	t.Helper()
	var v alertView
	mustCall(t, "GET", fmt.Sprintf("%s/api/v1/alerts/%d", api, id), nil, &v, 200)
	return v
}

// waitAlert waits for the one alert of a bed and kind.
func waitAlert(t *testing.T, api, bed string, kind alerts.Kind, timeout time.Duration) alerts.Alert {
	t.Helper()
	var found []alerts.Alert
	gatewaytest.WaitFor(t, timeout, fmt.Sprintf("a %s alert for bed %s", kind, bed), func() bool {
		found = found[:0]
		for _, a := range bedAlerts(t, api, bed) {
			if a.Kind == kind {
				found = append(found, a)
			}
		}
		return len(found) > 0
	})
	if len(found) != 1 {
		t.Fatalf("%s alerts of bed %s = %d, want 1: %+v", kind, bed, len(found), found)
	}
	return found[0]
}

// setEscalation gives agency-1 a two-step policy with short timeouts, a
// primary caregiver for every bed and a dispatcher on a daily 24 h shift.
func setEscalation(t *testing.T, api string, step time.Duration) {
	t.Helper()
	for _, p := range []alerts.Person{
		{ID: "cg-1", AgencyID: "agency-1", Name: "Caregiver One", Role: "caregiver"},
		{ID: "disp-1", AgencyID: "agency-1", Name: "Dispatcher One", Role: "dispatcher"},
	} {
		mustCall(t, "POST", api+"/api/v1/caregivers", p, nil, 201)
	}
	from, to := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	mustCall(t, "POST", api+"/api/v1/duties", alerts.Duty{AgencyID: "agency-1", PersonID: "cg-1",
		Target: alerts.TargetPrimaryCaregiver, Start: &from, End: &to}, nil, 201)
	mustCall(t, "POST", api+"/api/v1/duties", alerts.Duty{AgencyID: "agency-1", PersonID: "disp-1",
		Target: alerts.TargetDispatcher, Cron: "0 0 * * *", Length: alerts.Duration(24 * time.Hour)}, nil, 201)
	d := alerts.Duration(step)
	mustCall(t, "PUT", api+"/api/v1/policies/agency-1", alerts.Policy{AgencyID: "agency-1", Steps: []alerts.Step{
		{Target: alerts.TargetPrimaryCaregiver, Critical: d, Major: d, Minor: d},
		{Target: alerts.TargetDispatcher, Critical: d, Major: d, Minor: d},
	}, RepeatEvery: alerts.Duration(time.Hour)}, nil, 200, 201)
}

// TestSOSEscalatesUntilAcknowledged publishes an SOS through a real
// Mosquitto, finds the alarm through the API, watches the escalation step
// after its timeout, acknowledges it and sees the escalation stop.
func TestSOSEscalatesUntilAcknowledged(t *testing.T) {
	s := servers{mqtt: gatewaytest.StartMosquitto(t)}
	gw := startInProcess(t, "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--mqtt-listen", "off",
		"--mqtt-url", s.mqtt.URL, "--mqtt-client-id", "carebed-alarms")
	api := gw.api()
	registerBed(t, api, "bed-1", map[string]devices.Kind{"sos-1": devices.KindSOSButton})
	const step = 2 * time.Second
	setEscalation(t, api, step)

	pub := newPublisher(t, s.mqtt.URL, "alarm-publisher")
	pressed := time.Now()
	pub.mustPublish("carebed/sos-1/sos", []byte(`{"action":"press"}`))
	a := waitAlert(t, api, "bed-1", alerts.KindSOS, 10*time.Second)
	if a.Severity != alerts.Critical || a.State != alerts.Open || a.Count != 1 || a.DeviceID != "sos-1" {
		t.Fatalf("SOS alert = %+v, want critical, open, count 1, device sos-1", a)
	}
	v := getAlert(t, api, a.ID)
	if len(v.Notifications) != 1 || v.Notifications[0].PersonID != "cg-1" || v.Notifications[0].Reason != alerts.ActionRaised {
		t.Fatalf("notifications at raise = %+v, want one to cg-1 (raised)", v.Notifications)
	}

	gatewaytest.WaitFor(t, 3*step+5*time.Second, "escalation to the dispatcher", func() bool {
		v = getAlert(t, api, a.ID)
		return v.EscalationLevel >= 1
	})
	if took := time.Since(pressed); took < step {
		t.Errorf("escalated %v after the press, want no sooner than the %v timeout", took, step)
	}
	last := v.Notifications[len(v.Notifications)-1]
	if last.PersonID != "disp-1" || last.Reason != alerts.ActionEscalated || last.Level != 1 {
		t.Errorf("escalation notification = %+v, want disp-1 escalated at level 1", last)
	}

	mustCall(t, "POST", fmt.Sprintf("%s/api/v1/alerts/%d/ack", api, a.ID), map[string]string{"note": "on my way"}, nil, 200)
	acked := getAlert(t, api, a.ID)
	if acked.State != alerts.Acknowledged || acked.AcknowledgedAt == nil || acked.NextEscalation != nil {
		t.Fatalf("after ack = state %s, acknowledged_at %v, next_escalation %v; want acknowledged with no next escalation",
			acked.State, acked.AcknowledgedAt, acked.NextEscalation)
	}
	time.Sleep(3 * step) // escalation would have stepped (and repeated) by now
	after := getAlert(t, api, a.ID)
	if after.EscalationLevel != acked.EscalationLevel || len(after.Notifications) != len(acked.Notifications) {
		t.Errorf("after ack: level %d -> %d, notifications %d -> %d; want no change",
			acked.EscalationLevel, after.EscalationLevel, len(acked.Notifications), len(after.Notifications))
	}
	actions := map[alerts.Action]int{}
	for _, tr := range after.Trail {
		actions[tr.Action]++
	}
	if actions[alerts.ActionRaised] != 1 || actions[alerts.ActionEscalated] < 1 || actions[alerts.ActionAcknowledged] != 1 {
		t.Errorf("trail actions = %v, want raised 1, escalated >= 1, acknowledged 1", actions)
	}

	// Resolving a critical alert needs a note.
	if code := call(t, "POST", fmt.Sprintf("%s/api/v1/alerts/%d/resolve", api, a.ID), map[string]string{}, nil); code != 422 {
		t.Errorf("resolve without note = %d, want 422", code)
	}
	mustCall(t, "POST", fmt.Sprintf("%s/api/v1/alerts/%d/resolve", api, a.ID), map[string]string{"note": "false alarm, elder fine"}, nil, 200)
	if got := getAlert(t, api, a.ID); got.State != alerts.Resolved {
		t.Errorf("state after resolve = %s, want resolved", got.State)
	}
}

// TestSOSBurst sends 1,000 SOS presses from 1,000 beds within a second:
// 1,000 alarms, none lost or merged.
func TestSOSBurst(t *testing.T) {
	const beds = 1000
	s := servers{mqtt: gatewaytest.StartMosquitto(t)}
	gw := startInProcess(t, "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--mqtt-listen", "off",
		"--mqtt-url", s.mqtt.URL, "--mqtt-client-id", "carebed-burst")
	api := gw.api()
	mustCall(t, "POST", api+"/api/v1/agencies", devices.Agency{ID: "agency-1", Name: "Test agency"}, nil, 201)
	for i := range beds {
		bed := fmt.Sprintf("bed-%04d", i)
		mustCall(t, "POST", api+"/api/v1/beds", devices.Bed{ID: bed, AgencyID: "agency-1"}, nil, 201)
		mustCall(t, "POST", api+"/api/v1/devices", devices.Device{ID: "sos-" + bed, BedID: bed, Kind: devices.KindSOSButton, Format: devices.FormatNative}, nil, 201)
	}
	pub := newPublisher(t, s.mqtt.URL, "burst-publisher")
	var wg sync.WaitGroup
	start := time.Now()
	for i := range beds {
		pub.publishAsync(i, fmt.Sprintf("carebed/sos-bed-%04d/sos", i), []byte(`{"action":"press"}`), &wg)
	}
	wg.Wait()
	t.Logf("1,000 presses acknowledged by the broker in %v", time.Since(start))
	if len(pub.acked) != beds || pub.failed != 0 {
		t.Fatalf("broker acknowledged %d presses, %d failed; want %d, 0", len(pub.acked), pub.failed, beds)
	}
	var all []alerts.Alert
	gatewaytest.WaitFor(t, 30*time.Second, "1,000 SOS alerts", func() bool {
		all = listAll(t, api, "kind=sos")
		return len(all) >= beds
	})
	seen := map[string]int{}
	for _, a := range all {
		seen[a.BedID]++
		if a.Count != 1 || a.Kind != alerts.KindSOS {
			t.Errorf("alert %d of %s: kind %s count %d, want sos count 1", a.ID, a.BedID, a.Kind, a.Count)
		}
	}
	if len(all) != beds || len(seen) != beds {
		t.Errorf("SOS alerts = %d over %d beds, want %d over %d", len(all), len(seen), beds, beds)
	}
}

// listAll reads every page of GET /api/v1/alerts with a query.
func listAll(t *testing.T, api, query string) []alerts.Alert {
	t.Helper()
	var all []alerts.Alert
	next := ""
	for {
		var page struct {
			Items []alerts.Alert `json:"items"`
			Next  string         `json:"next"`
		}
		u := api + "/api/v1/alerts?limit=500&" + query
		if next != "" {
			u += "&before=" + url.QueryEscape(next)
		}
		mustCall(t, "GET", u, nil, &page, 200)
		all = append(all, page.Items...)
		if page.Next == "" || len(page.Items) == 0 {
			return all
		}
		next = page.Next
	}
}

// nightZone names a fixed-offset zone where it is now about 01:00, so that
// the night rules apply whenever the test runs.
func nightZone(now time.Time) string {
	off := (1 - now.UTC().Hour() + 24) % 24
	if off > 14 {
		off -= 24
	}
	return fmt.Sprintf("Etc/GMT%+d", -off) // POSIX sign: Etc/GMT-8 is UTC+8
}

// TestSIGKILLWithAlarmsInFlight kills the gateway with an open SOS alarm
// half way through its first escalation step and a bed-exit timer
// running, then restarts it: nothing is lost, nothing is raised twice, and
// the escalation and the timer fire when they were due.
func TestSIGKILLWithAlarmsInFlight(t *testing.T) {
	const (
		step    = 20 * time.Second
		bedExit = 30 * time.Second
	)
	s := servers{mqtt: gatewaytest.StartMosquitto(t)}
	data := t.TempDir()
	port := gatewaytest.FreePort(t)
	args := []string{"--data-dir", data, "--http-addr", "127.0.0.1:0", "--mqtt-listen", "off",
		"--mqtt-url", s.mqtt.URL, "--mqtt-client-id", "carebed-kill",
		"--zone", nightZone(time.Now()), "--alarm-timers", "bed_exit=" + bedExit.String()}
	gw := startSubprocess(t, port, args...)
	api := gw.api
	registerBed(t, api, "bed-1", map[string]devices.Kind{"sos-1": devices.KindSOSButton, "radar-1": devices.KindVitalsMonitor})
	setEscalation(t, api, step)

	pub := newPublisher(t, s.mqtt.URL, "kill-publisher")
	pub.mustPublish("carebed/radar-1/vitals", []byte(`{"heart_rate":70,"resp_rate":14,"in_bed":true}`))
	pub.mustPublish("carebed/sos-1/sos", []byte(`{"action":"press"}`))
	sos := waitAlert(t, api, "bed-1", alerts.KindSOS, 10*time.Second)
	pub.mustPublish("carebed/radar-1/vitals", []byte(`{"in_bed":false}`))
	leftBed := time.Now()
	gatewaytest.WaitFor(t, 10*time.Second, "the out-of-bed reading taken", func() bool {
		var d devices.Device
		mustCall(t, "GET", api+"/api/v1/devices/radar-1", nil, &d, 200)
		return d.LastSeen != nil && !d.LastSeen.Before(leftBed.Add(-time.Second))
	})
	time.Sleep(step / 2)

	gw.kill()
	t.Logf("SIGKILL %v after the press, %v after the bed exit", time.Since(sos.RaisedAt).Round(time.Millisecond), time.Since(leftBed).Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	gw = startSubprocess(t, port, args...)

	exit := waitAlert(t, api, "bed-1", alerts.KindBedExit, bedExit+20*time.Second)
	if d := exit.RaisedAt.Sub(leftBed); d < bedExit-time.Second || d > bedExit+3*time.Second {
		t.Errorf("bed_exit raised %v after leaving bed, want %v (timer resumed, not restarted)", d, bedExit)
	}
	var v alertView
	gatewaytest.WaitFor(t, step+10*time.Second, "the SOS escalation", func() bool {
		v = getAlert(t, api, sos.ID)
		return v.EscalationLevel >= 1
	})
	var escalatedAt time.Time
	raised := 0
	for _, tr := range v.Trail {
		switch tr.Action {
		case alerts.ActionEscalated:
			if escalatedAt.IsZero() {
				escalatedAt = tr.At
			}
		case alerts.ActionRaised:
			raised++
		}
	}
	if d := escalatedAt.Sub(sos.RaisedAt); d < step || d > step+3*time.Second {
		t.Errorf("escalated %v after the raise, want %v: the step resumed where it was", d, step)
	}
	if raised != 1 || v.Count != 1 {
		t.Errorf("SOS after restart: raised %d times, count %d; want 1, 1", raised, v.Count)
	}
	all := bedAlerts(t, api, "bed-1")
	kinds := map[alerts.Kind]int{}
	for _, a := range all {
		kinds[a.Kind]++
	}
	if kinds[alerts.KindSOS] != 1 || kinds[alerts.KindBedExit] != 1 || len(all) != 2 {
		t.Errorf("alerts of bed-1 after restart = %v, want one sos and one bed_exit\n%s", kinds, gw.logs.String())
	}
}
