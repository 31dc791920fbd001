package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"carebed/devices"
)

var t0 = time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)

// letters returns n dead letters received a second apart from start, with
// the reason cycling through malformed and out of range.
func letters(n int, start time.Time) []DeadLetter {
	out := make([]DeadLetter, n)
	for i := range out {
		reason := devices.ReasonMalformed
		if i%2 == 1 {
			reason = devices.ReasonOutOfRange
		}
		out[i] = DeadLetter{Received: start.Add(time.Duration(i) * time.Second), Topic: fmt.Sprintf("carebed/d%d/vitals", i),
			Reason: reason, Detail: "bad", Payload: fmt.Sprintf(`{"n":%d}`, i)}
	}
	return out
}

func letterIDs(ls []DeadLetter) []int64 {
	ids := []int64{}
	for _, l := range ls {
		ids = append(ids, l.ID)
	}
	return ids
}

func TestDeadLetterBound(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		max     int
		batches []int
		want    []int64 // ids kept, newest first
	}{
		{"under the bound", 5, []int{2, 2}, []int64{4, 3, 2, 1}},
		{"at the bound", 5, []int{3, 2}, []int64{5, 4, 3, 2, 1}},
		{"over the bound across batches", 5, []int{3, 4}, []int64{7, 6, 5, 4, 3}},
		{"one batch over the bound", 5, []int{12}, []int64{12, 11, 10, 9, 8}},
		{"bound of one", 1, []int{3, 1}, []int64{4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t, WithMaxDeadLetters(tt.max))
			for _, n := range tt.batches {
				if err := db.AddDeadLetters(ctx, letters(n, t0)); err != nil {
					t.Fatalf("AddDeadLetters(%d) = %v, want nil", n, err)
				}
			}
			got, err := db.ListDeadLetters(ctx, DeadLetterFilter{})
			if ids := letterIDs(got); err != nil || !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("ListDeadLetters = %v, %v, want %v, nil", ids, err, tt.want)
			}
		})
	}

	t.Run("default bound", func(t *testing.T) {
		db := openTest(t)
		for range 11 {
			if err := db.AddDeadLetters(ctx, letters(1000, t0)); err != nil {
				t.Fatal(err)
			}
		}
		var n, oldest int64
		if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*), MIN(id) FROM dead_letters`).Scan(&n, &oldest); err != nil {
			t.Fatal(err)
		}
		if n != DefaultMaxDeadLetters || oldest != 1001 {
			t.Errorf("after 11,000 letters: %d kept from id %d, want %d from id 1001", n, oldest, DefaultMaxDeadLetters)
		}
	})
}

func TestDeadLetterPayload(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	big := strings.Repeat("0123456789", 512) // 5,120 bytes
	tests := []struct {
		name          string
		in            DeadLetter
		wantPayload   string
		wantTruncated bool
		wantSize      int
	}{
		{"small", DeadLetter{Payload: `{"heart_rate":900}`}, `{"heart_rate":900}`, false, 18},
		{"empty", DeadLetter{}, "", false, 0},
		{"invalid UTF-8 replaced", DeadLetter{Payload: "a\xffb\xc3"}, "a\uFFFDb\uFFFD", false, 4},
		{"NUL replaced", DeadLetter{Payload: "a\x00b"}, "a\uFFFDb", false, 3},
		{"5 KB cut to 1 KB", DeadLetter{Payload: big}, big[:1024], true, 5120},
		{"cut at a character boundary", DeadLetter{Payload: strings.Repeat("心", 400)}, strings.Repeat("心", 341), true, 1200},
		{"already cut by the caller", DeadLetter{Payload: "{\"a\":", Truncated: true, Size: 1 << 20}, "{\"a\":", true, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Received, in.Reason, in.Topic = t0, devices.ReasonOversized, "carebed/d1/vitals"
			if err := db.AddDeadLetters(ctx, []DeadLetter{in}); err != nil {
				t.Fatalf("AddDeadLetters = %v, want nil", err)
			}
			got, err := db.ListDeadLetters(ctx, DeadLetterFilter{Limit: 1})
			if err != nil || len(got) != 1 {
				t.Fatalf("ListDeadLetters(limit 1) = %v, %v, want one letter", got, err)
			}
			l := got[0]
			if l.Payload != tt.wantPayload || l.Truncated != tt.wantTruncated || l.Size != tt.wantSize || !utf8.ValidString(l.Payload) {
				t.Errorf("stored letter = payload %q (%d bytes), truncated %v, size %d; want %q (%d bytes), %v, %d",
					short(l.Payload), len(l.Payload), l.Truncated, l.Size, short(tt.wantPayload), len(tt.wantPayload), tt.wantTruncated, tt.wantSize)
			}
			if !l.Received.Equal(t0) || l.Reason != devices.ReasonOversized || l.Topic != "carebed/d1/vitals" {
				t.Errorf("stored letter = %+v, want received %v, reason oversized, the topic", l, t0)
			}
		})
	}

	t.Run("no receive time saves nothing", func(t *testing.T) {
		before, _ := db.ListDeadLetters(ctx, DeadLetterFilter{})
		err := db.AddDeadLetters(ctx, []DeadLetter{{Received: t0}, {Payload: "x"}})
		checkErr(t, "AddDeadLetters(no received)", err, ErrInvalid, "letter 1", "received")
		after, _ := db.ListDeadLetters(ctx, DeadLetterFilter{})
		if len(after) != len(before) {
			t.Errorf("letters after a refused batch = %d, want %d", len(after), len(before))
		}
	})
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func TestListDeadLetters(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	// ids 1-10, received t0+0s .. t0+9s; odd ids malformed, even ids out of range.
	if err := db.AddDeadLetters(ctx, letters(10, t0)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    DeadLetterFilter
		want []int64
	}{
		{"all, newest first", DeadLetterFilter{}, []int64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
		{"limit", DeadLetterFilter{Limit: 3}, []int64{10, 9, 8}},
		{"next page", DeadLetterFilter{Limit: 3, Before: 8}, []int64{7, 6, 5}},
		{"by reason", DeadLetterFilter{Reason: devices.ReasonOutOfRange}, []int64{10, 8, 6, 4, 2}},
		{"unknown reason", DeadLetterFilter{Reason: "nope"}, []int64{}},
		{"since", DeadLetterFilter{Since: t0.Add(7 * time.Second)}, []int64{10, 9, 8}},
		{"everything together", DeadLetterFilter{Reason: devices.ReasonMalformed, Since: t0.Add(2 * time.Second), Before: 9, Limit: 2},
			[]int64{7, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.ListDeadLetters(ctx, tt.f)
			if ids := letterIDs(got); err != nil || !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("ListDeadLetters(%+v) = %v, %v, want %v, nil", tt.f, ids, err, tt.want)
			}
		})
	}
	_, err := db.ListDeadLetters(ctx, DeadLetterFilter{Limit: MaxLimit + 1})
	checkErr(t, "ListDeadLetters(limit too big)", err, ErrInvalid, "limit")
}
