package devices

import (
	"strconv"
	"unicode/utf8"
)

// scanner is a validating JSON scanner for native payloads. It lives here
// rather than in encoding/json because this path runs for every message:
// it checks the syntax of the whole payload (RFC 8259, strict UTF-8, at
// most MaxNesting levels) without allocating, and hands back the raw bytes
// of the few keys a stream knows.
type scanner struct {
	buf   []byte
	i     int
	msg   string // the first syntax fault
	field string // the known field at fault, if any
}

func (s *scanner) fail(msg, field string) bool {
	if s.msg == "" {
		s.msg, s.field = msg, field
	}
	return false
}

func (s *scanner) reject() *RejectError {
	at := "at byte " + strconv.Itoa(s.i)
	if s.i < len(s.buf) {
		at = "at byte " + strconv.Itoa(s.i) + " (" + strconv.QuoteRune(rune(s.buf[s.i])) + ")"
		if s.buf[s.i] >= utf8.RuneSelf {
			at = "at byte " + strconv.Itoa(s.i) + " (0x" + strconv.FormatUint(uint64(s.buf[s.i]), 16) + ")"
		}
	}
	return Reject(ReasonMalformed, s.field, "%s %s", s.msg, at)
}

func (s *scanner) ws() {
	for s.i < len(s.buf) && isSpace(s.buf[s.i]) {
		s.i++
	}
}

// slotName names the key kept in vals[slot].
func slotName(spec []fieldSpec, slot int) string {
	if slot == len(spec) {
		return "ts"
	}
	return spec[slot].name
}

// matchKey returns the index of key in spec, len(spec) for ts, or -1.
func matchKey(spec []fieldSpec, key []byte) int {
	if string(key) == "ts" {
		return len(spec)
	}
	for i := range spec {
		if string(key) == spec[i].name {
			return i
		}
	}
	return -1
}

// next consumes whitespace and then ',' (leaving the scanner at the next
// element) or the closing byte.
func (s *scanner) next(closing byte) bool {
	if s.ws(); s.i >= len(s.buf) {
		return s.fail("unexpected end", "")
	}
	switch s.buf[s.i] {
	case closing:
		s.i++
		return true
	case ',':
		s.i++
		s.ws()
		if s.i < len(s.buf) && s.buf[s.i] == closing {
			return s.fail("trailing comma", "")
		}
		return true
	}
	return s.fail("want ',' or '"+string(closing)+"'", "")
}

// value scans one value; depth is the nesting level it sits in.
func (s *scanner) value(depth int) (rawValue, bool) {
	if s.i >= len(s.buf) {
		return rawValue{}, s.fail("unexpected end", "")
	}
	start := s.i
	var v rawValue
	ok := true
	switch c := s.buf[s.i]; {
	case c == '"':
		return s.str()
	case c == '{':
		v.kind, ok = kindObject, s.object(depth+1, nil, nil)
	case c == '[':
		v.kind, ok = kindArray, s.array(depth+1)
	case c == '-' || '0' <= c && c <= '9':
		v.kind, ok = kindNumber, s.number()
	case c == 't':
		v.kind, v.b, ok = kindBool, true, s.literal("true")
	case c == 'f':
		v.kind, ok = kindBool, s.literal("false")
	case c == 'n':
		v.kind, ok = kindNull, s.literal("null")
	default:
		return v, s.fail("want a value", "")
	}
	v.raw = s.buf[start:s.i]
	return v, ok
}

// object scans an object. At the top level (vals not nil) it keeps the
// values of the keys in spec, and of ts in vals[len(spec)].
func (s *scanner) object(depth int, spec []fieldSpec, vals []rawValue) bool {
	if depth > MaxNesting {
		return s.fail("nested deeper than "+strconv.Itoa(MaxNesting)+" levels", "")
	}
	s.i++ // '{'
	if s.ws(); s.i < len(s.buf) && s.buf[s.i] == '}' {
		s.i++
		return true
	}
	for {
		if s.i >= len(s.buf) || s.buf[s.i] != '"' {
			return s.fail("want a key", "")
		}
		key, ok := s.str()
		if !ok {
			return false
		}
		if s.ws(); s.i >= len(s.buf) || s.buf[s.i] != ':' {
			return s.fail("want ':' after a key", "")
		}
		s.i++
		s.ws()
		v, ok := s.value(depth)
		if !ok {
			return false
		}
		if vals != nil {
			if slot := matchKey(spec, key.text()); slot >= 0 {
				if vals[slot].kind != kindAbsent {
					return s.fail("duplicate key", slotName(spec, slot))
				}
				vals[slot] = v
			}
		}
		if !s.next('}') {
			return false
		}
		if s.buf[s.i-1] == '}' {
			return true
		}
	}
}

func (s *scanner) array(depth int) bool {
	if depth > MaxNesting {
		return s.fail("nested deeper than "+strconv.Itoa(MaxNesting)+" levels", "")
	}
	s.i++
	if s.ws(); s.i < len(s.buf) && s.buf[s.i] == ']' {
		s.i++
		return true
	}
	for {
		if _, ok := s.value(depth); !ok || !s.next(']') {
			return false
		}
		if s.buf[s.i-1] == ']' {
			return true
		}
	}
}

// str scans a string: escapes must be valid, control characters escaped,
// and the text valid UTF-8 (RFC 8259 §7, §8.1).
func (s *scanner) str() (rawValue, bool) {
	start := s.i
	v := rawValue{kind: kindString}
	for s.i++; s.i < len(s.buf); {
		switch c := s.buf[s.i]; {
		case c == '"':
			s.i++
			v.raw = s.buf[start:s.i]
			return v, true
		case c == '\\':
			v.esc = true
			if !s.escape() {
				return v, false
			}
		case c < 0x20:
			return v, s.fail("control character in a string", "")
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, n := utf8.DecodeRune(s.buf[s.i:])
			if r == utf8.RuneError && n == 1 {
				return v, s.fail("invalid UTF-8", "")
			}
			s.i += n
		}
	}
	return v, s.fail("unterminated string", "")
}

func (s *scanner) escape() bool {
	s.i++ // '\\'
	if s.i >= len(s.buf) {
		return s.fail("unterminated string", "")
	}
	switch s.buf[s.i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i++
		return true
	case 'u':
		if s.i+4 >= len(s.buf) {
			return s.fail("unterminated string", "")
		}
		for _, c := range s.buf[s.i+1 : s.i+5] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return s.fail("invalid \\u escape", "")
			}
		}
		s.i += 5
		return true
	}
	return s.fail("invalid escape", "")
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	if s.buf[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.buf) && s.buf[s.i] == '0' {
		s.i++
	} else if !s.digits() {
		return false
	}
	if s.i < len(s.buf) && s.buf[s.i] == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if s.i < len(s.buf) && (s.buf[s.i] == 'e' || s.buf[s.i] == 'E') {
		s.i++
		if s.i < len(s.buf) && (s.buf[s.i] == '+' || s.buf[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.buf) && '0' <= s.buf[s.i] && s.buf[s.i] <= '9' {
		s.i++
	}
	if s.i == start {
		return s.fail("want a digit", "")
	}
	return true
}

func (s *scanner) literal(word string) bool {
	if len(s.buf)-s.i < len(word) || string(s.buf[s.i:s.i+len(word)]) != word {
		return s.fail("invalid literal", "")
	}
	s.i += len(word)
	return true
}
