package devices

import (
	"encoding/json"
	"errors"
	"strings"
)

// Discovered is a device that a hub announces and that the operator may
// accept into the registry in one call. It is a proposal: Kind is a guess
// and may be empty when nothing says what the device is for (Note then
// says why).
type Discovered struct {
	ID           string `json:"id"`     // proposed device id: the IEEE address when known
	Source       string `json:"source"` // the topic the device's state is read from
	FriendlyName string `json:"friendly_name,omitempty"`
	IEEE         string `json:"ieee,omitempty"`
	Model        string `json:"model,omitempty"`
	Vendor       string `json:"vendor,omitempty"`
	Kind         Kind   `json:"kind"`
	Format       Format `json:"format"`
	Via          string `json:"via"` // ViaZigbee2MQTT or ViaHomeAssistant
	// Availability is the device's availability topic, when announced.
	Availability string `json:"availability,omitempty"`
	// Note explains an empty Kind.
	Note string `json:"note,omitempty"`
}

// Where a Discovered came from.
const (
	ViaZigbee2MQTT   = "zigbee2mqtt"
	ViaHomeAssistant = "homeassistant"
)

// MaxBridgeDevicesPayload bounds a <base>/bridge/devices payload: a large
// Zigbee network (200 devices with their exposes) stays well under it.
const MaxBridgeDevicesPayload = 8 << 20

// ParseBridgeDevices reads Zigbee2MQTT's retained <base>/bridge/devices
// list (a JSON array of {ieee_address, type, friendly_name, definition:
// {model, vendor, exposes}, ...}) into proposals, in list order. The
// Coordinator (the hub's own radio) and entries without an IEEE address
// are skipped; a device without definition (unsupported or still
// interviewing) is kept with an empty Kind. Kind is guessed from the
// exposed properties, nested features included, the first rule that
// matches winning:
//
//	sos, or an action with value emergency/sos/panic -> sos_button
//	fall_down_status, fall_status, status with value falling -> fall_sensor
//	work_state, pressure_state (bed straps, pressure pads) -> vitals_monitor
//	smoke -> smoke_alarm; gas -> gas_alarm; water_leak -> water_leak
//	contact -> door_sensor; occupancy, presence -> motion_sensor
//	temperature or humidity (and nothing above) -> climate
//
// An action of single/double/hold alone is a remote, not an SOS button:
// the operator picks the kind of a Heiman SOS button on acceptance.
// A zero-length payload (a retained deletion) gives no devices and no
// error. Other failures are *RejectError.
func ParseBridgeDevices(base string, payload []byte) ([]Discovered, error) {
	if len(payload) == 0 {
		return nil, nil
	}
	if len(payload) > MaxBridgeDevicesPayload {
		return nil, Reject(ReasonOversized, "", "payload of %d bytes exceeds %d", len(payload), MaxBridgeDevicesPayload)
	}
	text := trimASCIISpace(payload)
	if len(text) == 0 {
		return nil, Reject(ReasonEmpty, "", "payload is only whitespace")
	}
	if text[0] != '[' {
		if json.Valid(text) {
			return nil, Reject(ReasonWrongType, "", "payload is a JSON %s, want an array", jsonKindOf(text))
		}
		return nil, Reject(ReasonMalformed, "", "payload is not valid JSON")
	}
	var list []bridgeDevice
	if err := json.Unmarshal(text, &list); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, Reject(ReasonWrongType, typ.Field, "want %s, got a JSON %s", typ.Type, typ.Value)
		}
		return nil, Reject(ReasonMalformed, "", "payload is not valid JSON: %s", jsonErrorDetail(err))
	}
	base = strings.TrimSuffix(base, "/")
	var out []Discovered
	for _, bd := range list {
		if bd.Type == "Coordinator" || bd.IEEE == "" {
			continue
		}
		d := Discovered{
			ID: proposedID(bd.IEEE), IEEE: bd.IEEE, FriendlyName: bd.FriendlyName,
			Model: bd.ModelID, Vendor: bd.Manufacturer, Format: FormatZigbee2MQTT, Via: ViaZigbee2MQTT,
		}
		name := bd.FriendlyName
		if name == "" {
			name = bd.IEEE
		}
		d.Source = base + "/" + name
		d.Availability = d.Source + "/" + Z2MSubAvailability
		if def := bd.Definition; def != nil {
			d.Model, d.Vendor = firstNonEmpty(def.Model, d.Model), firstNonEmpty(def.Vendor, d.Vendor)
			props := make(map[string][]string)
			collectExposes(def.Exposes, props)
			d.Kind = kindFromProperties(props)
		}
		if d.Kind == "" {
			d.Note = "nothing it exposes says what it is for: choose the kind on acceptance"
		}
		out = append(out, d)
	}
	return out, nil
}

// bridgeDevice is one entry of bridge/devices; other keys are ignored.
type bridgeDevice struct {
	IEEE         string `json:"ieee_address"`
	Type         string `json:"type"`
	FriendlyName string `json:"friendly_name"`
	ModelID      string `json:"model_id"`
	Manufacturer string `json:"manufacturer"`
	Definition   *struct {
		Model   string   `json:"model"`
		Vendor  string   `json:"vendor"`
		Exposes []expose `json:"exposes"`
	} `json:"definition"`
}

// expose is one entry of a definition's exposes, or a feature of one.
type expose struct {
	Type     string   `json:"type"`
	Name     string   `json:"name"`
	Property string   `json:"property"`
	Values   []any    `json:"values"` // enum values, usually strings
	Features []expose `json:"features"`
}

// collectExposes records each exposed property with its string enum
// values.
func collectExposes(list []expose, props map[string][]string) {
	for _, x := range list {
		p := firstNonEmpty(x.Property, x.Name)
		if p != "" {
			vals := props[p]
			for _, v := range x.Values {
				if s, ok := v.(string); ok {
					vals = append(vals, s)
				}
			}
			props[p] = vals
		}
		collectExposes(x.Features, props)
	}
}

// kindFromProperties guesses a device's kind from the state properties it
// exposes (property name -> enum values); see ParseBridgeDevices.
func kindFromProperties(props map[string][]string) Kind {
	has := func(p string) bool { _, ok := props[p]; return ok }
	hasValue := func(p string, vals ...string) bool {
		for _, v := range props[p] {
			for _, w := range vals {
				if v == w {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has("sos"), hasValue("action", "emergency", "sos", "panic"):
		return KindSOSButton
	case has("fall_down_status"), has("fall_status"), hasValue("status", "falling"):
		return KindFallSensor
	case has("work_state"), has("pressure_state"):
		return KindVitalsMonitor
	case has("smoke"):
		return KindSmokeAlarm
	case has("gas"):
		return KindGasAlarm
	case has("water_leak"):
		return KindWaterLeak
	case has("contact"):
		return KindDoorSensor
	case has("occupancy"), has("presence"):
		return KindMotionSensor
	case has("temperature"), has("humidity"):
		return KindClimate
	}
	return ""
}

// proposedID makes a device id ([A-Za-z0-9._:-], at most MaxDeviceIDLen)
// out of an IEEE address or another identifier.
func proposedID(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > MaxDeviceIDLen {
		b = b[:MaxDeviceIDLen]
	}
	if !validDeviceID(string(b)) {
		return ""
	}
	return string(b)
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
