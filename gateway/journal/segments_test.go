package journal

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A log written by hand in the documented format (what journals of earlier
// releases wrote through github.com/tidwall/wal) opens and reads back, and
// new entries continue it.
func TestSegmentFormat(t *testing.T) {
	dir := t.TempDir()
	logDir := filepath.Join(dir, logSubdir)
	if err := os.MkdirAll(logDir, 0o750); err != nil {
		t.Fatal(err)
	}
	var recs []Record
	segments := map[uint64][]int{1: {1, 2, 3}, 4: {4, 5}}
	for start, ns := range segments {
		var data []byte
		for _, n := range ns {
			r := rec(n)
			nanos, _ := unixNanos(r.Received)
			enc := appendRecord(nil, nanos, r.Topic, r.Payload)
			data = binary.AppendUvarint(data, uint64(len(enc)))
			data = append(data, enc...)
		}
		if err := os.WriteFile(filepath.Join(logDir, segmentName(start)), data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	for n := 1; n <= 6; n++ {
		recs = append(recs, rec(n))
	}

	j := openJournal(t, Options{Dir: dir})
	if first, last := j.Stats().FirstIndex, j.LastIndex(); first != 1 || last != 5 {
		t.Fatalf("Open() of a hand-written log: entries %d-%d, want 1-5", first, last)
	}
	stop := run(t, j)
	appendWait(t, j, recs[5])
	stop()
	all := readAll(t, j)
	if len(all) != len(recs) {
		t.Fatalf("readAll() = %d entries, want %d", len(all), len(recs))
	}
	for i, e := range all {
		if !sameRecord(e, recs[i]) {
			t.Errorf("entry %d = %q on %q, want %q on %q", e.Index, e.Payload, e.Topic, recs[i].Payload, recs[i].Topic)
		}
	}
}

// Damage to a segment before the tail (a disk error: the journal fsyncs a
// segment before it writes the next) costs the entries it lost, nothing
// more: Read reports each as corrupt and Consume goes on past them.
func TestDamagedOlderSegment(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentSize: fixedSegment}
	j := openJournal(t, opts)
	stop := run(t, j)
	var recs []Record
	for i := range 12 { // segments 1-5, 6-10, 11-12
		recs = append(recs, fixedRecord(i))
	}
	appendWait(t, j, recs...)
	stop()
	if err := j.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	// Entries 9 and 10 lose their bytes.
	second := filepath.Join(dir, logSubdir, segmentName(6))
	if err := os.Truncate(second, 3*116+50); err != nil {
		t.Fatal(err)
	}

	j = openJournal(t, opts)
	if got := j.LastIndex(); got != 12 {
		t.Fatalf("LastIndex() = %d, want 12", got)
	}
	got, err := j.Read(7, 10, nil)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Index != 9 || len(got) != 2 {
		t.Errorf("Read(7, 10) = %d entries, %v, want 2 entries and a *CorruptError for entry 9", len(got), err)
	}
	run(t, j)
	seen := consumeUntil(t, j, "c", 12)
	if want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 11, 12}; !slices.Equal(seen, want) {
		t.Errorf("Consume() saw %v, want %v", seen, want)
	}
	if got := j.Stats().CorruptSkipped; got != 2 {
		t.Errorf("Stats().CorruptSkipped = %d, want 2", got)
	}
}

// A segment holds entries up to SegmentSize bytes; an entry larger than a
// whole segment gets one of its own.
func TestSegmentBoundaries(t *testing.T) {
	big := Record{Received: t0, Topic: "t", Payload: make([]byte, 3*fixedSegment)}
	tests := []struct {
		name       string
		recs       []Record
		wantStarts []uint64
	}{
		{"five fit exactly", []Record{fixedRecord(0), fixedRecord(1), fixedRecord(2), fixedRecord(3), fixedRecord(4)}, []uint64{1}},
		{"the sixth starts a segment", []Record{fixedRecord(0), fixedRecord(1), fixedRecord(2), fixedRecord(3), fixedRecord(4), fixedRecord(5)}, []uint64{1, 6}},
		{"a large entry alone", []Record{fixedRecord(0), big, fixedRecord(1)}, []uint64{1, 2, 3}},
		{"a large entry first", []Record{big, fixedRecord(0)}, []uint64{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			j := openJournal(t, Options{Dir: dir, SegmentSize: fixedSegment})
			run(t, j)
			appendWait(t, j, tt.recs...)
			starts, err := segmentStarts(filepath.Join(dir, logSubdir))
			if err != nil || !slices.Equal(starts, tt.wantStarts) {
				t.Errorf("segment starts = %v, %v, want %v", starts, err, tt.wantStarts)
			}
			all := readAll(t, j)
			for i, e := range all {
				if !sameRecord(e, tt.recs[i]) {
					t.Errorf("entry %d: %d bytes, want %d", e.Index, len(e.Payload), len(tt.recs[i].Payload))
				}
			}
			if len(all) != len(tt.recs) {
				t.Errorf("readAll() = %d entries, want %d", len(all), len(tt.recs))
			}
		})
	}
}

// A group of records that crosses several segment boundaries closes every
// segment file it moved on from: none is left open after Close.
func TestManySegmentsInOneGroupCloseTheirFiles(t *testing.T) {
	openFiles := func() int {
		des, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatalf("list open files: %v", err)
		}
		return len(des)
	}
	before := openFiles()
	j, err := Open(Options{Dir: t.TempDir(), SegmentSize: fixedSegment, MaxBatch: 1000})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, j)
	var recs []Record
	for i := range 200 { // 40 segments, most of them in one group
		recs = append(recs, fixedRecord(i))
	}
	appendWait(t, j, recs...)
	stop()
	if err := j.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if after := openFiles(); after > before {
		t.Errorf("%d files open after Close, %d before Open: segment files leaked", after, before)
	}
}
