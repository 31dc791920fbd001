package devices

import "strings"

// Announcement is what one discovery message says about devices.
type Announcement struct {
	Via string // ViaZigbee2MQTT or ViaHomeAssistant
	// Zigbee2MQTT: the base topic whose <base>/bridge/devices this is.
	Base string
	// Home Assistant: the discovery topic of the one entity announced.
	Topic string
	// Zigbee2MQTT: the hub's whole list, which replaces the one known
	// before. Home Assistant: the entity, which the caller merges into its
	// device by ID (or removes when Deleted).
	Devices []Discovered
	// Deleted: a zero-length retained payload. For Home Assistant the
	// entity is removed; for Zigbee2MQTT only the retained copy of the list
	// was cleared, and what is known stays.
	Deleted bool
}

// Announced reports whether m is a discovery message, and reads it:
// <base>/bridge/devices of any Zigbee2MQTT hub (registered or not) and
// <prefix>/<component>/[<node_id>/]<object_id>/config of Home Assistant
// discovery under the registry's discovery prefix; never a topic under the
// native prefix. A Zigbee2MQTT list also
// teaches the registry the hub's friendly names, as Decode does. Other
// messages give ok=false; err is the *RejectError of a discovery message
// that cannot be read.
//
// Decode gives no observation for these topics; the gateway calls
// Announced first to keep the discovered devices.
func (r *Registry) Announced(m Message) (a Announcement, ok bool, err error) {
	if strings.HasPrefix(m.Topic, NativePrefix+"/") {
		return Announcement{}, false, nil // the native contract's, whatever its shape
	}
	if base, ok := strings.CutSuffix(m.Topic, "/"+Z2MBridge+"/devices"); ok && validZ2MName(base) && !strings.ContainsAny(base, "+#\x00") {
		a = Announcement{Via: ViaZigbee2MQTT, Base: base, Deleted: len(m.Payload) == 0}
		if a.Deleted {
			return a, true, nil
		}
		list, err := ParseBridgeDevices(base, m.Payload)
		if err != nil {
			return a, true, err
		}
		a.Devices = list
		r.LearnZigbee2MQTTNames(base, Zigbee2MQTTNames(list), m.Received)
		return a, true, nil
	}
	if r.haPrefix == "" || !strings.HasPrefix(m.Topic, r.haPrefix+"/") || !strings.HasSuffix(m.Topic, "/config") {
		return Announcement{}, false, nil
	}
	d, deleted, err := ParseHADiscovery(m.Topic, m.Payload)
	a = Announcement{Via: ViaHomeAssistant, Topic: m.Topic, Deleted: deleted}
	if err != nil {
		return a, true, err
	}
	a.Devices = []Discovered{d}
	return a, true, nil
}

// DeviceSource is the source a device registered from d gets: for
// Zigbee2MQTT its IEEE address (stable across renames), else its friendly
// name; for ESPHome the topic prefix of its state topic; for Tasmota the
// %topic% of its telemetry. "" when d does not say.
func (d Discovered) DeviceSource() string {
	switch d.Format {
	case FormatZigbee2MQTT:
		return firstNonEmpty(d.IEEE, d.FriendlyName)
	case FormatESPHome:
		if prefix, ok := esphomeStateTopic(d.Source); ok {
			return prefix
		}
		if prefix, ok := strings.CutSuffix(d.Availability, "/status"); ok {
			return prefix
		}
	case FormatTasmota:
		for _, t := range []string{d.Source, d.Availability} {
			lv := strings.Split(t, "/")
			if len(lv) == 3 && (lv[0] == tasmotaTele || lv[0] == "stat") && lv[1] != "" {
				return lv[1]
			}
		}
	}
	return ""
}
