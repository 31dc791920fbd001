package devices

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeZigbee2MQTT(t *testing.T) {
	rx := z2mReceived
	tests := []struct {
		name    string
		kind    Kind
		payload string
		want    Reading
		reason  Reason
		field   string
	}{
		{name: "emergency is a press", kind: KindSOSButton, payload: `{"action":"emergency"}`,
			want: Reading{Stream: StreamSOS, Fields: []Field{StringField("action", "press")}}},
		{name: "sos action is a press", kind: KindSOSButton, payload: `{"action":"sos"}`,
			want: Reading{Stream: StreamSOS, Fields: []Field{StringField("action", "press")}}},
		{name: "heiman single is a press", kind: KindSOSButton, payload: `{"action":"single"}`,
			want: Reading{Stream: StreamSOS, Fields: []Field{StringField("action", "press")}}},
		{name: "heiman double is a press", kind: KindSOSButton, payload: `{"action":"double"}`,
			want: Reading{Stream: StreamSOS, Fields: []Field{StringField("action", "press")}}},
		{name: "empty action is not a press", kind: KindSOSButton, payload: `{"action":""}`, want: Reading{Stream: StreamStatus}},
		{name: "null action is not a press", kind: KindSOSButton, payload: `{"action":null}`, want: Reading{Stream: StreamStatus}},
		{name: "heiman off is not a press", kind: KindSOSButton, payload: `{"action":"off"}`, want: Reading{Stream: StreamStatus}},
		{name: "other action tolerated", kind: KindSOSButton, payload: `{"action":"shake"}`, want: Reading{Stream: StreamStatus}},
		{name: "action of wrong type", kind: KindSOSButton, payload: `{"action":1}`, reason: ReasonWrongType, field: "action"},
		{name: "sos level", kind: KindSOSButton, payload: `{"sos":false,"battery":50}`,
			want: Reading{Stream: StreamSOS, Fields: []Field{BoolField("sos", false), FloatField("battery", 50)}}},
		{name: "sos null is unknown, not false", kind: KindSOSButton, payload: `{"sos":null,"battery":50}`,
			want: Reading{Stream: StreamStatus, Fields: []Field{FloatField("battery", 50)}}},
		{name: "sos of wrong type", kind: KindSOSButton, payload: `{"sos":"true"}`, reason: ReasonWrongType, field: "sos"},
		{name: "contact true is closed", kind: KindDoorSensor, payload: `{"contact":true}`,
			want: Reading{Stream: StreamEnv, Fields: []Field{BoolField("door_open", false)}}},
		{name: "contact false is open", kind: KindDoorSensor, payload: `{"contact":false}`,
			want: Reading{Stream: StreamEnv, Fields: []Field{BoolField("door_open", true)}}},
		{name: "contact null is unknown", kind: KindDoorSensor, payload: `{"contact":null}`, want: Reading{Stream: StreamStatus}},
		{name: "contact of wrong type", kind: KindDoorSensor, payload: `{"contact":1}`, reason: ReasonWrongType, field: "contact"},
		{name: "fall_status alarm", kind: KindFallSensor, payload: `{"fall_status":"fall_alarm"}`,
			want: Reading{Stream: StreamFall, Fields: []Field{StringField("state", "fall")}}},
		{name: "fall_status warning", kind: KindFallSensor, payload: `{"fall_status":"fall_warning"}`,
			want: Reading{Stream: StreamFall, Fields: []Field{StringField("state", "suspected")}}},
		{name: "fall_status normal", kind: KindFallSensor, payload: `{"fall_status":"normal"}`,
			want: Reading{Stream: StreamFall, Fields: []Field{StringField("state", "normal")}}},
		{name: "gravest fall key wins", kind: KindFallSensor, payload: `{"fall_status":"normal","fall_down_status":"maybe_fall"}`,
			want: Reading{Stream: StreamFall, Fields: []Field{StringField("state", "suspected")}}},
		{name: "unknown fall_down_status", kind: KindFallSensor, payload: `{"fall_down_status":"lying"}`, reason: ReasonInvalidValue, field: "fall_down_status"},
		{name: "owon low_posture is suspected", kind: KindFallSensor, payload: `{"status":"low_posture"}`,
			want: Reading{Stream: StreamFall, Fields: []Field{StringField("state", "suspected")}}},
		{name: "owon on_the_bed is normal", kind: KindFallSensor, payload: `{"status":"on_the_bed"}`,
			want: Reading{Stream: StreamFall, Fields: []Field{StringField("state", "normal")}}},
		{name: "status of a non-fall kind is ignored", kind: KindSmokeAlarm, payload: `{"status":"falling"}`, want: Reading{Stream: StreamStatus}},
		{name: "bed occupancy", kind: KindVitalsMonitor, payload: `{"occupancy":true}`,
			want: Reading{Stream: StreamVitals, Fields: []Field{BoolField("in_bed", true)}}},
		{name: "bed work_state alone", kind: KindVitalsMonitor, payload: `{"work_state":"presence_5min"}`,
			want: Reading{Stream: StreamVitals, Fields: []Field{BoolField("in_bed", true)}}},
		{name: "bed pressure_state none", kind: KindVitalsMonitor, payload: `{"pressure_state":"none"}`,
			want: Reading{Stream: StreamVitals, Fields: []Field{BoolField("in_bed", false)}}},
		{name: "bed pressure_state binary", kind: KindVitalsMonitor, payload: `{"pressure_state":true}`,
			want: Reading{Stream: StreamVitals, Fields: []Field{BoolField("in_bed", true)}}},
		{name: "bed temperature is not body temperature", kind: KindVitalsMonitor, payload: `{"temperature":21}`, want: Reading{Stream: StreamStatus}},
		{name: "motion from presence", kind: KindMotionSensor, payload: `{"presence":false}`,
			want: Reading{Stream: StreamEnv, Fields: []Field{BoolField("motion", false)}}},
		{name: "any sensor seeing someone wins", kind: KindMotionSensor, payload: `{"presence":false,"occupancy":true}`,
			want: Reading{Stream: StreamEnv, Fields: []Field{BoolField("motion", true)}}},
		{name: "water smoke gas", kind: KindWaterLeak, payload: `{"water_leak":true,"smoke":false,"gas":false}`,
			want: Reading{Stream: StreamEnv, Fields: []Field{BoolField("smoke", false), BoolField("gas", false), BoolField("water_leak", true)}}},
		{name: "gas leak during preheat is kept", kind: KindGasAlarm, payload: `{"gas":true,"preheat":true}`,
			want: Reading{Stream: StreamEnv, Fields: []Field{BoolField("gas", true), BoolField("preheat", true)}}},
		{name: "climate", kind: KindClimate, payload: `{"temperature":21.5,"humidity":45}`,
			want: Reading{Stream: StreamEnv, Fields: []Field{FloatField("temp_c", 21.5), FloatField("humidity", 45)}}},
		{name: "temperature out of range", kind: KindClimate, payload: `{"temperature":120}`, reason: ReasonOutOfRange, field: "temperature"},
		{name: "humidity huge", kind: KindClimate, payload: `{"humidity":1e400}`, reason: ReasonOutOfRange, field: "humidity"},
		{name: "battery over 100", kind: KindSOSButton, payload: `{"battery":101}`, reason: ReasonOutOfRange, field: "battery"},
		{name: "battery of wrong type", kind: KindSOSButton, payload: `{"battery":"90"}`, reason: ReasonWrongType, field: "battery"},
		{name: "linkquality", kind: KindSOSButton, payload: `{"linkquality":255,"tamper":true,"battery_low":true}`,
			want: Reading{Stream: StreamStatus, Fields: []Field{BoolField("battery_low", true), BoolField("tamper", true), FloatField("linkquality", 255)}}},
		{name: "kind's stream first", kind: KindFallSensor, payload: `{"occupancy":true,"fall_down_status":"none"}`,
			want: Reading{Stream: StreamFall, Fields: []Field{StringField("state", "normal"), BoolField("motion", true)}}},
		{name: "foreign stream when the kind's is absent", kind: KindFallSensor, payload: `{"occupancy":true}`,
			want: Reading{Stream: StreamEnv, Fields: []Field{BoolField("motion", true)}}},
		{name: "unknown keys tolerated", kind: KindSmokeAlarm, payload: `{"update":{"state":"idle","installed_version":1},"trouble":false,"ac_status":true,"device":{"ieeeAddr":"0x1"},"smoke":false}`,
			want: Reading{Stream: StreamEnv, Fields: []Field{BoolField("smoke", false)}}},
		{name: "empty object", kind: KindSOSButton, payload: `{}`, want: Reading{Stream: StreamStatus}},
		{name: "retained deletion", kind: KindSOSButton, payload: ``, want: Reading{Stream: StreamSOS}},
		{name: "last_seen ms", kind: KindSOSButton, payload: `{"last_seen":1780272000000}`,
			want: Reading{Stream: StreamStatus, Time: time.UnixMilli(1780272000000).UTC()}},
		{name: "last_seen 5 min ahead kept", kind: KindSOSButton, payload: `{"last_seen":"2026-06-01T00:05:00Z"}`,
			want: Reading{Stream: StreamStatus, Time: rx.Add(5 * time.Minute)}},
		{name: "last_seen future", kind: KindSOSButton, payload: `{"last_seen":"2026-06-01T00:05:01Z"}`, reason: ReasonFutureTime, field: "last_seen"},
		{name: "last_seen ms future", kind: KindSOSButton, payload: `{"last_seen":99999999999999999}`, reason: ReasonFutureTime, field: "last_seen"},
		{name: "last_seen before 2015 is no time", kind: KindSOSButton, payload: `{"last_seen":1000}`, want: Reading{Stream: StreamStatus}},
		{name: "last_seen unreadable is no time", kind: KindSOSButton, payload: `{"last_seen":"yesterday"}`, want: Reading{Stream: StreamStatus}},
		{name: "last_seen of wrong type", kind: KindSOSButton, payload: `{"last_seen":true}`, reason: ReasonWrongType, field: "last_seen"},
		{name: "duplicate key: last wins", kind: KindSOSButton, payload: `{"sos":true,"sos":false}`,
			want: Reading{Stream: StreamSOS, Fields: []Field{BoolField("sos", false)}}},
		{name: "array payload", kind: KindSOSButton, payload: `[1]`, reason: ReasonWrongType},
		{name: "plain text payload", kind: KindSOSButton, payload: `online`, reason: ReasonMalformed},
		{name: "broken JSON", kind: KindSOSButton, payload: `{"sos":tru}`, reason: ReasonMalformed},
		{name: "whitespace only", kind: KindSOSButton, payload: " \n", reason: ReasonEmpty},
		{name: "oversized", kind: KindSOSButton, payload: `{"x":"` + strings.Repeat("a", MaxPayload) + `"}`, reason: ReasonOversized},
		{name: "kind not read from zigbee2mqtt", kind: KindHub, payload: `{}`, reason: ReasonInvalidValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeZigbee2MQTT(tt.kind, []byte(tt.payload), rx)
			checkReading(t, "DecodeZigbee2MQTT", tt.payload, got, err, tt.want, tt.reason, tt.field)
		})
	}
}

// checkReading compares a decoder's result with the wanted Reading or
// rejection.
func checkReading(t *testing.T, fn, in string, got Reading, err error, want Reading, reason Reason, field string) {
	t.Helper()
	if len(in) > 80 {
		in = in[:80] + "..."
	}
	if reason != "" {
		var re *RejectError
		if !errors.As(err, &re) || re.Reason != reason || re.Field != field {
			t.Errorf("%s(%q) = %v, want reject %s field %q", fn, in, err, reason, field)
		}
		return
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%s(%q) = %+v, %v, want %+v", fn, in, got, err, want)
	}
}

func TestDecodeZigbee2MQTTAction(t *testing.T) {
	press := Reading{Stream: StreamSOS, Fields: []Field{StringField("action", "press")}}
	none := Reading{Stream: StreamSOS}
	tests := []struct {
		name, payload string
		want          Reading
	}{
		{"emergency", "emergency", press},
		{"trailing newline", "emergency\n", press},
		{"hold", "hold", press},
		{"off", "off", none},
		{"empty", "", none},
		{"other", "arrow_left_click", none},
	}
	for _, tt := range tests {
		got, err := DecodeZigbee2MQTTAction([]byte(tt.payload))
		checkReading(t, "DecodeZigbee2MQTTAction", tt.payload, got, err, tt.want, "", "")
	}
}

func TestDecodeZigbee2MQTTAttribute(t *testing.T) {
	tests := []struct {
		name, property, payload string
		kind                    Kind
		want                    Reading
		reason                  Reason
	}{
		{name: "leak true", property: "water_leak", payload: "true", kind: KindWaterLeak,
			want: Reading{Stream: StreamEnv, Fields: []Field{BoolField("water_leak", true)}}},
		{name: "contact false", property: "contact", payload: "false", kind: KindDoorSensor,
			want: Reading{Stream: StreamEnv, Fields: []Field{BoolField("door_open", true)}}},
		{name: "bare enum", property: "fall_down_status", payload: "maybe_fall", kind: KindFallSensor,
			want: Reading{Stream: StreamFall, Fields: []Field{StringField("state", "suspected")}}},
		{name: "number as text", property: "battery", payload: "42", kind: KindSOSButton,
			want: Reading{Stream: StreamStatus, Fields: []Field{FloatField("battery", 42)}}},
		{name: "action", property: "action", payload: "emergency", kind: KindSOSButton,
			want: Reading{Stream: StreamSOS, Fields: []Field{StringField("action", "press")}}},
		{name: "bool as text is wrong type", property: "water_leak", payload: "ON", kind: KindWaterLeak, reason: ReasonWrongType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeZigbee2MQTTAttribute(tt.kind, tt.property, []byte(tt.payload), z2mReceived)
			field := ""
			if tt.reason != "" {
				field = tt.property
			}
			checkReading(t, "DecodeZigbee2MQTTAttribute", tt.property+"="+tt.payload, got, err, tt.want, tt.reason, field)
		})
	}
}

func TestDecodeAvailability(t *testing.T) {
	tests := []struct {
		name, payload   string
		online, deleted bool
		reason          Reason
		field           string
	}{
		{name: "z2m 2.x online", payload: `{"state":"online"}`, online: true},
		{name: "z2m 2.x offline", payload: `{"state":"offline"}`},
		{name: "z2m 2.x extra keys", payload: ` {"state":"ONLINE","since":1} `, online: true},
		{name: "plain online", payload: "online", online: true},
		{name: "plain offline with newline", payload: "offline\r\n"},
		{name: "tasmota Online", payload: "Online", online: true},
		{name: "tasmota Offline", payload: "Offline"},
		{name: "empty retained payload is a deletion", payload: "", deleted: true},
		{name: "whitespace", payload: "  ", reason: ReasonEmpty},
		{name: "other word", payload: "connected", reason: ReasonInvalidValue},
		{name: "json other word", payload: `{"state":"up"}`, reason: ReasonInvalidValue, field: "state"},
		{name: "json state missing", payload: `{"status":"online"}`, reason: ReasonInvalidValue, field: "state"},
		{name: "json state null", payload: `{"state":null}`, reason: ReasonInvalidValue, field: "state"},
		{name: "json state wrong type", payload: `{"state":true}`, reason: ReasonWrongType, field: "state"},
		{name: "broken json", payload: `{"state":`, reason: ReasonMalformed},
		{name: "json array", payload: `["online"]`, reason: ReasonInvalidValue},
		{name: "oversized", payload: strings.Repeat(" ", MaxPayload+1), reason: ReasonOversized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			online, deleted, err := DecodeAvailability([]byte(tt.payload))
			if tt.reason != "" {
				var re *RejectError
				if !errors.As(err, &re) || re.Reason != tt.reason || re.Field != tt.field {
					t.Errorf("DecodeAvailability(%q) = %v, want reject %s field %q", tt.payload, err, tt.reason, tt.field)
				}
				return
			}
			if err != nil || online != tt.online || deleted != tt.deleted {
				t.Errorf("DecodeAvailability(%q) = %v, %v, %v, want %v, %v", tt.payload, online, deleted, err, tt.online, tt.deleted)
			}
		})
	}
}

func TestParseZigbee2MQTTTopic(t *testing.T) {
	tests := []struct {
		name, base, topic string
		wantName, wantSub string
		ok                bool
	}{
		{"state", "zigbee2mqtt", "zigbee2mqtt/Front door", "Front door", "", true},
		{"name with slash", "zigbee2mqtt", "zigbee2mqtt/Bedroom/SOS button", "Bedroom/SOS button", "", true},
		{"availability", "zigbee2mqtt", "zigbee2mqtt/Bedroom/SOS button/availability", "Bedroom/SOS button", "availability", true},
		{"action", "z2m/home-17", "z2m/home-17/0x847127fffe0542eb/action", "0x847127fffe0542eb", "action", true},
		{"bridge state", "zigbee2mqtt", "zigbee2mqtt/bridge/state", "bridge", "state", true},
		{"bridge devices", "z2m/home-17/", "z2m/home-17/bridge/devices", "bridge", "devices", true},
		{"other base", "zigbee2mqtt", "z2m/Front door", "", "", false},
		{"base only", "zigbee2mqtt", "zigbee2mqtt/", "", "", false},
		{"empty level", "zigbee2mqtt", "zigbee2mqtt/a//b", "", "", false},
		{"wildcard", "zigbee2mqtt", "zigbee2mqtt/+/availability", "", "", false},
		{"empty name before availability", "zigbee2mqtt", "zigbee2mqtt//availability", "", "", false},
	}
	for _, tt := range tests {
		name, sub, ok := ParseZigbee2MQTTTopic(tt.base, tt.topic)
		if name != tt.wantName && tt.ok || sub != tt.wantSub && tt.ok || ok != tt.ok {
			t.Errorf("%s: ParseZigbee2MQTTTopic(%q, %q) = %q, %q, %v, want %q, %q, %v", tt.name, tt.base, tt.topic, name, sub, ok, tt.wantName, tt.wantSub, tt.ok)
		}
	}
}

func TestSplitZigbee2MQTTTopic(t *testing.T) {
	known := map[string]bool{"Bedroom": true, "Bedroom/SOS": true, "kitchen_leak": true}
	tests := []struct {
		name, topic, wantName, wantSub string
		ok                             bool
	}{
		{"longest known name", "zigbee2mqtt/Bedroom/SOS", "Bedroom/SOS", "", true},
		{"longest known name with sub", "zigbee2mqtt/Bedroom/SOS/availability", "Bedroom/SOS", "availability", true},
		{"shorter known name with attribute", "zigbee2mqtt/Bedroom/temperature", "Bedroom", "temperature", true},
		{"attribute output", "zigbee2mqtt/kitchen_leak/water_leak", "kitchen_leak", "water_leak", true},
		{"unknown falls back to shape", "zigbee2mqtt/Hall/PIR/availability", "Hall/PIR", "availability", true},
		{"bridge is never a device", "zigbee2mqtt/bridge/state", "bridge", "state", true},
	}
	for _, tt := range tests {
		name, sub, ok := SplitZigbee2MQTTTopic("zigbee2mqtt", tt.topic, func(n string) bool { return known[n] })
		if name != tt.wantName || sub != tt.wantSub || ok != tt.ok {
			t.Errorf("%s: SplitZigbee2MQTTTopic(%q) = %q, %q, %v, want %q, %q, %v", tt.name, tt.topic, name, sub, ok, tt.wantName, tt.wantSub, tt.ok)
		}
	}
}
