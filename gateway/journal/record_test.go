package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		at      time.Time
		topic   string
		payload []byte
	}{
		{"vitals", t0, "carebed/dev-1/vitals", []byte(`{"heart_rate":72}`)},
		{"empty topic and payload", t0, "", nil},
		{"zero time", time.Time{}, "carebed/dev-1/sos", []byte(`{"action":"press"}`)},
		{"zone kept as instant", t0.In(time.FixedZone("CST", 8*3600)), "z2m/bed-3", []byte("x")},
		{"long topic", t0, strings.Repeat("t", 300), []byte("p")},
		{"binary payload", t0, "senml", []byte{0, 0xff, 0x80, 1}},
		{"before 1970", time.Date(1969, 7, 20, 20, 17, 0, 1, time.UTC), "a", []byte("b")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nanos, err := unixNanos(tt.at)
			if err != nil {
				t.Fatalf("unixNanos(%v) = %v, want nil", tt.at, err)
			}
			enc := appendRecord([]byte("prefix"), nanos, tt.topic, tt.payload)[len("prefix"):]
			if got, want := len(enc), encodedLen(tt.topic, tt.payload); got != want {
				t.Errorf("len(appendRecord()) = %d, want %d", got, want)
			}
			gotNanos, topic, payload, err := decodeRecord(enc)
			if err != nil {
				t.Fatalf("decodeRecord() = %v, want nil", err)
			}
			if got := fromNanos(gotNanos); !got.Equal(tt.at) {
				t.Errorf("decodeRecord() received = %v, want %v", got, tt.at)
			}
			if string(topic) != tt.topic || !bytes.Equal(payload, tt.payload) {
				t.Errorf("decodeRecord() = %q, %q, want %q, %q", topic, payload, tt.topic, tt.payload)
			}
			if got, want := recordHash(topic, payload), recordHash(tt.topic, tt.payload); got != want {
				t.Errorf("recordHash([]byte) = %x, want %x (as string)", got, want)
			}
		})
	}
}

func TestDecodeRecordCorrupt(t *testing.T) {
	good := appendRecord(nil, t0.UnixNano(), "carebed/dev-1/vitals", []byte(`{"spo2":97}`))
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		return b
	}
	badVersion := bytes.Clone(good[:len(good)-crcLen])
	badVersion[0] = 9
	badVersion = binary.LittleEndian.AppendUint32(badVersion, crc32.Checksum(badVersion, castagnoli))
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", good[:minRecordLen-1]},
		{"flipped time", flip(3)},
		{"flipped payload", flip(len(good) - 6)},
		{"flipped checksum", flip(len(good) - 1)},
		{"cut", good[:len(good)-1]},
		{"zeros", make([]byte, 40)},
		{"bad version with matching checksum", badVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, _, err := decodeRecord(tt.data); !errors.Is(err, ErrCorrupt) {
				t.Errorf("decodeRecord(%x) = %v, want ErrCorrupt", tt.data, err)
			}
		})
	}
}

func TestUnixNanosRange(t *testing.T) {
	tests := []struct {
		name    string
		at      time.Time
		wantErr bool
	}{
		{"now-ish", t0, false},
		{"zero", time.Time{}, false},
		{"year 1500", time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"year 2300", time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := unixNanos(tt.at)
			if got := err != nil; got != tt.wantErr {
				t.Errorf("unixNanos(%v) error = %v, want error %v", tt.at, err, tt.wantErr)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		add     []uint64
		has     []uint64
		hasNot  []uint64
		entries int // occupied buckets
	}{
		{"under size", 4, []uint64{1, 2, 3}, []uint64{1, 2, 3}, []uint64{4}, 3},
		{"evicts oldest", 3, []uint64{1, 2, 3, 4}, []uint64{2, 3, 4}, []uint64{1}, 3},
		{"repeated hash kept", 3, []uint64{7, 7, 8, 9}, []uint64{7, 8, 9}, nil, 3},
		{"repeated hash evicted last", 2, []uint64{7, 7, 8, 9}, []uint64{8, 9}, []uint64{7}, 2},
		{"wraps twice", 2, []uint64{1, 2, 3, 4, 5}, []uint64{4, 5}, []uint64{1, 2, 3}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindow(tt.size)
			for _, h := range tt.add {
				w.add(h)
			}
			for _, h := range tt.has {
				if !w.has(h) {
					t.Errorf("has(%d) = false, want true", h)
				}
			}
			for _, h := range tt.hasNot {
				if w.has(h) {
					t.Errorf("has(%d) = true, want false", h)
				}
			}
			occupied := 0
			for _, s := range w.table {
				if s != 0 {
					occupied++
				}
			}
			if occupied != tt.entries {
				t.Errorf("occupied buckets = %d, want %d", occupied, tt.entries)
			}
		})
	}
}

// The window answers as a plain list of the last size hashes would, through
// long runs of colliding probes and deletions from them, whether lookups
// come after every record (the index kept up to date) or rarely (the index
// dropped after a quiet window and built again).
func TestWindowMatchesModel(t *testing.T) {
	for _, size := range []int{1, 2, 3, 5, 8, 13, 100} {
		for _, every := range []int{1, size + 1, 3*size + 2} {
			w := newWindow(size)
			rng := rand.New(rand.NewPCG(uint64(size), uint64(every)))
			var last []uint64
			for step := range 5000 {
				h := rng.Uint64N(3 * uint64(size))
				w.add(h)
				last = append(last, h)
				if len(last) > size {
					last = last[1:]
				}
				if step%every != 0 {
					continue
				}
				for v := range 3 * uint64(size) {
					if got, want := w.has(v), slices.Contains(last, v); got != want {
						t.Fatalf("size %d, lookups every %d records, step %d: has(%d) = %v, want %v", size, every, step, v, got, want)
					}
				}
			}
		}
	}
}

func TestValidPrefix(t *testing.T) {
	entry := func(payload string) []byte {
		r := appendRecord(nil, t0.UnixNano(), "carebed/dev-1/vitals", []byte(payload))
		return append(binary.AppendUvarint(nil, uint64(len(r))), r...)
	}
	a, b := entry(`{"seq":1}`), entry(`{"seq":2}`)
	ab := append(bytes.Clone(a), b...)
	bad := bytes.Clone(b)
	bad[len(bad)-1] ^= 0xff
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"empty", nil, 0},
		{"whole", ab, len(ab)},
		{"torn last entry", ab[:len(ab)-3], len(a)},
		{"torn size", append(bytes.Clone(ab), 0x80), len(ab)},
		{"zeros after", append(bytes.Clone(ab), make([]byte, 64)...), len(ab)},
		{"bad checksum last", append(bytes.Clone(a), bad...), len(a)},
		{"bad checksum in the middle is kept", append(append(bytes.Clone(a), bad...), b...), len(a) + len(bad) + len(b)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validPrefix(tt.data); got != tt.want {
				t.Errorf("validPrefix(%d bytes) = %d, want %d", len(tt.data), got, tt.want)
			}
		})
	}
}

// BenchmarkWindowAdd is the duplicate window's cost per journaled record:
// with no lookups (steady ingest) and during a burst of redeliveries, when
// every record is also looked up and the index is kept.
func BenchmarkWindowAdd(b *testing.B) {
	for _, bc := range []struct {
		name   string
		lookup bool
	}{{"no lookups", false}, {"lookup each", true}} {
		b.Run(bc.name, func(b *testing.B) {
			w := newWindow(DefaultDedupeWindow)
			rng := rand.New(rand.NewPCG(1, 2))
			for range DefaultDedupeWindow {
				w.add(rng.Uint64())
			}
			b.ResetTimer()
			for b.Loop() {
				h := rng.Uint64()
				if bc.lookup {
					w.has(h)
				}
				w.add(h)
			}
		})
	}
}
