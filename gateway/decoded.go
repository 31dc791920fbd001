package gateway

import (
	"sync/atomic"

	"carebed/devices"
	"carebed/gateway/journal"
)

// decodedRing lets the journal's consumers share the decoding of each
// entry: every consumer reads every entry, and decoding it (a registry
// lookup in a map of every device, and the payload) is most of what a
// message costs. The first consumer to reach an entry decodes it and
// leaves the result in a slot of the ring; the others take it from there,
// as long as it is the same entry and the registry has not changed since.
// Otherwise, a consumer far behind the others or one after a registration,
// they decode it again, which is always right.
type decodedRing struct {
	reg   *devices.Registry
	slots []atomic.Pointer[decodedEntry]
}

// decodedSlots is the size of the ring: the most entries a consumer may
// trail the first one by and still find them decoded (a lingering
// time-series writer trails by a few thousand at full speed).
const decodedSlots = 1 << 13

// decodedEntry is one entry's decoding. Its observations are shared by the
// consumers, read-only.
type decodedEntry struct {
	index uint64
	gen   uint64
	obs   []devices.Observation
	err   error
	one   [1]devices.Observation // obs for the usual single observation
}

func newDecodedRing(reg *devices.Registry) *decodedRing {
	return &decodedRing{reg: reg, slots: make([]atomic.Pointer[decodedEntry], decodedSlots)}
}

// decode appends the observations of e to out, as Registry.Decode would
// now. The observations appended are shared: do not change them, nor the
// Fields they point to.
func (r *decodedRing) decode(e journal.Entry, out []devices.Observation) ([]devices.Observation, error) {
	gen := r.reg.Generation()
	slot := &r.slots[e.Index%decodedSlots]
	if d := slot.Load(); d != nil && d.index == e.Index && d.gen == gen {
		return append(out, d.obs...), d.err
	}
	n := len(out)
	out, err := r.reg.Decode(devices.Message{Topic: e.Topic, Payload: e.Payload, Received: e.Received}, out)
	d := &decodedEntry{index: e.Index, gen: gen, err: err}
	switch got := out[n:]; len(got) {
	case 0:
	case 1:
		d.one[0] = got[0]
		d.obs = d.one[:]
	default:
		d.obs = append([]devices.Observation(nil), got...)
	}
	// A consumer far behind the others must not evict their entries for
	// its old ones: it would make them decode again too.
	for {
		cur := slot.Load()
		if cur != nil && cur.index > e.Index || slot.CompareAndSwap(cur, d) {
			break
		}
	}
	return out, err
}
