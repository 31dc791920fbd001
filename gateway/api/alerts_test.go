package api

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"carebed/alerts"
	"carebed/store"
)

// fakeDesk is the alarm desk reduced to what the API needs: the alerts
// lifecycle applied to the stored alert, saved back. It records the actor
// of every call.
type fakeDesk struct {
	db  *store.DB
	now func() time.Time

	mu     sync.Mutex
	actors []string
	rules  []string // BedChanged, BedRemoved and DeviceRemoved calls
}

func (d *fakeDesk) ruleCall(call string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rules = append(d.rules, call)
	return nil
}

func (d *fakeDesk) BedChanged(ctx context.Context, bedID string) error {
	return d.ruleCall("bed " + bedID)
}

func (d *fakeDesk) BedRemoved(ctx context.Context, bedID string) error {
	return d.ruleCall("removed bed " + bedID)
}

func (d *fakeDesk) DeviceRemoved(ctx context.Context, bedID, deviceID string) error {
	return d.ruleCall("removed device " + deviceID + " of " + bedID)
}

func (d *fakeDesk) record(actor string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.actors = append(d.actors, actor)
}

func (d *fakeDesk) lastActor() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.actors) == 0 {
		return ""
	}
	return d.actors[len(d.actors)-1]
}

func (d *fakeDesk) change(ctx context.Context, id int64, actor string,
	f func(alerts.Alert) (alerts.Alert, []alerts.Transition, error)) (alerts.Alert, error) {
	d.record(actor)
	a, err := d.db.GetAlert(ctx, id)
	if err != nil {
		return alerts.Alert{}, err
	}
	next, trail, err := f(a)
	if err != nil {
		return alerts.Alert{}, err
	}
	return next, d.db.SaveAlerts(ctx, store.AlertBatch{Changes: []store.AlertChange{{Alert: &next, Trail: trail}}})
}

func (d *fakeDesk) Acknowledge(ctx context.Context, id int64, actor, note string) (alerts.Alert, error) {
	return d.change(ctx, id, actor, func(a alerts.Alert) (alerts.Alert, []alerts.Transition, error) {
		return alerts.Acknowledge(a, actor, note, d.now())
	})
}

func (d *fakeDesk) Resolve(ctx context.Context, id int64, actor, note string) (alerts.Alert, error) {
	return d.change(ctx, id, actor, func(a alerts.Alert) (alerts.Alert, []alerts.Transition, error) {
		return alerts.Resolve(a, actor, note, d.now())
	})
}

func (d *fakeDesk) AddNote(ctx context.Context, id int64, actor, note string) (alerts.Transition, error) {
	d.record(actor)
	a, err := d.db.GetAlert(ctx, id)
	if err != nil {
		return alerts.Transition{}, err
	}
	t, err := alerts.AddNote(a, actor, note, d.now())
	if err != nil {
		return alerts.Transition{}, err
	}
	return t, d.db.SaveAlerts(ctx, store.AlertBatch{Changes: []store.AlertChange{{Trail: []alerts.Transition{t}}}})
}

// PutBedRules and DeleteBedRules only store: the fake has no rules to run.
func (d *fakeDesk) PutBedRules(ctx context.Context, r alerts.BedRules) error {
	return d.db.PutBedRules(ctx, r)
}

func (d *fakeDesk) DeleteBedRules(ctx context.Context, bedID string) error {
	return d.db.DeleteBedRules(ctx, bedID)
}

// newAlertHarness is a harness with a fake desk on its store.
func newAlertHarness(t *testing.T, edit ...func(*Deps)) (*harness, *fakeDesk) {
	t.Helper()
	desk := &fakeDesk{now: func() time.Time { return testNow }}
	h := newHarness(t, append([]func(*Deps){func(d *Deps) {
		desk.db = d.Store
		d.Alerts = desk
	}}, edit...)...)
	return h, desk
}

// alertSpec is an alert to store, raised minutes after testNow.
type alertSpec struct {
	agency, bed string
	kind        alerts.Kind
	severity    alerts.Severity
	state       alerts.State
	minutes     int
}

// saveAlert stores an alert with its raised trail entry and one request,
// and returns it with its id.
func (h *harness) saveAlert(t *testing.T, s alertSpec) alerts.Alert {
	t.Helper()
	at := testNow.Add(time.Duration(s.minutes) * time.Minute)
	a := alerts.Alert{AgencyID: s.agency, BedID: s.bed, DeviceID: "dev1", Kind: s.kind, Severity: s.severity,
		State: s.state, RaisedAt: at, LastSeen: at, Count: 1}
	if s.state == alerts.Resolved {
		a.ResolvedAt, a.ResolvedBy = &at, "u9"
	}
	ch := store.AlertChange{Alert: &a,
		Trail:    []alerts.Transition{{At: at, Actor: alerts.SystemActor, Action: alerts.ActionRaised, State: alerts.Open}},
		Requests: []alerts.Request{{PersonID: "cg1", Target: alerts.TargetPrimaryCaregiver, Reason: alerts.ActionRaised, At: at}},
	}
	if err := h.db.SaveAlerts(context.Background(), store.AlertBatch{Changes: []store.AlertChange{ch}}); err != nil {
		t.Fatalf("SaveAlerts(%+v) = %v", s, err)
	}
	return a
}

func TestListAlerts(t *testing.T) {
	h, _ := newAlertHarness(t)
	specs := []alertSpec{ // ids 1..6
		{"ag1", "bed1", alerts.KindSOS, alerts.Critical, alerts.Resolved, 0},
		{"ag1", "bed1", alerts.KindSOS, alerts.Critical, alerts.Open, 10},
		{"ag1", "bed2", alerts.KindBatteryLow, alerts.Minor, alerts.Acknowledged, 20},
		{"ag2", "bed3", alerts.KindFall, alerts.Critical, alerts.Open, 30},
		{"ag2", "bed3", alerts.KindSmoke, alerts.Major, alerts.Resolved, 40},
		{"ag1", "bed2", alerts.KindSOS, alerts.Critical, alerts.Resolved, 50},
	}
	for _, s := range specs {
		h.saveAlert(t, s)
	}
	tests := []struct {
		name  string
		path  string
		limit int
		want  [][]string
	}{
		{"all, newest first", "/api/v1/alerts", 4, [][]string{{"6", "5", "4", "3"}, {"2", "1"}}},
		{"exact pages", "/api/v1/alerts", 3, [][]string{{"6", "5", "4"}, {"3", "2", "1"}}},
		{"state", "/api/v1/alerts?state=open", 10, [][]string{{"4", "2"}}},
		{"bed", "/api/v1/alerts?bed=bed2", 1, [][]string{{"6"}, {"3"}}},
		{"kind", "/api/v1/alerts?kind=sos", 2, [][]string{{"6", "2"}, {"1"}}},
		{"severity", "/api/v1/alerts?severity=major", 10, [][]string{{"5"}}},
		{"agency", "/api/v1/alerts?agency=ag2", 10, [][]string{{"5", "4"}}},
		{"since", "/api/v1/alerts?since=" + testNow.Add(30*time.Minute).Format(time.RFC3339), 10, [][]string{{"6", "5", "4"}}},
		{"since, Unix milliseconds", "/api/v1/alerts?since=" + strconv.FormatInt(testNow.Add(45*time.Minute).UnixMilli(), 10), 10, [][]string{{"6"}}},
		{"since, relative", "/api/v1/alerts?since=-1h", 10, [][]string{{"6", "5", "4", "3", "2", "1"}}},
		{"combined", "/api/v1/alerts?agency=ag1&kind=sos&state=resolved", 10, [][]string{{"6", "1"}}},
		{"nothing", "/api/v1/alerts?bed=nope", 10, [][]string{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := walkPages(t, h, tt.path, tt.limit, "before"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("GET %s by %d = %v, want %v", tt.path, tt.limit, got, tt.want)
			}
		})
	}
	r := h.mustDo(t, "GET", "/api/v1/alerts?limit=1", "", fiber.StatusOK)
	got := decode[listBody[alerts.Alert]](t, "GET", "/api/v1/alerts", r)
	want := alerts.Alert{ID: 6, AgencyID: "ag1", BedID: "bed2", DeviceID: "dev1", Kind: alerts.KindSOS, Severity: alerts.Critical,
		State: alerts.Resolved, RaisedAt: testNow.Add(50 * time.Minute), LastSeen: testNow.Add(50 * time.Minute), Count: 1,
		ResolvedAt: ptrTime(testNow.Add(50 * time.Minute)), ResolvedBy: "u9"}
	if len(got.Items) != 1 || !reflect.DeepEqual(got.Items[0], want) || got.Next != "6" {
		t.Errorf("GET /api/v1/alerts?limit=1 = %s, want alert 6 as stored and next 6", r.body)
	}
}

func ptrTime(t time.Time) *time.Time { return &t }

func TestGetAlert(t *testing.T) {
	h, _ := newAlertHarness(t)
	a := h.saveAlert(t, alertSpec{"ag1", "bed1", alerts.KindFall, alerts.Critical, alerts.Open, 0})
	r := h.mustDo(t, "GET", "/api/v1/alerts/1", "", fiber.StatusOK)
	got := decode[map[string]any](t, "GET", "/api/v1/alerts/1", r)
	if got["id"] != 1.0 || got["bed_id"] != "bed1" || got["kind"] != "fall" || got["state"] != "open" {
		t.Errorf("GET /api/v1/alerts/1 = %s, want the open fall alert of bed1", r.body)
	}
	trail, _ := got["trail"].([]any)
	notes, _ := got["notifications"].([]any)
	if len(trail) != 1 || len(notes) != 1 {
		t.Fatalf("GET /api/v1/alerts/1 = %s, want one trail entry and one notification", r.body)
	}
	if e := trail[0].(map[string]any); e["action"] != "raised" || e["actor"] != "system" || e["alert_id"] != 1.0 {
		t.Errorf("trail[0] = %v, want raised by system", e)
	}
	if n := notes[0].(map[string]any); n["person_id"] != "cg1" || n["target"] != "primary_caregiver" ||
		n["sent_at"] != nil || n["attempts"] != 0.0 || n["alert_id"] != float64(a.ID) {
		t.Errorf("notifications[0] = %v, want the unsent request to cg1", n)
	}
	for _, path := range []string{"/api/v1/alerts/2", "/api/v1/alerts/abc", "/api/v1/alerts/0", "/api/v1/alerts/99999999999999999999"} {
		wantProblem(t, "GET", path, h.do(t, "GET", path, ""), fiber.StatusNotFound, codeNotFound)
	}
}

func TestAlertActions(t *testing.T) {
	h, desk := newAlertHarness(t)
	h.saveAlert(t, alertSpec{"ag1", "bed1", alerts.KindSOS, alerts.Critical, alerts.Open, 0})
	h.saveAlert(t, alertSpec{"ag1", "bed1", alerts.KindBatteryLow, alerts.Minor, alerts.Open, 0})

	// Acknowledge with no body: the admin acts as itself.
	r := h.mustDo(t, "POST", "/api/v1/alerts/1/ack", "", fiber.StatusOK)
	a := decode[alerts.Alert](t, "POST", "/api/v1/alerts/1/ack", r)
	if a.State != alerts.Acknowledged || a.AcknowledgedBy != "admin" || a.AcknowledgedAt == nil || !a.AcknowledgedAt.Equal(testNow) {
		t.Errorf("POST /api/v1/alerts/1/ack = %s, want acknowledged by admin at %v", r.body, testNow)
	}
	// Twice is a conflict with the alert's state.
	p := wantProblem(t, "POST", "/api/v1/alerts/1/ack", h.do(t, "POST", "/api/v1/alerts/1/ack", `{}`), fiber.StatusConflict, codeWrongState)
	if !strings.Contains(p.Detail, "acknowledged") {
		t.Errorf("problem detail = %q, want it to say the alert is acknowledged", p.Detail)
	}
	// A critical alert needs a note to be resolved.
	p = wantProblem(t, "POST", "/api/v1/alerts/1/resolve", h.do(t, "POST", "/api/v1/alerts/1/resolve", `{"note":"  "}`),
		fiber.StatusUnprocessableEntity, codeNoteRequired)
	if p.Field != "note" {
		t.Errorf("problem field = %q, want note", p.Field)
	}
	r = h.mustDo(t, "POST", "/api/v1/alerts/1/resolve", `{"note":"false alarm, elder fine","by":"cg1"}`, fiber.StatusOK)
	if a := decode[alerts.Alert](t, "POST", "resolve", r); a.State != alerts.Resolved || a.ResolvedBy != "cg1" {
		t.Errorf("POST /api/v1/alerts/1/resolve = %s, want resolved by cg1", r.body)
	}
	if desk.lastActor() != "cg1" {
		t.Errorf("desk actor = %q, want cg1 (from by)", desk.lastActor())
	}
	// A minor alert resolves without a note.
	h.mustDo(t, "POST", "/api/v1/alerts/2/resolve", "", fiber.StatusOK)

	// Notes, on a resolved alert too.
	r = h.mustDo(t, "POST", "/api/v1/alerts/1/notes", `{"note":"family informed"}`, fiber.StatusCreated)
	if n := decode[alerts.Transition](t, "POST", "notes", r); n.Action != alerts.ActionNoted || n.Note != "family informed" || n.Actor != "admin" || n.AlertID != 1 {
		t.Errorf("POST /api/v1/alerts/1/notes = %s, want a note by admin on alert 1", r.body)
	}
	r = h.mustDo(t, "GET", "/api/v1/alerts/1", "", fiber.StatusOK)
	v := decode[struct {
		Trail []alerts.Transition `json:"trail"`
	}](t, "GET", "/api/v1/alerts/1", r)
	var actions []alerts.Action
	for _, e := range v.Trail {
		actions = append(actions, e.Action)
	}
	if want := []alerts.Action{alerts.ActionRaised, alerts.ActionAcknowledged, alerts.ActionResolved, alerts.ActionNoted}; !reflect.DeepEqual(actions, want) {
		t.Errorf("trail of alert 1 = %v, want %v", actions, want)
	}

	bad := []struct {
		name, path, body string
		status           int
		code, field      string
	}{
		{"note without text", "/api/v1/alerts/1/notes", `{"note":""}`, 422, codeNoteRequired, "note"},
		{"note without body", "/api/v1/alerts/1/notes", ``, 422, codeNoteRequired, "note"},
		{"note too long", "/api/v1/alerts/1/notes", `{"note":"` + strings.Repeat("x", store.MaxNote+1) + `"}`, 422, codeInvalid, "note"},
		{"bad by", "/api/v1/alerts/1/notes", `{"note":"x","by":"李 明"}`, 422, codeInvalid, "by"},
		{"note of wrong type", "/api/v1/alerts/1/notes", `{"note":5}`, 400, codeBadRequest, "note"},
		{"malformed body", "/api/v1/alerts/2/ack", `{"note":`, 400, codeBadRequest, ""},
		{"ack of a resolved alert", "/api/v1/alerts/2/ack", ``, 409, codeWrongState, ""},
		{"resolve of a resolved alert", "/api/v1/alerts/2/resolve", `{"note":"x"}`, 409, codeWrongState, ""},
		{"ack of an unknown alert", "/api/v1/alerts/99/ack", ``, 404, codeNotFound, ""},
		{"note on an unknown alert", "/api/v1/alerts/99/notes", `{"note":"x"}`, 404, codeNotFound, ""},
		{"ack of a word", "/api/v1/alerts/abc/ack", ``, 404, codeNotFound, ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			p := wantProblem(t, "POST", tt.path, h.do(t, "POST", tt.path, tt.body), tt.status, tt.code)
			if p.Field != tt.field {
				t.Errorf("POST %s problem field = %q, want %q", tt.path, p.Field, tt.field)
			}
		})
	}
	t.Run("GET ack is not a route", func(t *testing.T) {
		wantProblem(t, "GET", "/api/v1/alerts/1/ack", h.do(t, "GET", "/api/v1/alerts/1/ack", ""), fiber.StatusMethodNotAllowed, codeMethodNotAllowed)
	})
	noPersonalData(t, "log", h.log.Bytes())
}

func TestAlertActionsWithoutDesk(t *testing.T) {
	h := newHarness(t)
	h.saveAlert(t, alertSpec{"ag1", "bed1", alerts.KindSOS, alerts.Critical, alerts.Open, 0})
	for _, path := range []string{"/api/v1/alerts/1/ack", "/api/v1/alerts/1/resolve", "/api/v1/alerts/1/notes"} {
		wantProblem(t, "POST", path, h.do(t, "POST", path, `{"note":"x"}`), fiber.StatusServiceUnavailable, codeUnavailable)
	}
	// Reading needs no desk.
	h.mustDo(t, "GET", "/api/v1/alerts/1", "", fiber.StatusOK)
}

func TestListAlertsBadQuery(t *testing.T) {
	h, _ := newAlertHarness(t)
	tests := []struct {
		query, field string
	}{
		{"kind=toaster", "kind"},
		{"state=closed", "state"},
		{"severity=huge", "severity"},
		{"since=yesterday", "since"},
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"before=x", "before"},
		{"before=-3", "before"},
	}
	for _, tt := range tests {
		path := "/api/v1/alerts?" + tt.query
		p := wantProblem(t, "GET", path, h.do(t, "GET", path, ""), fiber.StatusBadRequest, codeBadRequest)
		if p.Field != tt.field {
			t.Errorf("GET %s problem field = %q, want %q", path, p.Field, tt.field)
		}
	}
	// A since that parses but is out of the store's range.
	path := "/api/v1/alerts?since=1800-01-01T00:00:00Z"
	wantProblem(t, "GET", path, h.do(t, "GET", path, ""), fiber.StatusBadRequest, codeBadRequest)
}

func TestResponseKPIs(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := newAlertHarness(t)
	h.seed(t) // ag1, bed1 (urban)
	h.mustDo(t, "POST", "/api/v1/agencies", agencyJSON("ag2"), fiber.StatusCreated)
	h.mustDo(t, "POST", "/api/v1/beds", strings.Replace(bedJSON("bed2", "ag2"), `"urban"`, `"rural"`, 1), fiber.StatusCreated)

	ctx := context.Background()
	save := func(agency, bed string, kind alerts.Kind, raised time.Time, ack, arrive time.Duration) {
		t.Helper()
		a := alerts.Alert{AgencyID: agency, BedID: bed, Kind: kind, Severity: alerts.Critical, State: alerts.Acknowledged,
			RaisedAt: raised, LastSeen: raised, Count: 1, AcknowledgedAt: ptrTime(raised.Add(ack)), AcknowledgedBy: "cg1"}
		if arrive > 0 {
			a.ArrivedAt = ptrTime(raised.Add(arrive))
		}
		if err := h.db.SaveAlerts(ctx, store.AlertBatch{Changes: []store.AlertChange{{Alert: &a}}}); err != nil {
			t.Fatal(err)
		}
		a.State = alerts.Resolved // leave room for the next of the bed and kind
		a.ResolvedAt = a.AcknowledgedAt
		if err := h.db.SaveAlerts(ctx, store.AlertBatch{Changes: []store.AlertChange{{Alert: &a}}}); err != nil {
			t.Fatal(err)
		}
	}
	march := time.Date(2025, 3, 1, 0, 0, 0, 0, shanghai)
	// In March in Shanghai, though still February in UTC.
	save("ag1", "bed1", alerts.KindSOS, march.Add(30*time.Minute), 30*time.Second, 20*time.Minute)
	save("ag1", "bed1", alerts.KindFall, march.Add(48*time.Hour), 120*time.Second, 10*time.Minute)
	save("ag2", "bed2", alerts.KindSOS, march.Add(72*time.Hour), 10*time.Second, 25*time.Minute)
	// Before March in Shanghai.
	save("ag1", "bed1", alerts.KindSOS, march.Add(-time.Minute), 10*time.Second, 0)

	r := h.mustDo(t, "GET", "/api/v1/kpis/response?month=2025-03", "", fiber.StatusOK)
	got := decode[struct {
		Month string               `json:"month"`
		Items []alerts.ResponseKPI `json:"items"`
	}](t, "GET", "/api/v1/kpis/response", r)
	if got.Month != "2025-03" || len(got.Items) != 2 {
		t.Fatalf("GET /api/v1/kpis/response?month=2025-03 = %s, want 2 agencies", r.body)
	}
	k1, k2 := got.Items[0], got.Items[1]
	if k1.AgencyID != "ag1" || k1.Alerts != 2 || k1.AckWithin60 != 1 || k1.AckWithin180 != 2 {
		t.Errorf("ag1 KPI = %+v, want 2 alerts, 1 within 60 s, 2 within 180 s", k1)
	}
	// bed1 is urban (15 min): the 20-minute arrival misses, the 10-minute
	// one makes it. bed2 is rural (30 min): 25 minutes makes it.
	if k1.Arrivals.Eligible != 2 || k1.Arrivals.WithinTarget != 1 {
		t.Errorf("ag1 arrivals = %+v, want 2 eligible, 1 within the urban target", k1.Arrivals)
	}
	if k2.AgencyID != "ag2" || k2.Alerts != 1 || k2.Arrivals.WithinTarget != 1 {
		t.Errorf("ag2 KPI = %+v, want 1 alert arriving within the rural target", k2)
	}

	r = h.mustDo(t, "GET", "/api/v1/kpis/response?month=2025-03&agency=ag2", "", fiber.StatusOK)
	if got := decode[listBody[alerts.ResponseKPI]](t, "GET", "kpis", r); len(got.Items) != 1 || got.Items[0].AgencyID != "ag2" {
		t.Errorf("GET /api/v1/kpis/response?agency=ag2 = %s, want only ag2", r.body)
	}
	r = h.mustDo(t, "GET", "/api/v1/kpis/response?month=2024-01", "", fiber.StatusOK)
	if string(r.body) != `{"items":[],"month":"2024-01"}` {
		t.Errorf("GET /api/v1/kpis/response?month=2024-01 = %s, want no items", r.body)
	}

	for _, q := range []string{"", "month=2025-3", "month=March", "month=2025-13", "month=0001-01"} {
		path := "/api/v1/kpis/response?" + q
		p := wantProblem(t, "GET", path, h.do(t, "GET", path, ""), fiber.StatusBadRequest, codeBadRequest)
		if p.Field != "month" {
			t.Errorf("GET %s problem field = %q, want month", path, p.Field)
		}
	}
	path := "/api/v1/kpis/response?month=2025-03&agency=nope"
	wantProblem(t, "GET", path, h.do(t, "GET", path, ""), fiber.StatusNotFound, codeNotFound)
}

func TestResponseKPIsZone(t *testing.T) {
	// 2025-02-28 16:30 UTC is 2025-03-01 00:30 in Shanghai.
	raised := time.Date(2025, 2, 28, 16, 30, 0, 0, time.UTC)
	tests := []struct {
		name  string
		zone  *time.Location
		month string
		want  int
	}{
		{"default zone is Shanghai: March", nil, "2025-03", 1},
		{"default zone is Shanghai: not February", nil, "2025-02", 0},
		{"UTC: February", time.UTC, "2025-02", 1},
		{"UTC: not March", time.UTC, "2025-03", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newAlertHarness(t, func(d *Deps) { d.Zone = tt.zone })
			a := alerts.Alert{AgencyID: "ag1", BedID: "bed1", Kind: alerts.KindSOS, Severity: alerts.Critical,
				State: alerts.Open, RaisedAt: raised, Count: 1}
			if err := h.db.SaveAlerts(context.Background(), store.AlertBatch{Changes: []store.AlertChange{{Alert: &a}}}); err != nil {
				t.Fatal(err)
			}
			path := "/api/v1/kpis/response?month=" + tt.month
			r := h.mustDo(t, "GET", path, "", fiber.StatusOK)
			got := decode[listBody[alerts.ResponseKPI]](t, "GET", path, r)
			n := 0
			for _, k := range got.Items {
				n += k.Alerts
			}
			if n != tt.want {
				t.Errorf("GET %s = %s, want %d alerts counted", path, r.body, tt.want)
			}
		})
	}
}

// TestAlertStreamRouteIsFree checks that a word after /alerts/ is not
// taken for an alert id, so that a later route (the event stream) gets it.
func TestAlertStreamRouteIsFree(t *testing.T) {
	h, _ := newAlertHarness(t)
	p := wantProblem(t, "GET", "/api/v1/alerts/stream", h.do(t, "GET", "/api/v1/alerts/stream", ""), fiber.StatusNotFound, codeNotFound)
	if p.Detail != "no such route" {
		t.Errorf("GET /api/v1/alerts/stream detail = %q, want %q", p.Detail, "no such route")
	}
}

// TestRegistryChangesReachTheRules: the alarm rules hear of beds created,
// changed and deleted, and of devices deleted or moved to another bed.
func TestRegistryChangesReachTheRules(t *testing.T) {
	h, desk := newAlertHarness(t)
	h.seed(t) // bed1 with dev1
	h.mustDo(t, "POST", "/api/v1/beds", bedJSON("bed2", "ag1"), fiber.StatusCreated)
	h.mustDo(t, "PUT", "/api/v1/beds/bed2", bedJSON("bed2", "ag1"), fiber.StatusOK)
	h.mustDo(t, "PUT", "/api/v1/devices/dev1", `{"bed_id":"bed1","kind":"vitals_monitor","source":"dev1-src","model":"R2"}`, fiber.StatusOK)
	h.mustDo(t, "PUT", "/api/v1/devices/dev1", `{"bed_id":"bed2","kind":"vitals_monitor","source":"dev1-src"}`, fiber.StatusOK)
	h.mustDo(t, "DELETE", "/api/v1/devices/dev1", "", fiber.StatusNoContent)
	h.mustDo(t, "DELETE", "/api/v1/beds/bed1", "", fiber.StatusNoContent)
	want := []string{"bed bed1", "bed bed2", "bed bed2", "removed device dev1 of bed1", "removed device dev1 of bed2", "removed bed bed1"}
	desk.mu.Lock()
	defer desk.mu.Unlock()
	if !reflect.DeepEqual(desk.rules, want) {
		t.Errorf("calls to the alarm rules = %q, want %q", desk.rules, want)
	}
}
