package devices

import "time"

// Stream names one kind of message a device publishes (the last topic level
// of the native format).
type Stream string

// The streams of the native format (DESIGN.md "The public contract").
const (
	StreamSOS          Stream = "sos"
	StreamFall         Stream = "fall"
	StreamVitals       Stream = "vitals"
	StreamEnv          Stream = "env"
	StreamStatus       Stream = "status"
	StreamAvailability Stream = "availability"
	StreamVisit        Stream = "visit"
)

// Streams lists every native stream in contract order.
var Streams = []Stream{StreamSOS, StreamFall, StreamVitals, StreamEnv, StreamStatus, StreamAvailability, StreamVisit}

// Message is one message as the broker delivered it.
type Message struct {
	Topic    string
	Payload  []byte
	Received time.Time
}

// FieldType says which member of a Field holds its value.
type FieldType uint8

// Field value types, as stored in the time series.
const (
	Float FieldType = iota
	Bool
	String
)

// Field is one named value of a reading (heart_rate=72, in_bed=true).
type Field struct {
	Name string
	S    string
	F    float64
	Type FieldType
	B    bool
}

// FloatField, BoolField and StringField build a Field.
func FloatField(name string, v float64) Field { return Field{Name: name, Type: Float, F: v} }

// BoolField builds a boolean Field.
func BoolField(name string, v bool) Field { return Field{Name: name, Type: Bool, B: v} }

// StringField builds a string Field.
func StringField(name string, v string) Field { return Field{Name: name, Type: String, S: v} }

// Reading is what a decoder found in one payload, before identity is known.
type Reading struct {
	Stream Stream
	// Time is the device's own time; zero when the payload carries none.
	Time   time.Time
	Fields []Field
}

// Field returns the field named name and whether it is present.
func (r Reading) Field(name string) (Field, bool) {
	for _, f := range r.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Observation is a Reading with its identity resolved through the registry
// and its time settled: the one shape every consumer (telemetry, alarms,
// visit ledger) receives. An Observation without fields is only a sign of
// life: a message that carried nothing we record (see Registry.Decode).
type Observation struct {
	Reading
	DeviceID string
	BedID    string
	AgencyID string
	Kind     Kind
	// Via is the hub the message came through (a registered Zigbee2MQTT
	// hub or Tasmota Zigbee bridge), "" for a device that talks to the
	// broker itself. While that hub is offline the device is blind, not
	// silent.
	Via string
	// Received is when the gateway received the message; Reading.Time is
	// set to it when the device gave no usable time.
	Received time.Time
}
