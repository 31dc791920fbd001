package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"carebed/gateway/telemetry"
	"carebed/store"
)

func TestErrorsAreProblems(t *testing.T) {
	h := newHarness(t)
	h.seed(t)
	tests := []struct {
		name         string
		method, path string
		body         string
		status       int
		code         string
		field        string // the problem's field member, and named in its detail
	}{
		// Bodies that are not the JSON expected.
		{"malformed JSON", "POST", "/api/v1/agencies", `{"id":"x",`, 400, codeBadRequest, ""},
		{"trailing garbage", "POST", "/api/v1/agencies", agencyJSON("ag9") + ` x`, 400, codeBadRequest, ""},
		{"empty body", "POST", "/api/v1/beds", "", 400, codeBadRequest, ""},
		{"array body", "POST", "/api/v1/devices", `[1]`, 400, codeBadRequest, ""},
		{"wrong type", "POST", "/api/v1/beds", `{"id":"b9","agency_id":"ag1","elder":{"birth_year":"old"}}`, 400, codeBadRequest, "elder.birth_year"},
		{"wrong type in a device", "POST", "/api/v1/devices", `{"id":"d2","bed_id":5,"kind":"hub"}`, 400, codeBadRequest, "bed_id"},
		{"bad time", "PUT", "/api/v1/devices/dev1", `{"bed_id":"bed1","kind":"hub","installed_at":"yesterday"}`, 400, codeBadRequest, ""},
		// Validation: 422 naming the field.
		{"agency without name", "POST", "/api/v1/agencies", `{"id":"ag2"}`, 422, codeInvalid, "name"},
		{"agency bad id", "POST", "/api/v1/agencies", `{"id":"bad id!","name":"x"}`, 422, codeInvalid, "id"},
		{"bed without id", "POST", "/api/v1/beds", `{"agency_id":"ag1"}`, 422, codeInvalid, "id"},
		{"bed disability level", "POST", "/api/v1/beds", `{"id":"b2","agency_id":"ag1","elder":{"disability_level":"some"}}`, 422, codeInvalid, "elder.disability_level"},
		{"bed unknown agency", "POST", "/api/v1/beds", bedJSON("b2", "nope"), 422, codeInvalid, "agency_id"},
		{"bed update bad hours", "PUT", "/api/v1/beds/bed1", `{"agency_id":"ag1","required_hours_per_month":-1}`, 422, codeInvalid, "required_hours_per_month"},
		{"device kind", "POST", "/api/v1/devices", deviceJSON("d2", "bed1", "toaster"), 422, codeInvalid, "kind"},
		{"device unknown bed", "POST", "/api/v1/devices", deviceJSON("d2", "nope", "hub"), 422, codeInvalid, "bed_id"},
		{"device format", "PUT", "/api/v1/devices/dev1", `{"bed_id":"bed1","kind":"hub","format":"morse"}`, 422, codeInvalid, "format"},
		// Conflicts.
		{"duplicate agency", "POST", "/api/v1/agencies", agencyJSON("ag1"), 409, codeConflict, ""},
		{"duplicate bed", "POST", "/api/v1/beds", bedJSON("bed1", "ag1"), 409, codeConflict, ""},
		{"duplicate device", "POST", "/api/v1/devices", deviceJSON("dev1", "bed1", "hub"), 409, codeConflict, ""},
		{"duplicate device source", "POST", "/api/v1/devices", `{"id":"d2","bed_id":"bed1","kind":"hub","source":"dev1-src"}`, 409, codeConflict, ""},
		{"agency still has beds", "DELETE", "/api/v1/agencies/ag1", "", 409, codeConflict, ""},
		{"bed still has devices", "DELETE", "/api/v1/beds/bed1", "", 409, codeConflict, ""},
		// Unknown ids and routes.
		{"get unknown agency", "GET", "/api/v1/agencies/nope", "", 404, codeNotFound, ""},
		{"put unknown agency", "PUT", "/api/v1/agencies/nope", agencyJSON("nope"), 404, codeNotFound, ""},
		{"delete unknown agency", "DELETE", "/api/v1/agencies/nope", "", 404, codeNotFound, ""},
		{"get unknown bed", "GET", "/api/v1/beds/nope", "", 404, codeNotFound, ""},
		{"put unknown bed", "PUT", "/api/v1/beds/nope", bedJSON("nope", "ag1"), 404, codeNotFound, ""},
		{"delete unknown bed", "DELETE", "/api/v1/beds/nope", "", 404, codeNotFound, ""},
		{"get unknown device", "GET", "/api/v1/devices/nope", "", 404, codeNotFound, ""},
		{"put unknown device", "PUT", "/api/v1/devices/nope", deviceJSON("nope", "bed1", "hub"), 404, codeNotFound, ""},
		{"delete unknown device", "DELETE", "/api/v1/devices/nope", "", 404, codeNotFound, ""},
		{"telemetry of unknown bed", "GET", "/api/v1/beds/nope/telemetry?field=heart_rate", "", 404, codeNotFound, ""},
		{"unknown route", "GET", "/nope", "", 404, codeNotFound, ""},
		{"unknown API route", "GET", "/api/v1/nope", "", 404, codeNotFound, ""},
		{"unknown API subroute", "GET", "/api/v1/agencies/ag1/beds", "", 404, codeNotFound, ""},
		{"method not allowed", "PATCH", "/api/v1/agencies/ag1", "", 405, codeMethodNotAllowed, ""},
		// Query parameters.
		{"limit zero", "GET", "/api/v1/agencies?limit=0", "", 400, codeBadRequest, ""},
		{"limit not a number", "GET", "/api/v1/beds?limit=ten", "", 400, codeBadRequest, ""},
		{"limit too big", "GET", "/api/v1/devices?limit=1001", "", 400, codeBadRequest, ""},
		{"limit negative", "GET", "/api/v1/devices/unknown?limit=-1", "", 400, codeBadRequest, ""},
		{"dead letters limit", "GET", "/api/v1/deadletters?limit=0", "", 400, codeBadRequest, ""},
		{"dead letters before", "GET", "/api/v1/deadletters?before=abc", "", 400, codeBadRequest, ""},
		{"dead letters before negative", "GET", "/api/v1/deadletters?before=-3", "", 400, codeBadRequest, ""},
		{"dead letters since", "GET", "/api/v1/deadletters?since=yesterday", "", 400, codeBadRequest, ""},
		{"dead letters since out of range", "GET", "/api/v1/deadletters?since=99999999999999", "", 400, codeBadRequest, ""},
		{"telemetry without field", "GET", "/api/v1/beds/bed1/telemetry", "", 400, codeBadRequest, ""},
		{"telemetry field syntax", "GET", "/api/v1/beds/bed1/telemetry?field=Heart-Rate", "", 400, codeBadRequest, ""},
		{"telemetry from", "GET", "/api/v1/beds/bed1/telemetry?field=heart_rate&from=monday", "", 400, codeBadRequest, ""},
		{"telemetry double minus", "GET", "/api/v1/beds/bed1/telemetry?field=heart_rate&from=--1h", "", 400, codeBadRequest, ""},
		{"telemetry to", "GET", "/api/v1/beds/bed1/telemetry?field=heart_rate&to=later", "", 400, codeBadRequest, ""},
		{"telemetry to before from", "GET", "/api/v1/beds/bed1/telemetry?field=heart_rate&from=-1h&to=-2h", "", 400, codeBadRequest, ""},
		{"telemetry empty range", "GET", "/api/v1/beds/bed1/telemetry?field=heart_rate&from=-1h&to=-1h", "", 400, codeBadRequest, ""},
		{"telemetry from out of range", "GET", "/api/v1/beds/bed1/telemetry?field=heart_rate&from=1000-01-01T00:00:00Z", "", 400, codeBadRequest, ""},
		{"telemetry every", "GET", "/api/v1/beds/bed1/telemetry?field=heart_rate&every=often", "", 400, codeBadRequest, ""},
		{"telemetry every too short", "GET", "/api/v1/beds/bed1/telemetry?field=heart_rate&every=10ms", "", 400, codeBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, tt.method, tt.path, tt.body)
			p := wantProblem(t, tt.method, tt.path, r, tt.status, tt.code)
			if p.Field != tt.field {
				t.Errorf("%s %s problem field = %q, want %q", tt.method, tt.path, p.Field, tt.field)
			}
			if tt.field != "" && !strings.Contains(p.Detail, tt.field) {
				t.Errorf("%s %s problem detail = %q, want it to name %s", tt.method, tt.path, p.Detail, tt.field)
			}
			if tt.status == fiber.StatusMethodNotAllowed {
				if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "PUT") {
					t.Errorf("%s %s Allow = %q, want GET, PUT and DELETE", tt.method, tt.path, allow)
				}
			}
		})
	}
	// None of those calls changed anything.
	r := h.mustDo(t, "GET", "/api/v1/devices", "", fiber.StatusOK)
	if got := decode[listBody[map[string]any]](t, "GET", "/api/v1/devices", r); len(got.Items) != 1 {
		t.Errorf("GET /api/v1/devices = %s, want only dev1", r.body)
	}
}

// TestBodyTooLarge needs a real listener: fasthttp refuses the body while
// reading it, before any handler, and app.Test reports that as its own
// error.
func TestBodyTooLarge(t *testing.T) {
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- h.app.Listener(ln) }()
	t.Cleanup(func() {
		if err := h.app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Errorf("ShutdownWithTimeout = %v, want nil", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Listener = %v, want nil", err)
		}
	})

	// Only the head is sent: the server answers as soon as it reads the
	// length, and a client still writing the body would see a reset.
	const path = "/api/v1/agencies"
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial %s: %v", ln.Addr(), err)
	}
	defer conn.Close()
	head := "POST " + path + " HTTP/1.1\r\nHost: carebed\r\nAuthorization: Bearer " + adminToken +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(2<<20) + "\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatalf("POST %s: write = %v", path, err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("POST %s = %v, want a response", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("POST %s: read body = %v", path, err)
	}
	wantProblem(t, "POST", path, response{status: res.StatusCode, header: res.Header, body: b},
		fiber.StatusRequestEntityTooLarge, codeTooLarge)
}

// TestErrorsCarryNoPersonalData sends bodies full of personal data to calls
// that fail, and checks the answers and the log.
func TestErrorsCarryNoPersonalData(t *testing.T) {
	h := newHarness(t)
	h.seed(t)
	tests := []struct {
		name         string
		method, path string
		body         string
		status       int
	}{
		{"bed in unknown agency", "POST", "/api/v1/beds", bedJSON("b2", "nope"), 422},
		{"update of a bed that does not exist", "PUT", "/api/v1/beds/nope", bedJSON("nope", "ag1"), 404},
		{"update moving a bed to an unknown agency", "PUT", "/api/v1/beds/bed1", bedJSON("bed1", "nope"), 422},
		{"duplicate bed", "POST", "/api/v1/beds", bedJSON("bed1", "ag1"), 409},
		{"bad disability level", "POST", "/api/v1/beds", `{"id":"b3","agency_id":"ag1","elder":{"name":"` + elderName + `","disability_level":"` + elderName + `"}}`, 422},
		{"bad contract date", "POST", "/api/v1/beds", `{"id":"b3","agency_id":"ag1","contract_start":"` + caregiverPhone + `"}`, 422},
		{"phone as a number", "POST", "/api/v1/beds", `{"id":"b3","agency_id":"ag1","family_caregiver":{"name":"` + caregiverName + `","phone":` + caregiverPhone + `}}`, 400},
		{"phone in a number field", "POST", "/api/v1/beds", `{"id":"b3","agency_id":"ag1","elder":{"birth_year":` + caregiverPhone + `.5}}`, 400},
		{"name as an object", "PUT", "/api/v1/beds/bed1", `{"agency_id":"ag1","elder":{"name":{"full":"` + elderName + `"}}}`, 400},
		{"cut off after the name", "POST", "/api/v1/beds", `{"id":"b3","elder":{"name":"` + elderName + `"`, 400},
		{"name as a bare word", "POST", "/api/v1/beds", `{"id":"b3","elder":{"name":` + elderName + `}}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, tt.method, tt.path, tt.body)
			if r.status != tt.status {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, r.status, r.body, tt.status)
			}
			noPersonalData(t, fmt.Sprintf("%s %s body", tt.method, tt.path), r.body)
		})
	}
	noPersonalData(t, "the log", h.log.Bytes())
	// The failed update left the bed as it was.
	r := h.mustDo(t, "GET", "/api/v1/beds/bed1", "", fiber.StatusOK)
	if !strings.Contains(string(r.body), `"agency_id":"ag1"`) || !strings.Contains(string(r.body), elderName) {
		t.Errorf("GET /api/v1/beds/bed1 = %s, want it unchanged", r.body)
	}
}

// TestErrorHandler maps errors that handlers may return, whatever wraps
// them, through the one table to problem details.
func TestErrorHandler(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		detail string // in the problem's detail; "" to skip
		logged bool
	}{
		{"store not found", fmt.Errorf("bed %q: %w", "b1", store.ErrNotFound), 404, codeNotFound, `bed "b1"`, false},
		{"store conflict", fmt.Errorf("x: %w", store.ErrConflict), 409, codeConflict, "conflict", false},
		{"validation", fmt.Errorf("create bed: %w", &store.ValidationError{Field: "area_type", Fix: "use urban or rural"}), 422, codeInvalid, "area_type", false},
		{"bad telemetry query", fmt.Errorf("%w: field", telemetry.ErrInvalidQuery), 400, codeBadRequest, "field", false},
		{"telemetry unreachable", &telemetry.RetryError{Err: errors.New("dial tcp 10.0.0.1:8086: refused")}, 503, codeUnavailable, "try again", true},
		{"deadline", fmt.Errorf("list beds: %w", context.DeadlineExceeded), 503, codeUnavailable, "try again", true},
		{"problem", &Problem{Status: 418, Code: "teapot", Detail: "short and stout"}, 418, "teapot", "short and stout", false},
		{"fiber error", fiber.NewError(fiber.StatusBadRequest, "error when reading request headers: Authorization: Bearer "+adminToken), 400, codeBadRequest, "could not be read", false},
		{"fiber gone", fiber.ErrGone, 410, codeBadRequest, "", false},
		{"unclassified", errors.New("sql: database is closed"), 500, codeInternal, "internal error", true},
		{"panic", nil, 500, codeInternal, "internal error", true},
	}
	for i, tt := range tests {
		path := fmt.Sprintf("/test/error/%d", i)
		h.app.Get(path, func(*fiber.Ctx) error {
			if tt.err == nil {
				panic("handler bug")
			}
			return tt.err
		})
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fmt.Sprintf("/test/error/%d", i)
			before := len(h.log.Bytes())
			r := h.do(t, "GET", path, "")
			p := wantProblem(t, "GET", path, r, tt.status, tt.code)
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("GET %s problem detail = %q, want it to contain %q", path, p.Detail, tt.detail)
			}
			for _, secret := range []string{adminToken, "10.0.0.1", "sql:"} {
				if strings.Contains(string(r.body), secret) {
					t.Errorf("GET %s = %s, want no %q in it", path, r.body, secret)
				}
			}
			if logged := len(h.log.Bytes()) > before; logged != tt.logged {
				t.Errorf("GET %s logged = %v, want %v", path, logged, tt.logged)
			}
		})
	}
}

// TestBackendFailures uses the real stores, closed, for the errors of a
// backend that went away.
func TestBackendFailures(t *testing.T) {
	h := newHarness(t)
	h.seed(t)
	h.ts.Close()
	const telemetryPath = "/api/v1/beds/bed1/telemetry?field=heart_rate"
	r := h.do(t, "GET", telemetryPath, "")
	wantProblem(t, "GET", telemetryPath, r, fiber.StatusServiceUnavailable, codeUnavailable)

	h.db.Close()
	r = h.do(t, "GET", "/api/v1/agencies", "")
	p := wantProblem(t, "GET", "/api/v1/agencies", r, fiber.StatusInternalServerError, codeInternal)
	if p.Detail != "internal error" {
		t.Errorf("GET /api/v1/agencies problem detail = %q, want %q", p.Detail, "internal error")
	}
	if log := string(h.log.Bytes()); !strings.Contains(log, "route=/api/v1/agencies") {
		t.Errorf("log = %s, want the failed route", log)
	}
}
