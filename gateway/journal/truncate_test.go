package journal

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// fixedRecord is 116 bytes in a segment file, so five fill a 580-byte segment
// and segments start at 1, 6, 11, ...
func fixedRecord(i int) Record {
	r := Record{Received: t0, Topic: "t", Payload: make([]byte, 100)}
	r.Payload[0], r.Payload[1] = byte(i), byte(i>>8)
	return r
}

const fixedSegment = 5 * 116

// consumeTo moves consumer name's cursor to exactly pos and stores it.
func consumeTo(t *testing.T, j *Journal, name string, pos uint64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if j.Cursor(name) >= pos {
		cancel() // just register
	}
	err := j.Consume(ctx, name, 1, func(_ context.Context, b []Entry) error {
		if b[0].Index >= pos {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Consume(%q) = %v, want nil", name, err)
	}
}

func TestTruncationKeepsUnconsumedEntries(t *testing.T) {
	const n = 102 // segments 1..96 full, tail 101-102
	tests := []struct {
		name      string
		retain    int
		cursors   map[string]uint64
		wantFirst uint64
	}{
		{"no consumer ever registered", 4, nil, 1},
		{"a consumer that has consumed nothing", 4, map[string]uint64{"fast": n, "new": 0}, 1},
		{"cursor within Retain", 4, map[string]uint64{"a": 3}, 1},
		{"slow consumer holds it back", 4, map[string]uint64{"fast": n, "slow": 40}, 36},
		{"segment boundary", 4, map[string]uint64{"a": 44}, 41},
		{"everyone at the end", 4, map[string]uint64{"a": n, "b": n}, 96},
		{"tail segment rewritten", 1, map[string]uint64{"a": n}, 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := Options{Dir: t.TempDir(), SegmentSize: fixedSegment, DedupeWindow: 1, Retain: tt.retain, TruncateEvery: time.Second}
				j := openJournal(t, opts)
				stop := run(t, j)
				var recs []Record
				for i := range n {
					recs = append(recs, fixedRecord(i))
				}
				appendWait(t, j, recs...)
				for name, pos := range tt.cursors {
					consumeTo(t, j, name, pos)
				}
				time.Sleep(1500 * time.Millisecond)
				synctest.Wait()
				st := j.Stats()
				if st.FirstIndex != tt.wantFirst {
					t.Errorf("Stats().FirstIndex after truncation = %d, want %d", st.FirstIndex, tt.wantFirst)
				}
				for name, pos := range tt.cursors {
					// Retain entries behind every cursor stay.
					if keep := pos + 1 - min(pos, uint64(tt.retain)); st.FirstIndex > keep {
						t.Errorf("consumer %q at %d: first entry %d, want <= %d", name, pos, st.FirstIndex, keep)
					}
				}
				if st.FirstIndex > 1 {
					if _, err := j.Read(st.FirstIndex-1, 1, nil); !errors.Is(err, ErrTruncated) {
						t.Errorf("Read(%d) = %v, want ErrTruncated", st.FirstIndex-1, err)
					}
				}
				// The log goes on: appends after a truncation, then a reopen.
				for i := n; i < n+7; i++ {
					appendWait(t, j, fixedRecord(i))
				}
				stop()
				if err := j.Close(); err != nil {
					t.Fatalf("Close() = %v, want nil", err)
				}
				j = openJournal(t, opts)
				if got := j.LastIndex(); got != n+7 {
					t.Errorf("LastIndex() after reopen = %d, want %d", got, n+7)
				}
				for _, e := range readAll(t, j) {
					if !sameRecord(e, fixedRecord(int(e.Index-1))) {
						t.Errorf("entry %d = %x, want %x", e.Index, e.Payload[:2], fixedRecord(int(e.Index - 1)).Payload[:2])
					}
				}
				for name, pos := range tt.cursors {
					if got := j.Cursor(name); got != pos {
						t.Errorf("Cursor(%q) after reopen = %d, want %d", name, got, pos)
					}
				}
			})
		})
	}
}

// A cursor that moved only in memory must not let truncation pass the
// stored one: after a crash the consumer restarts from the stored one.
func TestTruncationUsesStoredCursor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := Options{Dir: t.TempDir(), SegmentSize: fixedSegment, DedupeWindow: 1, TruncateEvery: time.Second}
		j := openJournal(t, opts)
		j.persistEvery = time.Hour
		run(t, j)
		for i := range 50 {
			appendWait(t, j, fixedRecord(i))
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			done <- j.Consume(ctx, "alarms", 10, func(context.Context, []Entry) error { return nil })
		}()
		synctest.Wait()
		if got := j.Cursor("alarms"); got != 50 {
			t.Fatalf("Cursor(alarms) = %d, want 50", got)
		}
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if got := j.Stats().FirstIndex; got != 1 {
			t.Errorf("Stats().FirstIndex with the cursor stored at 0 = %d, want 1", got)
		}
		cancel() // stores 50
		if err := <-done; err != nil {
			t.Fatalf("Consume() = %v, want nil", err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got := j.Stats().FirstIndex; got != 46 {
			t.Errorf("Stats().FirstIndex with the cursor stored at 50 = %d, want 46", got)
		}
	})
}

func TestDropCursorReleasesTruncation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := Options{Dir: t.TempDir(), SegmentSize: fixedSegment, DedupeWindow: 1, TruncateEvery: time.Second}
		j := openJournal(t, opts)
		run(t, j)
		for i := range 30 {
			appendWait(t, j, fixedRecord(i))
		}
		consumeTo(t, j, "alarms", 30)
		consumeTo(t, j, "retired", 0)
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if got := j.Stats().FirstIndex; got != 1 {
			t.Errorf("Stats().FirstIndex with a consumer at 0 = %d, want 1", got)
		}
		if err := j.DropCursor("retired"); err != nil {
			t.Fatalf("DropCursor(retired) = %v, want nil", err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got := j.Stats().FirstIndex; got != 26 {
			t.Errorf("Stats().FirstIndex after DropCursor = %d, want 26", got)
		}
	})
}
