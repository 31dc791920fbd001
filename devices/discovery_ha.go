package devices

import "strings"

// MaxDiscoveryPayload bounds one Home Assistant discovery config.
const MaxDiscoveryPayload = 64 << 10

// ParseHADiscovery reads one Home Assistant MQTT discovery config,
// published retained on <prefix>/<component>/[<node_id>/]<object_id>/config
// (the prefix is one level, homeassistant by default).
//
// Abbreviated keys are expanded (stat_t = state_topic, dev_cla =
// device_class, avty_t = availability_topic, uniq_id = unique_id, dev =
// device with ids, mdl, mdl_id, mf, name, ...); when both forms are given
// the full one wins. A topic value starting or ending with ~ has it
// replaced by the value of the ~ key. Source is the state topic.
//
// One config describes one entity, not a device: the device is known by
// dev.identifiers (Zigbee2MQTT: zigbee2mqtt_<ieee>), which gives IEEE and
// ID. Kind is guessed from device_class: safety -> sos_button, smoke ->
// smoke_alarm, gas and carbon_monoxide -> gas_alarm, moisture ->
// water_leak, occupancy, motion and presence -> motion_sensor, door,
// window, opening -> door_sensor, temperature and humidity -> climate.
// Without a device class, the property of a Zigbee2MQTT value_template
// ({{ value_json.fall_down_status }}) is read as ParseBridgeDevices reads
// exposes. battery, tamper and other classes describe an attribute of a
// device, not what it is for: Kind is "" and Note says so, and the caller
// merges such entities into their device by ID.
//
// An empty payload removes the entity (deleted=true, MQTT retained
// deletion): Discovered then carries only what the topic says (ID from the
// node or object id, Via). A topic of another shape is ReasonUnknownTopic;
// other failures are *RejectError naming the expanded key.
func ParseHADiscovery(topic string, payload []byte) (d Discovered, deleted bool, err error) {
	node, object, ok := haTopic(topic)
	if !ok {
		return Discovered{}, false, Reject(ReasonUnknownTopic, "", "topic %s: want <prefix>/<component>/[<node_id>/]<object_id>/config", quote(topic))
	}
	d = Discovered{Via: ViaHomeAssistant, ID: proposedID(firstNonEmpty(node, object))}
	if looksIEEE(node) {
		d.IEEE = node
	}
	if len(payload) == 0 {
		return d, true, nil
	}
	if len(payload) > MaxDiscoveryPayload {
		return Discovered{}, false, Reject(ReasonOversized, "", "payload of %d bytes exceeds %d", len(payload), MaxDiscoveryPayload)
	}
	obj, err := jsonObject(payload)
	if err != nil {
		return Discovered{}, false, err
	}
	cfg := haConfig{obj: expandKeys(obj, haAbbrev)}
	base, _ := cfg.str("~")
	source, _ := cfg.str("state_topic")
	if source == "" {
		source, _ = cfg.str("topic") // event, device_automation
	}
	avail, _ := cfg.str("availability_topic")
	class, _ := cfg.str("device_class")
	tpl, _ := cfg.str("value_template")
	uniq, _ := cfg.str("unique_id")
	dev, _ := cfg.object("device")
	origin, _ := cfg.object("origin")
	if cfg.err != nil {
		return Discovered{}, false, cfg.err
	}
	if avail == "" {
		avail = cfg.firstAvailability()
	}
	d.Source, d.Availability = expandTilde(source, base), expandTilde(avail, base)

	devCfg := haConfig{obj: expandKeys(dev, haDeviceAbbrev), prefix: "device."}
	ids := devCfg.identifiers()
	d.FriendlyName, _ = devCfg.str("name")
	model, _ := devCfg.str("model")
	modelID, _ := devCfg.str("model_id")
	d.Vendor, _ = devCfg.str("manufacturer")
	originCfg := haConfig{obj: origin, prefix: "origin."}
	originName, _ := originCfg.str("name")
	if err := firstErr(devCfg.err, originCfg.err); err != nil {
		return Discovered{}, false, err
	}
	d.Model = firstNonEmpty(modelID, modelInParens(model), model)

	for _, id := range ids {
		if ieee, ok := strings.CutPrefix(id, "zigbee2mqtt_"); ok && looksIEEE(ieee) {
			d.IEEE = ieee
		}
	}
	d.ID = firstNonEmpty(proposedID(d.IEEE), proposedID(firstNonEmpty(ids...)), proposedID(uniq), d.ID)
	switch o := strings.ToLower(originName); {
	case o == "zigbee2mqtt", len(ids) > 0 && strings.HasPrefix(ids[0], "zigbee2mqtt_"):
		d.Format = FormatZigbee2MQTT
	case o == "esphome":
		d.Format = FormatESPHome
	case o == "tasmota":
		d.Format = FormatTasmota
	}
	d.Kind, d.Note = kindFromClass(class, tpl)
	return d, false, nil
}

// haTopic splits a discovery topic into its node id (maybe "") and object
// id.
func haTopic(topic string) (node, object string, ok bool) {
	lv := strings.Split(topic, "/")
	if (len(lv) != 4 && len(lv) != 5) || lv[len(lv)-1] != "config" || strings.ContainsAny(topic, "+#\x00") {
		return "", "", false
	}
	for _, l := range lv {
		if l == "" {
			return "", "", false
		}
	}
	if len(lv) == 5 {
		node = lv[2]
	}
	return node, lv[len(lv)-2], true
}

// kindFromClass guesses a kind from a device class, or else from the
// value_template property.
func kindFromClass(class, tpl string) (Kind, string) {
	switch class {
	case "safety":
		return KindSOSButton, ""
	case "smoke":
		return KindSmokeAlarm, ""
	case "gas", "carbon_monoxide":
		return KindGasAlarm, ""
	case "moisture":
		return KindWaterLeak, ""
	case "occupancy", "motion", "presence":
		return KindMotionSensor, ""
	case "door", "window", "opening":
		return KindDoorSensor, ""
	case "temperature", "humidity":
		return KindClimate, ""
	case "":
		if _, p, ok := strings.Cut(tpl, "value_json."); ok {
			p = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(p), "}"))
			if k := kindFromProperties(map[string][]string{p: nil}); k != "" {
				return k, ""
			}
		}
		return "", "no device class: choose the kind on acceptance"
	}
	return "", "device class " + class + " is an attribute of a device, not what it is for"
}

// looksIEEE reports whether s is a 64-bit IEEE address as Zigbee2MQTT
// writes it: 0x and 16 hex digits.
func looksIEEE(s string) bool {
	if len(s) != 18 || s[:2] != "0x" {
		return false
	}
	for _, c := range []byte(s[2:]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// modelInParens returns MODEL from Zigbee2MQTT 1.x's "<description>
// (MODEL)", else "".
func modelInParens(s string) string {
	if !strings.HasSuffix(s, ")") {
		return ""
	}
	i := strings.LastIndex(s, " (")
	if i < 0 {
		return ""
	}
	return s[i+2 : len(s)-1]
}

// expandTilde substitutes the ~ topic base at either end of a topic.
func expandTilde(topic, base string) string {
	if base == "" {
		return topic
	}
	if rest, ok := strings.CutPrefix(topic, "~"); ok {
		return base + rest
	}
	if rest, ok := strings.CutSuffix(topic, "~"); ok {
		return rest + base
	}
	return topic
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
