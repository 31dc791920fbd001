package devices

import (
	"encoding/json"
	"strings"
)

// Home Assistant's abbreviations of discovery keys (those this package
// reads, and their common neighbours).
var (
	haAbbrev = map[string]string{
		"stat_t": "state_topic", "dev_cla": "device_class", "avty_t": "availability_topic",
		"avty": "availability", "avty_mode": "availability_mode", "uniq_id": "unique_id",
		"dev": "device", "o": "origin", "val_tpl": "value_template", "obj_id": "object_id",
		"json_attr_t": "json_attributes_topic", "t": "topic", "cmd_t": "command_topic",
		"pl_on": "payload_on", "pl_off": "payload_off", "unit_of_meas": "unit_of_measurement",
		"stat_cla": "state_class", "ent_cat": "entity_category",
	}
	haDeviceAbbrev = map[string]string{
		"ids": "identifiers", "mdl": "model", "mdl_id": "model_id", "mf": "manufacturer",
		"cns": "connections", "sw": "sw_version", "hw": "hw_version", "via_dev": "via_device",
		"sa": "suggested_area",
	}
	haAvailabilityAbbrev = map[string]string{"t": "topic", "val_tpl": "value_template"}
)

// expandKeys renames abbreviated keys; a full key given too wins.
func expandKeys(obj map[string]json.RawMessage, abbrev map[string]string) map[string]json.RawMessage {
	if obj == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(obj))
	for k, v := range obj {
		if full, ok := abbrev[k]; ok {
			if _, given := obj[full]; given {
				continue
			}
			k = full
		}
		out[k] = v
	}
	return out
}

// haConfig reads typed keys of a config object, keeping the first error.
type haConfig struct {
	obj    map[string]json.RawMessage
	prefix string // names the object in errors ("device.")
	err    error
}

func (c *haConfig) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// str reads a string key; null and missing give "".
func (c *haConfig) str(key string) (string, bool) {
	raw, ok := c.obj[key]
	if !ok || jsonKindOf(raw) == kindNull {
		return "", false
	}
	var s string
	if k := jsonKindOf(raw); k != kindString || json.Unmarshal(raw, &s) != nil {
		c.fail(Reject(ReasonWrongType, c.prefix+key, "want string, got %s", k))
		return "", false
	}
	return s, true
}

// object reads an object key; null and missing give nil.
func (c *haConfig) object(key string) (map[string]json.RawMessage, bool) {
	raw, ok := c.obj[key]
	if !ok || jsonKindOf(raw) == kindNull {
		return nil, false
	}
	var m map[string]json.RawMessage
	if k := jsonKindOf(raw); k != kindObject || json.Unmarshal(raw, &m) != nil {
		c.fail(Reject(ReasonWrongType, c.prefix+key, "want object, got %s", k))
		return nil, false
	}
	return m, true
}

// identifiers reads device.identifiers: a string or a list of strings.
func (c *haConfig) identifiers() []string {
	raw, ok := c.obj["identifiers"]
	if !ok || jsonKindOf(raw) == kindNull {
		return nil
	}
	if jsonKindOf(raw) == kindString {
		s, _ := c.str("identifiers")
		return []string{s}
	}
	var ids []string
	if err := json.Unmarshal(raw, &ids); err != nil {
		c.fail(Reject(ReasonWrongType, c.prefix+"identifiers", "want string or array of strings, got %s", jsonKindOf(raw)))
		return nil
	}
	return ids
}

// firstAvailability returns the device's own topic from an availability
// list: the last one that is not a hub's bridge/state, else the first.
func (c *haConfig) firstAvailability() string {
	raw, ok := c.obj["availability"]
	if !ok || jsonKindOf(raw) != kindArray {
		return ""
	}
	var list []map[string]json.RawMessage
	if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return ""
	}
	first := ""
	for i := len(list) - 1; i >= 0; i-- {
		a := haConfig{obj: expandKeys(list[i], haAvailabilityAbbrev)}
		t, _ := a.str("topic")
		if !strings.HasSuffix(t, "/bridge/state") && t != "" {
			return t
		}
		first = t
	}
	return first
}
