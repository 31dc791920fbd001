package api

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"carebed/devices"
)

// crudCase walks one resource through create, read, replace, list and
// delete.
type crudCase struct {
	name       string
	collection string // path of the collection
	id         string
	create     string // POST body
	created    string // JSON the POST, and then GET, answer
	replace    string // PUT body; its id, if any, is ignored
	replaced   string // JSON the PUT, and then GET, answer
}

func TestCRUD(t *testing.T) {
	tests := []crudCase{
		{
			name: "agency", collection: "/api/v1/agencies", id: "ag2",
			create:   agencyJSON("ag2"),
			created:  `{"id":"ag2","name":"Agency ag2","district":"Jing'an","phone":"021-1234"}`,
			replace:  `{"id":"other","name":"Renamed"}`,
			replaced: `{"id":"ag2","name":"Renamed"}`,
		},
		{
			name: "bed", collection: "/api/v1/beds", id: "bed2",
			create: bedJSON("bed2", "ag1"),
			created: `{"id":"bed2","agency_id":"ag1","district":"Jing'an",
				"elder":{"name":"` + elderName + `","birth_year":1940,"disability_level":"severe","safety_net":true,"draws_disability_nursing_subsidy":false},
				"family_caregiver":{"name":"` + caregiverName + `","phone":"` + caregiverPhone + `"},
				"address":"1 Huashan Rd","area_type":"urban","contract_start":"2025-01-01","contract_end":"2025-12-31",
				"required_minutes_per_day":60,"required_hours_per_month":30}`,
			replace: `{"agency_id":"ag1","elder":{"name":"` + elderName + `"},"required_minutes_per_day":90}`,
			replaced: `{"id":"bed2","agency_id":"ag1","elder":{"name":"` + elderName + `","safety_net":false,"draws_disability_nursing_subsidy":false},
				"family_caregiver":{"name":"","phone":""},"required_minutes_per_day":90,"required_hours_per_month":30}`,
		},
		{
			name: "device", collection: "/api/v1/devices", id: "dev2",
			create: `{"id":"dev2","bed_id":"bed1","kind":"fall_sensor","source":"radar-7","model":"R60",
				"installed_at":"2025-01-02T03:04:05+08:00"}`,
			created: `{"id":"dev2","bed_id":"bed1","kind":"fall_sensor","format":"native","source":"radar-7","model":"R60",
				"installed_at":"2025-01-01T19:04:05Z","last_seen":null,"online":false,"battery":null,"tamper":false}`,
			replace: `{"id":"dev2","bed_id":"bed1","kind":"fall_sensor","format":"zigbee2mqtt","source":"bedroom_radar"}`,
			replaced: `{"id":"dev2","bed_id":"bed1","kind":"fall_sensor","format":"zigbee2mqtt","source":"bedroom_radar",
				"last_seen":null,"online":false,"battery":null,"tamper":false}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
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

			r = h.mustDo(t, "GET", tt.collection, "", fiber.StatusOK)
			if ids := itemIDs(t, tt.collection, r); !slices.Contains(ids, tt.id) {
				t.Errorf("GET %s = ids %v, want %s among them", tt.collection, ids, tt.id)
			}

			r = h.mustDo(t, "DELETE", item, "", fiber.StatusNoContent)
			if len(r.body) != 0 {
				t.Errorf("DELETE %s = body %q, want none", item, r.body)
			}
			h.mustDo(t, "GET", item, "", fiber.StatusNotFound)
			h.mustDo(t, "DELETE", item, "", fiber.StatusNotFound)
		})
	}
}

func TestDeviceRegistry(t *testing.T) {
	h := newHarness(t)
	h.seed(t)
	if !h.reg.Known("dev1") {
		t.Errorf("after POST /api/v1/devices: Registry.Known(dev1) = false, want true")
	}
	if h.reg.Known("dev2") {
		t.Errorf("before POST /api/v1/devices: Registry.Known(dev2) = true, want false")
	}
	h.mustDo(t, "POST", "/api/v1/devices", deviceJSON("dev2", "bed1", "hub"), fiber.StatusCreated)
	if !h.reg.Known("dev2") {
		t.Errorf("after POST /api/v1/devices: Registry.Known(dev2) = false, want true")
	}
	// A registered device's messages resolve to its bed and agency.
	obs, err := h.reg.Decode(devices.Message{Topic: "carebed/dev2/sos", Payload: []byte(`{"action":"press"}`), Received: testNow}, nil)
	if err != nil || len(obs) != 1 || obs[0].BedID != "bed1" || obs[0].AgencyID != "ag1" || obs[0].Kind != devices.KindHub {
		t.Errorf("Registry.Decode(carebed/dev2/sos) = %+v, %v, want one observation of bed1 of ag1, a hub", obs, err)
	}
	// A refused create leaves the registry alone.
	h.mustDo(t, "POST", "/api/v1/devices", deviceJSON("dev3", "nope", "hub"), fiber.StatusUnprocessableEntity)
	if h.reg.Known("dev3") {
		t.Errorf("after a refused POST /api/v1/devices: Registry.Known(dev3) = true, want false")
	}
	h.mustDo(t, "DELETE", "/api/v1/devices/dev2", "", fiber.StatusNoContent)
	if h.reg.Known("dev2") {
		t.Errorf("after DELETE /api/v1/devices/dev2: Registry.Known(dev2) = true, want false")
	}
	if _, ok := h.mon.Get("dev2"); ok {
		t.Errorf("after DELETE /api/v1/devices/dev2: Monitor.Get(dev2) found it, want forgotten")
	}
}

// TestListPaging walks every collection page by page.
func TestListPaging(t *testing.T) {
	h := newHarness(t)
	for _, a := range []string{"ag1", "ag2", "ag3", "ag4", "ag5"} {
		h.mustDo(t, "POST", "/api/v1/agencies", agencyJSON(a), fiber.StatusCreated)
	}
	for i, b := range []string{"b1", "b2", "b3", "b4", "b5"} {
		h.mustDo(t, "POST", "/api/v1/beds", bedJSON(b, []string{"ag1", "ag2"}[i%2]), fiber.StatusCreated)
	}
	for i, d := range []string{"d1", "d2", "d3", "d4", "d5"} {
		h.mustDo(t, "POST", "/api/v1/devices", deviceJSON(d, []string{"b1", "b2"}[i%2], "hub"), fiber.StatusCreated)
	}
	tests := []struct {
		name  string
		path  string // with its filters
		limit int
		want  [][]string // ids, page by page
	}{
		{"agencies in pages of 2", "/api/v1/agencies", 2, [][]string{{"ag1", "ag2"}, {"ag3", "ag4"}, {"ag5"}}},
		{"agencies in one exact page", "/api/v1/agencies", 5, [][]string{{"ag1", "ag2", "ag3", "ag4", "ag5"}}},
		{"agencies in pages of 1000", "/api/v1/agencies", 1000, [][]string{{"ag1", "ag2", "ag3", "ag4", "ag5"}}},
		{"beds in pages of 2", "/api/v1/beds", 2, [][]string{{"b1", "b2"}, {"b3", "b4"}, {"b5"}}},
		{"beds of one agency", "/api/v1/beds?agency=ag1", 2, [][]string{{"b1", "b3"}, {"b5"}}},
		{"beds of an agency, exact page", "/api/v1/beds?agency=ag2", 2, [][]string{{"b2", "b4"}}},
		{"beds of an unknown agency", "/api/v1/beds?agency=nope", 2, [][]string{{}}},
		{"devices in pages of 3", "/api/v1/devices", 3, [][]string{{"d1", "d2", "d3"}, {"d4", "d5"}}},
		{"devices of one bed", "/api/v1/devices?bed=b1", 1, [][]string{{"d1"}, {"d3"}, {"d5"}}},
		{"devices of a bed, exact page", "/api/v1/devices?bed=b2", 2, [][]string{{"d2", "d4"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := walkPages(t, h, tt.path, tt.limit, "after"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("GET %s by %d = %v, want %v", tt.path, tt.limit, got, tt.want)
			}
		})
	}
	// Without a limit, a page holds up to 100.
	r := h.mustDo(t, "GET", "/api/v1/beds", "", fiber.StatusOK)
	if got := decode[listBody[devices.Bed]](t, "GET", "/api/v1/beds", r); len(got.Items) != 5 || got.Next != "" {
		t.Errorf("GET /api/v1/beds = %d items, next %q, want 5 and none", len(got.Items), got.Next)
	}
}

// walkPages follows next from the first page to the last and returns the
// ids (or keys) of each page. cursor is the query parameter next goes in.
func walkPages(t *testing.T, h *harness, path string, limit int, cursor string) [][]string {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var pages [][]string
	next := ""
	for {
		p := fmt.Sprintf("%s%slimit=%d", path, sep, limit)
		if next != "" {
			p += "&" + cursor + "=" + next
		}
		r := h.mustDo(t, "GET", p, "", fiber.StatusOK)
		if !strings.HasPrefix(string(r.body), `{"items":[`) {
			t.Fatalf("GET %s = %s, want an object with an items array", p, r.body)
		}
		got := decode[listBody[map[string]any]](t, "GET", p, r)
		ids := []string{}
		for _, it := range got.Items {
			switch {
			case it["id"] != nil:
				ids = append(ids, fmt.Sprint(it["id"]))
			default:
				ids = append(ids, fmt.Sprint(it["key"]))
			}
		}
		pages = append(pages, ids)
		if got.Next == "" || len(pages) > 20 {
			return pages
		}
		next = got.Next
	}
}

func TestUnknownDevices(t *testing.T) {
	h := newHarness(t)
	h.seed(t)
	seen := []struct{ key, topic string }{
		{"dev-a", "carebed/dev-a/vitals"}, {"dev-b", "carebed/dev-b/sos"}, {"dev-c", "carebed/dev-c/env"},
	}
	for i, s := range seen {
		saveUnknown(t, h, s.key, s.topic, i+1)
	}
	if got := walkPages(t, h, "/api/v1/devices/unknown", 2, "after"); !reflect.DeepEqual(got, [][]string{{"dev-a", "dev-b"}, {"dev-c"}}) {
		t.Errorf("GET /api/v1/devices/unknown by 2 = %v, want [[dev-a dev-b] [dev-c]]", got)
	}
	r := h.mustDo(t, "GET", "/api/v1/devices/unknown", "", fiber.StatusOK)
	got := decode[listBody[map[string]any]](t, "GET", "/api/v1/devices/unknown", r)
	if len(got.Items) != 3 || got.Items[1]["topic"] != "carebed/dev-b/sos" || got.Items[1]["count"] != 2.0 {
		t.Errorf("GET /api/v1/devices/unknown = %s, want dev-b heard twice on carebed/dev-b/sos", r.body)
	}

	// Registering a device takes it off the list; the others stay.
	h.mustDo(t, "POST", "/api/v1/devices", deviceJSON("dev-b", "bed1", "sos_button"), fiber.StatusCreated)
	if got := walkPages(t, h, "/api/v1/devices/unknown", 10, "after"); !reflect.DeepEqual(got, [][]string{{"dev-a", "dev-c"}}) {
		t.Errorf("GET /api/v1/devices/unknown after registering dev-b = %v, want [[dev-a dev-c]]", got)
	}
	// "unknown" is not read as a device id.
	h.mustDo(t, "GET", "/api/v1/devices/unknown?limit=1", "", fiber.StatusOK)
}

// sameJSON fails unless got and want are the same JSON value.
func sameJSON(t *testing.T, method, path string, got []byte, want string) {
	t.Helper()
	g := decode[any](t, method, path, response{body: got})
	w := decode[any](t, method, path+" (want)", response{body: []byte(want)})
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s %s = %s, want %s", method, path, got, strings.Join(strings.Fields(want), " "))
	}
}

func itemIDs(t *testing.T, path string, r response) []string {
	t.Helper()
	var ids []string
	for _, it := range decode[listBody[map[string]any]](t, "GET", path, r).Items {
		ids = append(ids, fmt.Sprint(it["id"]))
	}
	return ids
}
