package devices

import (
	"encoding/json"
	"strings"
	"time"
)

// DecodeZigbee2MQTT decodes one Zigbee2MQTT state message (the JSON object
// published on <base>/<friendly name>) from a device of the given kind,
// received at received, into our canonical fields.
//
// A state message is the device's full cached state, not a delta: a
// battery report repeats the last sos:true. The Reading therefore says
// what is true now; Edges turns a stream of Readings into transitions.
//
// Mapping (Zigbee2MQTT key -> our field):
//
//   - action (momentary, never cached): emergency, sos, single, double,
//     hold (Heiman SOS buttons call for help on any press) ->
//     action=press. "" and null (Home Assistant's legacy action reset),
//     Heiman's off (the zone alarm bit cleared: neither a press nor a
//     caregiver's cancel) and every other string (a button's left, a
//     cube's shake) are tolerated and give no field.
//   - sos (level) -> sos.
//   - fall_down_status none|maybe_fall|fall, fall_status
//     normal|fall_warning|fall_alarm -> state normal|suspected|fall; any
//     other value is ReasonInvalidValue. For a fall_sensor, OWON's status
//     falling -> fall and low_posture (someone low near the floor: a fall
//     until someone checks) -> suspected; unoccupied, occupied, sitting
//     and on_the_bed -> normal; anything else ("Unknown (7)") gives no
//     state, since an unknown code is not an all-clear. When several keys
//     are present the gravest state wins.
//   - contact (true = CLOSED) -> door_open = !contact; water_leak, smoke,
//     gas -> same names. While a gas sensor reports preheat:true its
//     gas:false is not an all-clear and is left out (gas:true is kept).
//   - occupancy, presence -> in_bed for a vitals_monitor (bed strap or
//     pressure pad), motion for every other kind; the bed's pressure_state
//     and work_state also give in_bed: presence, presence_5min,
//     presence_30min (also present, occupied, in_bed) -> true; none,
//     none_5min, none_30min (also absent, unoccupied, out_of_bed) -> false;
//     other values give nothing. When sources disagree, true wins: a
//     person seen by any sensor is there.
//   - temperature -> temp_c (ambient, -40..85 °C) and humidity (0..100),
//     except for a vitals_monitor, whose rules read temp_c as body
//     temperature (no Zigbee definition reports one).
//   - status extras in the same Reading: battery (0..100), battery_low,
//     tamper, linkquality (0..255), self_test (from test: a smoke alarm's
//     test button) and preheat.
//   - last_seen, an ISO 8601 string or a number of Unix milliseconds ->
//     Reading.Time. Before 2015 or unreadable gives the zero time (the
//     caller uses the receive time); later than received+MaxFutureSkew is
//     ReasonFutureTime.
//
// null means unknown: the field is left out, never false. A missing key
// changes nothing. Unknown keys (update, device, trouble, ac_status,
// static_dwell_alarm, ...) are tolerated unchecked. A known key of the
// wrong JSON type is ReasonWrongType naming the Zigbee2MQTT key, a number
// outside its range ReasonOutOfRange. A key given twice keeps its last
// copy, as Zigbee2MQTT's own JSON.parse does.
//
// Reading.Stream is the kind's stream (sos_button: sos, fall_sensor: fall,
// vitals_monitor: vitals, the others: env) when the message carries a field
// of that stream, else the first stream among sos, fall, vitals, env whose
// field it carries, else status (a battery report). A zero-length payload
// is a retained deletion: a Reading with no fields and no error. Fields
// come in the order: action, sos, state, in_bed, door_open, smoke, gas,
// water_leak, motion, temp_c, humidity, battery, battery_low, tamper,
// linkquality, self_test, preheat.
func DecodeZigbee2MQTT(kind Kind, payload []byte, received time.Time) (Reading, error) {
	home, ok := zigbee2MQTTStream(kind)
	if !ok {
		return Reading{}, Reject(ReasonInvalidValue, "", "kind %s is not read from Zigbee2MQTT", quote(string(kind)))
	}
	if len(payload) > MaxPayload {
		return Reading{}, Reject(ReasonOversized, "", "payload of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	if len(payload) == 0 {
		return Reading{Stream: home}, nil
	}
	obj, err := jsonObject(payload)
	if err != nil {
		return Reading{}, err
	}
	return z2mState{kind: kind, obj: obj}.reading(home, received)
}

// DecodeZigbee2MQTTAction decodes the plain-text payload of
// <base>/<name>/action (Zigbee2MQTT publishes it next to the JSON state
// when Home Assistant integration is on). The press rule is the one of
// DecodeZigbee2MQTT: a press gives a StreamSOS Reading with action=press,
// anything else a StreamSOS Reading with no field.
//
// The same press arrives twice, once in the JSON state and once here: the
// caller must count it once (same device, within two seconds), which
// Edges.Step does.
func DecodeZigbee2MQTTAction(payload []byte) (Reading, error) {
	if len(payload) > MaxPayload {
		return Reading{}, Reject(ReasonOversized, "", "payload of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	r := Reading{Stream: StreamSOS}
	if isPress(string(trimASCIISpace(payload))) {
		r.Fields = []Field{StringField("action", "press")}
	}
	return r, nil
}

// DecodeZigbee2MQTTAttribute decodes one plain-text property published on
// <base>/<name>/<property> in Zigbee2MQTT's attribute output mode
// (advanced.output: attribute or attribute_and_json): true, false, a
// number, null, or bare text for an enum. It maps the property as
// DecodeZigbee2MQTT would map {"<property>": <value>}.
func DecodeZigbee2MQTTAttribute(kind Kind, property string, payload []byte, received time.Time) (Reading, error) {
	if property == "action" {
		return DecodeZigbee2MQTTAction(payload)
	}
	home, ok := zigbee2MQTTStream(kind)
	if !ok {
		return Reading{}, Reject(ReasonInvalidValue, "", "kind %s is not read from Zigbee2MQTT", quote(string(kind)))
	}
	if len(payload) > MaxPayload {
		return Reading{}, Reject(ReasonOversized, "", "payload of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	if len(payload) == 0 {
		return Reading{Stream: home}, nil
	}
	v := trimASCIISpace(payload)
	raw := json.RawMessage(v)
	if len(v) == 0 || !json.Valid(v) || v[0] == '{' || v[0] == '[' || v[0] == '"' {
		raw, _ = json.Marshal(string(v)) // bare text is an enum value
	}
	return z2mState{kind: kind, obj: map[string]json.RawMessage{property: raw}}.reading(home, received)
}

// zigbee2MQTTStream is the stream a kind's readings belong to.
func zigbee2MQTTStream(kind Kind) (Stream, bool) {
	switch kind {
	case KindSOSButton:
		return StreamSOS, true
	case KindFallSensor:
		return StreamFall, true
	case KindVitalsMonitor:
		return StreamVitals, true
	case KindDoorSensor, KindMotionSensor, KindSmokeAlarm, KindGasAlarm, KindWaterLeak, KindClimate:
		return StreamEnv, true
	}
	return "", false
}

// isPress reports whether an action value calls for help.
func isPress(action string) bool {
	switch strings.ToLower(action) {
	case "emergency", "sos", "single", "double", "hold":
		return true
	}
	return false
}

// z2mState is one decoded state object.
type z2mState struct {
	kind Kind
	obj  map[string]json.RawMessage
}

func (s z2mState) reading(home Stream, received time.Time) (Reading, error) {
	t, err := s.lastSeen(received)
	if err != nil {
		return Reading{}, err
	}
	var l fieldList
	l.put(s.action())
	l.put(s.boolField("sos", "sos", false))
	l.put(s.fallState())
	occ, occOK, occErr := s.occupancy()
	if s.kind == KindVitalsMonitor {
		l.put(occ, occOK, occErr)
	}
	l.put(s.boolField("contact", "door_open", true))
	l.put(s.boolField("smoke", "smoke", false))
	l.put(s.gas())
	l.put(s.boolField("water_leak", "water_leak", false))
	if s.kind != KindVitalsMonitor {
		l.put(occ, occOK, occErr)
		l.put(s.number("temperature", "temp_c", -40, 85))
	}
	l.put(s.number("humidity", "humidity", 0, 100))
	l.put(s.number("battery", "battery", 0, 100))
	l.put(s.boolField("battery_low", "battery_low", false))
	l.put(s.boolField("tamper", "tamper", false))
	l.put(s.number("linkquality", "linkquality", 0, 255))
	l.put(s.boolField("test", "self_test", false))
	l.put(s.boolField("preheat", "preheat", false))
	if l.err != nil {
		return Reading{}, l.err
	}
	fields := l.buf[:l.n]
	r := Reading{Stream: pickStream(home, fields), Time: t}
	if len(fields) > 0 {
		r.Fields = make([]Field, len(fields))
		copy(r.Fields, fields)
	}
	return r, nil
}

// fieldList collects fields until the first error.
type fieldList struct {
	buf [17]Field
	n   int
	err error
}

func (l *fieldList) put(f Field, ok bool, err error) {
	switch {
	case l.err != nil:
	case err != nil:
		l.err = err
	case ok:
		l.buf[l.n] = f
		l.n++
	}
}

// fieldStream is the stream a canonical field belongs to; status fields
// ride along with any stream.
func fieldStream(name string) Stream {
	switch name {
	case "action", "sos":
		return StreamSOS
	case "state":
		return StreamFall
	case "in_bed":
		return StreamVitals
	case "door_open", "smoke", "gas", "water_leak", "motion", "temp_c", "humidity":
		return StreamEnv
	}
	return StreamStatus
}

func pickStream(home Stream, fields []Field) Stream {
	var has [4]bool // sos, fall, vitals, env
	order := [4]Stream{StreamSOS, StreamFall, StreamVitals, StreamEnv}
	for _, f := range fields {
		st := fieldStream(f.Name)
		if st == home {
			return home
		}
		for i, o := range order {
			if st == o {
				has[i] = true
			}
		}
	}
	for i, o := range order {
		if has[i] {
			return o
		}
	}
	return StreamStatus
}
