package gateway

import (
	"sync"

	"carebed/devices"
	"carebed/gateway/journal"
)

// decoded hands the telemetry writer the observations the device-state
// consumer has already made, so that in the steady state each message is
// decoded once. It is a ring indexed by journal index: the writer decodes
// whatever it does not find (after a restart, or when it falls behind by
// more than the ring holds).
type decoded struct {
	mu   sync.Mutex
	ring []decodedSlot
	mask uint64
}

type decodedSlot struct {
	index uint64 // 0: empty
	obs   devices.Observation
	ok    bool // the message decoded into an observation
}

// newDecoded returns a ring of at least n slots (a power of two).
func newDecoded(n int) *decoded {
	size := 1
	for size < n {
		size <<= 1
	}
	return &decoded{ring: make([]decodedSlot, size), mask: uint64(size - 1)}
}

// put records the outcome of decoding the entry at index.
func (d *decoded) put(slots []decodedSlot) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range slots {
		d.ring[s.index&d.mask] = s
	}
}

// observe appends to dst the observation of every entry of batch that has
// one, in journal order: from the ring when it is there, decoded with reg
// otherwise. found is scratch space, returned for reuse.
func (d *decoded) observe(reg *devices.Registry, batch []journal.Entry, dst []devices.Observation, found []decodedSlot) ([]devices.Observation, []decodedSlot) {
	found = found[:0]
	d.mu.Lock()
	for _, e := range batch {
		found = append(found, d.ring[e.Index&d.mask])
	}
	d.mu.Unlock()
	for i, e := range batch {
		s := found[i]
		if s.index != e.Index {
			o, err := reg.Observe(devices.Message{Topic: e.Topic, Payload: e.Payload, Received: e.Received})
			s = decodedSlot{index: e.Index, obs: o, ok: err == nil}
		}
		if s.ok && len(s.obs.Fields) > 0 {
			dst = append(dst, s.obs)
		}
	}
	clear(found) // let the observations go
	return dst, found
}
