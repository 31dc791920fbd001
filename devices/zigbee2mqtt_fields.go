package devices

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// jsonObject parses a payload that must be one JSON object. Its keys are
// kept raw; their values are checked for syntax only.
func jsonObject(payload []byte) (map[string]json.RawMessage, error) {
	text := trimASCIISpace(payload)
	if len(text) == 0 {
		return nil, Reject(ReasonEmpty, "", "payload is only whitespace")
	}
	if text[0] != '{' {
		if json.Valid(text) {
			return nil, Reject(ReasonWrongType, "", "payload is a JSON %s, want an object", jsonKindOf(text))
		}
		return nil, Reject(ReasonMalformed, "", "payload is not valid JSON")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(text, &obj); err != nil {
		return nil, Reject(ReasonMalformed, "", "payload is not valid JSON: %s", jsonErrorDetail(err))
	}
	return obj, nil
}

// jsonKindOf names the JSON type of a syntactically valid raw value.
func jsonKindOf(raw []byte) jsonKind {
	raw = trimASCIISpace(raw)
	if len(raw) == 0 {
		return kindAbsent
	}
	switch raw[0] {
	case 'n':
		return kindNull
	case 't', 'f':
		return kindBool
	case '"':
		return kindString
	case '[':
		return kindArray
	case '{':
		return kindObject
	}
	return kindNumber
}

// jsonErrorDetail describes a decoding error without repeating the
// payload.
func jsonErrorDetail(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return "syntax error at byte " + strconv.FormatInt(syn.Offset, 10)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return "a JSON " + typ.Value + " where another type is wanted"
	}
	return "unexpected end or invalid encoding"
}

// value returns the raw value of key; present is false for a missing key
// and for null (unknown).
func (s z2mState) value(key string) (raw json.RawMessage, present bool) {
	raw, ok := s.obj[key]
	if !ok || jsonKindOf(raw) == kindNull {
		return nil, false
	}
	return raw, true
}

// str reads a string key.
func (s z2mState) str(key string) (v string, present bool, err error) {
	raw, ok := s.value(key)
	if !ok {
		return "", false, nil
	}
	if k := jsonKindOf(raw); k != kindString {
		return "", false, Reject(ReasonWrongType, key, "want string, got %s", k)
	}
	if bytes.IndexByte(raw, '\\') < 0 { // no escapes: the common case
		return string(raw[1 : len(raw)-1]), true, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false, Reject(ReasonMalformed, key, "invalid string")
	}
	return v, true, nil
}

// boolValue reads a boolean key.
func (s z2mState) boolValue(key string) (v, present bool, err error) {
	raw, ok := s.value(key)
	if !ok {
		return false, false, nil
	}
	if k := jsonKindOf(raw); k != kindBool {
		return false, false, Reject(ReasonWrongType, key, "want boolean, got %s", k)
	}
	return raw[0] == 't', true, nil
}

// boolField maps a boolean key to our field, negated when invert is set.
func (s z2mState) boolField(key, name string, invert bool) (Field, bool, error) {
	v, ok, err := s.boolValue(key)
	if !ok || err != nil {
		return Field{}, false, err
	}
	return BoolField(name, v != invert), true, nil
}

// number maps a numeric key within [lo, hi] to our field.
func (s z2mState) number(key, name string, lo, hi float64) (Field, bool, error) {
	raw, ok := s.value(key)
	if !ok {
		return Field{}, false, nil
	}
	if k := jsonKindOf(raw); k != kindNumber {
		return Field{}, false, Reject(ReasonWrongType, key, "want number, got %s", k)
	}
	x, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsInf(x, 0) || x < lo || x > hi {
		return Field{}, false, Reject(ReasonOutOfRange, key, "%s outside %g..%g", clip(string(raw)), lo, hi)
	}
	return FloatField(name, x), true, nil
}

func (s z2mState) action() (Field, bool, error) {
	v, ok, err := s.str("action")
	if !ok || err != nil || !isPress(v) {
		return Field{}, false, err
	}
	return StringField("action", "press"), true, nil
}

// Fall states, gravest last.
var fallStates = [...]string{"normal", "suspected", "fall"}

// fallState maps fall_down_status, fall_status and (fall sensors only)
// OWON's status to state, keeping the gravest.
func (s z2mState) fallState() (Field, bool, error) {
	grade := -1
	keep := func(g int) {
		grade = max(grade, g)
	}
	for _, k := range [...]struct {
		key  string
		vals [3]string // normal, suspected, fall
	}{
		{"fall_down_status", [3]string{"none", "maybe_fall", "fall"}},
		{"fall_status", [3]string{"normal", "fall_warning", "fall_alarm"}},
	} {
		v, ok, err := s.str(k.key)
		if err != nil {
			return Field{}, false, err
		}
		if !ok {
			continue
		}
		g := -1
		for i, want := range k.vals {
			if v == want {
				g = i
			}
		}
		if g < 0 {
			return Field{}, false, Reject(ReasonInvalidValue, k.key, "%s: want one of %s", quote(v), strings.Join(k.vals[:], ", "))
		}
		keep(g)
	}
	if s.kind == KindFallSensor {
		v, ok, err := s.str("status")
		if err != nil {
			return Field{}, false, err
		}
		switch {
		case !ok:
		case v == "falling":
			keep(2)
		case v == "low_posture":
			keep(1)
		case v == "unoccupied", v == "occupied", v == "sitting", v == "on_the_bed":
			keep(0)
		}
	}
	if grade < 0 {
		return Field{}, false, nil
	}
	return StringField("state", fallStates[grade]), true, nil
}

// occupancy maps occupancy and presence (and, for a bed, pressure_state and
// work_state) to in_bed or motion; any true wins over false.
func (s z2mState) occupancy() (Field, bool, error) {
	name := "motion"
	if s.kind == KindVitalsMonitor {
		name = "in_bed"
	}
	known, seen := false, false
	for _, key := range [...]string{"occupancy", "presence"} {
		v, ok, err := s.boolValue(key)
		if err != nil {
			return Field{}, false, err
		}
		known, seen = known || ok, seen || v
	}
	if s.kind == KindVitalsMonitor {
		for _, key := range [...]string{"pressure_state", "work_state"} {
			raw, ok := s.value(key)
			if ok && jsonKindOf(raw) == kindBool { // some pads expose a binary
				v, _, _ := s.boolValue(key)
				known, seen = true, seen || v
				continue
			}
			v, ok, err := s.str(key)
			if err != nil {
				return Field{}, false, err
			}
			if in, ok := bedWord(v); ok {
				known, seen = true, seen || in
			}
		}
	}
	if !known {
		return Field{}, false, nil
	}
	return BoolField(name, seen), true, nil
}

// bedWord reads the bed-occupancy vocabulary of pressure pads and straps.
func bedWord(v string) (inBed, ok bool) {
	switch v {
	case "presence", "presence_5min", "presence_30min", "present", "occupied", "in_bed":
		return true, true
	case "none", "none_5min", "none_30min", "absent", "unoccupied", "out_of_bed":
		return false, true
	}
	return false, false
}

// gas maps gas, leaving out an all-clear while the sensor preheats.
func (s z2mState) gas() (Field, bool, error) {
	f, ok, err := s.boolField("gas", "gas", false)
	if !ok || err != nil || f.B {
		return f, ok, err
	}
	if heating, _, err := s.boolValue("preheat"); err != nil || heating {
		return Field{}, false, err
	}
	return f, true, nil
}

// lastSeen reads last_seen: ISO 8601 text or Unix milliseconds.
func (s z2mState) lastSeen(received time.Time) (time.Time, error) {
	raw, ok := s.value("last_seen")
	if !ok {
		return time.Time{}, nil
	}
	var t time.Time
	switch k := jsonKindOf(raw); k {
	case kindNumber:
		ms, err := strconv.ParseFloat(string(raw), 64)
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange), !(ms >= minDeviceMillis):
			return time.Time{}, nil
		case ms > maxDeviceMillis:
			return time.Time{}, Reject(ReasonFutureTime, "last_seen", "%s is after the receive time plus %v", clip(string(raw)), MaxFutureSkew)
		}
		whole := math.Floor(ms)
		t = time.UnixMilli(int64(whole)).Add(time.Duration(math.Round((ms - whole) * 1e6))).UTC()
	case kindString:
		v, _, err := s.str("last_seen")
		if err != nil {
			return time.Time{}, err
		}
		t, err = time.Parse(time.RFC3339Nano, v)
		if err != nil || t.UnixMilli() < minDeviceMillis {
			return time.Time{}, nil // a clock we cannot read is no clock
		}
		t = t.UTC()
	default:
		return time.Time{}, Reject(ReasonWrongType, "last_seen", "want ISO 8601 string or number of milliseconds, got %s", k)
	}
	if t.After(received.Add(MaxFutureSkew)) {
		return time.Time{}, Reject(ReasonFutureTime, "last_seen", "%s is %v after the receive time", clip(string(raw)), t.Sub(received).Round(time.Millisecond))
	}
	return t, nil
}
