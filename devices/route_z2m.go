package devices

import (
	"strings"
	"time"
)

// Zigbee2MQTT routing. A hub is a device of kind hub, format zigbee2mqtt,
// whose source is its base topic; the devices behind it are zigbee2mqtt
// devices of the hub's bed whose source is their IEEE address, their
// friendly name, or <base>/<friendly name>. Under <base>:
//
//   - <base>/bridge/state: the hub's availability, an Observation of the hub
//     on StreamAvailability with the field online. Offline means every
//     device behind it is blind (see BehindHub).
//   - <base>/bridge/devices: the retained device list; it teaches the
//     registry the friendly names (which may contain '/' and spaces) and
//     their IEEE addresses, and gives no observation (Announced reads it as
//     discovery). A list received earlier than the one known is ignored, so
//     consumers that lag behind do not undo a rename.
//   - <base>/bridge/<anything else> (logging, info, extensions, event,
//     request, response, ...): ignored.
//   - <base>/<name>: the full cached state (DecodeZigbee2MQTT);
//     <name>/availability (DecodeAvailability), <name>/action (plain text),
//     <name>/<attribute> in attribute output mode for a name the registry
//     knows; <name>/set and <name>/get (commands to the hub) are ignored.
//   - A zero-length payload anywhere under <base> is a retained deletion and
//     is ignored.
//
// A name is resolved in the hub's bed as a source first, then through the
// list to an IEEE address, then as <base>/<name>. A name nobody registered
// is an unknown device with the key <base>/<name>; a bridge/state under a
// base that no hub reads is an unknown device with the key <base>.

// z2mBridgeSubs are the bridge topics Zigbee2MQTT publishes that carry no
// reading.
var z2mBridgeSubs = []string{"info", "logging", "extensions", "groups", "definitions", "event", "config",
	"options", "health", "converters", "request/", "response/"}

// z2mBridgeTopic recognises <base>/bridge/<sub> for a topic that no hub
// reads.
func z2mBridgeTopic(topic string) (base, sub string, ok bool) {
	i := strings.Index(topic, "/"+Z2MBridge+"/")
	if i <= 0 {
		return "", "", false
	}
	base, sub = topic[:i], topic[i+len(Z2MBridge)+2:]
	if !validZ2MName(base) {
		return "", "", false
	}
	if sub == "state" || sub == "devices" {
		return base, sub, true
	}
	for _, s := range z2mBridgeSubs {
		if sub == s || strings.HasSuffix(s, "/") && strings.HasPrefix(sub, s) {
			return base, sub, true
		}
	}
	return "", "", false
}

// planZ2MLocked routes a message under a Zigbee2MQTT base; r.mu is held.
func (r *Registry) planZ2MLocked(base string, rt *prefixRoute, m Message) plan {
	hub, hubOK := r.targetLocked(rt.device)
	known := func(name string) bool {
		if _, ok := rt.names[name]; ok {
			return true
		}
		_, ok := r.routes.z2m[bedSource{hub.bed, name}]
		return ok && hubOK
	}
	name, sub, ok := SplitZigbee2MQTTTopic(base, m.Topic, known)
	if !ok {
		return plan{step: stepReject, err: Reject(ReasonUnknownTopic, "", "topic %s under the Zigbee2MQTT base %s has an empty level", quote(m.Topic), quote(base))}
	}
	if name == Z2MBridge {
		switch {
		case sub == "devices":
			return plan{step: stepZ2MBridgeDevices, prefix: base}
		case sub != "state", len(m.Payload) == 0:
			return ignore()
		case !hubOK:
			return plan{step: stepUnknown, key: base, kind: KindHub}
		}
		return plan{step: stepZ2MBridgeState, t: hub, prefix: base}
	}
	if len(m.Payload) == 0 {
		return ignore() // a retained deletion, e.g. <old name>/availability after a rename
	}
	switch {
	case sub == "set", sub == "get", strings.HasPrefix(sub, "set/"), strings.HasPrefix(sub, "get/"):
		return ignore() // commands to the hub
	}
	dev, ok := r.z2mDeviceLocked(base, rt, hub, hubOK, name)
	if !ok {
		return plan{step: stepUnknown, key: base + "/" + name}
	}
	p := plan{t: dev, prefix: base, sub: sub}
	switch sub {
	case "":
		p.step = stepZ2MState
	case Z2MSubAvailability:
		p.step = stepZ2MAvailability
	case Z2MSubAction:
		p.step = stepZ2MAction
	default:
		if strings.IndexByte(sub, '/') >= 0 {
			return ignore() // no reading is published deeper
		}
		p.step = stepZ2MAttribute
	}
	return p
}

// z2mDeviceLocked resolves a friendly name (or IEEE address) under a hub.
func (r *Registry) z2mDeviceLocked(base string, rt *prefixRoute, hub target, hubOK bool, name string) (target, bool) {
	if !hubOK {
		return target{}, false
	}
	id, ok := r.routes.z2m[bedSource{hub.bed, name}]
	if !ok {
		if ieee := rt.names[name]; ieee != "" {
			id, ok = r.routes.z2m[bedSource{hub.bed, ieee}]
		}
	}
	if !ok {
		id, ok = r.routes.z2m[bedSource{hub.bed, base + "/" + name}]
	}
	if !ok {
		return target{}, false
	}
	t, ok := r.targetLocked(id)
	t.via = hub.id
	return t, ok
}

// decodeZ2M carries out a Zigbee2MQTT plan.
func (r *Registry) decodeZ2M(p plan, m Message, out []Observation) ([]Observation, error) {
	if p.step != stepZ2MBridgeDevices && len(m.Payload) > MaxPayload {
		return out, oversized(m.Payload)
	}
	var rd Reading
	var err error
	switch p.step {
	case stepZ2MBridgeDevices:
		return out, r.learnZ2M(p.prefix, m.Payload, m.Received)
	case stepZ2MBridgeState, stepZ2MAvailability:
		online, deleted, err := DecodeAvailability(m.Payload)
		if err != nil || deleted {
			return out, err
		}
		rd = Reading{Stream: StreamAvailability, Fields: []Field{BoolField("online", online)}}
	case stepZ2MState:
		rd, err = DecodeZigbee2MQTT(p.t.kind, m.Payload, m.Received)
	case stepZ2MAction:
		rd, err = DecodeZigbee2MQTTAction(m.Payload)
	case stepZ2MAttribute:
		rd, err = DecodeZigbee2MQTTAttribute(p.t.kind, p.sub, m.Payload, m.Received)
	}
	if err != nil {
		return out, err
	}
	return append(out, p.t.observe(rd, m.Received)), nil
}

// learnZ2M reads a <base>/bridge/devices list into the friendly names of
// base, unless a list received later is already known. A zero-length
// payload (the retained list deleted) keeps the names known.
func (r *Registry) learnZ2M(base string, payload []byte, received time.Time) error {
	if len(payload) == 0 {
		return nil
	}
	r.mu.RLock()
	rt := r.routes.prefix[base]
	current := rt != nil && rt.names != nil && !received.After(rt.namesAt)
	r.mu.RUnlock()
	if current {
		return nil
	}
	list, err := ParseBridgeDevices(base, payload)
	if err != nil {
		return err
	}
	r.LearnZigbee2MQTTNames(base, Zigbee2MQTTNames(list), received)
	return nil
}

// Zigbee2MQTTNames maps the friendly names of a bridge/devices list to IEEE
// addresses.
func Zigbee2MQTTNames(list []Discovered) map[string]string {
	names := make(map[string]string, len(list))
	for _, d := range list {
		if d.FriendlyName != "" && d.IEEE != "" {
			names[d.FriendlyName] = d.IEEE
		}
	}
	return names
}

// LearnZigbee2MQTTNames sets the friendly names (name -> IEEE address) of
// the hub at base, from a bridge/devices list received at at, unless a list
// received later is already known. The gateway calls it at start with the
// lists it stored; Decode and Announced call it for each list they read.
// The map is kept: do not change it afterwards.
func (r *Registry) LearnZigbee2MQTTNames(base string, names map[string]string, at time.Time) {
	base = strings.TrimSuffix(base, "/")
	if base == "" {
		return
	}
	if names == nil {
		names = map[string]string{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rt := r.routes.prefix[base]
	if rt == nil {
		rt = r.routes.route(base, FormatZigbee2MQTT)
	}
	if rt.format != FormatZigbee2MQTT || rt.names != nil && !at.After(rt.namesAt) {
		return
	}
	rt.names, rt.namesAt = names, at
	r.gen.Add(1)
}

// HubReading returns the registered Zigbee2MQTT hub that reads base, if
// any.
func (r *Registry) HubReading(base string) (Device, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	rt := r.routes.prefix[strings.TrimSuffix(base, "/")]
	if rt == nil || rt.format != FormatZigbee2MQTT || rt.device == "" {
		return Device{}, false
	}
	d := r.devices[rt.device]
	return Device{ID: rt.device, BedID: d.bedID, Kind: d.kind, Format: d.format, Source: d.source}, true
}

// BehindHub returns the ids of the Zigbee2MQTT devices read through the hub
// hubID (those of its bed), or nil when hubID is not a Zigbee2MQTT hub.
// When the hub goes offline they are blind: the caller marks them offline.
func (r *Registry) BehindHub(hubID string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	hub, ok := r.devices[hubID]
	if !ok || hub.kind != KindHub || hub.format != FormatZigbee2MQTT {
		return nil
	}
	var ids []string
	for k, id := range r.routes.z2m {
		if k.bed == hub.bedID {
			ids = append(ids, id)
		}
	}
	return ids
}
