package devices

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func readBridgeDevices(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "discovery", "bridge-devices.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// z2mRegistry is two homes: bed-1 behind the hub at z2m/home-1, whose list
// is testdata/discovery/bridge-devices.json, and bed-2 behind the hub at
// zigbee2mqtt, which has a device of the same friendly name.
func z2mRegistry(tb testing.TB, listAt time.Time) *Registry {
	tb.Helper()
	r := NewRegistry()
	r.PutBed(Bed{ID: "bed-1", AgencyID: "agency-1"})
	r.PutBed(Bed{ID: "bed-2", AgencyID: "agency-1"})
	for _, d := range []Device{
		{ID: "hub-1", BedID: "bed-1", Kind: KindHub, Format: FormatZigbee2MQTT, Source: "z2m/home-1"},
		{ID: "sos-1", BedID: "bed-1", Kind: KindSOSButton, Format: FormatZigbee2MQTT, Source: "0x0c4314fffe03c247"}, // "Bedroom/SOS button"
		{ID: "fall-1", BedID: "bed-1", Kind: KindFallSensor, Format: FormatZigbee2MQTT, Source: "Bathroom radar"},
		{ID: "door-1", BedID: "bed-1", Kind: KindDoorSensor, Format: FormatZigbee2MQTT, Source: "z2m/home-1/Front door"},
		{ID: "leak-1", BedID: "bed-1", Kind: KindWaterLeak, Format: FormatZigbee2MQTT, Source: "0x00158d00028208ae"}, // "Kitchen leak"
		{ID: "hub-2", BedID: "bed-2", Kind: KindHub, Format: FormatZigbee2MQTT, Source: "zigbee2mqtt"},
		{ID: "fall-2", BedID: "bed-2", Kind: KindFallSensor, Format: FormatZigbee2MQTT, Source: "Bathroom radar"},
	} {
		r.PutDevice(d)
	}
	out, err := r.Decode(Message{Topic: "z2m/home-1/bridge/devices", Payload: readBridgeDevices(tb), Received: listAt}, nil)
	if err != nil || len(out) != 0 {
		tb.Fatalf("Decode(bridge/devices) = %d observations, %v; want none and no error", len(out), err)
	}
	return r
}

func TestRegistryZigbee2MQTT(t *testing.T) {
	received := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	r := z2mRegistry(t, received.Add(-time.Hour))
	tests := []struct {
		name, topic, payload string
		want                 string // see summary
		wantKey              string
	}{
		{"bridge online", "z2m/home-1/bridge/state", `{"state":"online"}`, "hub-1 availability online=true", ""},
		{"bridge 1.x offline", "z2m/home-1/bridge/state", `offline`, "hub-1 availability online=false", ""},
		{"bridge state deleted", "z2m/home-1/bridge/state", ``, "none", ""},
		{"bridge state garbage", "z2m/home-1/bridge/state", `maybe`, "invalid_value", ""},
		{"bridge logging ignored", "z2m/home-1/bridge/logging", `{"level":"info","message":"MQTT publish"}`, "none", ""},
		{"bridge info ignored", "z2m/home-1/bridge/info", `{"version":"2.1.0"}`, "none", ""},
		{"bridge response ignored", "z2m/home-1/bridge/response/permit_join", `{"status":"ok"}`, "none", ""},
		{"name with slash and space, by IEEE source", "z2m/home-1/Bedroom/SOS button",
			`{"battery":95,"battery_low":false,"linkquality":99,"sos":true,"tamper":false}`,
			"sos-1 sos sos=true battery=95 battery_low=false tamper=false linkquality=99 via=hub-1", ""},
		{"press in the state", "z2m/home-1/Bedroom/SOS button", `{"action":"emergency","battery":null,"linkquality":90}`,
			"sos-1 sos action=press linkquality=90 via=hub-1", ""},
		{"press as plain text", "z2m/home-1/Bedroom/SOS button/action", `emergency`, "sos-1 sos action=press via=hub-1", ""},
		{"action reset is a sign of life", "z2m/home-1/Bedroom/SOS button/action", ``, "none", ""},
		{"heiman off is a sign of life", "z2m/home-1/Bedroom/SOS button/action", `off`, "sos-1 status via=hub-1", ""},
		{"device availability 2.x", "z2m/home-1/Bedroom/SOS button/availability", `{"state":"offline"}`, "sos-1 availability online=false via=hub-1", ""},
		{"device availability 1.x", "z2m/home-1/Bathroom radar/availability", `online`, "fall-1 availability online=true via=hub-1", ""},
		{"availability deleted after a rename", "z2m/home-1/old bedroom button/availability", ``, "none", ""},
		{"IEEE topic", "z2m/home-1/0x0c4314fffe03c247", `{"battery":94}`, "sos-1 status battery=94 via=hub-1", ""},
		{"friendly name source", "z2m/home-1/Bathroom radar", `{"fall_down_status":"fall","linkquality":150,"occupancy":true,"presence":true}`,
			"fall-1 fall state=fall motion=true linkquality=150 via=hub-1", ""},
		{"attribute output", "z2m/home-1/Bathroom radar/fall_down_status", `maybe_fall`, "fall-1 fall state=suspected via=hub-1", ""},
		{"attribute through the list", "z2m/home-1/Kitchen leak/water_leak", `true`, "leak-1 env water_leak=true via=hub-1", ""},
		{"full topic source", "z2m/home-1/Front door", `{"contact":true,"tamper":true}`, "door-1 env door_open=false tamper=true via=hub-1", ""},
		{"command to the hub ignored", "z2m/home-1/Front door/set", `{"state":"ON"}`, "none", ""},
		{"same name, other home", "zigbee2mqtt/Bathroom radar", `{"fall_down_status":"none"}`, "fall-2 fall state=normal via=hub-2", ""},
		{"listed but not registered", "z2m/home-1/Hallway PIR", `{"occupancy":true}`, "unknown_device", "z2m/home-1/Hallway PIR"},
		{"not listed, not registered", "z2m/home-1/Nobody/availability", `online`, "unknown_device", "z2m/home-1/Nobody"},
		{"the bad table's topic once a hub reads zigbee2mqtt", "zigbee2mqtt/Bedroom SOS button", `{"action":"sos"}`, "unknown_device", "zigbee2mqtt/Bedroom SOS button"},
		{"wrong type named", "z2m/home-1/Bathroom radar", `{"fall_down_status":42}`, "wrong_type", ""},
		{"oversized", "z2m/home-1/Bathroom radar", `{"x":"` + strings.Repeat("a", MaxPayload) + `"}`, "oversized", ""},
		{"empty level", "z2m/home-1//x", `{}`, "unknown_topic", ""},
		{"unregistered hub's bridge", "z2m/home-9/bridge/state", `{"state":"online"}`, "unknown_device", "z2m/home-9"},
		{"unregistered hub's log", "z2m/home-9/bridge/logging", `{"message":"x"}`, "none", ""},
		{"nothing known of the base", "z2m/home-9/Kitchen leak", `{"water_leak":false}`, "unknown_topic", ""},
		{"discovery config", "homeassistant/binary_sensor/0x00158d0001a2b3c4/sos/config", `{"stat_t":"x"}`, "none", ""},
		{"home assistant status", "homeassistant/status", `online`, "none", ""},
		{"other topic", "$SYS/broker/uptime", `12 seconds`, "unknown_topic", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Decode(Message{Topic: tt.topic, Payload: []byte(tt.payload), Received: received}, nil)
			if s := summary(got, err, received); s != tt.want {
				t.Errorf("Decode(%q, %s) = %s, want %s (err %v)", tt.topic, clip(tt.payload), s, tt.want, err)
			}
			if key, _ := UnknownKey(err); key != tt.wantKey {
				t.Errorf("Decode(%q) unknown key = %q, want %q", tt.topic, key, tt.wantKey)
			}
			for _, o := range got {
				if o.BedID == "" || o.AgencyID != "agency-1" || o.Kind == "" {
					t.Errorf("Decode(%q) observation %+v lacks its bed, agency or kind", tt.topic, o)
				}
			}
		})
	}
}

func TestRegistryZigbee2MQTTNames(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	r := z2mRegistry(t, t0)
	decode := func(topic, payload string, at time.Time) string {
		got, err := r.Decode(Message{Topic: topic, Payload: []byte(payload), Received: at}, nil)
		return summary(got, err, at)
	}
	renamed := strings.Replace(string(readBridgeDevices(t)), `"Bedroom/SOS button"`, `"Hall SOS"`, 1)
	if got := decode("z2m/home-1/bridge/devices", renamed, t0.Add(time.Minute)); got != "none" {
		t.Fatalf("Decode(renamed list) = %s, want none", got)
	}
	if got, want := decode("z2m/home-1/Hall SOS", `{"sos":false}`, t0.Add(2*time.Minute)), "sos-1 sos sos=false via=hub-1"; got != want {
		t.Errorf("after a rename, Decode(new name) = %s, want %s", got, want)
	}
	// A consumer that lags behind reads the older list again: it must not
	// undo the rename.
	if got := decode("z2m/home-1/bridge/devices", string(readBridgeDevices(t)), t0); got != "none" {
		t.Fatalf("Decode(older list) = %s, want none", got)
	}
	if got, want := decode("z2m/home-1/Hall SOS", `{"sos":false}`, t0.Add(3*time.Minute)), "sos-1 sos sos=false via=hub-1"; got != want {
		t.Errorf("after an older list, Decode(new name) = %s, want %s", got, want)
	}
	if got := decode("z2m/home-1/Bedroom/SOS button", `{"sos":false}`, t0.Add(3*time.Minute)); got != "unknown_device" {
		t.Errorf("after a rename, Decode(old name) = %s, want unknown_device", got)
	}
	// A deleted retained list keeps what is known.
	if got := decode("z2m/home-1/bridge/devices", ``, t0.Add(4*time.Minute)); got != "none" {
		t.Fatalf("Decode(deleted list) = %s, want none", got)
	}
	if got, want := decode("z2m/home-1/Hall SOS/action", `sos`, t0.Add(5*time.Minute)), "sos-1 sos action=press via=hub-1"; got != want {
		t.Errorf("after the list was deleted, Decode(name) = %s, want %s", got, want)
	}
	if got := decode("z2m/home-1/bridge/devices", `{"not":"a list"}`, t0.Add(6*time.Minute)); got != "wrong_type" {
		t.Errorf("Decode(broken list) = %s, want wrong_type", got)
	}

	// A base no hub reads: its list makes its devices unknown by name.
	if got := decode("z2m/home-9/bridge/devices", string(readBridgeDevices(t)), t0); got != "none" {
		t.Fatalf("Decode(list of z2m/home-9) = %s, want none", got)
	}
	_, err := r.Decode(Message{Topic: "z2m/home-9/Bedroom/SOS button", Payload: []byte(`{"sos":true}`), Received: t0}, nil)
	if key, _ := UnknownKey(err); key != "z2m/home-9/Bedroom/SOS button" {
		t.Errorf("Decode(z2m/home-9/Bedroom/SOS button) = %v, want unknown device z2m/home-9/Bedroom/SOS button", err)
	}
	// Registering its hub later makes them readable.
	r.PutBed(Bed{ID: "bed-9", AgencyID: "agency-1"})
	r.PutDevice(Device{ID: "hub-9", BedID: "bed-9", Kind: KindHub, Format: FormatZigbee2MQTT, Source: "z2m/home-9"})
	r.PutDevice(Device{ID: "sos-9", BedID: "bed-9", Kind: KindSOSButton, Format: FormatZigbee2MQTT, Source: "0x0c4314fffe03c247"})
	if got, want := decode("z2m/home-9/Bedroom/SOS button", `{"sos":true}`, t0), "sos-9 sos sos=true via=hub-9"; got != want {
		t.Errorf("after registering hub-9, Decode = %s, want %s", got, want)
	}
	// Removing the hub leaves its devices unknown, and its names known.
	r.RemoveDevice("hub-9")
	if got := decode("z2m/home-9/Bedroom/SOS button", `{"sos":true}`, t0); got != "unknown_device" {
		t.Errorf("after removing hub-9, Decode = %s, want unknown_device", got)
	}
}

func TestRegistryBehindHub(t *testing.T) {
	r := z2mRegistry(t, time.Now())
	got := r.BehindHub("hub-1")
	slices.Sort(got)
	if want := []string{"door-1", "fall-1", "leak-1", "sos-1"}; !slices.Equal(got, want) {
		t.Errorf("BehindHub(hub-1) = %v, want %v", got, want)
	}
	if got := r.BehindHub("sos-1"); got != nil {
		t.Errorf("BehindHub(sos-1) = %v, want nil: not a hub", got)
	}
	if d, ok := r.HubReading("z2m/home-1/"); !ok || d.ID != "hub-1" || d.BedID != "bed-1" {
		t.Errorf("HubReading(z2m/home-1/) = %+v, %v; want hub-1 of bed-1", d, ok)
	}
	// A device moved to another bed is no longer behind the hub.
	r.PutDevice(Device{ID: "door-1", BedID: "bed-2", Kind: KindDoorSensor, Format: FormatZigbee2MQTT, Source: "Front door"})
	if got := r.BehindHub("hub-1"); slices.Contains(got, "door-1") {
		t.Errorf("BehindHub(hub-1) after moving door-1 = %v, want it gone", got)
	}
}

func TestRegistryAnnounced(t *testing.T) {
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	r := NewRegistry()
	a, ok, err := r.Announced(Message{Topic: "z2m/home-1/bridge/devices", Payload: readBridgeDevices(t), Received: at})
	if !ok || err != nil || a.Via != ViaZigbee2MQTT || a.Base != "z2m/home-1" || len(a.Devices) != 10 {
		t.Fatalf("Announced(bridge/devices) = %s %q %d devices, %v, %v; want zigbee2mqtt z2m/home-1 with 10 devices",
			a.Via, a.Base, len(a.Devices), ok, err)
	}
	// It taught the registry the names, though no hub is registered.
	_, err = r.Decode(Message{Topic: "z2m/home-1/Bedroom/SOS button/action", Payload: []byte("emergency"), Received: at}, nil)
	if key, _ := UnknownKey(err); key != "z2m/home-1/Bedroom/SOS button" {
		t.Errorf("Decode after Announced = %v, want unknown device z2m/home-1/Bedroom/SOS button", err)
	}
	tests := []struct {
		name, topic, payload string
		wantOK, wantDeleted  bool
		wantID               string
		wantReason           Reason
	}{
		{"deleted list", "z2m/home-1/bridge/devices", "", true, true, "", ""},
		{"broken list", "z2m/home-1/bridge/devices", "[{", true, false, "", ReasonMalformed},
		{"ha entity", "homeassistant/binary_sensor/0xa4c138c36f8a774e/water_leak/config",
			`{"dev_cla":"moisture","stat_t":"zigbee2mqtt/Kitchen leak","dev":{"ids":["zigbee2mqtt_0xa4c138c36f8a774e"]}}`, true, false, "0xa4c138c36f8a774e", ""},
		{"ha entity removed", "homeassistant/binary_sensor/0x00158d0001a2b3c4/sos/config", "", true, true, "0x00158d0001a2b3c4", ""},
		{"ha topic of another shape", "homeassistant/a/b/c/d/config", "{}", true, false, "", ReasonUnknownTopic},
		{"ha status is no discovery", "homeassistant/status", "online", false, false, "", ""},
		{"state is no discovery", "z2m/home-1/Bedroom/SOS button", `{"sos":true}`, false, false, "", ""},
		{"wildcard base", "z2m/+/bridge/devices", "[]", false, false, "", ""},
		{"native topic of that shape", "carebed/bridge/devices", "[]", false, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ok, err := r.Announced(Message{Topic: tt.topic, Payload: []byte(tt.payload), Received: at})
			if ok != tt.wantOK || a.Deleted != tt.wantDeleted || ReasonOf(err) != tt.wantReason {
				t.Fatalf("Announced(%q) = deleted %v, ok %v, %v; want %v, %v, %q", tt.topic, a.Deleted, ok, err, tt.wantDeleted, tt.wantOK, tt.wantReason)
			}
			if tt.wantID != "" && (len(a.Devices) != 1 || a.Devices[0].ID != tt.wantID) {
				t.Errorf("Announced(%q).Devices = %+v, want one with id %s", tt.topic, a.Devices, tt.wantID)
			}
		})
	}
}

func TestDiscoveredDeviceSource(t *testing.T) {
	tests := []struct {
		d    Discovered
		want string
	}{
		{Discovered{Format: FormatZigbee2MQTT, IEEE: "0x0c4314fffe03c247", FriendlyName: "Bedroom/SOS button"}, "0x0c4314fffe03c247"},
		{Discovered{Format: FormatZigbee2MQTT, FriendlyName: "Bedroom/SOS button"}, "Bedroom/SOS button"},
		{Discovered{Format: FormatESPHome, Source: "home/bedroom-radar/sensor/heart_rate/state"}, "home/bedroom-radar"},
		{Discovered{Format: FormatESPHome, Availability: "bedroom-radar/status"}, "bedroom-radar"},
		{Discovered{Format: FormatTasmota, Source: "tele/tasmota_3D5E26/SENSOR"}, "tasmota_3D5E26"},
		{Discovered{Format: FormatTasmota, Source: "stat/tasmota_3D5E26/RESULT"}, "tasmota_3D5E26"},
		{Discovered{Format: FormatTasmota, Source: "custom/x/y/z"}, ""},
		{Discovered{Source: "somewhere"}, ""},
	}
	for _, tt := range tests {
		if got := tt.d.DeviceSource(); got != tt.want {
			t.Errorf("%+v.DeviceSource() = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestRegistryConcurrent decodes while devices and name lists change, for
// the race detector: three journal consumers and the API share a registry.
func TestRegistryConcurrent(t *testing.T) {
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	r := z2mRegistry(t, at)
	list := readBridgeDevices(t)
	done := make(chan struct{})
	for g := range 3 {
		go func() {
			defer func() { done <- struct{}{} }()
			var out []Observation
			for i := range 300 {
				for _, topic := range []string{"z2m/home-1/Bedroom/SOS button", "z2m/home-1/bridge/devices", "z2m/home-1/bridge/state", "carebed/x/vitals"} {
					payload := []byte(`{"state":"online","sos":true}`)
					if strings.HasSuffix(topic, "devices") {
						payload = list
					}
					m := Message{Topic: topic, Payload: payload, Received: at.Add(time.Duration(g*1000+i) * time.Millisecond)}
					_, _, _ = r.Announced(m)
					out, _ = r.Decode(m, out[:0])
				}
			}
		}()
	}
	for i := range 300 {
		r.PutDevice(Device{ID: "sos-x", BedID: "bed-1", Kind: KindSOSButton, Format: FormatZigbee2MQTT, Source: "Bedroom/SOS button"})
		r.RemoveDevice("sos-x")
		r.PutDevice(Device{ID: "hub-1", BedID: "bed-1", Kind: KindHub, Format: FormatZigbee2MQTT, Source: "z2m/home-1"})
		_ = r.BehindHub("hub-1")
		r.LearnZigbee2MQTTNames("z2m/home-1", map[string]string{"Bedroom/SOS button": "0x0c4314fffe03c247"}, at.Add(time.Duration(i)*time.Second))
	}
	for range 3 {
		<-done
	}
}
