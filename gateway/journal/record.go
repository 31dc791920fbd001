package journal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"time"
)

// recordVersion is the first byte of every encoded record.
const recordVersion = 1

const (
	headerLen = 1 + 8 // version, received
	crcLen    = 4
	// minRecordLen is a record with an empty topic and payload.
	minRecordLen = headerLen + 1 + crcLen
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// unixNanos converts a receive time for storage. The zero time is stored as 0.
func unixNanos(t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return 0, fmt.Errorf("receive time %s is outside the years 1678-2262", t.Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// fromNanos is the inverse of unixNanos.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// encodedLen is the size of a record's encoding.
func encodedLen(topic string, payload []byte) int {
	return headerLen + uvarintLen(uint64(len(topic))) + len(topic) + len(payload) + crcLen
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// appendRecord appends the encoding of one record to dst.
func appendRecord(dst []byte, nanos int64, topic string, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, recordVersion)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(nanos))
	dst = binary.AppendUvarint(dst, uint64(len(topic)))
	dst = append(dst, topic...)
	dst = append(dst, payload...)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// decodeRecord checks an encoded record and splits it. topic and payload
// alias data. Errors wrap ErrCorrupt.
func decodeRecord(data []byte) (nanos int64, topic, payload []byte, err error) {
	if len(data) < minRecordLen {
		return 0, nil, nil, fmt.Errorf("%w: %d bytes, shorter than any record", ErrCorrupt, len(data))
	}
	body := data[:len(data)-crcLen]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(body):]) {
		return 0, nil, nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	if body[0] != recordVersion {
		return 0, nil, nil, fmt.Errorf("%w: unknown record version %d", ErrCorrupt, body[0])
	}
	nanos = int64(binary.LittleEndian.Uint64(body[1:headerLen]))
	rest := body[headerLen:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return 0, nil, nil, fmt.Errorf("%w: bad topic length", ErrCorrupt)
	}
	rest = rest[k:]
	return nanos, rest[:n:n], rest[n:], nil
}

// FNV-1a, 64 bit: stable across processes, unlike hash/maphash.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnv1a[T string | []byte](h uint64, s T) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// recordHash identifies a record for duplicate detection.
func recordHash[T string | []byte](topic T, payload []byte) uint64 {
	h := fnv1a(fnvOffset, topic)
	h = (h ^ 0xff) * fnvPrime // 0xff never occurs in a UTF-8 topic
	return fnv1a(h, payload)
}

// window remembers the hashes of the last len(ring) written records.
// It is used by one goroutine at a time.
type window struct {
	ring []uint64
	next int // slot for the next hash
	full bool
	seen map[uint64]uint32 // hash -> occurrences in ring
}

func newWindow(size int) *window {
	return &window{ring: make([]uint64, size), seen: make(map[uint64]uint32, size)}
}

func (w *window) has(h uint64) bool {
	_, ok := w.seen[h]
	return ok
}

func (w *window) add(h uint64) {
	if w.full {
		old := w.ring[w.next]
		if c := w.seen[old]; c <= 1 {
			delete(w.seen, old)
		} else {
			w.seen[old] = c - 1
		}
	}
	w.ring[w.next] = h
	w.seen[h]++
	w.next++
	if w.next == len(w.ring) {
		w.next = 0
		w.full = true
	}
}
