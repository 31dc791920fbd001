package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"carebed/devices"
	"carebed/gateway/telemetry"
	"carebed/store"
)

// adminToken is the bearer token of every test app.
const adminToken = "s3cret-admin-token"

// Personal data used by the fixtures; no error body or log line may carry it.
const (
	elderName      = "王秀英"
	caregiverName  = "李明"
	caregiverPhone = "13800138000"
)

// personalData lists the fixtures' personal data.
var personalData = []string{elderName, caregiverName, caregiverPhone}

// testNow is the clock of every test app.
var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// harness is an API app on real stores in a temporary directory.
type harness struct {
	app *fiber.App
	db  *store.DB
	reg *devices.Registry
	mon *devices.Monitor
	ts  *telemetry.Embedded
	log *syncBuffer
}

// newHarness builds the app; edit may change its Deps before New.
func newHarness(t *testing.T, edit ...func(*Deps)) *harness {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatalf("store.Open = %v, want nil", err)
	}
	t.Cleanup(func() { db.Close() })
	ts, err := telemetry.OpenEmbedded(filepath.Join(dir, "telemetry.db"), nil)
	if err != nil {
		t.Fatalf("telemetry.OpenEmbedded = %v, want nil", err)
	}
	t.Cleanup(func() { ts.Close() })
	h := &harness{db: db, reg: devices.NewRegistry(), mon: devices.NewMonitor(nil), ts: ts, log: &syncBuffer{}}
	d := Deps{
		Store: db, Registry: h.reg, Monitor: h.mon, Telemetry: ts,
		AdminToken: adminToken,
		Log:        slog.New(slog.NewTextHandler(h.log, nil)),
		Now:        func() time.Time { return testNow },
	}
	for _, e := range edit {
		e(&d)
	}
	h.app = New(d)
	return h
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the admin token. body is sent as it is; "" sends
// none.
func (h *harness) do(t *testing.T, method, path, body string) response {
	t.Helper()
	return h.send(t, method, path, body, "Bearer "+adminToken)
}

// send sends a request with the given Authorization header ("" for none).
func (h *harness) send(t *testing.T, method, path, body, authorization string) response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := h.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: app.Test = %v, want nil", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body = %v, want nil", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// mustDo sends a request with the admin token and fails the test unless it
// gets want.
func (h *harness) mustDo(t *testing.T, method, path, body string, want int) response {
	t.Helper()
	r := h.do(t, method, path, body)
	if r.status != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, want)
	}
	return r
}

// decode reads a JSON response body.
func decode[T any](t *testing.T, method, path string, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("%s %s: body %s: %v", method, path, r.body, err)
	}
	return v
}

// listBody is a list response.
type listBody[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next"`
}

// wantProblem checks that r is RFC 9457 problem details with the given
// status and code, about path, and returns it.
func wantProblem(t *testing.T, method, path string, r response, status int, code string) Problem {
	t.Helper()
	if r.status != status {
		t.Errorf("%s %s = %d %s, want %d", method, path, r.status, r.body, status)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s %s Content-Type = %q, want %q", method, path, ct, "application/problem+json")
	}
	var raw map[string]any
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatalf("%s %s: problem body %s: %v", method, path, r.body, err)
	}
	for _, member := range []string{"type", "title", "status", "detail", "instance", "code"} {
		if _, ok := raw[member]; !ok {
			t.Errorf("%s %s problem has no %q member: %s", method, path, member, r.body)
		}
	}
	p := decode[Problem](t, method, path, r)
	wantInstance, _, _ := strings.Cut(path, "?")
	checks := []struct {
		name      string
		got, want any
	}{
		{"type", p.Type, "about:blank"},
		{"title", p.Title, http.StatusText(status)},
		{"status", p.Status, status},
		{"instance", p.Instance, wantInstance},
		{"code", p.Code, code},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s %s problem %s = %v, want %v", method, path, c.name, c.got, c.want)
		}
	}
	if p.Detail == "" {
		t.Errorf("%s %s problem detail = \"\", want a reason", method, path)
	}
	return p
}

// noPersonalData fails the test when text holds any fixture personal data.
func noPersonalData(t *testing.T, what string, text []byte) {
	t.Helper()
	for _, pd := range personalData {
		if bytes.Contains(text, []byte(pd)) {
			t.Errorf("%s holds personal data %q: %s", what, pd, text)
		}
	}
}

// syncBuffer is a log sink that is safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// Fixtures, as request bodies.

func agencyJSON(id string) string {
	return `{"id":"` + id + `","name":"Agency ` + id + `","district":"Jing'an","phone":"021-1234"}`
}

func bedJSON(id, agencyID string) string {
	return `{"id":"` + id + `","agency_id":"` + agencyID + `","district":"Jing'an",
		"elder":{"name":"` + elderName + `","birth_year":1940,"disability_level":"severe","safety_net":true},
		"family_caregiver":{"name":"` + caregiverName + `","phone":"` + caregiverPhone + `"},
		"address":"1 Huashan Rd","area_type":"urban","contract_start":"2025-01-01","contract_end":"2025-12-31"}`
}

func deviceJSON(id, bedID, kind string) string {
	return `{"id":"` + id + `","bed_id":"` + bedID + `","kind":"` + kind + `"}`
}

// seed creates agency ag1, bed bed1 in it, and device dev1 (a vitals
// monitor, source "dev1-src") in bed1.
func (h *harness) seed(t *testing.T) {
	t.Helper()
	h.mustDo(t, "POST", "/api/v1/agencies", agencyJSON("ag1"), fiber.StatusCreated)
	h.mustDo(t, "POST", "/api/v1/beds", bedJSON("bed1", "ag1"), fiber.StatusCreated)
	h.mustDo(t, "POST", "/api/v1/devices",
		`{"id":"dev1","bed_id":"bed1","kind":"vitals_monitor","source":"dev1-src"}`, fiber.StatusCreated)
}

// badRequest is a request that must be answered with a problem of this
// status, code and field.
type badRequest struct {
	name, method, path, body string
	status                   int
	code, field              string
}

// wantProblems sends each request, checks its problem, and that the
// problem names no elder or caregiver.
func (h *harness) wantProblems(t *testing.T, bad []badRequest) {
	t.Helper()
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, tt.method, tt.path, tt.body)
			p := wantProblem(t, tt.method, tt.path, r, tt.status, tt.code)
			if p.Field != tt.field {
				t.Errorf("%s %s problem field = %q, want %q", tt.method, tt.path, p.Field, tt.field)
			}
			noPersonalData(t, "problem", r.body)
		})
	}
}
