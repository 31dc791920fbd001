package devices

import "strings"

// Zigbee2MQTT topic sub-levels that follow a device's friendly name.
const (
	Z2MSubAvailability = "availability" // <base>/<name>/availability
	Z2MSubAction       = "action"       // <base>/<name>/action, plain text
	// Z2MBridge is the name ParseZigbee2MQTTTopic gives <base>/bridge/...
	// topics (bridge/state, bridge/devices, bridge/info, ...).
	Z2MBridge = "bridge"
)

// ParseZigbee2MQTTTopic splits a topic under a Zigbee2MQTT base topic
// (configured per hub: zigbee2mqtt, z2m/<home>, ...):
//
//   - <base>/bridge/<rest> -> name "bridge", sub <rest> ("state",
//     "devices", ...); "bridge" is reserved for the hub itself;
//   - <base>/<name>/availability and <base>/<name>/action -> name, and sub
//     "availability" or "action";
//   - <base>/<name> -> name, sub "".
//
// A friendly name may contain '/' and spaces, so <base>/a/b is ambiguous:
// it may be device "a/b", or property b of device a in attribute output
// mode, and a device may even be named "x/availability". This function
// reads only the shape; the registry resolves names against the retained
// <base>/bridge/devices list with SplitZigbee2MQTTTopic, and prefers the
// IEEE address as the stable key. ok is false for a topic outside base,
// an empty name or level, or an MQTT wildcard (+, #).
func ParseZigbee2MQTTTopic(base, topic string) (name, sub string, ok bool) {
	rest, ok := z2mRest(base, topic)
	if !ok {
		return "", "", false
	}
	if r, isBridge := strings.CutPrefix(rest, Z2MBridge+"/"); isBridge {
		return Z2MBridge, r, r != ""
	}
	for _, s := range [...]string{Z2MSubAvailability, Z2MSubAction} {
		if n, cut := strings.CutSuffix(rest, "/"+s); cut {
			return n, s, validZ2MName(n)
		}
	}
	return rest, "", validZ2MName(rest)
}

// SplitZigbee2MQTTTopic is ParseZigbee2MQTTTopic with the hub's known
// friendly names (from <base>/bridge/devices): it returns the longest
// known name the topic starts with, and the rest as sub, which may then be
// any property of the attribute output mode (water_leak, set, ...). When
// no known name matches, or known is nil, it falls back to
// ParseZigbee2MQTTTopic, so an unknown device can still be listed.
func SplitZigbee2MQTTTopic(base, topic string, known func(name string) bool) (name, sub string, ok bool) {
	rest, ok := z2mRest(base, topic)
	if !ok {
		return "", "", false
	}
	if known != nil && !strings.HasPrefix(rest, Z2MBridge+"/") {
		if known(rest) {
			return rest, "", validZ2MName(rest)
		}
		for i := len(rest) - 1; i > 0; i-- {
			if rest[i] == '/' && known(rest[:i]) && validZ2MName(rest[:i]) {
				return rest[:i], rest[i+1:], rest[i+1:] != ""
			}
		}
	}
	return ParseZigbee2MQTTTopic(base, topic)
}

// z2mRest returns what follows "<base>/" in a topic without wildcards.
func z2mRest(base, topic string) (string, bool) {
	if base == "" || strings.ContainsAny(topic, "+#\x00") {
		return "", false
	}
	rest, ok := strings.CutPrefix(topic, strings.TrimSuffix(base, "/")+"/")
	return rest, ok && rest != ""
}

// validZ2MName reports whether a friendly name has no empty level.
func validZ2MName(name string) bool {
	return name != "" && name[0] != '/' && name[len(name)-1] != '/' && !strings.Contains(name, "//")
}
