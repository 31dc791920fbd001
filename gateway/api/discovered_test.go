package api

import (
	"context"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"carebed/devices"
	"carebed/store"
)

// seedDiscovery stores what a hub at z2m/home-1 lists: an SOS button, a
// device nobody could guess the kind of, and a Home Assistant entity of an
// unknown origin.
func (h *harness) seedDiscovery(t *testing.T) {
	t.Helper()
	list := []devices.Discovered{
		{ID: "0x0c4314fffe03c247", IEEE: "0x0c4314fffe03c247", FriendlyName: "Bedroom/SOS button", Kind: devices.KindSOSButton,
			Format: devices.FormatZigbee2MQTT, Via: devices.ViaZigbee2MQTT, Source: "z2m/home-1/Bedroom/SOS button", Model: "TS0215A_sos"},
		{ID: "0x70b3d52b6001a2b3", IEEE: "0x70b3d52b6001a2b3", FriendlyName: "0x70b3d52b6001a2b3",
			Format: devices.FormatZigbee2MQTT, Via: devices.ViaZigbee2MQTT, Source: "z2m/home-1/0x70b3d52b6001a2b3", Note: "nothing it exposes says"},
	}
	msgs := []store.DiscoveryMessage{
		{Announcement: devices.Announcement{Via: devices.ViaZigbee2MQTT, Base: "z2m/home-1", Devices: list}, Received: testNow},
		{Announcement: devices.Announcement{Via: devices.ViaHomeAssistant, Topic: "homeassistant/light/lamp/config",
			Devices: []devices.Discovered{{ID: "lamp", Via: devices.ViaHomeAssistant, Source: "lamp/state"}}}, Received: testNow},
	}
	if err := h.db.SaveDiscovery(context.Background(), msgs); err != nil {
		t.Fatalf("SaveDiscovery = %v", err)
	}
	if err := h.db.SaveUnknown(context.Background(), []store.UnknownDevice{{Key: "z2m/home-1/Bedroom/SOS button", Topic: "z2m/home-1/Bedroom/SOS button", LastSeen: testNow}}); err != nil {
		t.Fatal(err)
	}
}

func TestDiscoveredDevices(t *testing.T) {
	h := newHarness(t)
	h.seed(t)
	h.seedDiscovery(t)

	r := h.mustDo(t, "GET", "/api/v1/devices/discovered", "", fiber.StatusOK)
	got := decode[listBody[discoveredView]](t, "GET", "/api/v1/devices/discovered", r)
	if len(got.Items) != 3 || got.Items[0].ID != "0x0c4314fffe03c247" || got.Items[0].Kind != devices.KindSOSButton ||
		got.Items[0].Base != "z2m/home-1" || got.Items[0].HubID != "" || got.Items[0].Accepted {
		t.Fatalf("GET /devices/discovered = %+v, want the 3 devices, the SOS button first, no hub yet", got.Items)
	}
	r = h.mustDo(t, "GET", "/api/v1/devices/discovered?limit=1", "", fiber.StatusOK)
	if page := decode[listBody[discoveredView]](t, "GET", "?limit=1", r); len(page.Items) != 1 || page.Next != "0x0c4314fffe03c247" {
		t.Errorf("GET /devices/discovered?limit=1 = %+v, want one item and a next cursor", page)
	}

	accept := "/api/v1/devices/discovered/0x0c4314fffe03c247/accept"
	// No hub reads the base yet: the device would never be read.
	if r := h.do(t, "POST", accept, `{"bed_id":"bed1"}`); r.status != fiber.StatusUnprocessableEntity || !contains(r.body, `"field":"bed_id"`) {
		t.Errorf("POST accept without a hub = %d %s, want 422 naming bed_id", r.status, r.body)
	}
	h.mustDo(t, "POST", "/api/v1/beds", bedJSON("bed2", "ag1"), fiber.StatusCreated)
	h.mustDo(t, "POST", "/api/v1/devices", `{"id":"hub-1","bed_id":"bed1","kind":"hub","format":"zigbee2mqtt","source":"z2m/home-1"}`, fiber.StatusCreated)
	r = h.mustDo(t, "GET", "/api/v1/devices/discovered", "", fiber.StatusOK)
	if got := decode[listBody[discoveredView]](t, "GET", "/api/v1/devices/discovered", r); got.Items[0].HubID != "hub-1" {
		t.Errorf("GET /devices/discovered after registering the hub: hub_id = %q, want hub-1", got.Items[0].HubID)
	}

	tests := []struct {
		name, path, body string
		want             int
		wantInBody       string
	}{
		{"not discovered", "/api/v1/devices/discovered/nope/accept", `{"bed_id":"bed1"}`, fiber.StatusNotFound, `"code":"not_found"`},
		{"other bed than the hub's", accept, `{"bed_id":"bed2"}`, fiber.StatusUnprocessableEntity, `belong to its bed`},
		{"kind unknown", "/api/v1/devices/discovered/0x70b3d52b6001a2b3/accept", `{}`, fiber.StatusUnprocessableEntity, `"field":"kind"`},
		{"format unknown", "/api/v1/devices/discovered/lamp/accept", `{"bed_id":"bed1","kind":"climate"}`, fiber.StatusUnprocessableEntity, `"field":"format"`},
		{"bad kind", accept, `{"kind":"lamp"}`, fiber.StatusUnprocessableEntity, `"field":"kind"`},
		{"id taken", accept, `{"id":"dev1"}`, fiber.StatusConflict, `"code":"conflict"`},
		{"bad body", accept, `{"bed_id":1}`, fiber.StatusBadRequest, `"field":"bed_id"`},
		{"accepted into the hub's bed", accept, `{"id":"sos-1"}`, fiber.StatusCreated, `"source":"0x0c4314fffe03c247"`},
		{"accepted twice", accept, `{"id":"sos-2"}`, fiber.StatusConflict, `accepted already as device \"sos-1\"`},
		{"kind given, no body for the rest", "/api/v1/devices/discovered/0x70b3d52b6001a2b3/accept", `{"kind":"door_sensor"}`, fiber.StatusCreated, `"bed_id":"bed1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, "POST", tt.path, tt.body)
			if r.status != tt.want || !contains(r.body, tt.wantInBody) {
				t.Errorf("POST %s %s = %d %s, want %d with %s", tt.path, tt.body, r.status, r.body, tt.want, tt.wantInBody)
			}
		})
	}

	// The accepted device is registered, read, listed as accepted, and no
	// longer unknown.
	d := decode[devices.Device](t, "GET", "/devices/sos-1", h.mustDo(t, "GET", "/api/v1/devices/sos-1", "", fiber.StatusOK))
	if d.BedID != "bed1" || d.Kind != devices.KindSOSButton || d.Format != devices.FormatZigbee2MQTT || d.Model != "TS0215A_sos" {
		t.Errorf("GET /devices/sos-1 = %+v, want the SOS button in bed1", d)
	}
	obs, err := h.reg.Decode(devices.Message{Topic: "z2m/home-1/0x0c4314fffe03c247/action", Payload: []byte("emergency"), Received: testNow}, nil)
	if err != nil || len(obs) != 1 || obs[0].DeviceID != "sos-1" || obs[0].Via != "hub-1" {
		t.Errorf("Registry.Decode(press of the accepted button) = %+v, %v; want sos-1 via hub-1", obs, err)
	}
	if _, ok := h.mon.Get("sos-1"); !ok {
		t.Errorf("Monitor.Get(sos-1) after accept found nothing, want the device tracked")
	}
	r = h.mustDo(t, "GET", "/api/v1/devices/discovered", "", fiber.StatusOK)
	if got := decode[listBody[discoveredView]](t, "GET", "/api/v1/devices/discovered", r); !got.Items[0].Accepted || got.Items[0].DeviceID != "sos-1" {
		t.Errorf("GET /devices/discovered after accept = %+v, want accepted as sos-1", got.Items[0])
	}
	r = h.mustDo(t, "GET", "/api/v1/devices/unknown", "", fiber.StatusOK)
	if got := decode[listBody[store.UnknownDevice]](t, "GET", "/api/v1/devices/unknown", r); len(got.Items) != 0 {
		t.Errorf("GET /devices/unknown after accept = %+v, want none", got.Items)
	}
}

func contains(body []byte, s string) bool {
	return s == "" || strings.Contains(string(body), s)
}
