package api

import (
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestBedRulesRoundTrip(t *testing.T) {
	h, _ := newAlertHarness(t)
	h.seed(t)
	const path = "/api/v1/beds/bed1/rules"

	r := h.do(t, "GET", path, "")
	p := wantProblem(t, "GET", path, r, fiber.StatusNotFound, codeNotFound)
	if !strings.Contains(p.Detail, "defaults apply") {
		t.Errorf("GET %s before any detail = %q, want it to say the defaults apply", path, p.Detail)
	}

	put := `{"bed_id":"other","agency_id":"other","vitals":{"heart_rate":{"low":35,"high":120,"margin":2}},
		"night_start":"20:00","night_end":"6:30"}`
	want := `{"bed_id":"bed1","agency_id":"ag1","vitals":{"heart_rate":{"low":35,"high":120,"margin":2},
		"resp_rate":{},"spo2":{},"temp_c":{}},"night_start":"20:00","night_end":"06:30"}`
	r = h.mustDo(t, "PUT", path, put, fiber.StatusOK)
	sameJSON(t, "PUT", path, r.body, want)
	r = h.mustDo(t, "GET", path, "", fiber.StatusOK)
	sameJSON(t, "GET", path, r.body, want)

	// PUT replaces every override.
	r = h.mustDo(t, "PUT", path, `{"night_start":"21:00"}`, fiber.StatusOK)
	sameJSON(t, "PUT", path, r.body, `{"bed_id":"bed1","agency_id":"ag1","night_start":"21:00"}`)

	// The bed itself is still its own route.
	h.mustDo(t, "GET", "/api/v1/beds/bed1", "", fiber.StatusOK)

	h.mustDo(t, "DELETE", path, "", fiber.StatusNoContent)
	wantProblem(t, "GET", path, h.do(t, "GET", path, ""), fiber.StatusNotFound, codeNotFound)
	wantProblem(t, "DELETE", path, h.do(t, "DELETE", path, ""), fiber.StatusNotFound, codeNotFound)
}

func TestBedRulesRefused(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"band with no normal value", "PUT", "/api/v1/beds/bed1/rules",
			`{"vitals":{"heart_rate":{"low":50,"high":60,"margin":5}}}`, fiber.StatusUnprocessableEntity, codeInvalid, "vitals.heart_rate"},
		{"negative limit", "PUT", "/api/v1/beds/bed1/rules",
			`{"vitals":{"spo2":{"low":-1}}}`, fiber.StatusUnprocessableEntity, codeInvalid, "vitals.spo2"},
		{"night start not a time", "PUT", "/api/v1/beds/bed1/rules",
			`{"night_start":"25:00"}`, fiber.StatusUnprocessableEntity, codeInvalid, "night_start"},
		{"night of no length", "PUT", "/api/v1/beds/bed1/rules",
			`{"night_start":"22:00","night_end":"22:00"}`, fiber.StatusUnprocessableEntity, codeInvalid, "night_end"},
		{"band of the wrong type", "PUT", "/api/v1/beds/bed1/rules",
			`{"vitals":{"temp_c":{"low":"cold"}}}`, fiber.StatusBadRequest, codeBadRequest, "vitals.temp_c.low"},
		{"empty body", "PUT", "/api/v1/beds/bed1/rules", "", fiber.StatusBadRequest, codeBadRequest, ""},
		{"put to an unknown bed", "PUT", "/api/v1/beds/nope/rules",
			`{"night_start":"20:00"}`, fiber.StatusNotFound, codeNotFound, ""},
		{"get of an unknown bed", "GET", "/api/v1/beds/nope/rules", "", fiber.StatusNotFound, codeNotFound, ""},
		{"delete of an unknown bed", "DELETE", "/api/v1/beds/nope/rules", "", fiber.StatusNotFound, codeNotFound, ""},
	}
	h, _ := newAlertHarness(t)
	h.seed(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, tt.method, tt.path, tt.body)
			p := wantProblem(t, tt.method, tt.path, r, tt.status, tt.code)
			if p.Field != tt.field {
				t.Errorf("%s %s problem field = %q, want %q (%s)", tt.method, tt.path, p.Field, tt.field, r.body)
			}
			if tt.status == fiber.StatusNotFound && strings.Contains(p.Detail, "defaults apply") {
				t.Errorf("%s %s detail = %q, want no talk of defaults for a bed that does not exist", tt.method, tt.path, p.Detail)
			}
			noPersonalData(t, tt.method+" "+tt.path, r.body)
		})
	}
	wantProblem(t, "GET", "/api/v1/beds/bed1/rules", h.do(t, "GET", "/api/v1/beds/bed1/rules", ""), fiber.StatusNotFound, codeNotFound)
}

func TestBedRulesWithoutDesk(t *testing.T) {
	h := newHarness(t)
	h.seed(t)
	const path = "/api/v1/beds/bed1/rules"
	wantProblem(t, "PUT", path, h.do(t, "PUT", path, `{"night_start":"20:00"}`), fiber.StatusServiceUnavailable, codeUnavailable)
	wantProblem(t, "DELETE", path, h.do(t, "DELETE", path, ""), fiber.StatusServiceUnavailable, codeUnavailable)
	// Reading needs no desk.
	wantProblem(t, "GET", path, h.do(t, "GET", path, ""), fiber.StatusNotFound, codeNotFound)
}
