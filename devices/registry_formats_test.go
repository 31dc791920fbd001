package devices

import (
	"testing"
	"time"
)

func TestRegistryOtherFormats(t *testing.T) {
	received := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRegistry(WithZone(shanghai), WithSenMLNames(map[string]string{"pulse": "heart_rate", "door-open": "door_open"}))
	r.PutBed(Bed{ID: "bed-1", AgencyID: "agency-1"})
	for _, d := range []Device{
		{ID: "radar-1", BedID: "bed-1", Kind: KindVitalsMonitor, Format: FormatESPHome, Source: "bedroom-radar"},
		{ID: "radar-2", BedID: "bed-1", Kind: KindVitalsMonitor, Format: FormatESPHome, Source: "home-17/radar"},
		{ID: "climate-1", BedID: "bed-1", Kind: KindClimate, Format: FormatTasmota, Source: "tasmota"},
		{ID: "bridge-1", BedID: "bed-1", Kind: KindHub, Format: FormatTasmota, Source: "tele/bridge_tasmota_2D251C"},
		{ID: "pir-1", BedID: "bed-1", Kind: KindMotionSensor, Format: FormatTasmota, Source: "bridge_tasmota_2D251C/0x6841"},
		{ID: "th-1", BedID: "bed-1", Kind: KindClimate, Format: FormatTasmota, Source: "E8DB849DBFAE/Bedroom TH"},
		{ID: "door-1", BedID: "bed-1", Kind: KindDoorSensor, Format: FormatSenML, Source: "care/home-17/door/senml"},
		{ID: "native-1", BedID: "bed-1", Kind: KindVitalsMonitor, Format: FormatSenML, Source: "carebed/home-17/radar/senml"},
	} {
		r.PutDevice(d)
	}
	tests := []struct {
		name, topic, payload string
		want                 string // see summary
		wantKey              string
	}{
		{"esphome online", "bedroom-radar/status", `online`, "radar-1 availability online=true", ""},
		{"esphome offline", "bedroom-radar/status", `offline`, "radar-1 availability online=false", ""},
		{"esphome status deleted", "bedroom-radar/status", ``, "none", ""},
		{"esphome heart rate", "bedroom-radar/sensor/heart_rate/state", `72.00`, "radar-1 vitals heart_rate=72", ""},
		{"esphome nan", "bedroom-radar/sensor/heart_rate/state", `nan`, "radar-1 vitals no_reading=true", ""},
		{"esphome fall", "bedroom-radar/binary_sensor/fall_detected/state", `ON`, "radar-1 fall state=fall", ""},
		{"esphome unmapped sensor is a sign of life", "bedroom-radar/sensor/uptime/state", `1234`, "radar-1 status", ""},
		{"esphome debug ignored", "bedroom-radar/debug", `[D][sensor:094]: 'Heart Rate': Sending state`, "none", ""},
		{"esphome command ignored", "bedroom-radar/switch/relay/command", `ON`, "none", ""},
		{"esphome text for a number", "bedroom-radar/sensor/heart_rate/state", `high`, "wrong_type", ""},
		{"esphome prefix of two levels", "home-17/radar/sensor/breath_rate/state", `16`, "radar-2 vitals resp_rate=16", ""},
		{"esphome unknown node", "kitchen-radar/sensor/heart_rate/state", `70`, "unknown_device", "kitchen-radar"},
		{"tasmota sensor in local time", "tele/tasmota/SENSOR", `{"Time":"2026-05-01T07:30:00", "DS18B20":{"Temperature":20.6}}`,
			"climate-1 env temp_c=20.6 @-30m0s", ""},
		{"tasmota lwt", "tele/tasmota/LWT", `Offline`, "climate-1 availability online=false", ""},
		{"tasmota info ignored", "tele/tasmota/INFO1", `{"Module":"Generic"}`, "none", ""},
		{"tasmota zigbee device by short address", "tele/bridge_tasmota_2D251C/SENSOR",
			`{"ZbReceived":{"0x6841":{"Device":"0x6841","0500?00":"000000000000","ZoneStatusChange":0,"Occupancy":0,"Endpoint":1,"LinkQuality":105}}}`,
			"pir-1 env motion=false via=bridge-1", ""},
		{"tasmota zigbee device by name, bridge not registered", "tele/E8DB849DBFAE/SENSOR",
			`{"ZbReceived":{"0x1067":{"Device":"0x1067","Name":"Bedroom TH","Temperature":19.04,"Humidity":70.89}}}`,
			"th-1 env temp_c=19.04 humidity=70.89", ""},
		{"tasmota zigbee device nobody registered", "tele/bridge_tasmota_2D251C/SENSOR",
			`{"ZbReceived":{"0x7777":{"Device":"0x7777","Contact":1}}}`, "unknown_device", "tele/bridge_tasmota_2D251C/0x7777"},
		{"tasmota node not registered behind registered devices", "tele/E8DB849DBFAE/LWT", `Online`, "unknown_device", "tele/E8DB849DBFAE"},
		{"tasmota unknown node", "tele/tasmota_3D5E26/LWT", `Online`, "unknown_device", "tele/tasmota_3D5E26"},
		{"tasmota unknown node's deletion", "tele/tasmota_3D5E26/LWT", ``, "none", ""},
		{"tasmota contact is open", "tele/bridge_tasmota_2D251C/SENSOR", `{"ZbReceived":{"0x6841":{"Contact":2}}}`, "invalid_value", ""},
		{"senml on its own topic", "care/home-17/door/senml", `[{"bn":"urn:dev:mac:0024befffe804ff2:","n":"door-open","u":"%","v":1}]`,
			"door-1 env door_open=true", ""},
		{"senml names are the configured ones", "care/home-17/door/senml", `[{"n":"heartRate","u":"beat/min","v":72}]`, "door-1 status", ""},
		{"senml source under the native prefix", "carebed/home-17/radar/senml", `[{"n":"pulse","u":"beat/min","v":61}]`, "native-1 vitals heart_rate=61", ""},
		{"senml retained deletion", "care/home-17/door/senml", ``, "none", ""},
		{"senml unknown topic", "care/home-18/door/senml", `[{"n":"door-open","vb":true}]`, "unknown_topic", ""},
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
		})
	}
}

func TestRegistryRoutesFollowDevices(t *testing.T) {
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	r := NewRegistry()
	r.PutBed(Bed{ID: "bed-1", AgencyID: "agency-1"})
	decode := func(topic, payload string) string {
		got, err := r.Decode(Message{Topic: topic, Payload: []byte(payload), Received: at}, nil)
		return summary(got, err, at)
	}
	r.PutDevice(Device{ID: "radar-1", BedID: "bed-1", Kind: KindVitalsMonitor, Format: FormatESPHome, Source: "old-radar"})
	if got := decode("old-radar/status", "online"); got != "radar-1 availability online=true" {
		t.Fatalf("Decode(old-radar/status) = %s", got)
	}
	// A new source replaces the old route.
	r.PutDevice(Device{ID: "radar-1", BedID: "bed-1", Kind: KindVitalsMonitor, Format: FormatESPHome, Source: "new-radar"})
	if got := decode("new-radar/status", "online"); got != "radar-1 availability online=true" {
		t.Errorf("Decode(new-radar/status) = %s, want radar-1", got)
	}
	if got := decode("old-radar/status", "online"); got != "unknown_topic" {
		t.Errorf("Decode(old-radar/status) after the move = %s, want unknown_topic", got)
	}
	// Another device taking a source keeps it when the first is removed.
	r.PutDevice(Device{ID: "radar-2", BedID: "bed-1", Kind: KindVitalsMonitor, Format: FormatESPHome, Source: "new-radar"})
	r.RemoveDevice("radar-1")
	if got := decode("new-radar/status", "online"); got != "radar-2 availability online=true" {
		t.Errorf("Decode(new-radar/status) = %s, want radar-2", got)
	}
	r.RemoveDevice("radar-2")
	if n := len(r.routes.prefix); n != 0 {
		t.Errorf("routes left after every device was removed = %d, want 0", n)
	}
	// A format change moves the device out of its old index.
	r.PutDevice(Device{ID: "s-1", BedID: "bed-1", Kind: KindVitalsMonitor, Format: FormatSenML, Source: "lab/s-1"})
	r.PutDevice(Device{ID: "s-1", BedID: "bed-1", Kind: KindVitalsMonitor, Format: FormatNative, Source: "lab/s-1"})
	if len(r.routes.exact) != 0 {
		t.Errorf("exact routes after a change to native = %v, want none", r.routes.exact)
	}
}
