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
//
// Only redeliveries are looked up, and they come in bursts after a
// reconnect, while every record is added: so adding only writes the ring,
// and the index, an open-addressing table (linear probing) of ring slots at
// most half full, is built by the first lookup and kept up to date only
// until a whole window has been added without one. Updating it for every
// record cost a few cache misses each, several percent of the gateway's CPU
// at full ingest. It is used by one goroutine at a time.
type window struct {
	ring  []uint64
	next  int // slot for the next hash
	full  bool
	table []uint32 // ring slot + 1 of each remembered hash, 0 empty; valid while indexed
	shift uint     // 64 - log2(len(table))
	// indexed says whether table is up to date; quiet counts the records
	// added since the last lookup.
	indexed bool
	quiet   int
}

func newWindow(size int) *window {
	bits := uint(1)
	for 1<<bits < 2*size {
		bits++
	}
	return &window{ring: make([]uint64, size), shift: 64 - bits}
}

// home is the bucket where the probe for h starts (Fibonacci hashing).
func (w *window) home(h uint64) int { return int((h * 0x9e3779b97f4a7c15) >> w.shift) }

func (w *window) has(h uint64) bool {
	if !w.indexed {
		w.reindex()
	}
	w.quiet = 0
	mask := len(w.table) - 1
	for b := w.home(h); ; b = (b + 1) & mask {
		s := w.table[b]
		if s == 0 {
			return false
		}
		if w.ring[s-1] == h {
			return true
		}
	}
}

func (w *window) add(h uint64) {
	if w.indexed {
		if w.quiet++; w.quiet > len(w.ring) {
			w.indexed = false // no lookup for a whole window: stop paying for the index
		} else if w.full {
			w.forget(w.next)
		}
	}
	w.ring[w.next] = h
	if w.indexed {
		w.insert(w.next)
	}
	w.next++
	if w.next == len(w.ring) {
		w.next = 0
		w.full = true
	}
}

// reindex builds the table from the ring.
func (w *window) reindex() {
	if w.table == nil {
		w.table = make([]uint32, 1<<(64-w.shift))
	} else {
		clear(w.table)
	}
	n := w.next
	if w.full {
		n = len(w.ring)
	}
	for s := range n {
		w.insert(s)
	}
	w.indexed = true
}

// insert adds ring slot s to the table.
func (w *window) insert(s int) {
	mask := len(w.table) - 1
	b := w.home(w.ring[s])
	for w.table[b] != 0 {
		b = (b + 1) & mask
	}
	w.table[b] = uint32(s + 1)
}

// forget removes ring slot s from the table, moving later entries of its
// probe run back so that no probe stops short of them.
func (w *window) forget(s int) {
	mask := len(w.table) - 1
	i := w.home(w.ring[s])
	for w.table[i] != uint32(s+1) {
		i = (i + 1) & mask
	}
	for {
		w.table[i] = 0
		j := i
		for {
			j = (j + 1) & mask
			t := w.table[j]
			if t == 0 {
				return
			}
			// The entry at j may move to i unless its home lies cyclically
			// in (i, j].
			k := w.home(w.ring[t-1])
			if i <= j && (i < k && k <= j) || i > j && (i < k || k <= j) {
				continue
			}
			w.table[i] = t
			i = j
			break
		}
	}
}
