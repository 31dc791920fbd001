package store

import (
	"strings"
	"unicode/utf8"
)

// clip returns s as valid UTF-8 of at most max bytes, cut at a character
// boundary. Invalid bytes and NUL (which PostgreSQL text cannot hold)
// become U+FFFD. cut reports whether the end of s was dropped. The work is
// bounded by max, not by len(s).
func clip(s string, max int) (out string, cut bool) {
	if len(s) <= max && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s, false
	}
	var b strings.Builder
	b.Grow(min(len(s), max))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		piece := s[i : i+size]
		if (r == utf8.RuneError && size == 1) || r == 0 {
			piece = "\uFFFD"
		}
		if b.Len()+len(piece) > max {
			return b.String(), true
		}
		b.WriteString(piece)
		i += size
	}
	return b.String(), false
}
