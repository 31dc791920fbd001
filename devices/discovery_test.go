package devices

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseBridgeDevices(t *testing.T) {
	payload, err := os.ReadFile(filepath.Join("testdata", "discovery", "bridge-devices.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseBridgeDevices("z2m/home-17", payload)
	if err != nil {
		t.Fatalf("ParseBridgeDevices(bridge-devices.json) = %v", err)
	}
	want := []struct {
		ieee, name, model, vendor string
		kind                      Kind
	}{
		{"0x0c4314fffe03c247", "Bedroom/SOS button", "TS0215A_sos", "Tuya", KindSOSButton},
		{"0xa4c138f2e1d0c9b8", "Bed strap", "TS0601_bed_presence_sensor", "Tuya", KindVitalsMonitor},
		{"0xa4c1384bd3c2a1f0", "Bathroom radar", "MIR-HE200-TY", "Tuya", KindFallSensor},
		{"0x00158d0001e3f4a5", "Front door", "TS0203", "Tuya", KindDoorSensor},
		{"0x000d6f0012061ee7", "Kitchen smoke", "HS1SA", "HEIMAN", KindSmokeAlarm},
		{"0x00158d00028208ae", "Kitchen leak", "SJCGQ11LM", "Aqara", KindWaterLeak},
		{"0x00158d0001a1b2c3", "Hallway PIR", "RTCGQ11LM", "Aqara", KindMotionSensor},
		{"0x00158d0001c2d3e4", "Living room climate", "WSDCGQ11LM", "Aqara", KindClimate},
		{"0xa4c138aabbccddee", "Kettle plug", "TS011F_plug_1", "Tuya", ""},
		{"0x70b3d52b6001a2b3", "0x70b3d52b6001a2b3", "FDS315", "OWON", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("ParseBridgeDevices(bridge-devices.json) = %d devices, want %d (the coordinator skipped)", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		wd := Discovered{ID: w.ieee, Source: "z2m/home-17/" + w.name, FriendlyName: w.name, IEEE: w.ieee, Model: w.model,
			Vendor: w.vendor, Kind: w.kind, Format: FormatZigbee2MQTT, Via: ViaZigbee2MQTT,
			Availability: "z2m/home-17/" + w.name + "/availability"}
		if w.kind == "" {
			wd.Note = g.Note
			if g.Note == "" {
				t.Errorf("device %s: Kind empty without a Note", w.ieee)
			}
		}
		if !reflect.DeepEqual(g, wd) {
			t.Errorf("ParseBridgeDevices()[%d] = %+v, want %+v", i, g, wd)
		}
	}

	bad := []struct {
		name, payload string
		reason        Reason
		field         string
	}{
		{"object", `{"devices":[]}`, ReasonWrongType, ""},
		{"broken", `[{"ieee_address":`, ReasonMalformed, ""},
		{"wrong field type", `[{"ieee_address":"0x1","friendly_name":7}]`, ReasonWrongType, "friendly_name"},
		{"whitespace", ` `, ReasonEmpty, ""},
	}
	for _, b := range bad {
		_, err := ParseBridgeDevices("zigbee2mqtt", []byte(b.payload))
		var re *RejectError
		if !errors.As(err, &re) || re.Reason != b.reason || re.Field != b.field {
			t.Errorf("%s: ParseBridgeDevices(%q) = %v, want reject %s field %q", b.name, b.payload, err, b.reason, b.field)
		}
	}
	if got, err := ParseBridgeDevices("zigbee2mqtt", nil); got != nil || err != nil {
		t.Errorf("ParseBridgeDevices(retained deletion) = %v, %v, want nil, nil", got, err)
	}
}

func TestParseHADiscovery(t *testing.T) {
	tests := []struct {
		name, topic, payload string
		want                 Discovered
		deleted              bool
		reason               Reason
		field                string
	}{
		{name: "abbreviated keys and tilde", topic: "homeassistant/binary_sensor/bed17/sos/config",
			payload: `{"~":"carebed/bed17","stat_t":"~/sos","avty_t":"~/status","dev_cla":"safety","uniq_id":"bed17_sos",` +
				`"dev":{"ids":["esp-bed17"],"mdl":"SOS pull cord","mf":"Acme","name":"Bed 17 cord"},"o":{"name":"ESPHome"}}`,
			want: Discovered{ID: "esp-bed17", Source: "carebed/bed17/sos", Availability: "carebed/bed17/status", FriendlyName: "Bed 17 cord",
				Model: "SOS pull cord", Vendor: "Acme", Kind: KindSOSButton, Format: FormatESPHome, Via: ViaHomeAssistant}},
		{name: "tilde at the end, identifiers as a string", topic: "homeassistant/binary_sensor/door/config",
			payload: `{"~":"hall","stat_t":"state/~","dev_cla":"door","dev":{"ids":"door-1"}}`,
			want:    Discovered{ID: "door-1", Source: "state/hall", Kind: KindDoorSensor, Via: ViaHomeAssistant}},
		{name: "full key wins over abbreviation", topic: "homeassistant/binary_sensor/x/config",
			payload: `{"stat_t":"a","state_topic":"b","dev_cla":"smoke","uniq_id":"x1"}`,
			want:    Discovered{ID: "x1", Source: "b", Kind: KindSmokeAlarm, Via: ViaHomeAssistant}},
		{name: "kind from value_template", topic: "homeassistant/sensor/0xa4c1384bd3c2a1f0/fall_down_status/config",
			payload: `{"state_topic":"zigbee2mqtt/Bathroom radar","value_template":"{{ value_json.fall_down_status }}","device":{"identifiers":["zigbee2mqtt_0xa4c1384bd3c2a1f0"],"name":"Bathroom radar"}}`,
			want: Discovered{ID: "0xa4c1384bd3c2a1f0", IEEE: "0xa4c1384bd3c2a1f0", Source: "zigbee2mqtt/Bathroom radar", FriendlyName: "Bathroom radar",
				Kind: KindFallSensor, Format: FormatZigbee2MQTT, Via: ViaHomeAssistant}},
		{name: "tamper is not a kind", topic: "homeassistant/binary_sensor/0x00158d0001e3f4a5/tamper/config",
			payload: `{"dev_cla":"tamper","stat_t":"zigbee2mqtt/Front door"}`,
			want: Discovered{ID: "0x00158d0001e3f4a5", IEEE: "0x00158d0001e3f4a5", Source: "zigbee2mqtt/Front door", Via: ViaHomeAssistant,
				Note: "device class tamper is an attribute of a device, not what it is for"}},
		{name: "moisture", topic: "homeassistant/binary_sensor/leak/config", payload: `{"device_class":"moisture"}`,
			want: Discovered{ID: "leak", Kind: KindWaterLeak, Via: ViaHomeAssistant}},
		{name: "occupancy", topic: "homeassistant/binary_sensor/pir/config", payload: `{"device_class":"occupancy"}`,
			want: Discovered{ID: "pir", Kind: KindMotionSensor, Via: ViaHomeAssistant}},
		{name: "gas", topic: "homeassistant/binary_sensor/gas/config", payload: `{"device_class":"gas"}`,
			want: Discovered{ID: "gas", Kind: KindGasAlarm, Via: ViaHomeAssistant}},
		{name: "removal", topic: "homeassistant/binary_sensor/0x00158d0001a2b3c4/sos/config", payload: ``, deleted: true,
			want: Discovered{ID: "0x00158d0001a2b3c4", IEEE: "0x00158d0001a2b3c4", Via: ViaHomeAssistant}},
		{name: "not a config topic", topic: "homeassistant/binary_sensor/x/state", payload: `{}`, reason: ReasonUnknownTopic},
		{name: "too many levels", topic: "homeassistant/a/b/c/d/config", payload: `{}`, reason: ReasonUnknownTopic},
		{name: "wrong type", topic: "homeassistant/binary_sensor/x/config", payload: `{"dev_cla":1}`, reason: ReasonWrongType, field: "device_class"},
		{name: "wrong device type", topic: "homeassistant/binary_sensor/x/config", payload: `{"dev":{"mdl":2}}`, reason: ReasonWrongType, field: "device.model"},
		{name: "not an object", topic: "homeassistant/binary_sensor/x/config", payload: `"x"`, reason: ReasonWrongType},
		{name: "broken", topic: "homeassistant/binary_sensor/x/config", payload: `{"a"`, reason: ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, deleted, err := ParseHADiscovery(tt.topic, []byte(tt.payload))
			if tt.reason != "" {
				var re *RejectError
				if !errors.As(err, &re) || re.Reason != tt.reason || re.Field != tt.field {
					t.Errorf("ParseHADiscovery(%q, %q) = %v, want reject %s field %q", tt.topic, tt.payload, err, tt.reason, tt.field)
				}
				return
			}
			if err != nil || deleted != tt.deleted || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseHADiscovery(%q, %q) = %+v, %v, %v, want %+v, %v", tt.topic, tt.payload, got, deleted, err, tt.want, tt.deleted)
			}
		})
	}
}

func FuzzParseHADiscovery(f *testing.F) {
	for _, fx := range readZ2MFixtures(f) {
		if fx.DeviceKind == "discovery" {
			f.Add(fx.Topic, []byte(fx.Payload))
		}
	}
	f.Add("homeassistant/binary_sensor/x/config", []byte(`{"~":"a","stat_t":"~/b","dev":{"ids":"i"},"avty":[{"t":"~/s"}]}`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		d, deleted, err := ParseHADiscovery(topic, payload)
		if err != nil {
			var re *RejectError
			if !errors.As(err, &re) {
				t.Fatalf("ParseHADiscovery(%q, %q) = %v, want a *RejectError", topic, payload, err)
			}
			return
		}
		if deleted != (len(payload) == 0) || d.Via != ViaHomeAssistant || d.Kind != "" && !d.Kind.Valid() {
			t.Fatalf("ParseHADiscovery(%q, %q) = %+v, %v", topic, payload, d, deleted)
		}
	})
}

func FuzzParseBridgeDevices(f *testing.F) {
	payload, err := os.ReadFile(filepath.Join("testdata", "discovery", "bridge-devices.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(payload)
	f.Add([]byte(`[{"ieee_address":"0x1","definition":{"exposes":[{"features":[{"property":"sos"}]}]}}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		list, err := ParseBridgeDevices("zigbee2mqtt", payload)
		if err != nil {
			var re *RejectError
			if !errors.As(err, &re) {
				t.Fatalf("ParseBridgeDevices(%q) = %v, want a *RejectError", payload, err)
			}
			return
		}
		for _, d := range list {
			if d.IEEE == "" || d.Via != ViaZigbee2MQTT || d.Kind != "" && !d.Kind.Valid() {
				t.Fatalf("ParseBridgeDevices(%q) gave %+v", payload, d)
			}
		}
	})
}
