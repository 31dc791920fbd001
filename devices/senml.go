package devices

import (
	"math"
	"strconv"
	"time"
)

// senmlVersion is the SenML version this decoder understands: RFC 8428 is
// version 10 (§4.4).
const senmlVersion = 10

// senmlRelative is 2^28: resolved times below it are seconds relative to
// now (RFC 8428 §4.5.3).
const senmlRelative = 1 << 28

// DecodeSenML decodes a SenML pack in JSON (RFC 8428, application/senml+json)
// received at received. names maps SenML record names to our fields; the
// registry holds one map per device, since SenML registers no standard
// record names.
//
// Resolution follows RFC 8428 §4.5 and §4.6:
//
//   - bn, bt, bu, bv and bver apply to the record that carries them and to
//     every later record, until a later record gives a new value, which
//     replaces the earlier one. bs and sums (s) are read but not used: none
//     of our fields is an integral.
//   - The name is bn+n. It is looked up in names first as the whole
//     resolved name ("urn:dev:mac:0024befffe804ff1:heart-rate") and then as
//     its last segment, the part after the last ':' or '/' ("heart-rate").
//     A resolved name must be 1+ of [A-Za-z0-9-:./_] starting with a
//     letter or digit (§4.5.1), or the pack is ReasonInvalidValue.
//   - The time is bt+t in seconds. 0 means "now" and leaves Reading.Time
//     zero (the caller stamps the receive time); other values below 2^28
//     are relative to received (§4.5.3); larger values are Unix seconds.
//     A time later than received+MaxFutureSkew is ReasonFutureTime, and a
//     relative time more than 2^28 s in the past ReasonOutOfRange.
//   - The value is bv+v, in the unit u, or bu when u is absent. vb, vs and
//     vd are taken as they are. A record with no value (only base fields,
//     or only a sum) carries nothing for us and is skipped.
//
// Records whose names are not in names are ignored without error, so a
// device may send more than we read; so are their units and times. Mapped
// records are converted to our units: beat/min, 1/min (and 1/s, Hz, times
// 60) for heart_rate and resp_rate; Cel (and K) for temp_c; %RH for
// humidity; %EL for battery; dBm (and dBW) for rssi; '%' and '/' are 0-1
// RATIOS (RFC 8428 units registry: '%' is not a percentage) and are multiplied by
// 100 for spo2, humidity, battery and movement. Two-state fields (door_open,
// in_bed, ...) take vb, or v 0 or 1 in '/', '%' or no unit. The fall state
// takes vs ("fall", "suspected", "normal") or vb (true is "fall"). A record
// with no unit is taken to be in our unit already. Any other unit for a
// mapped record is ReasonInvalidValue naming the record, such as a heart
// rate in Cel.
//
// Mapped values then meet our physical ranges: out of range is
// ReasonOutOfRange naming our field; 0, 255 or NaN for heart_rate,
// resp_rate or spo2 is no reading (the field is left out and
// no_reading=true added). Values are rounded to 9 decimals after a
// conversion so that 0.97 '/' reads as spo2 97.
//
// The result has one Reading per distinct resolved time and stream
// (vitals fields go to StreamVitals, env fields to StreamEnv, battery,
// rssi and tamper to StreamStatus, the fall state to StreamFall), ordered
// by time, then stream; fields within a Reading are in contract order. A
// field given twice for one Reading keeps the later record. The result is
// empty, with no error, when no record is mapped.
//
// The pack must be JSON (ReasonMalformed otherwise, ReasonOversized above
// MaxPayload bytes), an array (ReasonWrongType) of at least one record
// (ReasonEmpty) that are objects. A SenML key of the wrong JSON type is
// ReasonWrongType naming the key; a key given twice in a record is
// ReasonMalformed; a record with more than one of v, vs, vb, vd, an
// unknown key ending in '_' (must-understand, §4.4) and a bver above 10
// are ReasonInvalidValue. Other unknown keys are tolerated.
func DecodeSenML(payload []byte, names map[string]string, received time.Time) ([]Reading, error) {
	if len(payload) > MaxPayload {
		return nil, Reject(ReasonOversized, "", "payload of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	pack, err := validJSON(payload)
	if err != nil {
		return nil, err
	}
	if pack.kind != kindArray {
		return nil, Reject(ReasonWrongType, "", "payload is a JSON %s, want an array of SenML records", pack.kind)
	}
	var (
		base senmlBase
		rs   readingSet
		n    int
	)
	for w := walk(pack); ; n++ {
		v, ok := w.element()
		if !ok {
			break
		}
		if v.kind != kindObject {
			return nil, Reject(ReasonWrongType, "", "record %d is a JSON %s, want an object", n, v.kind)
		}
		var rec senmlRecord
		if err := rec.read(v, n); err != nil {
			return nil, err
		}
		if err := base.update(&rec, n); err != nil {
			return nil, err
		}
		if err := base.decode(&rec, n, names, received, &rs); err != nil {
			return nil, err
		}
	}
	if n == 0 {
		return nil, Reject(ReasonEmpty, "", "the pack has no records")
	}
	return rs.readings(), nil
}

// SenML keys (RFC 8428 §4.1, §4.2), in the order of senmlKeys.
const (
	skBn = iota
	skBt
	skBu
	skBv
	skBs
	skBver
	skN
	skU
	skV
	skVs
	skVb
	skVd
	skS
	skT
	skUt
	skCount
)

var senmlKeys = [skCount]string{"bn", "bt", "bu", "bv", "bs", "bver", "n", "u", "v", "vs", "vb", "vd", "s", "t", "ut"}

var senmlKinds = [skCount]jsonKind{kindString, kindNumber, kindString, kindNumber, kindNumber, kindNumber,
	kindString, kindString, kindNumber, kindString, kindBool, kindString, kindNumber, kindNumber, kindNumber}

// senmlRecord holds the raw values of one record's SenML keys.
type senmlRecord struct {
	vals [skCount]rawValue
}

func (r *senmlRecord) read(obj rawValue, n int) error {
	for w := walk(obj); ; {
		key, v, ok := w.member()
		if !ok {
			return nil
		}
		k := key.text()
		i := senmlKeyIndex(k)
		if i < 0 {
			if len(k) > 0 && k[len(k)-1] == '_' {
				return Reject(ReasonInvalidValue, clip(string(k)), "record %d: must-understand key is not supported", n)
			}
			continue
		}
		switch {
		case r.vals[i].kind != kindAbsent:
			return Reject(ReasonMalformed, senmlKeys[i], "record %d: duplicate key", n)
		case v.kind != senmlKinds[i]:
			return Reject(ReasonWrongType, senmlKeys[i], "record %d: want %s, got %s", n, senmlKinds[i], v.kind)
		}
		r.vals[i] = v
	}
}

func senmlKeyIndex(k []byte) int {
	for i, name := range senmlKeys {
		if string(k) == name {
			return i
		}
	}
	return -1
}

func (r *senmlRecord) has(i int) bool { return r.vals[i].kind != kindAbsent }

// senmlBase is the base state carried from record to record.
type senmlBase struct {
	bn     []byte
	bu     []byte
	bt, bv float64
}

func (b *senmlBase) update(r *senmlRecord, n int) error {
	if r.has(skBver) {
		if v := r.vals[skBver].number(); v > senmlVersion || v < 1 || v != math.Trunc(v) {
			return Reject(ReasonInvalidValue, "bver", "record %d: version %s, want 1..%d", n, clip(string(r.vals[skBver].raw)), senmlVersion)
		}
	}
	if r.has(skBn) {
		b.bn = r.vals[skBn].text()
	}
	if r.has(skBu) {
		b.bu = r.vals[skBu].text()
	}
	if r.has(skBt) {
		b.bt = r.vals[skBt].number()
	}
	if r.has(skBv) {
		b.bv = r.vals[skBv].number()
	}
	return nil
}

// decode resolves one record and, when it is mapped, adds its value to rs.
func (b *senmlBase) decode(r *senmlRecord, n int, names map[string]string, received time.Time, rs *readingSet) error {
	values := 0
	for _, k := range [...]int{skV, skVs, skVb, skVd} {
		if r.has(k) {
			values++
		}
	}
	if values == 0 {
		return nil // base fields or a sum only
	}
	var buf [128]byte
	name := append(append(buf[:0], b.bn...), r.vals[skN].textOrNil()...)
	if !validSenMLName(name) {
		return Reject(ReasonInvalidValue, "n", "record %d: name %s is not a valid SenML name", n, quote(string(name)))
	}
	if values > 1 {
		return Reject(ReasonInvalidValue, clip(string(name)), "record %d: more than one of v, vs, vb, vd", n)
	}
	target, ok := names[string(name)]
	if !ok {
		target, ok = names[string(lastSegment(name))]
	}
	if !ok {
		return nil
	}
	wire := name
	c, ok := lookupCanon(target)
	if !ok {
		return Reject(ReasonInvalidValue, clip(string(wire)), "mapped to %s, which is not one of our fields", quote(target))
	}
	t, err := b.time(r, wire, received)
	if err != nil {
		return err
	}
	var f Field
	none := false
	switch {
	case r.has(skV):
		unit := b.bu
		if r.has(skU) {
			unit = r.vals[skU].text()
		}
		f, none, err = senmlNumber(c, b.bv+r.vals[skV].number(), b.bv != 0, unit, wire)
	case r.has(skVb):
		f, err = c.boolean(r.vals[skVb].b, wire)
	case r.has(skVs):
		f, err = c.text(string(r.vals[skVs].text()), wire)
	default:
		err = Reject(ReasonWrongType, clip(string(wire)), "a data value (vd) cannot be %s", c.spec.name)
	}
	if err != nil {
		return err
	}
	rs.add(c, t, f, none)
	return nil
}

// time resolves bt+t (RFC 8428 §4.5.3).
func (b *senmlBase) time(r *senmlRecord, wire []byte, received time.Time) (time.Time, error) {
	secs := b.bt
	if r.has(skT) {
		secs += r.vals[skT].number()
	}
	switch {
	case secs == 0:
		return time.Time{}, nil
	case secs <= -senmlRelative:
		return time.Time{}, Reject(ReasonOutOfRange, clip(string(wire)), "relative time %gs is more than 2^28 s ago", secs)
	case secs > 1e11: // year 5138: beyond any receive time, and far from overflow
		return time.Time{}, Reject(ReasonFutureTime, clip(string(wire)), "time %g is after the receive time", secs)
	}
	whole := math.Floor(secs)
	nsec := int64(math.Round((secs - whole) * 1e9))
	t := time.Unix(int64(whole), nsec)
	if secs < senmlRelative {
		t = received.Add(time.Duration(whole)*time.Second + time.Duration(nsec))
	}
	if t.After(received.Add(MaxFutureSkew)) {
		return time.Time{}, Reject(ReasonFutureTime, clip(string(wire)), "time %s is %v after the receive time",
			strconv.FormatFloat(secs, 'f', -1, 64), t.Sub(received).Round(time.Millisecond))
	}
	return t.UTC(), nil
}

// senmlNumber converts a numeric value in unit to our unit and checks it.
func senmlNumber(c canonField, x float64, based bool, unit []byte, wire []byte) (Field, bool, error) {
	if c.spec.check == checkEnum {
		return c.number(x, wire) // a number cannot be an enum: wrong type
	}
	mul, add, ok := senmlUnit(c.spec, string(unit))
	if !ok {
		return Field{}, false, Reject(ReasonInvalidValue, clip(string(wire)), "unit %s does not fit %s", quote(string(unit)), c.spec.name)
	}
	if y := x*mul + add; mul != 1 || add != 0 || based {
		x = math.Round(y*1e9) / 1e9
		if math.IsInf(x, 0) || math.IsNaN(x) {
			x = y
		}
	}
	return c.number(x, wire)
}

// senmlUnit returns how to convert a value in unit to our unit for the
// field: ours = value*mul + add. No unit means ours.
func senmlUnit(spec *fieldSpec, unit string) (mul, add float64, ok bool) {
	if unit == "" {
		return 1, 0, true
	}
	if spec.check == checkBool {
		return 1, 0, unit == "/" || unit == "%"
	}
	switch spec.name + " " + unit {
	case "heart_rate beat/min", "heart_rate 1/min", "resp_rate beat/min", "resp_rate 1/min",
		"temp_c Cel", "humidity %RH", "battery %EL", "rssi dBm":
		return 1, 0, true
	case "heart_rate 1/s", "heart_rate Hz", "resp_rate 1/s", "resp_rate Hz":
		return 60, 0, true
	case "spo2 /", "spo2 %", "humidity /", "humidity %", "battery /", "battery %", "movement /", "movement %":
		return 100, 0, true
	case "temp_c K":
		return 1, -273.15, true
	case "rssi dBW":
		return 1, 30, true
	}
	return 0, 0, false
}

// validSenMLName reports whether a resolved name is 1+ of
// [A-Za-z0-9-:./_] starting with a letter or digit (RFC 8428 §4.5.1).
func validSenMLName(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for i, c := range name {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '-' || c == ':' || c == '.' || c == '/' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// lastSegment returns what follows the last ':' or '/' of name.
func lastSegment(name []byte) []byte {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == ':' || name[i] == '/' {
			return name[i+1:]
		}
	}
	return name
}

// textOrNil is text for a present string, nil for an absent one.
func (v rawValue) textOrNil() []byte {
	if v.kind != kindString {
		return nil
	}
	return v.text()
}
