package devices

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Registry is the in-memory index of registered beds and devices that
// turns messages into observations. It is safe for concurrent use; the state
// database is its durable copy and loads it at start.
//
// Native topics (carebed/<device_id>/<stream>) are resolved by one map
// lookup. Every other format is routed through an index of topic prefixes
// (Zigbee2MQTT base topics, ESPHome prefixes, Tasmota topics) and exact
// topics (SenML), kept up to date by PutDevice and RemoveDevice; see
// route.go for the rules per format.
type Registry struct {
	mu      sync.RWMutex
	devices map[string]registered // by device id
	beds    map[string]*bedEntry  // by bed id; entries are never deleted, see bedEntry
	nbeds   int                   // beds registered
	routes  routeIndex
	// gen counts the changes of what Decode reads, so that a decoding
	// kept for later is known to be current.
	gen atomic.Uint64

	// Set by the options, read-only afterwards.
	zone       *time.Location
	senmlNames map[string]string
	haPrefix   string
}

// bedEntry is a bed's agency, shared with the bed's devices so that
// decoding a message takes one map lookup, not two. A removed bed's entry
// stays, unregistered and without agency, for the devices that still point
// to it, and is reused if the bed comes back.
type bedEntry struct {
	agency     string
	registered bool
}

type registered struct {
	bedID  string
	bed    *bedEntry // nil without bedID
	kind   Kind
	format Format
	source string
}

// Option configures a Registry.
type Option func(*Registry)

// WithZone is the zone in which Tasmota's Time, a local time without
// offset, is read (the nodes' Timezone setting; the gateway passes its
// configured zone). Without it such times are not read and the receive
// time is used.
func WithZone(loc *time.Location) Option { return func(r *Registry) { r.zone = loc } }

// WithSenMLNames replaces the map from SenML record names to our fields
// (DefaultSenMLNames when not given). The map is not copied: do not change
// it afterwards.
func WithSenMLNames(names map[string]string) Option {
	return func(r *Registry) { r.senmlNames = names }
}

// WithDiscoveryPrefix is Home Assistant's discovery prefix, one topic level
// ("homeassistant" when not given).
func WithDiscoveryPrefix(prefix string) Option {
	return func(r *Registry) { r.haPrefix = strings.Trim(prefix, "/") }
}

// DefaultDiscoveryPrefix is Home Assistant's default discovery prefix.
const DefaultDiscoveryPrefix = "homeassistant"

// NewRegistry returns an empty registry.
func NewRegistry(opts ...Option) *Registry {
	r := &Registry{
		devices:    make(map[string]registered),
		beds:       make(map[string]*bedEntry),
		routes:     newRouteIndex(),
		senmlNames: senmlDefaults,
		haPrefix:   DefaultDiscoveryPrefix,
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// PutBed adds or replaces a bed.
func (r *Registry) PutBed(b Bed) {
	r.mu.Lock()
	e := r.bedLocked(b.ID)
	if !e.registered {
		e.registered = true
		r.nbeds++
	}
	e.agency = b.AgencyID
	r.gen.Add(1)
	r.mu.Unlock()
}

// RemoveBed forgets a bed.
func (r *Registry) RemoveBed(id string) {
	r.mu.Lock()
	if e := r.beds[id]; e != nil && e.registered {
		e.registered, e.agency = false, ""
		r.nbeds--
	}
	r.gen.Add(1)
	r.mu.Unlock()
}

// bedLocked returns the entry of bed id, made if missing; r.mu must be
// held for writing.
func (r *Registry) bedLocked(id string) *bedEntry {
	e := r.beds[id]
	if e == nil {
		e = &bedEntry{}
		r.beds[id] = e
	}
	return e
}

// agency is the agency of a registered device's bed; r.mu must be held.
func (d registered) agency() string {
	if d.bed == nil {
		return ""
	}
	return d.bed.agency
}

// PutDevice adds or replaces a device, and the routes its format and
// source give it.
func (r *Registry) PutDevice(d Device) {
	reg := registered{bedID: d.BedID, kind: d.Kind, format: d.Format, source: d.Source}
	if reg.format == "" {
		reg.format = FormatNative
	}
	r.mu.Lock()
	if old, ok := r.devices[d.ID]; ok {
		r.routes.remove(d.ID, old)
	}
	if reg.bedID != "" {
		reg.bed = r.bedLocked(reg.bedID)
	}
	r.devices[d.ID] = reg
	r.routes.add(d.ID, reg)
	r.gen.Add(1)
	r.mu.Unlock()
}

// RemoveDevice forgets a device.
func (r *Registry) RemoveDevice(id string) {
	r.mu.Lock()
	if old, ok := r.devices[id]; ok {
		r.routes.remove(id, old)
		delete(r.devices, id)
	}
	r.gen.Add(1)
	r.mu.Unlock()
}

// Generation changes whenever the registry changes in a way that may
// change what Decode returns: a decoding made at one generation is still
// what Decode would return while Generation returns the same.
func (r *Registry) Generation() uint64 { return r.gen.Load() }

// Beds returns the number of registered beds.
func (r *Registry) Beds() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.nbeds
}

// Known reports whether a device id is registered.
func (r *Registry) Known(id string) bool {
	r.mu.RLock()
	_, ok := r.devices[id]
	r.mu.RUnlock()
	return ok
}

// Decode turns one message into observations, appended to out, and returns
// the extended slice. A message gives 0..n observations: none for a message
// that carries no reading (a retained deletion, a hub's log line, a
// discovery config: see Announced), several for a SenML pack or a Tasmota
// SENSOR message with several sensors.
//
// A message whose sender is not registered is rejected with
// ReasonUnknownDevice, as an *UnknownDeviceError whose Key the caller keeps
// in the unknown-device list. Every other failure is a *RejectError. On
// error out is returned with its original length.
//
// Native topics keep the rules of ParseNativeTopic and DecodeNative, with
// one more stream: carebed/<device_id>/senml carries a SenML pack from a
// registered device. Other formats are routed by the device's format and
// source (route.go). Observations of a foreign format that carry no field
// are signs of life (they move last_seen) and have StreamStatus.
func (r *Registry) Decode(m Message, out []Observation) ([]Observation, error) {
	n := len(out)
	var err error
	if strings.HasPrefix(m.Topic, NativePrefix+"/") || !foreignTopic(m.Topic) {
		out, err = r.decodeNative(m, out)
	} else {
		out, err = r.decodeForeign(m, out, nil)
	}
	if err != nil {
		return out[:n], err
	}
	return out, nil
}

// foreignTopic reports whether a topic outside the native prefix may be
// read by another format: one that a client can publish to.
func foreignTopic(topic string) bool {
	return topic != "" && !strings.ContainsAny(topic, "+#\x00")
}

// decodeNative is the fast path: one map lookup under the read lock.
func (r *Registry) decodeNative(m Message, out []Observation) ([]Observation, error) {
	if len(m.Payload) > MaxPayload {
		return out, oversized(m.Payload)
	}
	id, stream, err := ParseNativeTopic(m.Topic)
	if err != nil {
		if ReasonOf(err) == ReasonUnknownStream && strings.HasSuffix(m.Topic, "/"+senmlStream) {
			// Three levels and a valid id, or the reason would differ.
			id = m.Topic[len(NativePrefix)+1 : len(m.Topic)-len(senmlStream)-1]
			return r.decodeNativeSenML(id, m, out)
		}
		if foreignTopic(m.Topic) {
			return r.decodeForeign(m, out, err) // a registered source may still read it
		}
		return out, err
	}
	r.mu.RLock()
	dev, ok := r.devices[id]
	agency := dev.agency()
	r.mu.RUnlock()
	if !ok {
		return out, unknownDevice(id, "", "device %s is not registered", quote(id))
	}
	rd, err := DecodeNative(stream, m.Payload, m.Received)
	if err != nil {
		return out, err
	}
	if rd.Time.IsZero() {
		rd.Time = m.Received
	}
	return append(out, Observation{Reading: rd, DeviceID: id, BedID: dev.bedID, AgencyID: agency, Kind: dev.kind, Received: m.Received}), nil
}

func oversized(payload []byte) error {
	return Reject(ReasonOversized, "", "payload of %d bytes exceeds %d", len(payload), MaxPayload)
}

// target is a resolved device: what an Observation needs.
type target struct {
	id, bed, agency, via string
	kind                 Kind
}

// targetLocked resolves a registered device id; r.mu must be held.
func (r *Registry) targetLocked(id string) (target, bool) {
	if id == "" {
		return target{}, false
	}
	d, ok := r.devices[id]
	if !ok {
		return target{}, false
	}
	return target{id: id, bed: d.bedID, agency: d.agency(), kind: d.kind}, true
}

// observe stamps a reading with the target's identity. A reading without
// fields is a sign of life on StreamStatus.
func (t target) observe(rd Reading, received time.Time) Observation {
	if rd.Time.IsZero() {
		rd.Time = received
	}
	if len(rd.Fields) == 0 {
		rd.Stream = StreamStatus
	}
	return Observation{Reading: rd, DeviceID: t.id, BedID: t.bed, AgencyID: t.agency, Kind: t.kind, Via: t.via, Received: received}
}
