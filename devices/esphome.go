package devices

import (
	"maps"
	"strings"
	"time"
)

// esphomeObjects is the default map from ESPHome object ids to our fields.
// Object ids come from the entity names in each node's YAML, so these are
// the names the common radar and climate configurations use.
//
// presence, has_target and bed_presence map to in_bed: on a vital-sign
// radar mounted at a bed they say someone is in it. occupancy and motion
// map to motion (env): a room sensor. A node whose entities mean otherwise
// needs its own map.
var esphomeObjects = map[string]string{
	"heart_rate":       "heart_rate",
	"breath_rate":      "resp_rate",
	"breathing_rate":   "resp_rate",
	"respiratory_rate": "resp_rate",
	"respiration_rate": "resp_rate",
	"spo2":             "spo2",
	"body_temperature": "vitals.temp_c",
	"presence":         "in_bed",
	"has_target":       "in_bed",
	"bed_presence":     "in_bed",
	"movement":         "movement",
	"fall_detected":    "fall.state",
	"fall":             "fall.state",
	"occupancy":        "motion",
	"motion":           "motion",
	"door":             "door_open",
	"smoke":            "smoke",
	"gas":              "gas",
	"water_leak":       "water_leak",
	"temperature":      "env.temp_c",
	"humidity":         "humidity",
	"battery":          "battery",
	"battery_level":    "battery",
	"wifi_signal":      "rssi",
	"wifi_signal_db":   "rssi",
	"tamper":           "tamper",
	"bed_status":       "in_bed",
}

// DefaultESPHomeObjects returns a copy of the default table from ESPHome
// object ids to our fields, for a registry to extend per node.
func DefaultESPHomeObjects() map[string]string {
	return maps.Clone(esphomeObjects)
}

// ParseESPHomeTopic splits an ESPHome MQTT topic under prefix (the node's
// topic_prefix, by default its name). "<prefix>/status" gives component
// "status" and no object id; "<prefix>/<component>/<object_id>/state" gives
// both. Any other topic (commands, debug, discovery, another prefix, an
// empty level or a wildcard) is not ok.
func ParseESPHomeTopic(prefix, topic string) (component, objectID string, ok bool) {
	rest, ok := strings.CutPrefix(topic, prefix+"/")
	if !ok || prefix == "" || strings.ContainsAny(topic, "+#") {
		return "", "", false
	}
	if rest == "status" {
		return "status", "", true
	}
	component, rest, _ = strings.Cut(rest, "/")
	objectID, rest, _ = strings.Cut(rest, "/")
	if component == "" || objectID == "" || rest != "state" {
		return "", "", false
	}
	return component, objectID, true
}

// DecodeESPHome decodes one ESPHome MQTT message with the default object
// table (see DecodeESPHomeWith and DefaultESPHomeObjects).
func DecodeESPHome(topic, prefix string, payload []byte, received time.Time) (Reading, error) {
	return DecodeESPHomeWith(topic, prefix, nil, payload, received)
}

// DecodeESPHomeWith decodes one ESPHome MQTT message from the node whose
// topic_prefix is prefix; objects maps object ids to our fields (qualified
// names such as "vitals.temp_c" allowed, see lookupCanon), nil meaning the
// default table. ESPHome payloads carry no time: Reading.Time is zero and
// the caller stamps received.
//
//   - <prefix>/status: online or offline (any ASCII case) gives
//     BoolField("online") on StreamAvailability; a zero-length payload is a
//     retained deletion and gives a Reading with no fields.
//   - <prefix>/sensor/<id>/state (and number): a plain-text number such as
//     "72.00", read as DecodePlainNumber does: "nan" or "None" (ESPHome's
//     publish_nan_as_none) is no reading, and so is 0 or 255 for
//     heart_rate, resp_rate and spo2; for other fields no reading leaves a
//     Reading with no fields.
//   - <prefix>/binary_sensor/<id>/state (and switch): ON or OFF (any ASCII
//     case) for a two-state field; for the fall state ON is "fall" and OFF
//     "normal" (StreamFall). Anything else is ReasonInvalidValue.
//   - <prefix>/text_sensor/<id>/state: the text, for the fall state only.
//
// A Reading with no fields means there is nothing to record. That is also
// the answer, without error, for an object id not in the table (or mapped
// to ""), for another component, and for a zero-length state payload (a
// retained deletion). A topic that is not the node's is ReasonUnknownTopic.
// A value that is not of the kind its field needs (text for a number, ON
// for a heart rate) is ReasonWrongType naming the object id.
func DecodeESPHomeWith(topic, prefix string, objects map[string]string, payload []byte, received time.Time) (Reading, error) {
	component, id, ok := ParseESPHomeTopic(prefix, topic)
	if !ok {
		return Reading{}, Reject(ReasonUnknownTopic, "", "topic %s is not an ESPHome state topic under %s", quote(topic), quote(prefix+"/"))
	}
	if len(payload) > MaxPayload {
		return Reading{}, Reject(ReasonOversized, "", "payload of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	if component == "status" {
		online, deleted, err := DecodeAvailability(payload)
		switch {
		case err != nil:
			return Reading{}, err
		case deleted:
			return Reading{Stream: StreamAvailability}, nil
		}
		return Reading{Stream: StreamAvailability, Fields: []Field{BoolField("online", online)}}, nil
	}
	if objects == nil {
		objects = esphomeObjects
	}
	target := objects[id]
	if target == "" {
		return Reading{}, nil
	}
	c, ok := lookupCanon(target)
	if !ok {
		return Reading{}, Reject(ReasonInvalidValue, id, "mapped to %s, which is not one of our fields", quote(target))
	}
	if len(payload) == 0 {
		return Reading{Stream: c.stream}, nil
	}
	text := trimASCIISpace(payload)
	wire := []byte(id)
	var f Field
	var err error
	switch component {
	case "sensor", "number":
		return plainNumber(c, payload, wire)
	case "binary_sensor", "switch":
		switch {
		case asciiEqualFold(text, "on"):
			f, err = c.boolean(true, wire)
		case asciiEqualFold(text, "off"):
			f, err = c.boolean(false, wire)
		default:
			err = Reject(ReasonInvalidValue, id, "%s: want ON or OFF", quote(string(text)))
		}
	case "text_sensor":
		f, err = c.text(string(text), wire)
	default:
		return Reading{}, nil
	}
	if err != nil {
		return Reading{}, err
	}
	return Reading{Stream: c.stream, Fields: []Field{f}}, nil
}

// DecodePlainNumber decodes a payload that is one bare number in plain
// text, as simple radar firmware publishes ("72" on sleepsensor/heartbeat,
// "0" on sleepsensor/bed_status), into our field named field (qualified
// names allowed, see lookupCanon; the registry maps each topic to its
// field). The payload carries no time: Reading.Time is zero and the caller
// stamps received.
//
// Surrounding whitespace is ignored. The number follows JSON syntax
// ("72", "-3.5", "1e2"); "nan" and "None" (any case) are no reading. A
// two-state field takes 0 or 1 (bed_status 1 is in bed). Then the rules
// of our fields apply: out of range is ReasonOutOfRange; 0, 255 or NaN for
// heart_rate, resp_rate or spo2 leaves the field out and adds
// no_reading=true; NaN for any other field gives a Reading with no fields.
// An empty payload is ReasonEmpty, text that is not a number
// ReasonWrongType, and an unknown field ReasonInvalidValue.
func DecodePlainNumber(field string, payload []byte, received time.Time) (Reading, error) {
	c, ok := lookupCanon(field)
	if !ok {
		return Reading{}, Reject(ReasonInvalidValue, clip(field), "not one of our fields")
	}
	if len(payload) > MaxPayload {
		return Reading{}, Reject(ReasonOversized, "", "payload of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	return plainNumber(c, payload, []byte(c.spec.name))
}

// plainNumber reads a plain-text number for c; wire names the source.
func plainNumber(c canonField, payload []byte, wire []byte) (Reading, error) {
	text := trimASCIISpace(payload)
	if len(text) == 0 {
		return Reading{}, Reject(ReasonEmpty, clip(string(wire)), "payload is empty")
	}
	if asciiEqualFold(text, "nan") || asciiEqualFold(text, "-nan") || asciiEqualFold(text, "none") {
		if c.stream == StreamVitals && c.spec.check == checkVital {
			return Reading{Stream: c.stream, Fields: []Field{BoolField("no_reading", true)}}, nil
		}
		return Reading{Stream: c.stream}, nil
	}
	s := scanner{buf: text}
	if c := text[0]; !(c == '-' || '0' <= c && c <= '9') || !s.number() || s.i != len(text) {
		return Reading{}, Reject(ReasonWrongType, clip(string(wire)), "%s: want a number", quote(string(text)))
	}
	f, none, err := c.number(rawValue{kind: kindNumber, raw: text}.number(), wire)
	switch {
	case err != nil:
		return Reading{}, err
	case none && c.spec.check == checkVital:
		return Reading{Stream: c.stream, Fields: []Field{BoolField("no_reading", true)}}, nil
	case none:
		return Reading{Stream: c.stream}, nil
	}
	return Reading{Stream: c.stream, Fields: []Field{f}}, nil
}
