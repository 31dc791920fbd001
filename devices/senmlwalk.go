package devices

// walker iterates over the members of a JSON object or the elements of a
// JSON array whose syntax the scanner has already checked (see
// validJSON), without allocating. The SenML and Tasmota decoders use it to
// read nested payloads that the flat native parser does not cover.
type walker struct {
	s     scanner
	close byte
}

// validJSON checks that payload is exactly one JSON value (RFC 8259, strict
// UTF-8, at most MaxNesting levels) and returns it. An empty or blank
// payload is ReasonEmpty, anything else that is not JSON ReasonMalformed.
func validJSON(payload []byte) (rawValue, error) {
	s := scanner{buf: payload}
	s.ws()
	if s.i == len(payload) {
		return rawValue{}, Reject(ReasonEmpty, "", "payload is empty")
	}
	v, ok := s.value(0)
	if s.ws(); ok && s.i != len(payload) {
		ok = s.fail("data after the "+v.kind.String(), "")
	}
	if !ok {
		return rawValue{}, s.reject()
	}
	return v, nil
}

// walk starts iterating over v, which must be a checked object or array.
func walk(v rawValue) walker {
	w := walker{s: scanner{buf: v.raw, i: 1}, close: '}'}
	if v.kind == kindArray {
		w.close = ']'
	}
	return w
}

// member returns the next key and value of an object.
func (w *walker) member() (key, v rawValue, ok bool) {
	if !w.more() {
		return rawValue{}, rawValue{}, false
	}
	key, _ = w.s.str()
	w.s.ws()
	w.s.i++ // ':'
	w.s.ws()
	v, _ = w.s.value(1)
	return key, v, true
}

// element returns the next element of an array.
func (w *walker) element() (rawValue, bool) {
	if !w.more() {
		return rawValue{}, false
	}
	v, _ := w.s.value(1)
	return v, true
}

func (w *walker) more() bool {
	w.s.ws()
	if w.s.i < len(w.s.buf) && w.s.buf[w.s.i] == ',' {
		w.s.i++
		w.s.ws()
	}
	return w.s.i < len(w.s.buf) && w.s.buf[w.s.i] != w.close
}
