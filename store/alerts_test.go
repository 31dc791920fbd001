package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"carebed/alerts"
)

// newAlert is an open alert of bed and kind raised at at, with the trail
// entry and the requests the engine would give it.
func newAlert(bed string, kind alerts.Kind, at time.Time, requests int) AlertChange {
	a := &alerts.Alert{AgencyID: "a1", BedID: bed, DeviceID: "d1", Kind: kind, Severity: alerts.Critical,
		State: alerts.Open, RaisedAt: at, LastSeen: at, Count: 1, NextEscalation: ptr(at.Add(time.Minute)),
		Detail: "sos pressed"}
	ch := AlertChange{Alert: a, Trail: []alerts.Transition{
		{At: at, Actor: alerts.SystemActor, Action: alerts.ActionRaised, State: alerts.Open},
	}}
	for i := range requests {
		ch.Requests = append(ch.Requests, alerts.Request{PersonID: fmt.Sprintf("p%d", i),
			Target: alerts.TargetPrimaryCaregiver, Level: 0, Reason: alerts.ActionRaised, At: at})
	}
	return ch
}

func TestSaveAlertsRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ch := newAlert("b1", alerts.KindSOS, t0, 3)
	cursor := uint64(42)
	err := db.SaveAlerts(ctx, AlertBatch{Changes: []AlertChange{ch},
		RuleStates: []RuleState{{BedID: "b1", Data: []byte("state-1")}}, Cursor: &cursor})
	if err != nil {
		t.Fatalf("SaveAlerts = %v, want nil", err)
	}
	a := *ch.Alert
	if a.ID <= 0 {
		t.Fatalf("SaveAlerts set Alert.ID = %d, want > 0", a.ID)
	}
	if ch.Trail[0].AlertID != a.ID {
		t.Errorf("trail AlertID = %d, want %d", ch.Trail[0].AlertID, a.ID)
	}
	for i, r := range ch.Requests {
		if r.AlertID != a.ID || r.ID <= 0 || (i > 0 && r.ID <= ch.Requests[i-1].ID) {
			t.Errorf("request %d = id %d, alert %d; want increasing ids > 0 of alert %d", i, r.ID, r.AlertID, a.ID)
		}
	}

	got, err := db.GetAlert(ctx, a.ID)
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Errorf("GetAlert(%d) = %+v, %v, want %+v", a.ID, got, err, a)
	}
	trail, err := db.AlertTrail(ctx, a.ID)
	if err != nil || !reflect.DeepEqual(trail, ch.Trail) {
		t.Errorf("AlertTrail(%d) = %+v, %v, want %+v", a.ID, trail, err, ch.Trail)
	}
	ns, err := db.ListNotifications(ctx, a.ID)
	if err != nil || len(ns) != 3 {
		t.Fatalf("ListNotifications(%d) = %d, %v, want 3", a.ID, len(ns), err)
	}
	for i, n := range ns {
		if !reflect.DeepEqual(n.Request, ch.Requests[i]) || n.SentAt != nil || n.Attempts != 0 {
			t.Errorf("notification %d = %+v, want %+v, unsent", i, n, ch.Requests[i])
		}
	}
	if c, err := db.AlertCursor(ctx); err != nil || c != 42 {
		t.Errorf("AlertCursor = %d, %v, want 42", c, err)
	}
	if rs, err := db.RuleStates(ctx); err != nil || len(rs) != 1 || string(rs[0].Data) != "state-1" {
		t.Errorf("RuleStates = %+v, %v, want b1: state-1", rs, err)
	}

	// Acknowledge: an update with its trail, a rule state replaced and
	// another deleted, the cursor moved on.
	ack := a
	ack.State, ack.AcknowledgedAt, ack.AcknowledgedBy, ack.NextEscalation = alerts.Acknowledged, ptr(t0.Add(time.Minute)), "u1", nil
	cursor = 43
	err = db.SaveAlerts(ctx, AlertBatch{
		Changes: []AlertChange{{Alert: &ack, Trail: []alerts.Transition{
			{At: t0.Add(time.Minute), Actor: "u1", Action: alerts.ActionAcknowledged, State: alerts.Acknowledged, Note: "on my way"}}}},
		RuleStates: []RuleState{{BedID: "b1", Data: []byte("state-2")}, {BedID: "b2", Data: []byte("x")}},
		Cursor:     &cursor,
	})
	if err != nil {
		t.Fatalf("SaveAlerts(ack) = %v, want nil", err)
	}
	if err := db.SaveAlerts(ctx, AlertBatch{RuleStates: []RuleState{{BedID: "b2"}}}); err != nil {
		t.Fatalf("SaveAlerts(delete rule state) = %v, want nil", err)
	}
	if got, err := db.GetAlert(ctx, a.ID); err != nil || !reflect.DeepEqual(got, ack) {
		t.Errorf("GetAlert after ack = %+v, %v, want %+v", got, err, ack)
	}
	if trail, _ := db.AlertTrail(ctx, a.ID); len(trail) != 2 || trail[1].Note != "on my way" || trail[1].AlertID != a.ID {
		t.Errorf("AlertTrail after ack = %+v, want raised then acknowledged with the note", trail)
	}
	if rs, err := db.RuleStates(ctx); err != nil || len(rs) != 1 || rs[0].BedID != "b1" || string(rs[0].Data) != "state-2" {
		t.Errorf("RuleStates = %+v, %v, want only b1: state-2", rs, err)
	}
	if c, err := db.AlertCursor(ctx); err != nil || c != 43 {
		t.Errorf("AlertCursor = %d, %v, want 43", c, err)
	}
}

func TestSaveAlertsEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if c, err := db.AlertCursor(ctx); err != nil || c != 0 {
		t.Errorf("AlertCursor on a new database = %d, %v, want 0, nil", c, err)
	}
	if rs, err := db.RuleStates(ctx); err != nil || len(rs) != 0 {
		t.Errorf("RuleStates on a new database = %v, %v, want none", rs, err)
	}
	if as, err := db.UnresolvedAlerts(ctx); err != nil || len(as) != 0 {
		t.Errorf("UnresolvedAlerts on a new database = %v, %v, want none", as, err)
	}
	if err := db.SaveAlerts(ctx, AlertBatch{}); err != nil {
		t.Errorf("SaveAlerts(empty) = %v, want nil", err)
	}
	_, err := db.GetAlert(ctx, 1)
	checkErr(t, "GetAlert(1)", err, ErrNotFound, "alert 1")
	_, err = db.AlertTrail(ctx, 1)
	checkErr(t, "AlertTrail(1)", err, ErrNotFound, "alert 1")
	_, err = db.ListNotifications(ctx, 1)
	checkErr(t, "ListNotifications(1)", err, ErrNotFound, "alert 1")
}

// TestSaveAlertsAtomic checks that a batch that fails anywhere stores
// nothing and leaves the batch's ids unset.
func TestSaveAlertsAtomic(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	first := newAlert("b1", alerts.KindFall, t0, 1)
	c1 := uint64(1)
	if err := db.SaveAlerts(ctx, AlertBatch{Changes: []AlertChange{first}, Cursor: &c1,
		RuleStates: []RuleState{{BedID: "b1", Data: []byte("before")}}}); err != nil {
		t.Fatalf("SaveAlerts(first) = %v, want nil", err)
	}

	tests := []struct {
		name  string
		batch func() AlertBatch
		want  error
		texts []string
	}{
		{"a second unresolved alert of the bed and kind, late in the batch", func() AlertBatch {
			return AlertBatch{Changes: []AlertChange{newAlert("b2", alerts.KindSOS, t0, 3), newAlert("b1", alerts.KindFall, t0, 3)}}
		}, ErrConflict, []string{"change 1", `bed "b1"`, "fall", "unresolved"}},
		{"two new alerts of one bed and kind", func() AlertBatch {
			return AlertBatch{Changes: []AlertChange{newAlert("b3", alerts.KindGas, t0, 0), newAlert("b3", alerts.KindGas, t0, 0)}}
		}, ErrConflict, []string{"change 1", `bed "b3"`}},
		{"an update of an alert that is not stored", func() AlertBatch {
			ch := newAlert("b4", alerts.KindSmoke, t0, 1)
			ch.Alert.ID = 999
			return AlertBatch{Changes: []AlertChange{newAlert("b5", alerts.KindSOS, t0, 1), ch}}
		}, ErrNotFound, []string{"change 1", "alert 999"}},
		{"a trail entry of an alert that is not stored", func() AlertBatch {
			return AlertBatch{Changes: []AlertChange{newAlert("b5", alerts.KindSOS, t0, 1),
				{Trail: []alerts.Transition{{AlertID: 999, At: t0, Actor: "u1", Action: alerts.ActionNoted, State: alerts.Open}}}}}
		}, ErrNotFound, []string{"change 1", "trail 0", "alert 999"}},
		{"a request of an alert that is not stored", func() AlertBatch {
			return AlertBatch{Changes: []AlertChange{newAlert("b5", alerts.KindSOS, t0, 1),
				{Requests: []alerts.Request{{AlertID: 999, PersonID: "p1", Target: alerts.TargetDispatcher, Reason: alerts.ActionEscalated, At: t0}}}}}
		}, ErrNotFound, []string{"change 1", "request 0", "alert 999"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.batch()
			c := uint64(99)
			b.Cursor = &c
			b.RuleStates = []RuleState{{BedID: "b1", Data: []byte("after")}, {BedID: "b9", Data: []byte("new")}}
			err := db.SaveAlerts(ctx, b)
			checkErr(t, "SaveAlerts", err, tt.want, tt.texts...)

			for i, ch := range b.Changes {
				if ch.Alert != nil && ch.Alert.ID != 0 && ch.Alert.ID != 999 {
					t.Errorf("after a failed SaveAlerts, change %d has Alert.ID %d, want it unset", i, ch.Alert.ID)
				}
				for _, r := range ch.Requests {
					if r.ID != 0 {
						t.Errorf("after a failed SaveAlerts, change %d has a request id %d, want it unset", i, r.ID)
					}
				}
			}
			var alertsN, trailN, requestsN int
			for table, n := range map[string]*int{"alerts": &alertsN, "alert_trail": &trailN, "notifications": &requestsN} {
				if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(n); err != nil {
					t.Fatal(err)
				}
			}
			if alertsN != 1 || trailN != 1 || requestsN != 1 {
				t.Errorf("after a failed SaveAlerts: %d alerts, %d trail entries, %d requests; want 1, 1, 1", alertsN, trailN, requestsN)
			}
			if c, _ := db.AlertCursor(ctx); c != 1 {
				t.Errorf("after a failed SaveAlerts: AlertCursor = %d, want 1", c)
			}
			if rs, _ := db.RuleStates(ctx); len(rs) != 1 || string(rs[0].Data) != "before" {
				t.Errorf("after a failed SaveAlerts: RuleStates = %+v, want only b1: before", rs)
			}
		})
	}
}

// TestSaveAlertsSuccessor checks that resolving an alert and raising the
// next of the same bed and kind in one batch works when in that order.
func TestSaveAlertsSuccessor(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	old := newAlert("b1", alerts.KindVitals, t0, 0)
	if err := db.SaveAlerts(ctx, AlertBatch{Changes: []AlertChange{old}}); err != nil {
		t.Fatal(err)
	}
	resolved := *old.Alert
	resolved.State, resolved.ResolvedAt, resolved.ResolvedBy = alerts.Resolved, ptr(t0.Add(time.Hour)), "u1"
	next := newAlert("b1", alerts.KindVitals, t0.Add(2*time.Hour), 1)
	err := db.SaveAlerts(ctx, AlertBatch{Changes: []AlertChange{{Alert: &resolved}, next}})
	if err != nil {
		t.Fatalf("SaveAlerts(resolve, raise) = %v, want nil", err)
	}
	un, err := db.UnresolvedAlerts(ctx)
	if err != nil || len(un) != 1 || un[0].ID != next.Alert.ID {
		t.Errorf("UnresolvedAlerts = %+v, %v, want only alert %d", un, err, next.Alert.ID)
	}
	// Reopening the resolved one now clashes with its successor.
	reopen := resolved
	reopen.State = alerts.Open
	err = db.SaveAlerts(ctx, AlertBatch{Changes: []AlertChange{{Alert: &reopen}}})
	checkErr(t, "SaveAlerts(reopen)", err, ErrConflict, "unresolved")
}

func TestSaveAlertsValidation(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	tests := []struct {
		name  string
		edit  func(*AlertChange)
		field string
	}{
		{"kind", func(c *AlertChange) { c.Alert.Kind = "toaster" }, "changes[0].alert.kind"},
		{"severity", func(c *AlertChange) { c.Alert.Severity = "huge" }, "changes[0].alert.severity"},
		{"state", func(c *AlertChange) { c.Alert.State = "closed" }, "changes[0].alert.state"},
		{"bed", func(c *AlertChange) { c.Alert.BedID = "" }, "changes[0].alert.bed_id"},
		{"agency", func(c *AlertChange) { c.Alert.AgencyID = "bad id" }, "changes[0].alert.agency_id"},
		{"device", func(c *AlertChange) { c.Alert.DeviceID = "bad/id" }, "changes[0].alert.device_id"},
		{"raised at", func(c *AlertChange) { c.Alert.RaisedAt = time.Time{} }, "changes[0].alert.raised_at"},
		{"count", func(c *AlertChange) { c.Alert.Count = -1 }, "changes[0].alert.count"},
		{"resolved at", func(c *AlertChange) { c.Alert.ResolvedAt = ptr(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)) }, "changes[0].alert.resolved_at"},
		{"trail state", func(c *AlertChange) { c.Trail[0].State = "gone" }, "changes[0].trail[0].state"},
		{"trail actor", func(c *AlertChange) { c.Trail[0].Actor = "" }, "changes[0].trail[0].actor"},
		{"trail time", func(c *AlertChange) { c.Trail[0].At = time.Time{} }, "changes[0].trail[0].at"},
		{"trail without alert", func(c *AlertChange) { c.Alert = nil }, "changes[0].trail[0].alert_id"},
		{"request target", func(c *AlertChange) { c.Requests[1].Target = "neighbour" }, "changes[0].requests[1].target"},
		{"request person", func(c *AlertChange) { c.Requests[0].PersonID = "" }, "changes[0].requests[0].person_id"},
		{"request reason", func(c *AlertChange) { c.Requests[0].Reason = "" }, "changes[0].requests[0].reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := newAlert("b1", alerts.KindSOS, t0, 2)
			tt.edit(&ch)
			err := db.SaveAlerts(ctx, AlertBatch{Changes: []AlertChange{ch}})
			checkErr(t, "SaveAlerts", err, ErrInvalid, tt.field)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Errorf("SaveAlerts = %v, want a ValidationError of field %s", err, tt.field)
			}
		})
	}
	t.Run("rule state bed", func(t *testing.T) {
		err := db.SaveAlerts(ctx, AlertBatch{RuleStates: []RuleState{{BedID: "", Data: []byte("x")}}})
		checkErr(t, "SaveAlerts", err, ErrInvalid, "rule_states[0].bed_id")
	})
	t.Run("cursor beyond int64", func(t *testing.T) {
		c := uint64(math.MaxInt64) + 1
		err := db.SaveAlerts(ctx, AlertBatch{Cursor: &c})
		checkErr(t, "SaveAlerts", err, ErrInvalid, "cursor")
	})
	t.Run("long detail and note are cut", func(t *testing.T) {
		ch := newAlert("b1", alerts.KindSOS, t0, 0)
		ch.Alert.Detail = strings.Repeat("d", 5000)
		ch.Trail[0].Note = strings.Repeat("n", 5000)
		if err := db.SaveAlerts(ctx, AlertBatch{Changes: []AlertChange{ch}}); err != nil {
			t.Fatalf("SaveAlerts = %v, want nil", err)
		}
		a, _ := db.GetAlert(ctx, ch.Alert.ID)
		trail, _ := db.AlertTrail(ctx, ch.Alert.ID)
		if len(a.Detail) != maxDetail || len(trail) != 1 || len(trail[0].Note) != MaxNote {
			t.Errorf("stored detail %d bytes, note %v; want %d and %d", len(a.Detail), trail, maxDetail, MaxNote)
		}
	})
}

// TestAlertsSurviveReopen checks that what SaveAlerts committed is there
// after the database is closed and opened again, as after a restart.
func TestAlertsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ch := newAlert("b1", alerts.KindSOS, t0, 2)
	c := uint64(7)
	if err := db.SaveAlerts(ctx, AlertBatch{Changes: []AlertChange{ch}, Cursor: &c,
		RuleStates: []RuleState{{BedID: "b1", Data: []byte{0, 1, 2}}}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if un, err := db.UnresolvedAlerts(ctx); err != nil || len(un) != 1 || !reflect.DeepEqual(un[0], *ch.Alert) {
		t.Errorf("UnresolvedAlerts after reopen = %+v, %v, want %+v", un, err, *ch.Alert)
	}
	if got, err := db.AlertCursor(ctx); err != nil || got != 7 {
		t.Errorf("AlertCursor after reopen = %d, %v, want 7", got, err)
	}
	if rs, err := db.RuleStates(ctx); err != nil || len(rs) != 1 || !reflect.DeepEqual(rs[0].Data, []byte{0, 1, 2}) {
		t.Errorf("RuleStates after reopen = %+v, %v, want b1: 00 01 02", rs, err)
	}
	if p, err := db.PendingNotifications(ctx, t0, 0); err != nil || len(p) != 2 {
		t.Errorf("PendingNotifications after reopen = %d, %v, want 2", len(p), err)
	}
}

// saveMany stores one alert per spec, each in its own batch, and returns
// their ids.
func saveMany(t *testing.T, db *DB, specs []alerts.Alert) []int64 {
	t.Helper()
	var ids []int64
	for _, a := range specs {
		ch := AlertChange{Alert: &a}
		if err := db.SaveAlerts(context.Background(), AlertBatch{Changes: []AlertChange{ch}}); err != nil {
			t.Fatalf("SaveAlerts(%+v) = %v", a, err)
		}
		ids = append(ids, a.ID)
	}
	return ids
}

func alertIDs(as []alerts.Alert) []int64 {
	ids := []int64{}
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	return ids
}

func TestListAlerts(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mk := func(agency, bed string, kind alerts.Kind, sev alerts.Severity, state alerts.State, hour int) alerts.Alert {
		at := t0.Add(time.Duration(hour) * time.Hour)
		return alerts.Alert{AgencyID: agency, BedID: bed, Kind: kind, Severity: sev, State: state, RaisedAt: at, Count: 1}
	}
	// ids 1..6
	saveMany(t, db, []alerts.Alert{
		mk("a1", "b1", alerts.KindSOS, alerts.Critical, alerts.Resolved, 0),
		mk("a1", "b1", alerts.KindSOS, alerts.Critical, alerts.Open, 1),
		mk("a1", "b2", alerts.KindBatteryLow, alerts.Minor, alerts.Acknowledged, 2),
		mk("a2", "b3", alerts.KindFall, alerts.Critical, alerts.Open, 3),
		mk("a2", "b3", alerts.KindSmoke, alerts.Major, alerts.Resolved, 4),
		mk("a1", "b2", alerts.KindSOS, alerts.Critical, alerts.Resolved, 5),
	})
	tests := []struct {
		name string
		f    AlertFilter
		want []int64
	}{
		{"all, newest first", AlertFilter{}, []int64{6, 5, 4, 3, 2, 1}},
		{"state", AlertFilter{State: alerts.Open}, []int64{4, 2}},
		{"bed", AlertFilter{BedID: "b2"}, []int64{6, 3}},
		{"kind", AlertFilter{Kind: alerts.KindSOS}, []int64{6, 2, 1}},
		{"severity", AlertFilter{Severity: alerts.Critical}, []int64{6, 4, 2, 1}},
		{"agency", AlertFilter{AgencyID: "a2"}, []int64{5, 4}},
		{"since", AlertFilter{Since: t0.Add(3 * time.Hour)}, []int64{6, 5, 4}},
		{"combined", AlertFilter{AgencyID: "a1", Kind: alerts.KindSOS, State: alerts.Resolved}, []int64{6, 1}},
		{"unknown bed", AlertFilter{BedID: "nope"}, []int64{}},
		{"first page", AlertFilter{Limit: 4}, []int64{6, 5, 4, 3}},
		{"second page", AlertFilter{Limit: 4, Before: 3}, []int64{2, 1}},
		{"page of a filter", AlertFilter{Kind: alerts.KindSOS, Limit: 1, Before: 6}, []int64{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.ListAlerts(ctx, tt.f)
			if ids := alertIDs(got); err != nil || !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("ListAlerts(%+v) = %v, %v, want %v", tt.f, ids, err, tt.want)
			}
		})
	}
	bad := []struct {
		name  string
		f     AlertFilter
		field string
	}{
		{"state", AlertFilter{State: "closed"}, "state"},
		{"kind", AlertFilter{Kind: "toaster"}, "kind"},
		{"severity", AlertFilter{Severity: "huge"}, "severity"},
		{"since", AlertFilter{Since: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)}, "since"},
		{"limit", AlertFilter{Limit: MaxLimit + 1}, "limit"},
		{"before", AlertFilter{Before: -1}, "before"},
	}
	for _, tt := range bad {
		_, err := db.ListAlerts(ctx, tt.f)
		checkErr(t, "ListAlerts("+tt.name+")", err, ErrInvalid, tt.field)
	}

	t.Run("raised between", func(t *testing.T) {
		got, err := db.AlertsRaisedBetween(ctx, t0.Add(time.Hour), t0.Add(4*time.Hour))
		if ids := alertIDs(got); err != nil || !reflect.DeepEqual(ids, []int64{2, 3, 4}) {
			t.Errorf("AlertsRaisedBetween(1h, 4h) = %v, %v, want [2 3 4] (from included, to excluded)", ids, err)
		}
		_, err = db.AlertsRaisedBetween(ctx, t0, t0)
		checkErr(t, "AlertsRaisedBetween(t0, t0)", err, ErrInvalid, "to")
	})
	t.Run("unresolved", func(t *testing.T) {
		got, err := db.UnresolvedAlerts(ctx)
		if ids := alertIDs(got); err != nil || !reflect.DeepEqual(ids, []int64{2, 3, 4}) {
			t.Errorf("UnresolvedAlerts = %v, %v, want [2 3 4]", ids, err)
		}
	})
}

func TestOutbox(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a := newAlert("b1", alerts.KindSOS, t0, 3)
	b := newAlert("b2", alerts.KindSOS, t0.Add(time.Second), 2)
	if err := db.SaveAlerts(ctx, AlertBatch{Changes: []AlertChange{a, b}}); err != nil {
		t.Fatal(err)
	}
	// Requests 1-3 of alert a at t0, 4-5 of alert b a second later.
	due := func(now time.Time, limit int) []int64 {
		t.Helper()
		rs, err := db.PendingNotifications(ctx, now, limit)
		if err != nil {
			t.Fatalf("PendingNotifications(%v, %d) = %v", now, limit, err)
		}
		ids := []int64{}
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		return ids
	}
	mark := func(id int64, at time.Time, sendErr error, retry bool) {
		t.Helper()
		if err := db.MarkNotified(ctx, id, at, sendErr, retry); err != nil {
			t.Fatalf("MarkNotified(%d, %v, %v) = %v", id, sendErr, retry, err)
		}
	}
	if got := due(t0.Add(-time.Second), 0); !reflect.DeepEqual(got, []int64{}) {
		t.Errorf("PendingNotifications before any is due = %v, want none", got)
	}
	if got := due(t0, 0); !reflect.DeepEqual(got, []int64{1, 2, 3}) {
		t.Errorf("PendingNotifications(t0) = %v, want [1 2 3]", got)
	}
	if got := due(t0.Add(time.Second), 2); !reflect.DeepEqual(got, []int64{1, 2}) {
		t.Errorf("PendingNotifications(t0+1s, 2) = %v, want [1 2]", got)
	}

	now := t0.Add(2 * time.Second)
	busy := &alerts.RetryableError{Err: errors.New("push service: 503")}
	mark(1, now, nil, false)
	mark(2, now, busy, true)
	mark(3, now, errors.New("push service: 410 gone"), false)
	// Sent and given-up requests leave; a retryable failure waits
	// FirstNotifyRetry.
	if got := due(now, 0); !reflect.DeepEqual(got, []int64{4, 5}) {
		t.Errorf("PendingNotifications after marks = %v, want [4 5]", got)
	}
	if got := due(now.Add(FirstNotifyRetry), 0); !reflect.DeepEqual(got, []int64{4, 5, 2}) {
		t.Errorf("PendingNotifications after the first back-off = %v, want [4 5 2]", got)
	}
	// The back-off doubles, up to its ceiling, until the attempts run out.
	at := now
	for attempt := 2; attempt <= MaxNotifyAttempts; attempt++ {
		wait := min(FirstNotifyRetry<<(attempt-2), MaxNotifyRetry)
		at = at.Add(wait)
		if got := due(at.Add(-time.Nanosecond), 0); slices.Contains(got, 2) {
			t.Fatalf("attempt %d: request 2 due before its back-off of %v ended", attempt, wait)
		}
		if got := due(at, 0); !slices.Contains(got, 2) {
			t.Fatalf("attempt %d: request 2 not due after its back-off of %v", attempt, wait)
		}
		mark(2, at, busy, true)
	}
	if got := due(at.Add(24*time.Hour), 0); slices.Contains(got, 2) {
		t.Errorf("request 2 due after %d failed attempts, want it given up", MaxNotifyAttempts)
	}
	// A receiver's Retry-After longer than the back-off is honoured.
	mark(4, now, &alerts.RetryableError{Err: errors.New("429"), After: time.Hour}, true)
	if got := due(now.Add(time.Hour-time.Second), 0); slices.Contains(got, 4) {
		t.Errorf("request 4 due before the receiver's Retry-After of 1h")
	}
	// Marking a sent request again keeps its first time.
	mark(1, now.Add(time.Hour), nil, false)

	ns, err := db.ListNotifications(ctx, a.Alert.ID)
	if err != nil || len(ns) != 3 {
		t.Fatalf("ListNotifications(a) = %v, %v, want 3", ns, err)
	}
	if n := ns[0]; n.SentAt == nil || !n.SentAt.Equal(now) || n.Attempts != 2 || n.LastError != "" || n.FailedAt != nil {
		t.Errorf("notification 1 = %+v, want sent at %v after 2 attempts", n, now)
	}
	if n := ns[1]; n.SentAt != nil || n.FailedAt == nil || n.Attempts != MaxNotifyAttempts || n.LastError != "push service: 503" {
		t.Errorf("notification 2 = %+v, want given up after %d attempts, the last error kept", n, MaxNotifyAttempts)
	}
	if n := ns[2]; n.SentAt != nil || n.FailedAt == nil || !n.FailedAt.Equal(now) || n.Attempts != 1 {
		t.Errorf("notification 3 = %+v, want given up at once at %v", n, now)
	}
	checkErr(t, "MarkNotified(99)", db.MarkNotified(ctx, 99, now, nil, false), ErrNotFound, "notification 99")
	checkErr(t, "MarkNotified(99, failed)", db.MarkNotified(ctx, 99, now, busy, true), ErrNotFound, "notification 99")
	checkErr(t, "MarkNotified(zero time)", db.MarkNotified(ctx, 5, time.Time{}, nil, false), ErrInvalid, "at")
	_, err = db.PendingNotifications(ctx, now, -1)
	checkErr(t, "PendingNotifications(-1)", err, ErrInvalid, "limit")
}

func BenchmarkSaveAlerts(b *testing.B) {
	ctx := context.Background()
	db := openTest(b)
	const n = 1000
	batch := func(round int) AlertBatch {
		var ab AlertBatch
		for i := range n {
			ab.Changes = append(ab.Changes, newAlert(fmt.Sprintf("r%d-b%04d", round, i), alerts.KindSOS, t0, 3))
			ab.RuleStates = append(ab.RuleStates, RuleState{BedID: fmt.Sprintf("b%04d", i), Data: []byte("rule state")})
		}
		c := uint64(round)
		ab.Cursor = &c
		return ab
	}
	b.ReportAllocs()
	round := 0
	for b.Loop() {
		b.StopTimer()
		ab := batch(round)
		round++
		b.StartTimer()
		if err := db.SaveAlerts(ctx, ab); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/alert")
}

// BenchmarkSaveRuleStates stores the rule state of 1,024 beds in one
// batch, as the alarm desk does when many beds change at once (a hub
// announcing its devices).
func BenchmarkSaveRuleStates(b *testing.B) {
	ctx := context.Background()
	db := openTest(b)
	const n = 1024
	data := bytes.Repeat([]byte("s"), 393) // the size of a typical bed's state
	var ab AlertBatch
	for i := range n {
		ab.RuleStates = append(ab.RuleStates, RuleState{BedID: fmt.Sprintf("bed-%05d", i), Data: data})
	}
	b.ReportAllocs()
	round := uint64(0)
	for b.Loop() {
		round++
		ab.Cursor = &round
		if err := db.SaveAlerts(ctx, ab); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/state")
}
