package devices

import (
	"maps"
	"sort"
)

// senmlDefaults maps the SenML record names that vital-sign and home
// sensors commonly use to our fields. SenML registers no record names
// (RFC 8428 §12.1 lists only units), so these are conventions seen in the
// field: camelCase, kebab-case and snake_case spellings, and short forms.
// A name is looked up whole and then by its last segment (after ':' or
// '/'), so "urn:dev:mac:0024befffe804ff1:heart-rate" finds "heart-rate".
//
// "temp" and "temperature" are the room's (env.temp_c, -40..85 °C); body
// temperature must be named as such. "hr" is heart rate and "rr"
// respiration rate, as on clinical monitors.
var senmlDefaults = map[string]string{
	"heartRate": "heart_rate", "heart_rate": "heart_rate", "heart-rate": "heart_rate", "hr": "heart_rate",
	"HR": "heart_rate", "pulse": "heart_rate", "pulseRate": "heart_rate", "pulse-rate": "heart_rate",
	"respRate": "resp_rate", "resp_rate": "resp_rate", "resp-rate": "resp_rate", "rr": "resp_rate", "RR": "resp_rate",
	"respirationRate": "resp_rate", "respiration-rate": "resp_rate", "respiration_rate": "resp_rate",
	"respiratoryRate": "resp_rate", "respiratory-rate": "resp_rate", "breathRate": "resp_rate",
	"breath-rate": "resp_rate", "breath_rate": "resp_rate", "breathingRate": "resp_rate", "breathing-rate": "resp_rate",
	"spo2": "spo2", "SpO2": "spo2", "SPO2": "spo2",
	"bodyTemp": "vitals.temp_c", "body-temp": "vitals.temp_c", "body_temp": "vitals.temp_c",
	"bodyTemperature": "vitals.temp_c", "body-temperature": "vitals.temp_c", "body_temperature": "vitals.temp_c",
	"temp": "env.temp_c", "temperature": "env.temp_c",
	"humidity": "humidity", "hum": "humidity",
	"inBed": "in_bed", "in-bed": "in_bed", "in_bed": "in_bed", "bed-presence": "in_bed", "presence": "in_bed",
	"movement": "movement", "fall": "fall.state",
	"motion": "motion", "door-open": "door_open", "door_open": "door_open", "doorOpen": "door_open",
	"smoke": "smoke", "gas": "gas", "water-leak": "water_leak", "water_leak": "water_leak", "waterLeak": "water_leak",
	"battery": "battery", "batt": "battery", "rssi": "rssi", "tamper": "tamper",
}

// DefaultSenMLNames returns a copy of the default map from SenML record
// names to our fields, for a configuration to extend.
func DefaultSenMLNames() map[string]string { return maps.Clone(senmlDefaults) }

// ValidField reports whether name is one of our fields as a foreign format
// may feed it: heart_rate, resp_rate, spo2, temp_c (the room's),
// vitals.temp_c (the body's), in_bed, movement, door_open, smoke, gas,
// water_leak, motion, humidity, battery, rssi, tamper, fall.state, ...
func ValidField(name string) bool {
	_, ok := lookupCanon(name)
	return ok
}

// Fields lists the names ValidField accepts unqualified, for messages that
// tell an operator what to write.
func Fields() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range []Stream{StreamVitals, StreamEnv, StreamStatus, StreamFall} {
		spec, _ := nativeSpec(s)
		for _, f := range spec {
			if !seen[f.name] {
				seen[f.name] = true
				out = append(out, f.name)
			}
		}
	}
	sort.Strings(out)
	return append(out, "vitals.temp_c", "fall.state")
}

// decodeNativeSenML reads carebed/<id>/senml.
func (r *Registry) decodeNativeSenML(id string, m Message, out []Observation) ([]Observation, error) {
	r.mu.RLock()
	t, ok := r.targetLocked(id)
	r.mu.RUnlock()
	if !ok {
		return out, unknownDevice(id, "", "device %s is not registered", quote(id))
	}
	return r.decodeSenML(t, m, out)
}

// decodeSenML decodes a SenML pack with the registry's record names: one
// observation per distinct time and stream, or one sign of life when no
// record is mapped.
func (r *Registry) decodeSenML(t target, m Message, out []Observation) ([]Observation, error) {
	rs, err := DecodeSenML(m.Payload, r.senmlNames, m.Received)
	if err != nil {
		return out, err
	}
	if len(rs) == 0 {
		return append(out, t.observe(Reading{}, m.Received)), nil
	}
	for _, rd := range rs {
		out = append(out, t.observe(rd, m.Received))
	}
	return out, nil
}

// decodeESPHome reads <prefix>/status and <prefix>/<component>/<id>/state
// with the default object table (DefaultESPHomeObjects). Other topics under
// the prefix (commands, debug) are ignored. A state whose object id is not
// in the table is a sign of life.
func (r *Registry) decodeESPHome(p plan, m Message, out []Observation) ([]Observation, error) {
	if _, _, ok := ParseESPHomeTopic(p.prefix, m.Topic); !ok {
		return out, nil
	}
	rd, err := DecodeESPHomeWith(m.Topic, p.prefix, nil, m.Payload, m.Received)
	if err != nil {
		return out, err
	}
	return append(out, p.t.observe(rd, m.Received)), nil
}

// decodeTasmota reads tele/<topic>/LWT, SENSOR and STATE, reading Time in
// the registry's zone. Readings of the node itself belong to the node's
// device; those of a Zigbee device behind a Tasmota bridge to the device
// whose source names it (by ZbName, else short address). Readings of
// Zigbee devices nobody registered are left out; a message with nothing
// but those is an unknown device <node>/<name>. Other telemetry (INFO1,
// RESULT, ...) is ignored.
func (r *Registry) decodeTasmota(p plan, m Message, out []Observation) ([]Observation, error) {
	if _, _, ok := ParseTasmotaTopic(m.Topic); !ok {
		return out, nil
	}
	rs, err := DecodeTasmota(m.Topic, m.Payload, r.zone, m.Received)
	if err != nil {
		return out, err
	}
	n := len(out)
	var unknown string
	r.mu.RLock()
	rt := r.routes.prefix[p.prefix]
	for _, tr := range rs {
		t, ok := p.t, p.t.id != ""
		if tr.Device != "" {
			t, ok = target{}, false
			if rt != nil {
				id := rt.subs[tr.Name]
				if id == "" || tr.Name == "" {
					id = rt.subs[tr.Device]
				}
				t, ok = r.targetLocked(id)
				t.via = p.t.id
			}
		}
		if !ok {
			if unknown == "" {
				unknown = p.prefix
				if tr.Device != "" {
					unknown += "/" + firstNonEmpty(tr.Name, tr.Device)
				}
			}
			continue
		}
		out = append(out, t.observe(tr.Reading, m.Received))
	}
	r.mu.RUnlock()
	if len(out) == n && unknown != "" {
		return out, unknownDevice(unknown, "", "no registered device reads %s", quote(unknown))
	}
	if len(out) == n && p.t.id != "" {
		out = append(out, p.t.observe(Reading{}, m.Received)) // a sign of life of the node
	}
	return out, nil
}
