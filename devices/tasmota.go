package devices

import (
	"math"
	"strings"
	"time"
)

// TasmotaReading is a Reading from a Tasmota message, with what the
// registry needs to tell which device it belongs to.
type TasmotaReading struct {
	// Device is the Zigbee short address ("0x6841") of a device behind a
	// Tasmota Zigbee bridge, empty for the Tasmota node itself. Short
	// addresses change when a device rejoins: resolve them to an IEEE
	// address through the bridge before trusting them as identity.
	Device string
	// Name is the Zigbee friendly name (ZbName), when Tasmota reports one.
	Name string
	// Sensor is the key of a sensor wired to the node ("DS18B20",
	// "AM2301"), empty otherwise.
	Sensor string
	Reading
}

// tasmotaTimeLayout is Tasmota's Time: local time without an offset unless
// SetOption52 is on. Fractional seconds parse without being in the layout.
const tasmotaTimeLayout = "2006-01-02T15:04:05"

// tasmotaZigbee maps the Zigbee attributes Tasmota names in ZbReceived to
// our fields. Two-state attributes arrive as 0 or 1.
var tasmotaZigbee = map[string]string{
	"Contact":           "door_open", // 1 is OPEN, the opposite of Zigbee2MQTT's contact:true
	"Occupancy":         "motion",
	"Water":             "water_leak",
	"Fire":              "smoke",
	"Temperature":       "env.temp_c",
	"Humidity":          "humidity",
	"BatteryPercentage": "battery",
}

// tasmotaSkip lists top-level objects that are not sensors of the room:
// the chip's own temperature, and Global, which repeats other sensors.
var tasmotaSkip = [...]string{"ESP32", "ESP8266", "Global"}

// ParseTasmotaTopic splits a Tasmota telemetry topic. It knows only the
// default FullTopic "%prefix%/%topic%/" with the telemetry prefix "tele":
// tele/<topic>/LWT, tele/<topic>/SENSOR and tele/<topic>/STATE, where
// <topic> is one level (by default tasmota_<last 6 hex of the MAC>). A node
// with a custom FullTopic needs its topics mapped by the registry.
func ParseTasmotaTopic(topic string) (device, kind string, ok bool) {
	rest, ok := strings.CutPrefix(topic, "tele/")
	if !ok {
		return "", "", false
	}
	device, kind, ok = strings.Cut(rest, "/")
	switch {
	case !ok, device == "", strings.ContainsAny(device, "+#"):
		return "", "", false
	case kind == "LWT", kind == "SENSOR", kind == "STATE":
		return device, kind, true
	}
	return "", "", false
}

// DecodeTasmota decodes one Tasmota telemetry message. zone is the node's
// time zone (its Timezone setting, such as Asia/Shanghai).
//
//   - tele/<topic>/LWT: Online or Offline (any ASCII case) gives
//     BoolField("online") on StreamAvailability; a zero-length payload is a
//     retained deletion and gives one Reading with no fields.
//   - tele/<topic>/SENSOR and STATE: one JSON object. Time is the node's
//     local time without an offset, read in zone; with SetOption52 it
//     carries an offset, which is used instead. A nil zone leaves an
//     offset-less Time unread. A Time before 2015 (clock not set yet) is
//     ignored. Reading.Time is zero when there is no usable Time; a Time
//     later than received+MaxFutureSkew is ReasonFutureTime. Around a
//     daylight-saving change a local time may be ambiguous or missing;
//     time.ParseInLocation decides, as the payload cannot.
//   - Each other top-level object is a sensor of the node keyed by its
//     name: its Temperature (in TempUnit, C or F; °C by default) and
//     Humidity go to an env Reading with Sensor set. ESP32, ESP8266 (the
//     chip) and Global are skipped. Wifi.Signal (dBm) in STATE goes to a
//     status Reading as rssi.
//   - ZbReceived holds one object per Zigbee device, keyed by short address
//     or friendly name: Contact (1 is OPEN, door_open=true), Occupancy
//     (motion), Water (water_leak), Fire (smoke), Temperature (°C) and
//     Humidity go to an env Reading, BatteryPercentage to a status Reading,
//     each with Device (the Device attribute, or the key) and Name.
//
// Unknown keys are tolerated and null means unknown (the field is left
// out). A known key of the wrong JSON type is ReasonWrongType naming the
// key ("Contact", "Time"); a two-state value other than 0, 1, true or false
// is ReasonInvalidValue; values outside our ranges are ReasonOutOfRange
// naming our field. Broken JSON is ReasonMalformed, JSON that is not an
// object ReasonWrongType, an empty payload ReasonEmpty, and a topic that
// ParseTasmotaTopic refuses ReasonUnknownTopic.
func DecodeTasmota(topic string, payload []byte, zone *time.Location, received time.Time) ([]TasmotaReading, error) {
	_, kind, ok := ParseTasmotaTopic(topic)
	if !ok {
		return nil, Reject(ReasonUnknownTopic, "", "topic %s is not tele/<topic>/LWT, SENSOR or STATE", quote(topic))
	}
	if len(payload) > MaxPayload {
		return nil, Reject(ReasonOversized, "", "payload of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	if kind == "LWT" {
		online, deleted, err := DecodeAvailability(payload)
		switch {
		case err != nil:
			return nil, err
		case deleted:
			return []TasmotaReading{{Reading: Reading{Stream: StreamAvailability}}}, nil
		}
		return []TasmotaReading{{Reading: Reading{Stream: StreamAvailability, Fields: []Field{BoolField("online", online)}}}}, nil
	}
	obj, err := validJSON(payload)
	if err != nil {
		return nil, err
	}
	if obj.kind != kindObject {
		return nil, Reject(ReasonWrongType, "", "payload is a JSON %s, want an object", obj.kind)
	}
	var t tasmotaTelemetry
	if err := t.scan(obj, zone, received); err != nil {
		return nil, err
	}
	return t.readings()
}

// tasmotaTelemetry is what one SENSOR or STATE object holds.
type tasmotaTelemetry struct {
	time       time.Time
	fahrenheit bool
	wifi       rawValue
	zigbee     rawValue
	sensors    []tasmotaMember
}

type tasmotaMember struct {
	key string
	v   rawValue
}

func (t *tasmotaTelemetry) scan(obj rawValue, zone *time.Location, received time.Time) error {
	var buf [4]tasmotaMember
	t.sensors = buf[:0]
	for w := walk(obj); ; {
		key, v, ok := w.member()
		if !ok {
			return nil
		}
		k := key.text()
		switch string(k) {
		case "Time":
			if v.kind != kindString {
				return wrongType("Time", "string", v.kind)
			}
			tm, err := tasmotaTime(string(v.text()), zone, received)
			if err != nil {
				return err
			}
			t.time = tm
		case "TempUnit":
			if v.kind != kindString {
				return wrongType("TempUnit", "string", v.kind)
			}
			switch u := string(v.text()); u {
			case "C", "F":
				t.fahrenheit = u == "F"
			default:
				return Reject(ReasonInvalidValue, "TempUnit", "%s: want C or F", quote(u))
			}
		case "ZbReceived":
			if v.kind != kindObject {
				return wrongType("ZbReceived", "object", v.kind)
			}
			t.zigbee = v
		case "Wifi":
			if v.kind == kindObject {
				t.wifi = v
			}
		default:
			if v.kind == kindObject && !tasmotaSkipped(k) {
				t.sensors = append(t.sensors, tasmotaMember{key: string(k), v: v})
			}
		}
	}
}

func tasmotaSkipped(k []byte) bool {
	for _, s := range tasmotaSkip {
		if string(k) == s {
			return true
		}
	}
	return false
}

// tasmotaTime reads Time: local in zone, or with its own offset.
func tasmotaTime(s string, zone *time.Location, received time.Time) (time.Time, error) {
	var t time.Time
	var err error
	switch {
	case len(s) > len(tasmotaTimeLayout) && strings.ContainsAny(s[len(tasmotaTimeLayout):], "+-Z"):
		t, err = time.Parse(time.RFC3339Nano, s)
	case zone == nil:
		return time.Time{}, nil
	default:
		t, err = time.ParseInLocation(tasmotaTimeLayout, s, zone)
	}
	switch {
	case err != nil:
		return time.Time{}, Reject(ReasonInvalidValue, "Time", "%s: want 2006-01-02T15:04:05, local", quote(s))
	case t.UnixMilli() < minDeviceMillis:
		return time.Time{}, nil
	case t.After(received.Add(MaxFutureSkew)):
		return time.Time{}, Reject(ReasonFutureTime, "Time", "%s is %v after the receive time", quote(s), t.Sub(received).Round(time.Second))
	}
	return t.UTC(), nil
}

func (t *tasmotaTelemetry) readings() ([]TasmotaReading, error) {
	var out []TasmotaReading
	for _, s := range t.sensors {
		var rs readingSet
		for w := walk(s.v); ; {
			key, v, ok := w.member()
			if !ok {
				break
			}
			var target string
			k := key.text()
			switch string(k) {
			case "Temperature":
				target = "env.temp_c"
			case "Humidity":
				target = "humidity"
			default:
				continue
			}
			if err := t.add(&rs, target, k, v); err != nil {
				return nil, err
			}
		}
		out = t.collect(out, &rs, TasmotaReading{Sensor: s.key})
	}
	if t.wifi.kind == kindObject {
		var rs readingSet
		for w := walk(t.wifi); ; {
			key, v, ok := w.member()
			if !ok {
				break
			}
			if string(key.text()) == "Signal" {
				if err := t.add(&rs, "rssi", key.text(), v); err != nil {
					return nil, err
				}
			}
		}
		out = t.collect(out, &rs, TasmotaReading{})
	}
	if t.zigbee.kind == kindObject {
		return t.zigbeeReadings(out)
	}
	return out, nil
}

func (t *tasmotaTelemetry) zigbeeReadings(out []TasmotaReading) ([]TasmotaReading, error) {
	for w := walk(t.zigbee); ; {
		key, dev, ok := w.member()
		if !ok {
			return out, nil
		}
		id := TasmotaReading{Device: string(key.text())}
		if dev.kind != kindObject {
			return nil, wrongType(clip(id.Device), "object", dev.kind)
		}
		var rs readingSet
		for dw := walk(dev); ; {
			k, v, ok := dw.member()
			if !ok {
				break
			}
			name := k.text()
			switch string(name) {
			case "Device", "Name":
				if v.kind != kindString {
					return nil, wrongType(string(name), "string", v.kind)
				}
				if string(name) == "Device" {
					id.Device = string(v.text())
				} else {
					id.Name = string(v.text())
				}
				continue
			}
			if target, ok := tasmotaZigbee[string(name)]; ok {
				if err := t.add(&rs, target, name, v); err != nil {
					return nil, err
				}
			}
		}
		out = t.collect(out, &rs, id)
	}
}

// add checks one value for our field target; null is unknown.
func (t *tasmotaTelemetry) add(rs *readingSet, target string, key []byte, v rawValue) error {
	c, _ := lookupCanon(target)
	var f Field
	var none bool
	var err error
	switch {
	case v.kind == kindNull:
		return nil
	case v.kind == kindBool && c.spec.check == checkBool:
		f, err = c.boolean(v.b, key)
	case v.kind == kindNumber:
		x := v.number()
		if t.fahrenheit && string(key) == "Temperature" {
			x = math.Round((x-32)*5/9*1e9) / 1e9
		}
		f, none, err = c.number(x, key)
	case c.spec.check == checkBool:
		err = wrongType(string(key), "0 or 1", v.kind)
	default:
		err = wrongType(string(key), "number", v.kind)
	}
	if err != nil {
		return err
	}
	rs.add(c, time.Time{}, f, none)
	return nil
}

// collect appends the readings of rs with the identity of id and the
// message's time.
func (t *tasmotaTelemetry) collect(out []TasmotaReading, rs *readingSet, id TasmotaReading) []TasmotaReading {
	for _, r := range rs.readings() {
		r.Time = t.time
		id.Reading = r
		out = append(out, id)
	}
	return out
}
