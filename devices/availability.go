package devices

import "encoding/json"

// DecodeAvailability reads an availability (birth/last-will) payload in
// every dialect the field sends:
//
//   - Zigbee2MQTT 2.x: {"state":"online"} or {"state":"offline"} on
//     <base>/<name>/availability and <base>/bridge/state;
//   - Zigbee2MQTT 1.x (legacy_availability_payload) and ESPHome
//     (<prefix>/status): plain online or offline;
//   - Tasmota (tele/<topic>/LWT): Online or Offline.
//
// Words are compared ignoring ASCII case, after trimming surrounding
// whitespace, in the plain and the JSON form alike.
//
// A zero-length payload is an MQTT retained deletion (Zigbee2MQTT clears
// <old name>/availability after a rename, MQTT 3.1.1 §3.3.1.3): it returns
// deleted=true and online=false, and means "forget the retained state", not
// "offline". The caller must not raise an alarm for it.
//
// Anything else is a *RejectError: ReasonOversized above MaxPayload bytes,
// ReasonEmpty for whitespace only, ReasonMalformed for broken JSON,
// ReasonWrongType when state is not a string, and ReasonInvalidValue for
// any other word or JSON shape.
//
// What offline means is the caller's business: on a bridge/state topic it
// blinds every device behind that hub (one hub_offline alarm for the home,
// no guessing of device states), on a device topic only that device.
func DecodeAvailability(payload []byte) (online bool, deleted bool, err error) {
	if len(payload) == 0 {
		return false, true, nil
	}
	if len(payload) > MaxPayload {
		return false, false, Reject(ReasonOversized, "", "payload of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	text := trimASCIISpace(payload)
	switch {
	case len(text) == 0:
		return false, false, Reject(ReasonEmpty, "", "availability payload is only whitespace")
	case text[0] == '{':
		return availabilityJSON(text)
	}
	if online, ok := parseOnline(text); ok {
		return online, false, nil
	}
	return false, false, Reject(ReasonInvalidValue, "", "availability %s: want online, offline or {\"state\":...}", quote(string(text)))
}

// availabilityJSON reads the Zigbee2MQTT 2.x object form. Other keys are
// tolerated; state is required.
func availabilityJSON(text []byte) (online, deleted bool, err error) {
	var obj struct {
		State json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal(text, &obj); err != nil {
		return false, false, Reject(ReasonMalformed, "", "availability is not valid JSON: %s", jsonErrorDetail(err))
	}
	if len(obj.State) == 0 || string(obj.State) == "null" {
		return false, false, Reject(ReasonInvalidValue, "state", "required field is missing")
	}
	var s string
	if err := json.Unmarshal(obj.State, &s); err != nil {
		return false, false, Reject(ReasonWrongType, "state", "want string, got %s", jsonKindOf(obj.State))
	}
	if online, ok := parseOnline(trimASCIISpace([]byte(s))); ok {
		return online, false, nil
	}
	return false, false, Reject(ReasonInvalidValue, "state", "%s: want online or offline", quote(s))
}
