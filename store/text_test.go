package store

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		want    string
		wantCut bool
	}{
		{"short valid", "abc", 5, "abc", false},
		{"exactly max", "abcde", 5, "abcde", false},
		{"cut", "abcdef", 5, "abcde", true},
		{"cut before a split character", "ab心", 4, "ab", true},
		{"invalid byte replaced", "a\xffb", 10, "a\uFFFDb", false},
		{"replacement does not push past max", "ab\xff", 4, "ab", true},
		{"NUL replaced", "\x00", 3, "\uFFFD", false},
		{"truncated UTF-8 sequence at the end", "ab\xe5\xbf", 10, "ab\uFFFD\uFFFD", false},
		{"empty", "", 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cut := clip(tt.in, tt.max)
			if got != tt.want || cut != tt.wantCut {
				t.Errorf("clip(%q, %d) = %q, %v, want %q, %v", tt.in, tt.max, got, cut, tt.want, tt.wantCut)
			}
		})
	}
}

func FuzzClip(f *testing.F) {
	for _, s := range []string{"", "abc", "a\xffb", strings.Repeat("心", 10), "\x00\xc3", "\xef\xbf\xbd"} {
		f.Add(s, 7)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 4096 {
			return
		}
		got, cut := clip(s, max)
		if len(got) > max || !utf8.ValidString(got) || strings.IndexByte(got, 0) >= 0 {
			t.Fatalf("clip(%q, %d) = %q: over max, invalid UTF-8 or holding NUL", s, max, got)
		}
		if !cut && len(s) <= max && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 && got != s {
			t.Fatalf("clip(%q, %d) = %q, want it unchanged", s, max, got)
		}
		if !cut && len(s) > 0 && len(got) == 0 {
			t.Fatalf("clip(%q, %d) = %q, false; lost text without reporting a cut", s, max, got)
		}
	})
}
