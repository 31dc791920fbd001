package devices

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// This file holds what the foreign-format decoders (SenML, ESPHome,
// Tasmota, plain-text numbers) share: our canonical fields, their streams
// and physical ranges, taken from the native contract tables so that every
// format is held to the same limits.
//
// Errors follow one convention in all of them: a value outside its
// physical range is ReasonOutOfRange naming our field ("heart_rate"); a
// value of the wrong kind or unit is rejected naming the element on the
// wire (the SenML record name, the Tasmota key, the ESPHome object id),
// since that is what an operator can find in the device's configuration.

// canonField is one of our fields as a foreign format feeds it.
type canonField struct {
	stream Stream
	spec   *fieldSpec
	order  int // index in the stream's contract order
}

// lookupCanon finds our field called name. A name may be qualified with
// its stream ("vitals.temp_c", "fall.state"); unqualified names are looked
// up in vitals, env, status and fall in that order, except temp_c, which
// unqualified means the ambient temperature of env (-40..85 °C). Body
// temperature (25..45 °C) must be asked for as "vitals.temp_c".
func lookupCanon(name string) (canonField, bool) {
	streams := [...]Stream{StreamVitals, StreamEnv, StreamStatus, StreamFall}
	order := streams[:]
	if s, n, ok := strings.Cut(name, "."); ok {
		order, name = []Stream{Stream(s)}, n
	} else if name == "temp_c" {
		order = []Stream{StreamEnv}
	}
	for _, s := range order {
		if !slices.Contains(streams[:], s) {
			return canonField{}, false
		}
		spec, _ := nativeSpec(s)
		for i := range spec {
			if spec[i].name == name {
				return canonField{stream: s, spec: &spec[i], order: i}, true
			}
		}
	}
	return canonField{}, false
}

// number checks x, already in our unit, for the field. wire names the
// element on the wire for errors. none reports a no-reading marker: NaN
// for any number, and 0 or 255 for a vital sign from a radar.
func (c canonField) number(x float64, wire []byte) (f Field, none bool, err error) {
	spec := c.spec
	switch spec.check {
	case checkNumber, checkVital:
		if math.IsNaN(x) || spec.check == checkVital && (x == 0 || x == 255) {
			return Field{}, true, nil
		}
		if math.IsInf(x, 0) || x < spec.min || x > spec.max {
			return Field{}, false, Reject(ReasonOutOfRange, spec.name, "%s: %g outside %g..%g", quote(string(wire)), x, spec.min, spec.max)
		}
		return FloatField(spec.name, x), false, nil
	case checkBool:
		switch x {
		case 0, 1:
			return BoolField(spec.name, x == 1), false, nil
		}
		return Field{}, false, Reject(ReasonInvalidValue, clip(string(wire)), "%g for %s: want 0 or 1", x, spec.name)
	}
	return Field{}, false, Reject(ReasonWrongType, clip(string(wire)), "a number cannot be %s", spec.name)
}

// boolean checks a two-state value (a SenML vb, an ESPHome binary sensor,
// a Tasmota 0/1 flag). For the fall state true means "fall" and false
// "normal".
func (c canonField) boolean(b bool, wire []byte) (Field, error) {
	switch {
	case c.spec.check == checkBool:
		return BoolField(c.spec.name, b), nil
	case c.stream == StreamFall:
		if b {
			return StringField(c.spec.name, "fall"), nil
		}
		return StringField(c.spec.name, "normal"), nil
	}
	return Field{}, Reject(ReasonWrongType, clip(string(wire)), "a boolean cannot be %s", c.spec.name)
}

// text checks a string value: only enumerated fields take one, exactly.
func (c canonField) text(s string, wire []byte) (Field, error) {
	if c.spec.check != checkEnum {
		return Field{}, Reject(ReasonWrongType, clip(string(wire)), "a string cannot be %s", c.spec.name)
	}
	if !slices.Contains(c.spec.enum, s) {
		return Field{}, Reject(ReasonInvalidValue, clip(string(wire)), "%s: want one of %s", quote(s), strings.Join(c.spec.enum, ", "))
	}
	return StringField(c.spec.name, s), nil
}

// readingSet collects fields into one Reading per (time, stream), each in
// contract order. A field given twice for the same reading keeps the later
// value. It keeps a few readings inline, so that decoding a typical
// message allocates only what it returns.
type readingSet struct {
	buf   [4]readingGroup
	n     int
	extra []readingGroup // all groups, once there are more than len(buf)
}

// all returns the groups collected so far.
func (rs *readingSet) all() []readingGroup {
	if rs.extra != nil {
		return rs.extra
	}
	return rs.buf[:rs.n]
}

type readingGroup struct {
	key       readingKey
	n         int
	fields    [8]Field // no stream has more fields
	orders    [8]int
	noReading bool
}

type readingKey struct {
	stream  Stream
	hasTime bool
	unixNs  int64
}

func (rs *readingSet) group(k readingKey) *readingGroup {
	groups := rs.all()
	for i := range groups {
		if groups[i].key == k {
			return &groups[i]
		}
	}
	switch {
	case rs.extra != nil:
		rs.extra = append(rs.extra, readingGroup{key: k})
		return &rs.extra[len(rs.extra)-1]
	case rs.n == len(rs.buf):
		rs.extra = append(slices.Clone(rs.buf[:]), readingGroup{key: k})
		return &rs.extra[len(rs.extra)-1]
	}
	rs.buf[rs.n] = readingGroup{key: k}
	rs.n++
	return &rs.buf[rs.n-1]
}

// add puts f (or, when none, the no-reading marker) into the reading of
// c's stream at t (the zero time for "no time").
func (rs *readingSet) add(c canonField, t time.Time, f Field, none bool) {
	k := readingKey{stream: c.stream, hasTime: !t.IsZero()}
	if k.hasTime {
		k.unixNs = t.UnixNano()
	}
	g := rs.group(k)
	if none {
		g.noReading = g.noReading || c.stream == StreamVitals
		return
	}
	i := 0
	for i < g.n && g.orders[i] < c.order {
		i++
	}
	if i < g.n && g.orders[i] == c.order {
		g.fields[i] = f
		return
	}
	copy(g.fields[i+1:g.n+1], g.fields[i:g.n])
	copy(g.orders[i+1:g.n+1], g.orders[i:g.n])
	g.fields[i], g.orders[i] = f, c.order
	g.n++
}

// readings returns the collected readings in order of time, then of
// stream in contract order; no_reading comes last in its reading. A
// reading left with no field at all (a NaN temperature) is dropped.
// The zero time sorts first.
func (rs *readingSet) readings() []Reading {
	groups := rs.all()
	slices.SortStableFunc(groups, func(a, b readingGroup) int {
		if a.key.hasTime != b.key.hasTime {
			return boolRank(a.key.hasTime) - boolRank(b.key.hasTime)
		}
		if c := cmp.Compare(a.key.unixNs, b.key.unixNs); c != 0 {
			return c
		}
		return slices.Index(Streams, a.key.stream) - slices.Index(Streams, b.key.stream)
	})
	var out []Reading
	for i := range groups {
		g := &groups[i]
		n := g.n
		if g.noReading {
			n++
		}
		if n == 0 {
			continue
		}
		r := Reading{Stream: g.key.stream, Fields: make([]Field, n)}
		copy(r.Fields, g.fields[:g.n])
		if g.noReading {
			r.Fields[g.n] = BoolField("no_reading", true)
		}
		if g.key.hasTime {
			r.Time = time.Unix(0, g.key.unixNs).UTC()
		}
		if out == nil {
			out = make([]Reading, 0, len(groups))
		}
		out = append(out, r)
	}
	return out
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
