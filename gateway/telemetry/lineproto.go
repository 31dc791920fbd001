package telemetry

import (
	"math"
	"strconv"

	"carebed/devices"
)

// batch is a batch of observations encoded as line protocol, one line per
// point, separated by '\n'. It is reused between writes.
type batch struct {
	buf  []byte
	ends []int // ends[i] is the offset just past line i (its newline excluded)
	obs  []int // obs[i] is the index of line i's observation in the input
}

func (b *batch) reset() {
	b.buf, b.ends, b.obs = b.buf[:0], b.ends[:0], b.obs[:0]
}

// encode appends a line for each observation that has fields. Observations
// that cannot become a point are reported to dropped.
func (b *batch) encode(obs []devices.Observation, dropped DropFunc) {
	for i := range obs {
		o := &obs[i]
		if len(o.Fields) == 0 {
			continue
		}
		if reason := invalid(o); reason != "" {
			if dropped != nil {
				dropped(*o, reason)
			}
			continue
		}
		if len(b.ends) > 0 {
			b.buf = append(b.buf, '\n')
		}
		b.buf = appendPoint(b.buf, o)
		b.ends = append(b.ends, len(b.buf))
		b.obs = append(b.obs, i)
	}
}

// lines returns the number of lines.
func (b *batch) lines() int { return len(b.ends) }

// body returns lines [lo, hi).
func (b *batch) body(lo, hi int) []byte {
	start := 0
	if lo > 0 {
		start = b.ends[lo-1] + 1
	}
	return b.buf[start:b.ends[hi-1]]
}

// appendPoint appends the line protocol of o, which must be valid (see
// invalid), without a trailing newline:
//
//	vitals,agency=a1,bed=b1,device=d1,kind=vitals_monitor heart_rate=72,in_bed=true 1700000000000000000
//
// Tags are in key order and empty tags are left out, so the same
// observation always makes the same line.
func appendPoint(buf []byte, o *devices.Observation) []byte {
	buf = appendEscaped(buf, string(o.Stream), measurementEscapes)
	buf = appendTag(buf, "agency", o.AgencyID)
	buf = appendTag(buf, "bed", o.BedID)
	buf = appendTag(buf, "device", o.DeviceID)
	buf = appendTag(buf, "kind", string(o.Kind))
	for i := range o.Fields {
		f := &o.Fields[i]
		if i == 0 {
			buf = append(buf, ' ')
		} else {
			buf = append(buf, ',')
		}
		buf = appendEscaped(buf, f.Name, keyEscapes)
		buf = append(buf, '=')
		switch f.Type {
		case devices.Float:
			buf = appendFloat(buf, f.F)
		case devices.Bool:
			buf = strconv.AppendBool(buf, f.B)
		case devices.String:
			buf = appendString(buf, f.S)
		}
	}
	buf = append(buf, ' ')
	return strconv.AppendInt(buf, pointTime(o).UnixNano(), 10)
}

func appendTag(buf []byte, key, value string) []byte {
	if value == "" {
		return buf
	}
	buf = append(buf, ',')
	buf = append(buf, key...)
	buf = append(buf, '=')
	return appendEscaped(buf, value, keyEscapes)
}

// Characters escaped with a backslash: in a measurement name, comma and
// space; in tag keys, tag values and field keys, also the equals sign.
const (
	measurementEscapes = ", "
	keyEscapes         = ", ="
)

func appendEscaped(buf []byte, s, special string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != ',' && c != ' ' && (c != '=' || len(special) < 3) {
			continue
		}
		buf = append(buf, s[start:i]...)
		buf = append(buf, '\\', c)
		start = i + 1
	}
	return append(buf, s[start:]...)
}

// appendString appends a double-quoted string field value, escaping double
// quotes and backslashes. Line breaks need no escape inside the quotes.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', c)
			start = i + 1
		}
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// appendFloat appends a float field value the way encoding/json does: plain
// decimals (72, 36.6, 1000000) unless the magnitude is below 1e-6 or at
// least 1e21, where the exponent form is shorter. Without an "i" suffix line
// protocol reads an integral value as a float, so 72 stays a float.
func appendFloat(buf []byte, f float64) []byte {
	// Most readings are whole numbers (heart rate, battery, rssi); printing
	// them as integers is several times cheaper and gives the same text.
	if f >= -1e15 && f <= 1e15 && f == math.Trunc(f) && (f != 0 || !math.Signbit(f)) {
		return strconv.AppendInt(buf, int64(f), 10)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.AppendFloat(buf, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(buf, f, 'f', -1, 64)
}
