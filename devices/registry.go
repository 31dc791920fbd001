package devices

import "sync"

// Registry is the in-memory index of registered beds and devices that
// turns messages into observations. It is safe for concurrent use; the state
// database is its durable copy and loads it at start.
type Registry struct {
	mu      sync.RWMutex
	devices map[string]registered // by device id
	agency  map[string]string     // bed id -> agency id
}

type registered struct {
	bedID string
	kind  Kind
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{devices: make(map[string]registered), agency: make(map[string]string)}
}

// PutBed adds or replaces a bed.
func (r *Registry) PutBed(b Bed) {
	r.mu.Lock()
	r.agency[b.ID] = b.AgencyID
	r.mu.Unlock()
}

// RemoveBed forgets a bed.
func (r *Registry) RemoveBed(id string) {
	r.mu.Lock()
	delete(r.agency, id)
	r.mu.Unlock()
}

// PutDevice adds or replaces a device.
func (r *Registry) PutDevice(d Device) {
	r.mu.Lock()
	r.devices[d.ID] = registered{bedID: d.BedID, kind: d.Kind}
	r.mu.Unlock()
}

// RemoveDevice forgets a device.
func (r *Registry) RemoveDevice(id string) {
	r.mu.Lock()
	delete(r.devices, id)
	r.mu.Unlock()
}

// Known reports whether a device id is registered.
func (r *Registry) Known(id string) bool {
	r.mu.RLock()
	_, ok := r.devices[id]
	r.mu.RUnlock()
	return ok
}

// Observe decodes one message and resolves its identity. A message from a
// device that is not registered is rejected with ReasonUnknownDevice; the
// caller keeps it in the unknown-device list.
func (r *Registry) Observe(m Message) (Observation, error) {
	if len(m.Payload) > MaxPayload {
		return Observation{}, Reject(ReasonOversized, "", "payload of %d bytes exceeds %d", len(m.Payload), MaxPayload)
	}
	id, stream, err := ParseNativeTopic(m.Topic)
	if err != nil {
		return Observation{}, err
	}
	r.mu.RLock()
	dev, ok := r.devices[id]
	agency := r.agency[dev.bedID]
	r.mu.RUnlock()
	if !ok {
		return Observation{DeviceID: id, Received: m.Received}, Reject(ReasonUnknownDevice, "", "device %q is not registered", id)
	}
	rd, err := DecodeNative(stream, m.Payload, m.Received)
	if err != nil {
		return Observation{DeviceID: id, Received: m.Received}, err
	}
	if rd.Time.IsZero() {
		rd.Time = m.Received
	}
	return Observation{Reading: rd, DeviceID: id, BedID: dev.bedID, AgencyID: agency, Kind: dev.kind, Received: m.Received}, nil
}
