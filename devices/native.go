package devices

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxPayload is the largest native payload accepted, in bytes. Larger
// payloads are rejected with ReasonOversized before any parsing.
const MaxPayload = 16 << 10

// MaxFutureSkew is how far ahead of the receive time a device's clock may
// run before its message is rejected with ReasonFutureTime.
const MaxFutureSkew = 5 * time.Minute

// MaxNesting bounds how deeply arrays and objects may nest in a native
// payload, the top-level object counting as one level (RFC 8259 §9 lets a
// parser set such a limit). Deeper payloads are ReasonMalformed.
const MaxNesting = 64

// MaxServices is the most service codes one visit message may carry.
const MaxServices = 32

// maxCaregiverLen is the longest caregiver, in characters.
const maxCaregiverLen = 64

// minDeviceMillis is 2015-01-01T00:00:00Z: a ts before it means the device
// clock was never set, so the receive time is used instead.
const minDeviceMillis = 1420070400000

// maxDeviceMillis keeps the conversion to time.Time far from overflow; any
// ts above it is in the future for every plausible receive time.
const maxDeviceMillis = 1e15

// DecodeNative decodes one native-format payload of the given stream,
// received at received (DESIGN.md "The public contract (v1)").
//
// Every failure is a *RejectError; its Detail never repeats the payload, at
// most a number or enum value clipped to 64 bytes. The rules:
//
//   - Unknown streams are ReasonUnknownStream; payloads over MaxPayload bytes
//     are ReasonOversized; empty or all-whitespace payloads are ReasonEmpty,
//     except that a zero-length availability payload (an MQTT retained
//     deletion) yields a Reading with no fields and no error: it means
//     "forget the retained state", not "offline".
//   - The payload must be one JSON object (RFC 8259) in valid UTF-8, nested
//     at most MaxNesting levels, with nothing but whitespace after it;
//     anything else that is not JSON is ReasonMalformed, and JSON that is not
//     an object (array, number, string, bool, null) is ReasonWrongType.
//     A byte-order mark is malformed.
//   - Keys match the contract exactly (case-sensitive; escapes such as
//     "\u0074s" are decoded first). Unknown keys are tolerated and their
//     values only checked for syntax. A known key given twice is
//     ReasonMalformed naming the field, since parsers disagree on which
//     copy wins.
//   - ts is optional Unix milliseconds, integer or fractional. Missing, null,
//     <= 0 or before 2015-01-01 leaves Reading.Time zero (the caller uses the
//     receive time). Later than received+MaxFutureSkew is ReasonFutureTime.
//     Any other JSON type is ReasonWrongType.
//   - A known key with the wrong JSON type is ReasonWrongType naming it:
//     numbers must be JSON numbers (not "72"), booleans JSON true/false (not
//     1 or "ON"). null means "unknown": the field is left out, and a
//     required field that is null counts as missing.
//   - An enum value outside the contract, or a missing required field, is
//     ReasonInvalidValue naming the field. Enums are exact and lower case,
//     except availability, which ignores ASCII case ("Online" from Tasmota).
//   - A number outside the field's physical range, or not finite, is
//     ReasonOutOfRange naming the field.
//   - Vital-sign radars send 0, 255, null or "nan" (any case) when they have
//     no reading. For heart_rate, resp_rate and spo2 such a value leaves the
//     field out and adds BoolField("no_reading", true); it is never an error.
//     movement 0 is a real value (still) and temp_c 0 is out of range.
//   - A payload that leaves no field at all (such as {} on vitals, or only
//     nulls) is ReasonInvalidValue.
//   - Fields appear in contract order, no_reading last. Their names are:
//     sos: action; fall: state; vitals: heart_rate, resp_rate, spo2, temp_c,
//     in_bed, movement, no_reading; env: smoke, gas, water_leak, door_open,
//     motion, temp_c, humidity; status: battery, rssi, tamper; availability:
//     online; visit: caregiver, action, method, services.
//   - visit: caregiver is trimmed of surrounding space and must then be
//     1-64 characters without control characters (it is never echoed in an
//     error). services is an array of at most MaxServices four-digit code
//     strings ("0101"), joined with commas; an empty array leaves the field
//     out. Codes are checked for shape only: the catalogue is per district.
//
// The parser is hand-written for the flat shape of this format: it makes
// no allocation beyond the Reading's fields and visit strings, which keeps
// decoding well under the per-message budget of the ingest path.
func DecodeNative(stream Stream, payload []byte, received time.Time) (Reading, error) {
	spec, ok := nativeSpec(stream)
	if !ok {
		return Reading{}, Reject(ReasonUnknownStream, "", "stream %s is not in the native contract", quote(string(stream)))
	}
	if len(payload) > MaxPayload {
		return Reading{}, Reject(ReasonOversized, "", "payload of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	if stream == StreamAvailability {
		if len(payload) == 0 {
			return Reading{Stream: stream}, nil
		}
		if text := trimASCIISpace(payload); len(text) > 0 && text[0] != '{' {
			return decodeAvailabilityText(text)
		}
	}
	s := scanner{buf: payload}
	s.ws()
	if s.i == len(payload) {
		return Reading{}, Reject(ReasonEmpty, "", "payload is empty")
	}
	var vals [8]rawValue // spec fields, then ts at index len(spec)
	v := rawValue{kind: kindObject}
	if payload[s.i] == '{' {
		ok = s.object(1, spec, vals[:len(spec)+1])
	} else {
		v, ok = s.value(0)
	}
	if s.ws(); ok && s.i != len(payload) {
		ok = s.fail("data after the "+v.kind.String(), "")
	}
	switch {
	case !ok:
		return Reading{}, s.reject()
	case v.kind != kindObject:
		return Reading{}, Reject(ReasonWrongType, "", "payload is a JSON %s, want an object", v.kind)
	}
	return buildReading(stream, spec, vals[:len(spec)+1], received)
}

// check says how a field's value is validated and turned into a Field.
type check uint8

const (
	checkNumber    check = iota // a number in [min, max]
	checkVital                  // checkNumber, with the radar no-reading markers
	checkBool                   // true or false
	checkEnum                   // one of enum, exactly
	checkOnline                 // online or offline, any ASCII case -> BoolField("online")
	checkCaregiver              // a short caregiver id or name
	checkServices               // an array of service codes
)

// fieldSpec describes one payload key of a stream.
type fieldSpec struct {
	name     string
	check    check
	required bool
	min, max float64
	enum     []string
}

var (
	sosSpec  = []fieldSpec{{name: "action", check: checkEnum, required: true, enum: []string{"press", "cancel"}}}
	fallSpec = []fieldSpec{{name: "state", check: checkEnum, required: true, enum: []string{"fall", "suspected", "normal"}}}
	// Vital-sign ranges are what a body can show, not alarm thresholds.
	vitalsSpec = []fieldSpec{
		{name: "heart_rate", check: checkVital, max: 300},
		{name: "resp_rate", check: checkVital, max: 100},
		{name: "spo2", check: checkVital, max: 100},
		{name: "temp_c", check: checkNumber, min: 25, max: 45},
		{name: "in_bed", check: checkBool},
		{name: "movement", check: checkNumber, max: 100},
	}
	envSpec = []fieldSpec{
		{name: "smoke", check: checkBool},
		{name: "gas", check: checkBool},
		{name: "water_leak", check: checkBool},
		{name: "door_open", check: checkBool},
		{name: "motion", check: checkBool},
		{name: "temp_c", check: checkNumber, min: -40, max: 85}, // common sensor rating
		{name: "humidity", check: checkNumber, max: 100},
	}
	statusSpec = []fieldSpec{
		{name: "battery", check: checkNumber, max: 100},
		{name: "rssi", check: checkNumber, min: -150, max: 0}, // dBm only, not link quality
		{name: "tamper", check: checkBool},
	}
	availabilitySpec = []fieldSpec{{name: "state", check: checkOnline, required: true}}
	visitSpec        = []fieldSpec{
		{name: "caregiver", check: checkCaregiver, required: true},
		{name: "action", check: checkEnum, required: true, enum: []string{"check_in", "check_out"}},
		{name: "method", check: checkEnum, required: true, enum: []string{"nfc", "qr", "app"}},
		{name: "services", check: checkServices},
	}
)

func nativeSpec(s Stream) ([]fieldSpec, bool) {
	switch s {
	case StreamSOS:
		return sosSpec, true
	case StreamFall:
		return fallSpec, true
	case StreamVitals:
		return vitalsSpec, true
	case StreamEnv:
		return envSpec, true
	case StreamStatus:
		return statusSpec, true
	case StreamAvailability:
		return availabilitySpec, true
	case StreamVisit:
		return visitSpec, true
	}
	return nil, false
}

// decodeAvailabilityText reads the plain-text availability form used by
// Zigbee2MQTT 1.x, ESPHome and Tasmota.
func decodeAvailabilityText(text []byte) (Reading, error) {
	online, ok := parseOnline(text)
	if !ok {
		return Reading{}, Reject(ReasonInvalidValue, "", "availability %s: want online, offline or {\"state\":...}", quote(string(text)))
	}
	return Reading{Stream: StreamAvailability, Fields: []Field{BoolField("online", online)}}, nil
}

func parseOnline(b []byte) (online, ok bool) {
	switch {
	case asciiEqualFold(b, "online"):
		return true, true
	case asciiEqualFold(b, "offline"):
		return false, true
	}
	return false, false
}

// buildReading checks the values found for each known key and makes the
// Reading. vals holds one entry per spec field, then ts.
func buildReading(stream Stream, spec []fieldSpec, vals []rawValue, received time.Time) (Reading, error) {
	r := Reading{Stream: stream}
	t, err := deviceTime(vals[len(spec)], received)
	if err != nil {
		return Reading{}, err
	}
	r.Time = t
	var buf [8]Field // every stream has fewer fields; copied out at the end
	fields := buf[:0]
	known, noReading := 0, false
	for i := range spec {
		f, v := &spec[i], vals[i]
		if v.kind == kindAbsent || v.kind == kindNull {
			if v.kind == kindNull {
				known++
				noReading = noReading || f.check == checkVital
			}
			if f.required {
				return Reading{}, Reject(ReasonInvalidValue, f.name, "required field is missing")
			}
			continue
		}
		known++
		field, none, err := f.decode(v)
		if err != nil {
			return Reading{}, err
		}
		if none {
			noReading = true
		}
		if field.Name != "" {
			fields = append(fields, field)
		}
	}
	if noReading {
		fields = append(fields, BoolField("no_reading", true))
	}
	if len(fields) == 0 {
		if known == 0 {
			return Reading{}, Reject(ReasonInvalidValue, "", "no known field for stream %s", stream)
		}
		return Reading{}, Reject(ReasonInvalidValue, "", "no usable field for stream %s: every known field is null", stream)
	}
	r.Fields = make([]Field, len(fields))
	copy(r.Fields, fields)
	return r, nil
}

// decode checks one present, non-null value. none reports a vital-sign
// no-reading marker; a zero Field means nothing to keep.
func (f *fieldSpec) decode(v rawValue) (field Field, none bool, err error) {
	switch f.check {
	case checkNumber, checkVital:
		if f.check == checkVital && v.kind == kindString && asciiEqualFold(v.text(), "nan") {
			return Field{}, true, nil
		}
		if v.kind != kindNumber {
			return Field{}, false, wrongType(f.name, "number", v.kind)
		}
		x := v.number()
		if f.check == checkVital && (x == 0 || x == 255 || math.IsNaN(x)) {
			return Field{}, true, nil
		}
		if math.IsNaN(x) || math.IsInf(x, 0) || x < f.min || x > f.max {
			return Field{}, false, Reject(ReasonOutOfRange, f.name, "%s outside %g..%g", clip(string(v.raw)), f.min, f.max)
		}
		return FloatField(f.name, x), false, nil
	case checkBool:
		if v.kind != kindBool {
			return Field{}, false, wrongType(f.name, "boolean", v.kind)
		}
		return BoolField(f.name, v.b), false, nil
	case checkEnum, checkOnline:
		if v.kind != kindString {
			return Field{}, false, wrongType(f.name, "string", v.kind)
		}
		s := v.text()
		if f.check == checkOnline {
			if online, ok := parseOnline(s); ok {
				return BoolField("online", online), false, nil
			}
			return Field{}, false, Reject(ReasonInvalidValue, f.name, "%s: want online or offline", quote(string(s)))
		}
		for _, e := range f.enum {
			if string(s) == e {
				return StringField(f.name, e), false, nil
			}
		}
		return Field{}, false, Reject(ReasonInvalidValue, f.name, "%s: want one of %s", quote(string(s)), strings.Join(f.enum, ", "))
	case checkCaregiver:
		if v.kind != kindString {
			return Field{}, false, wrongType(f.name, "string", v.kind)
		}
		c, err := caregiver(f.name, v.text())
		return StringField(f.name, c), false, err
	case checkServices:
		if v.kind != kindArray {
			return Field{}, false, wrongType(f.name, "array of strings", v.kind)
		}
		list, err := services(f.name, v.raw)
		if err != nil || list == "" {
			return Field{}, false, err // an empty list leaves the field out
		}
		return StringField(f.name, list), false, nil
	}
	panic("devices: unknown field check")
}

func wrongType(field, want string, got jsonKind) *RejectError {
	return Reject(ReasonWrongType, field, "want %s, got %s", want, got)
}

// caregiver validates a caregiver value; it may be a name, so it is never
// echoed.
func caregiver(field string, b []byte) (string, error) {
	c := strings.TrimSpace(string(b))
	switch {
	case c == "":
		return "", Reject(ReasonInvalidValue, field, "empty")
	case utf8.RuneCountInString(c) > maxCaregiverLen:
		return "", Reject(ReasonInvalidValue, field, "longer than %d characters", maxCaregiverLen)
	case strings.IndexFunc(c, unicode.IsControl) >= 0:
		return "", Reject(ReasonInvalidValue, field, "contains a control character")
	}
	return c, nil
}

// services reads an array of service codes (already checked for syntax)
// and joins them with commas.
func services(field string, raw []byte) (string, error) {
	var buf [MaxServices * 5]byte
	out := buf[:0]
	s := scanner{buf: raw, i: 1}
	for n := 0; ; n++ {
		if s.ws(); s.buf[s.i] == ']' {
			break
		}
		v, _ := s.value(1)
		if v.kind != kindString {
			return "", wrongType(field, "array of strings", v.kind)
		}
		code := v.text()
		if len(code) != 4 || !isDigits(code) {
			return "", Reject(ReasonInvalidValue, field, "%s: want a four-digit service code", quote(string(code)))
		}
		if n == MaxServices {
			return "", Reject(ReasonInvalidValue, field, "more than %d service codes", MaxServices)
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, code...)
		if s.ws(); s.buf[s.i] == ',' {
			s.i++
		}
	}
	return string(out), nil
}

// deviceTime reads ts: the zero time when missing, null or absurd.
func deviceTime(v rawValue, received time.Time) (time.Time, error) {
	switch v.kind {
	case kindAbsent, kindNull:
		return time.Time{}, nil
	case kindNumber:
	default:
		return time.Time{}, wrongType("ts", "number of Unix milliseconds", v.kind)
	}
	ms := v.number()
	if !(ms >= minDeviceMillis) { // also catches NaN
		return time.Time{}, nil
	}
	limit := received.Add(MaxFutureSkew)
	if ms > maxDeviceMillis {
		return time.Time{}, Reject(ReasonFutureTime, "ts", "%s is after the receive time plus %v", clip(string(v.raw)), MaxFutureSkew)
	}
	whole := math.Floor(ms)
	t := time.UnixMilli(int64(whole)).Add(time.Duration(math.Round((ms - whole) * 1e6))).UTC()
	if t.After(limit) {
		return time.Time{}, Reject(ReasonFutureTime, "ts", "%s is %v after the receive time", clip(string(v.raw)), t.Sub(received).Round(time.Millisecond))
	}
	return t, nil
}

// maxEcho is the most bytes of a value an error detail repeats.
const maxEcho = 64

// clip shortens s for an error detail.
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	return s[:maxEcho] + "..."
}

// quote quotes s for an error detail, escaping what is not printable, and
// stops once the quoted text passes maxEcho bytes.
func quote(s string) string {
	b := make([]byte, 1, maxEcho+8)
	b[0] = '"'
	for len(s) > 0 {
		_, n := utf8.DecodeRuneInString(s)
		q := strconv.Quote(s[:n])
		if len(b)+len(q)-2 > maxEcho+1 {
			return string(b) + `"...`
		}
		b = append(b, q[1:len(q)-1]...)
		s = s[n:]
	}
	return string(append(b, '"'))
}

func trimASCIISpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// asciiEqualFold reports whether b equals the lower-case ASCII word, ignoring
// ASCII case only (no Unicode folding: "ſ" is not "s").
func asciiEqualFold(b []byte, word string) bool {
	if len(b) != len(word) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != word[i] {
			return false
		}
	}
	return true
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// jsonKind is the JSON type of a value.
type jsonKind uint8

const (
	kindAbsent jsonKind = iota
	kindNull
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

func (k jsonKind) String() string {
	return [...]string{"nothing", "null", "boolean", "number", "string", "array", "object"}[k]
}

// rawValue is one scanned JSON value.
type rawValue struct {
	kind jsonKind
	esc  bool   // a string with escapes
	b    bool   // a boolean's value
	raw  []byte // the value's bytes, quotes included
}

// text returns a string's contents, unescaped.
func (v rawValue) text() []byte {
	if !v.esc {
		return v.raw[1 : len(v.raw)-1]
	}
	var s string
	_ = json.Unmarshal(v.raw, &s) // already validated by the scanner
	return []byte(s)
}

// number returns a number's value; huge magnitudes become ±Inf.
func (v rawValue) number() float64 {
	if x, ok := v.shortDecimal(); ok {
		return x
	}
	x, _ := strconv.ParseFloat(string(v.raw), 64) // syntax already validated
	return x
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// shortDecimal converts the common readings (72, 36.6, -67, 1740816000000)
// without strconv: with at most 15 significant digits and no exponent both
// the digits and the power of ten are exact in a float64, so one IEEE
// division is correctly rounded (Clinger's fast path).
func (v rawValue) shortDecimal() (float64, bool) {
	b := v.raw
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var m uint64
	digits, frac := 0, 0
	for i, c := range b {
		switch {
		case '0' <= c && c <= '9':
			m = m*10 + uint64(c-'0')
			if digits++; digits > 15 {
				return 0, false
			}
		case c == '.':
			frac = len(b) - i - 1
		default:
			return 0, false
		}
	}
	x := float64(m)
	if frac > 0 {
		x /= pow10[frac]
	}
	if neg {
		x = -x
	}
	return x, true
}
