package api

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

func personJSON(id, agency, role string) string {
	return `{"id":"` + id + `","agency_id":"` + agency + `","name":"` + caregiverName + `","phone":"` + caregiverPhone + `","role":"` + role + `"}`
}

func TestAlertingCRUD(t *testing.T) {
	tests := []crudCase{
		{
			name: "caregiver", collection: "/api/v1/caregivers", id: "cg2",
			create:   personJSON("cg2", "ag1", "caregiver"),
			created:  personJSON("cg2", "ag1", "caregiver"),
			replace:  `{"id":"other","agency_id":"ag1","name":"` + caregiverName + `","role":"dispatcher"}`,
			replaced: `{"id":"cg2","agency_id":"ag1","name":"` + caregiverName + `","role":"dispatcher"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newAlertHarness(t)
			h.seed(t)
			item := tt.collection + "/" + tt.id
			r := h.mustDo(t, "POST", tt.collection, tt.create, fiber.StatusCreated)
			sameJSON(t, "POST", tt.collection, r.body, tt.created)
			r = h.mustDo(t, "GET", item, "", fiber.StatusOK)
			sameJSON(t, "GET", item, r.body, tt.created)
			r = h.mustDo(t, "PUT", item, tt.replace, fiber.StatusOK)
			sameJSON(t, "PUT", item, r.body, tt.replaced)
			r = h.mustDo(t, "GET", item, "", fiber.StatusOK)
			sameJSON(t, "GET", item, r.body, tt.replaced)
			h.mustDo(t, "GET", tt.collection+"/other", "", fiber.StatusNotFound)
			h.mustDo(t, "DELETE", item, "", fiber.StatusNoContent)
			h.mustDo(t, "GET", item, "", fiber.StatusNotFound)
			h.mustDo(t, "DELETE", item, "", fiber.StatusNotFound)
		})
	}
}

func TestCaregivers(t *testing.T) {
	h, _ := newAlertHarness(t)
	h.seed(t)
	h.mustDo(t, "POST", "/api/v1/agencies", agencyJSON("ag2"), fiber.StatusCreated)
	for _, p := range []string{personJSON("cg1", "ag1", "caregiver"), personJSON("cg2", "ag2", "manager"),
		personJSON("cg3", "ag1", "dispatcher"), personJSON("cg4", "ag1", "caregiver")} {
		h.mustDo(t, "POST", "/api/v1/caregivers", p, fiber.StatusCreated)
	}
	pages := []struct {
		path  string
		limit int
		want  [][]string
	}{
		{"/api/v1/caregivers", 3, [][]string{{"cg1", "cg2", "cg3"}, {"cg4"}}},
		{"/api/v1/caregivers?agency=ag1", 2, [][]string{{"cg1", "cg3"}, {"cg4"}}},
		{"/api/v1/caregivers?role=caregiver", 2, [][]string{{"cg1", "cg4"}}},
		{"/api/v1/caregivers?agency=ag2&role=manager", 5, [][]string{{"cg2"}}},
	}
	for _, p := range pages {
		if got := walkPages(t, h, p.path, p.limit, "after"); !reflect.DeepEqual(got, p.want) {
			t.Errorf("GET %s by %d = %v, want %v", p.path, p.limit, got, p.want)
		}
	}
	bad := []badRequest{
		{"duplicate", "POST", "/api/v1/caregivers", personJSON("cg1", "ag1", "caregiver"), 409, codeConflict, ""},
		{"unknown role", "POST", "/api/v1/caregivers", personJSON("cg9", "ag1", "nurse"), 422, codeInvalid, "role"},
		{"unknown agency", "POST", "/api/v1/caregivers", personJSON("cg9", "nope", "caregiver"), 422, codeInvalid, "agency_id"},
		{"no name", "POST", "/api/v1/caregivers", `{"id":"cg9","agency_id":"ag1","role":"caregiver"}`, 422, codeInvalid, "name"},
		{"bad phone", "POST", "/api/v1/caregivers", `{"id":"cg9","agency_id":"ag1","name":"x","phone":"call ` + caregiverPhone + `","role":"caregiver"}`, 422, codeInvalid, "phone"},
		{"phone of wrong type", "POST", "/api/v1/caregivers", `{"id":"cg9","phone":13800138000}`, 400, codeBadRequest, "phone"},
		{"update unknown", "PUT", "/api/v1/caregivers/nope", personJSON("nope", "ag1", "caregiver"), 404, codeNotFound, ""},
		{"role filter", "GET", "/api/v1/caregivers?role=nurse", "", 400, codeBadRequest, "role"},
	}
	h.wantProblems(t, bad)
	noPersonalData(t, "log", h.log.Bytes())
}

func TestDuties(t *testing.T) {
	h, _ := newAlertHarness(t)
	h.seed(t)
	h.mustDo(t, "POST", "/api/v1/agencies", agencyJSON("ag2"), fiber.StatusCreated)
	h.mustDo(t, "POST", "/api/v1/caregivers", personJSON("cg1", "ag1", "caregiver"), fiber.StatusCreated)
	h.mustDo(t, "POST", "/api/v1/caregivers", personJSON("cg2", "ag2", "dispatcher"), fiber.StatusCreated)

	night := `{"agency_id":"ag1","person_id":"cg1","target":"primary_caregiver","beds":["bed1"],"cron":"0 22 * * *","length":"8h"}`
	r := h.mustDo(t, "POST", "/api/v1/duties", night, fiber.StatusCreated)
	sameJSON(t, "POST", "/api/v1/duties", r.body,
		`{"id":1,"agency_id":"ag1","person_id":"cg1","target":"primary_caregiver","beds":["bed1"],"cron":"0 22 * * *","length":"8h0m0s"}`)
	if loc := r.header.Get("Location"); loc != "/api/v1/duties/1" {
		t.Errorf("POST /api/v1/duties Location = %q, want /api/v1/duties/1", loc)
	}
	once := `{"agency_id":"ag2","person_id":"cg2","target":"dispatcher","start":"2025-03-01T08:00:00+08:00","end":"2025-03-01T20:00:00+08:00"}`
	r = h.mustDo(t, "POST", "/api/v1/duties", once, fiber.StatusCreated)
	sameJSON(t, "POST", "/api/v1/duties", r.body,
		`{"id":2,"agency_id":"ag2","person_id":"cg2","target":"dispatcher","start":"2025-03-01T00:00:00Z","end":"2025-03-01T12:00:00Z"}`)
	h.mustDo(t, "POST", "/api/v1/duties", strings.Replace(night, "primary", "backup", 1), fiber.StatusCreated)

	r = h.mustDo(t, "GET", "/api/v1/duties/2", "", fiber.StatusOK)
	sameJSON(t, "GET", "/api/v1/duties/2", r.body,
		`{"id":2,"agency_id":"ag2","person_id":"cg2","target":"dispatcher","start":"2025-03-01T00:00:00Z","end":"2025-03-01T12:00:00Z"}`)
	r = h.mustDo(t, "PUT", "/api/v1/duties/1", `{"id":7,"agency_id":"ag1","person_id":"cg1","target":"manager","cron":"0 8 * * 1-5","length":"9h"}`, fiber.StatusOK)
	sameJSON(t, "PUT", "/api/v1/duties/1", r.body,
		`{"id":1,"agency_id":"ag1","person_id":"cg1","target":"manager","cron":"0 8 * * 1-5","length":"9h0m0s"}`)

	pages := []struct {
		path  string
		limit int
		want  [][]string
	}{
		{"/api/v1/duties", 2, [][]string{{"1", "2"}, {"3"}}},
		{"/api/v1/duties?agency=ag1", 1, [][]string{{"1"}, {"3"}}},
		{"/api/v1/duties?person=cg2", 5, [][]string{{"2"}}},
	}
	for _, p := range pages {
		if got := walkPages(t, h, p.path, p.limit, "after"); !reflect.DeepEqual(got, p.want) {
			t.Errorf("GET %s by %d = %v, want %v", p.path, p.limit, got, p.want)
		}
	}

	bad := []badRequest{
		{"family is no duty", "POST", "/api/v1/duties", strings.Replace(night, "primary_caregiver", "family", 1), 422, codeInvalid, "target"},
		{"no shift", "POST", "/api/v1/duties", `{"agency_id":"ag1","person_id":"cg1","target":"dispatcher"}`, 422, codeInvalid, "cron"},
		{"bad cron", "POST", "/api/v1/duties", strings.Replace(night, "0 22 * * *", "nightly", 1), 422, codeInvalid, "cron"},
		{"person of another agency", "POST", "/api/v1/duties", strings.Replace(night, "cg1", "cg2", 1), 422, codeInvalid, "person_id"},
		{"unknown bed", "POST", "/api/v1/duties", strings.Replace(night, `"bed1"`, `"nope"`, 1), 422, codeInvalid, "beds[0]"},
		{"bad length", "POST", "/api/v1/duties", strings.Replace(night, `"8h"`, `"8 hours"`, 1), 400, codeBadRequest, ""},
		{"update unknown", "PUT", "/api/v1/duties/99", night, 404, codeNotFound, ""},
		{"get a word", "GET", "/api/v1/duties/night", "", 404, codeNotFound, ""},
		{"bad cursor", "GET", "/api/v1/duties?after=x", "", 400, codeBadRequest, "after"},
		{"person still on duty", "DELETE", "/api/v1/caregivers/cg1", "", 409, codeConflict, ""},
	}
	h.wantProblems(t, bad)
	h.mustDo(t, "DELETE", "/api/v1/duties/1", "", fiber.StatusNoContent)
	h.mustDo(t, "DELETE", "/api/v1/duties/1", "", fiber.StatusNotFound)
	h.mustDo(t, "GET", "/api/v1/duties/1", "", fiber.StatusNotFound)
}

func TestPolicies(t *testing.T) {
	h, _ := newAlertHarness(t)
	h.seed(t)
	h.mustDo(t, "POST", "/api/v1/agencies", agencyJSON("ag2"), fiber.StatusCreated)
	p := wantProblem(t, "GET", "/api/v1/policies/ag1", h.do(t, "GET", "/api/v1/policies/ag1", ""), fiber.StatusNotFound, codeNotFound)
	if !strings.Contains(p.Detail, "default policy") {
		t.Errorf("GET /api/v1/policies/ag1 before any: detail %q, want it to mention the default policy", p.Detail)
	}
	policy := `{"steps":[{"target":"primary_caregiver","critical":"30s"},{"target":"dispatcher","major":"2m"}],"repeat_every":"1m"}`
	want := `{"agency_id":"ag1","steps":[{"target":"primary_caregiver","critical":"30s"},{"target":"dispatcher","major":"2m0s"}],"repeat_every":"1m0s"}`
	r := h.mustDo(t, "PUT", "/api/v1/policies/ag1", policy, fiber.StatusOK)
	sameJSON(t, "PUT", "/api/v1/policies/ag1", r.body, want)
	r = h.mustDo(t, "GET", "/api/v1/policies/ag1", "", fiber.StatusOK)
	sameJSON(t, "GET", "/api/v1/policies/ag1", r.body, want)
	// PUT replaces; the path names the agency.
	r = h.mustDo(t, "PUT", "/api/v1/policies/ag1", `{"agency_id":"ag2","steps":[{"target":"manager"}]}`, fiber.StatusOK)
	sameJSON(t, "PUT", "/api/v1/policies/ag1", r.body, `{"agency_id":"ag1","steps":[{"target":"manager"}]}`)
	h.mustDo(t, "PUT", "/api/v1/policies/ag2", policy, fiber.StatusOK)
	// Pages of policies, keyed by agency.
	for _, pg := range []struct {
		path, want, next string
	}{
		{"/api/v1/policies?limit=1", "ag1", "ag1"},
		{"/api/v1/policies?limit=1&after=ag1", "ag2", ""},
		{"/api/v1/policies", "ag1 ag2", ""},
	} {
		r := h.mustDo(t, "GET", pg.path, "", fiber.StatusOK)
		got := decode[listBody[map[string]any]](t, "GET", pg.path, r)
		var ids []string
		for _, it := range got.Items {
			ids = append(ids, it["agency_id"].(string))
		}
		if strings.Join(ids, " ") != pg.want || got.Next != pg.next {
			t.Errorf("GET %s = %s, want %s, next %q", pg.path, r.body, pg.want, pg.next)
		}
	}

	bad := []badRequest{
		{"no steps", "PUT", "/api/v1/policies/ag1", `{"steps":[]}`, 422, codeInvalid, "steps"},
		{"bad target", "PUT", "/api/v1/policies/ag1", `{"steps":[{"target":"neighbour"}]}`, 422, codeInvalid, "steps[0].target"},
		{"unknown agency", "PUT", "/api/v1/policies/nope", policy, 422, codeInvalid, "agency_id"},
		{"bad duration", "PUT", "/api/v1/policies/ag1", `{"steps":[{"target":"manager","critical":"soon"}]}`, 400, codeBadRequest, ""},
		{"steps of wrong type", "PUT", "/api/v1/policies/ag1", `{"steps":{}}`, 400, codeBadRequest, "steps"},
		{"delete unknown", "DELETE", "/api/v1/policies/nope", "", 404, codeNotFound, ""},
	}
	h.wantProblems(t, bad)
	h.mustDo(t, "DELETE", "/api/v1/policies/ag1", "", fiber.StatusNoContent)
	h.mustDo(t, "GET", "/api/v1/policies/ag1", "", fiber.StatusNotFound)
}

func TestSilences(t *testing.T) {
	h, _ := newAlertHarness(t)
	h.seed(t) // ag1, bed1 with dev1
	h.mustDo(t, "POST", "/api/v1/beds", bedJSON("bed2", "ag1"), fiber.StatusCreated)
	h.mustDo(t, "POST", "/api/v1/devices", deviceJSON("dev2", "bed2", "hub"), fiber.StatusCreated)

	until := testNow.Add(2 * time.Hour).Format(time.RFC3339)
	r := h.mustDo(t, "POST", "/api/v1/silences", `{"bed_id":"bed1","until":"`+until+`","reason":"replacing the radar"}`, fiber.StatusCreated)
	sameJSON(t, "POST", "/api/v1/silences", r.body, `{"id":1,"bed_id":"bed1","until":"2025-03-01T14:00:00Z",
		"reason":"replacing the radar","created_by":"admin","created_at":"2025-03-01T12:00:00Z"}`)
	if loc := r.header.Get("Location"); loc != "/api/v1/silences/1" {
		t.Errorf("POST /api/v1/silences Location = %q, want /api/v1/silences/1", loc)
	}
	r = h.mustDo(t, "POST", "/api/v1/silences", `{"bed_id":"bed1","device_id":"dev1","until":"2025-03-01T20:30:00+08:00","created_by":"cg1"}`, fiber.StatusCreated)
	sameJSON(t, "POST", "/api/v1/silences", r.body, `{"id":2,"bed_id":"bed1","device_id":"dev1","until":"2025-03-01T12:30:00Z",
		"created_by":"cg1","created_at":"2025-03-01T12:00:00Z"}`)
	h.mustDo(t, "POST", "/api/v1/silences", `{"bed_id":"bed2","until":"`+until+`"}`, fiber.StatusCreated)

	r = h.mustDo(t, "GET", "/api/v1/silences/2", "", fiber.StatusOK)
	sameJSON(t, "GET", "/api/v1/silences/2", r.body, `{"id":2,"bed_id":"bed1","device_id":"dev1","until":"2025-03-01T12:30:00Z",
		"created_by":"cg1","created_at":"2025-03-01T12:00:00Z"}`)

	pages := []struct {
		path  string
		limit int
		want  [][]string
	}{
		{"/api/v1/silences", 2, [][]string{{"1", "2"}, {"3"}}},
		{"/api/v1/silences?bed=bed1", 5, [][]string{{"1", "2"}}},
		{"/api/v1/silences?active=true", 5, [][]string{{"1", "2", "3"}}},
		{"/api/v1/silences?active=false&bed=bed2", 5, [][]string{{"3"}}},
	}
	for _, p := range pages {
		if got := walkPages(t, h, p.path, p.limit, "after"); !reflect.DeepEqual(got, p.want) {
			t.Errorf("GET %s by %d = %v, want %v", p.path, p.limit, got, p.want)
		}
	}
	// An hour later the device's silence is over.
	later := newHarness(t, func(d *Deps) {
		d.Store = h.db
		d.Now = func() time.Time { return testNow.Add(time.Hour) }
	})
	if got := walkPages(t, later, "/api/v1/silences?active=true", 5, "after"); !reflect.DeepEqual(got, [][]string{{"1", "3"}}) {
		t.Errorf("GET /api/v1/silences?active=true an hour later = %v, want [[1 3]]", got)
	}

	bad := []badRequest{
		{"no bed", "POST", "/api/v1/silences", `{"until":"` + until + `"}`, 422, codeInvalid, "bed_id"},
		{"unknown bed", "POST", "/api/v1/silences", `{"bed_id":"nope","until":"` + until + `"}`, 422, codeInvalid, "bed_id"},
		{"device of another bed", "POST", "/api/v1/silences", `{"bed_id":"bed1","device_id":"dev2","until":"` + until + `"}`, 422, codeInvalid, "device_id"},
		{"no until", "POST", "/api/v1/silences", `{"bed_id":"bed1"}`, 422, codeInvalid, "until"},
		{"until in the past", "POST", "/api/v1/silences", `{"bed_id":"bed1","until":"2025-03-01T11:00:00Z"}`, 422, codeInvalid, "until"},
		{"until not a time", "POST", "/api/v1/silences", `{"bed_id":"bed1","until":"tonight"}`, 400, codeBadRequest, ""},
		{"bad created_by", "POST", "/api/v1/silences", `{"bed_id":"bed1","until":"` + until + `","created_by":"a b"}`, 422, codeInvalid, "created_by"},
		{"reason too long", "POST", "/api/v1/silences", `{"bed_id":"bed1","until":"` + until + `","reason":"` + strings.Repeat("x", 1025) + `"}`, 422, codeInvalid, "reason"},
		{"empty body", "POST", "/api/v1/silences", ``, 400, codeBadRequest, ""},
		{"bad active", "GET", "/api/v1/silences?active=yes", "", 400, codeBadRequest, "active"},
		{"bad cursor", "GET", "/api/v1/silences?after=x", "", 400, codeBadRequest, "after"},
		{"get unknown", "GET", "/api/v1/silences/99", "", 404, codeNotFound, ""},
		{"get a word", "GET", "/api/v1/silences/all", "", 404, codeNotFound, ""},
		{"no update", "PUT", "/api/v1/silences/1", `{}`, 405, codeMethodNotAllowed, ""},
	}
	h.wantProblems(t, bad)
	h.mustDo(t, "DELETE", "/api/v1/silences/1", "", fiber.StatusNoContent)
	h.mustDo(t, "DELETE", "/api/v1/silences/1", "", fiber.StatusNotFound)
	h.mustDo(t, "GET", "/api/v1/silences/1", "", fiber.StatusNotFound)
}

func TestAlertRoutesNeedAuth(t *testing.T) {
	h, _ := newAlertHarness(t)
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/alerts"}, {"GET", "/api/v1/alerts/1"}, {"POST", "/api/v1/alerts/1/ack"},
		{"POST", "/api/v1/alerts/1/resolve"}, {"POST", "/api/v1/alerts/1/notes"}, {"GET", "/api/v1/kpis/response?month=2025-03"},
		{"GET", "/api/v1/silences"}, {"POST", "/api/v1/silences"}, {"DELETE", "/api/v1/silences/1"},
		{"GET", "/api/v1/policies"}, {"PUT", "/api/v1/policies/ag1"}, {"GET", "/api/v1/duties"},
		{"POST", "/api/v1/duties"}, {"GET", "/api/v1/caregivers"}, {"POST", "/api/v1/caregivers"},
	} {
		wantProblem(t, r.method, r.path, h.send(t, r.method, r.path, "", ""), fiber.StatusUnauthorized, codeUnauthorized)
	}
}
