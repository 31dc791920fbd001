package simulate

// eventHeap is a min-heap of events by time, then bed, then kind, so that
// the order of a run does not depend on how ties happened to be inserted.
// It is hand-written rather than container/heap to avoid boxing an event
// on every push: the generator fixes its top once per message.
type eventHeap []event

func (h eventHeap) less(i, j int) bool {
	a, b := &h[i], &h[j]
	if a.at != b.at {
		return a.at < b.at
	}
	if a.bed != b.bed {
		return a.bed < b.bed
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.role < b.role
}

func (h *eventHeap) push(e event) {
	*h = append(*h, e)
	h.up(len(*h) - 1)
}

// pop removes the top event.
func (h *eventHeap) pop() {
	old := *h
	n := len(old) - 1
	old[0] = old[n]
	*h = old[:n]
	h.down(0)
}

// fix restores the order after the top event's time changed.
func (h eventHeap) fix() { h.down(0) }

func (h eventHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (h eventHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
