package journal

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestRepairTornTail(t *testing.T) {
	const n = 12
	frame := func(i int) int { // size of entry i (0-based) in the segment file
		r := rec(i)
		l := encodedLen(r.Topic, r.Payload)
		return uvarintLen(uint64(l)) + l
	}
	tests := []struct {
		name    string
		segment int                      // SegmentSize; 0 = default
		damage  func(data []byte) []byte // applied to the last segment file
		want    int                      // entries left
	}{
		{"garbage appended", 0,
			func(d []byte) []byte { return append(d, []byte("\x93\x01garbage from a power cut")...) }, n},
		{"cut in the middle of the last entry", 0,
			func(d []byte) []byte { return d[:len(d)-5] }, n - 1},
		{"only the size of the last entry made it", 0,
			func(d []byte) []byte { return d[:len(d)-frame(n-1)+1] }, n - 1},
		{"zeros appended", 0,
			func(d []byte) []byte { return append(d, make([]byte, 4096)...) }, n},
		{"last entry's checksum fails", 0,
			func(d []byte) []byte { d[len(d)-1] ^= 0x5a; return d }, n - 1},
		{"two trailing entries fail", 0,
			func(d []byte) []byte { d[len(d)-1] ^= 1; d[len(d)-frame(n-1)-1] ^= 1; return d }, n - 2},
		{"whole file is garbage", 0,
			func(d []byte) []byte { return bytes.Repeat([]byte{0xff}, len(d)) }, 0},
		{"torn tail of a later segment", 300,
			func(d []byte) []byte { return d[:len(d)-5] }, n - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Dir: t.TempDir(), SegmentSize: tt.segment}
			j := openJournal(t, opts)
			stop := run(t, j)
			var recs []Record
			for i := range n {
				recs = append(recs, rec(i))
			}
			appendWait(t, j, recs...)
			stop()
			if err := j.Close(); err != nil {
				t.Fatalf("Close() = %v, want nil", err)
			}
			path := lastSegment(t, opts.Dir)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tt.damage(data), 0o640); err != nil {
				t.Fatal(err)
			}

			j = openJournal(t, opts)
			if got := j.LastIndex(); got != uint64(tt.want) {
				t.Fatalf("LastIndex() after repair = %d, want %d", got, tt.want)
			}
			if got := j.Stats().RepairedBytes; got <= 0 {
				t.Errorf("Stats().RepairedBytes = %d, want > 0", got)
			}
			all := readAll(t, j)
			for i, e := range all {
				if !sameRecord(e, recs[i]) {
					t.Errorf("entry %d after repair = %s, want %s", e.Index, e.Payload, recs[i].Payload)
				}
			}
			run(t, j)
			next := rec(100)
			appendWait(t, j, next)
			got, err := j.Read(uint64(tt.want+1), 10, nil)
			if err != nil || len(got) != 1 || !sameRecord(got[0], next) {
				t.Fatalf("Read(%d) after append = %v, %v, want the new record", tt.want+1, got, err)
			}
		})
	}
}

func TestRepairFinishesInterruptedTruncation(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentSize: 200}
	j := openJournal(t, opts)
	stop := run(t, j)
	var recs []Record
	for i := range 20 {
		recs = append(recs, rec(i))
	}
	appendWait(t, j, recs...)
	stop()
	if err := j.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	// A crash after tidwall/wal wrote a START file for a truncation at the
	// second segment: Open finishes it (the earlier segment goes away).
	logDir := filepath.Join(dir, logSubdir)
	starts, err := segmentStarts(logDir)
	if err != nil || len(starts) < 3 {
		t.Fatalf("segmentStarts() = %v, %v, want 3 or more segments", starts, err)
	}
	second := filepath.Join(logDir, segmentName(starts[1]))
	data, err := os.ReadFile(second)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(second+".START", data, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logDir, "junk.TEMP"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}

	j = openJournal(t, opts)
	st := j.Stats()
	if st.FirstIndex != starts[1] || st.LastIndex != 20 {
		t.Errorf("Stats() after reopen = first %d last %d, want first %d last 20", st.FirstIndex, st.LastIndex, starts[1])
	}
	for _, e := range readAll(t, j) {
		if !sameRecord(e, recs[e.Index-1]) {
			t.Errorf("entry %d = %s, want %s", e.Index, e.Payload, recs[e.Index-1].Payload)
		}
	}
	if _, err := os.Stat(filepath.Join(logDir, "junk.TEMP")); !os.IsNotExist(err) {
		t.Errorf("stray .TEMP file after Open: Stat() = %v, want not exist", err)
	}
}
