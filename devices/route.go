package devices

import (
	"errors"
	"strings"
	"time"
)

// Routing of formats other than native. A device's format says how its
// messages are read and its source where they are published:
//
//	format       source                                  topics read
//	zigbee2mqtt  hub (kind hub): its base topic          <base>/bridge/state, <base>/bridge/devices
//	zigbee2mqtt  other kinds: IEEE address, friendly     <base>/<name>, <name>/availability, <name>/action,
//	             name, or <base>/<friendly name>         <name>/<attribute>, through the hub of its bed
//	esphome      topic_prefix                            <prefix>/status, <prefix>/<component>/<id>/state
//	tasmota      %topic% (or tele/%topic%); a Zigbee     tele/<topic>/LWT, SENSOR, STATE
//	             device behind a Tasmota bridge:
//	             <topic>/<ZbName or short address>
//	senml        any topic (optional)                    that topic, and carebed/<device_id>/senml
//
// Prefixes and exact topics are indexed when devices are put or removed, so
// a message costs a few map lookups (one per topic level at most), never a
// scan of the devices.

// senmlStream is the last level of carebed/<device_id>/senml.
const senmlStream = "senml"

// routeIndex holds the routes of the foreign formats. It is guarded by the
// Registry's mutex.
type routeIndex struct {
	exact  map[string]string       // SenML source topic -> device id
	prefix map[string]*prefixRoute // topic prefix (no trailing '/') -> route
	z2m    map[bedSource]string    // Zigbee2MQTT device (bed, source) -> device id
}

type bedSource struct{ bed, source string }

// prefixRoute is what reads the topics under one prefix.
type prefixRoute struct {
	format Format
	device string // the hub, ESPHome node or Tasmota node; "" when none is registered
	// Zigbee2MQTT: friendly name -> IEEE address, from <base>/bridge/devices
	// as received at namesAt. nil until a list is known. Kept for a base
	// without a registered hub too, so that its devices are listed as
	// unknown by name.
	names   map[string]string
	namesAt time.Time
	// Tasmota: Zigbee name or short address -> device id.
	subs map[string]string
}

func newRouteIndex() routeIndex {
	return routeIndex{exact: map[string]string{}, prefix: map[string]*prefixRoute{}, z2m: map[bedSource]string{}}
}

func (ix *routeIndex) route(prefix string, f Format) *prefixRoute {
	rt := ix.prefix[prefix]
	if rt == nil {
		rt = &prefixRoute{format: f}
		ix.prefix[prefix] = rt
	}
	rt.format = f
	return rt
}

func (ix *routeIndex) drop(prefix string, rt *prefixRoute) {
	if rt.device == "" && rt.names == nil && len(rt.subs) == 0 {
		delete(ix.prefix, prefix)
	}
}

// add indexes a device. The latest device put wins a contested source; the
// state database keeps (format, source) unique anyway.
func (ix *routeIndex) add(id string, d registered) {
	src := d.source
	if src == "" {
		return
	}
	switch d.format {
	case FormatZigbee2MQTT:
		if d.kind == KindHub {
			ix.route(strings.TrimSuffix(src, "/"), FormatZigbee2MQTT).device = id
			return
		}
		ix.z2m[bedSource{d.bedID, src}] = id
	case FormatESPHome:
		ix.route(strings.TrimSuffix(src, "/"), FormatESPHome).device = id
	case FormatTasmota:
		node, sub := tasmotaSource(src)
		rt := ix.route(node, FormatTasmota)
		if sub == "" {
			rt.device = id
			return
		}
		if rt.subs == nil {
			rt.subs = map[string]string{}
		}
		rt.subs[sub] = id
	case FormatSenML:
		ix.exact[src] = id
	}
}

// remove undoes add, leaving alone what another device has taken since.
func (ix *routeIndex) remove(id string, d registered) {
	src := d.source
	if src == "" {
		return
	}
	switch d.format {
	case FormatZigbee2MQTT:
		if d.kind == KindHub {
			ix.removeDevice(strings.TrimSuffix(src, "/"), id)
			return
		}
		if k := (bedSource{d.bedID, src}); ix.z2m[k] == id {
			delete(ix.z2m, k)
		}
	case FormatESPHome:
		ix.removeDevice(strings.TrimSuffix(src, "/"), id)
	case FormatTasmota:
		node, sub := tasmotaSource(src)
		if sub == "" {
			ix.removeDevice(node, id)
			return
		}
		if rt := ix.prefix[node]; rt != nil && rt.subs[sub] == id {
			delete(rt.subs, sub)
			ix.drop(node, rt)
		}
	case FormatSenML:
		if ix.exact[src] == id {
			delete(ix.exact, src)
		}
	}
}

func (ix *routeIndex) removeDevice(prefix, id string) {
	if rt := ix.prefix[prefix]; rt != nil && rt.device == id {
		rt.device = ""
		ix.drop(prefix, rt)
	}
}

// longest returns the longest indexed prefix of topic, cut at a '/'.
func (ix *routeIndex) longest(topic string) (string, *prefixRoute) {
	if len(ix.prefix) == 0 {
		return "", nil
	}
	for i := len(topic) - 1; i > 0; i-- {
		if topic[i] == '/' {
			if rt := ix.prefix[topic[:i]]; rt != nil {
				return topic[:i], rt
			}
		}
	}
	return "", nil
}

// tasmotaSource splits a Tasmota source into the prefix of its node's
// telemetry (tele/<topic>) and the Zigbee device behind it, if any.
func tasmotaSource(src string) (node, sub string) {
	src = strings.TrimPrefix(src, tasmotaTele+"/")
	topic, sub, _ := strings.Cut(src, "/")
	return tasmotaTele + "/" + topic, sub
}

// tasmotaTele is Tasmota's telemetry prefix (%prefix% 3, "tele").
const tasmotaTele = "tele"

// UnknownDeviceError rejects a message from a device nobody registered. It
// is a ReasonUnknownDevice rejection (ReasonOf sees it) that carries the key
// under which the caller lists the device for registration.
type UnknownDeviceError struct {
	// Key is the device id of a native topic, else what identifies the
	// sender on the wire: <base>/<friendly name> behind a Zigbee2MQTT hub,
	// <base> for a hub, tele/<topic> for a Tasmota node, <prefix> for an
	// ESPHome node, the topic for SenML.
	Key string
	// Kind is what the sender is when the topic says so (KindHub for a
	// Zigbee2MQTT bridge), else "".
	Kind   Kind
	reject *RejectError
}

func (e *UnknownDeviceError) Error() string { return e.reject.Error() }

// Unwrap gives the *RejectError, for ReasonOf and errors.As.
func (e *UnknownDeviceError) Unwrap() error { return e.reject }

func unknownDevice(key string, kind Kind, format string, args ...any) error {
	return &UnknownDeviceError{Key: key, Kind: kind, reject: Reject(ReasonUnknownDevice, "", format, args...)}
}

// UnknownKey returns the key of an unknown device from a Decode error, and
// whether err is such a rejection.
func UnknownKey(err error) (string, bool) {
	var u *UnknownDeviceError
	if errors.As(err, &u) {
		return u.Key, true
	}
	return "", false
}

// decodeForeign reads a topic of another format. nativeErr is the native
// parser's verdict on a topic under the native prefix, returned when no
// registered source reads the topic either.
func (r *Registry) decodeForeign(m Message, out []Observation, nativeErr error) ([]Observation, error) {
	if nativeErr == nil && r.haPrefix != "" && strings.HasPrefix(m.Topic, r.haPrefix+"/") {
		return out, nil // discovery: see Announced
	}
	r.mu.RLock()
	if id, ok := r.routes.exact[m.Topic]; ok {
		t, _ := r.targetLocked(id)
		r.mu.RUnlock()
		if len(m.Payload) == 0 {
			return out, nil // a retained deletion
		}
		if len(m.Payload) > MaxPayload {
			return out, oversized(m.Payload)
		}
		return r.decodeSenML(t, m, out)
	}
	prefix, rt := r.routes.longest(m.Topic)
	if rt == nil {
		r.mu.RUnlock()
		if nativeErr != nil {
			return out, nativeErr
		}
		return r.unrouted(m, out)
	}
	var p plan
	switch rt.format {
	case FormatZigbee2MQTT:
		p = r.planZ2MLocked(prefix, rt, m)
	case FormatESPHome:
		p = r.planNodeLocked(prefix, rt, m, stepESPHome)
	case FormatTasmota:
		p = r.planNodeLocked(prefix, rt, m, stepTasmota)
	}
	r.mu.RUnlock()
	return r.run(p, m, out)
}

// step is what to do with a routed message.
type step uint8

const (
	stepIgnore step = iota
	stepReject
	stepUnknown
	stepZ2MState
	stepZ2MAvailability
	stepZ2MAction
	stepZ2MAttribute
	stepZ2MBridgeState
	stepZ2MBridgeDevices
	stepESPHome
	stepTasmota
)

// plan is a routing decision, taken under the read lock and carried out
// after it.
type plan struct {
	step   step
	t      target
	prefix string // the matched prefix: Zigbee2MQTT base, ESPHome prefix, tele/<topic>
	sub    string // Zigbee2MQTT attribute
	key    string // unknown device key
	kind   Kind   // unknown device kind
	err    error  // stepReject
}

func ignore() plan { return plan{step: stepIgnore} }

func (r *Registry) run(p plan, m Message, out []Observation) ([]Observation, error) {
	switch p.step {
	case stepIgnore:
		return out, nil
	case stepReject:
		return out, p.err
	case stepUnknown:
		return out, unknownDevice(p.key, p.kind, "no registered device reads %s", quote(m.Topic))
	case stepESPHome:
		return r.decodeESPHome(p, m, out)
	case stepTasmota:
		return r.decodeTasmota(p, m, out)
	}
	return r.decodeZ2M(p, m, out)
}

// planNodeLocked routes a message under an ESPHome or Tasmota node's
// prefix.
func (r *Registry) planNodeLocked(prefix string, rt *prefixRoute, m Message, s step) plan {
	if len(m.Payload) == 0 {
		return ignore() // a retained deletion
	}
	t, ok := r.targetLocked(rt.device)
	if !ok && (s == stepESPHome || len(rt.subs) == 0) {
		return plan{step: stepUnknown, key: prefix}
	}
	return plan{step: s, t: t, prefix: prefix}
}

// unrouted handles a topic that no registered device reads: the shapes of
// the foreign formats give an unknown device to list, the rest is
// ReasonUnknownTopic. Zero-length payloads (retained deletions) are
// ignored.
func (r *Registry) unrouted(m Message, out []Observation) ([]Observation, error) {
	topic := m.Topic
	if base, sub, ok := z2mBridgeTopic(topic); ok {
		switch {
		case sub == "devices":
			return out, r.learnZ2M(base, m.Payload, m.Received)
		case sub == "state" && len(m.Payload) > 0:
			return out, unknownDevice(base, KindHub, "no registered hub reads the Zigbee2MQTT base %s", quote(base))
		}
		return out, nil
	}
	if node, _, ok := strings.Cut(strings.TrimPrefix(topic, tasmotaTele+"/"), "/"); ok && strings.HasPrefix(topic, tasmotaTele+"/") && node != "" {
		if len(m.Payload) == 0 {
			return out, nil
		}
		key := tasmotaTele + "/" + node
		return out, unknownDevice(key, "", "no registered Tasmota node reads %s", quote(key))
	}
	if prefix, ok := esphomeStateTopic(topic); ok {
		if len(m.Payload) == 0 {
			return out, nil
		}
		return out, unknownDevice(prefix, "", "no registered ESPHome node has the topic prefix %s", quote(prefix))
	}
	if len(m.Payload) == 0 {
		return out, nil
	}
	return out, Reject(ReasonUnknownTopic, "", "no registered device reads topic %s (native topics are %s/<device_id>/<stream>)", quote(topic), NativePrefix)
}

// esphomeStateTopic recognises <prefix>/<component>/<object_id>/state for
// the components we read.
func esphomeStateTopic(topic string) (prefix string, ok bool) {
	rest, ok := strings.CutSuffix(topic, "/state")
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return "", false
	}
	j := strings.LastIndexByte(rest[:i], '/')
	if j <= 0 || rest[i+1:] == "" {
		return "", false
	}
	switch rest[j+1 : i] {
	case "sensor", "binary_sensor", "text_sensor", "number", "switch":
		return rest[:j], true
	}
	return "", false
}
