package journal

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestAppendCommitAckOrder(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		n    int
	}{
		{"fsync", Options{}, 300},
		{"no sync", Options{NoSync: true}, 300},
		{"chunks of 3", Options{MaxBatch: 3}, 50},
		{"tight bound", Options{MaxUnacked: 2, NoSync: true}, 100},
		{"small segments", Options{SegmentSize: 256}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Dir = t.TempDir()
			j := openJournal(t, tt.opts)
			stop := run(t, j)
			var mu sync.Mutex
			var acked []int
			var problems []string
			done := make(chan struct{})
			for i := range tt.n {
				ack := func() {
					mu.Lock()
					defer mu.Unlock()
					acked = append(acked, i)
					// Acks run only once the record is committed and readable.
					if got, want := j.LastIndex(), uint64(len(acked)); got < want {
						problems = append(problems, "LastIndex() in ack below the record's index")
					}
					if e, err := j.Read(uint64(i+1), 1, nil); err != nil || len(e) != 1 || !sameRecord(e[0], rec(i)) {
						problems = append(problems, "Read() in ack does not return the record")
					}
					if i == tt.n-1 {
						close(done)
					}
				}
				if err := j.Append(context.Background(), rec(i), ack); err != nil {
					t.Fatalf("Append(rec(%d)) = %v, want nil", i, err)
				}
			}
			<-done
			mu.Lock()
			defer mu.Unlock()
			if want := seq(tt.n); !slices.Equal(acked, want) {
				t.Errorf("ack order = %v, want %v", acked, want)
			}
			if len(problems) > 0 {
				t.Errorf("acks: %v, want none", problems[0])
			}
			all := readAll(t, j)
			if len(all) != tt.n {
				t.Fatalf("readAll() = %d entries, want %d", len(all), tt.n)
			}
			for i, e := range all {
				if e.Index != uint64(i+1) || !sameRecord(e, rec(i)) {
					t.Errorf("readAll()[%d] = %d %q %s, want %d %q %s", i, e.Index, e.Topic, e.Payload, i+1, rec(i).Topic, rec(i).Payload)
				}
			}
			stop() // the commit loop is done with the last batch
			st := j.Stats()
			if st.Committed != uint64(tt.n) || st.LastIndex != uint64(tt.n) || st.Unacked != 0 || st.Commits == 0 {
				t.Errorf("Stats() = %+v, want Committed=LastIndex=%d, Unacked=0, Commits>0", st, tt.n)
			}
			if tt.opts.MaxBatch > 0 && st.Commits < uint64(tt.n/tt.opts.MaxBatch) {
				t.Errorf("Stats().Commits = %d, want at least %d with MaxBatch %d", st.Commits, tt.n/tt.opts.MaxBatch, tt.opts.MaxBatch)
			}
		})
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestAckOnlyAfterCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := openJournal(t, Options{Dir: t.TempDir()})
		acked := make(chan uint64, 1)
		if err := j.Append(context.Background(), rec(1), func() { acked <- j.LastIndex() }); err != nil {
			t.Fatalf("Append() = %v, want nil", err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		select {
		case <-acked:
			t.Fatalf("ack ran without Run, want it to wait for the commit")
		default:
		}
		if got := j.LastIndex(); got != 0 {
			t.Errorf("LastIndex() before commit = %d, want 0", got)
		}
		run(t, j)
		if got := <-acked; got != 1 {
			t.Errorf("LastIndex() inside ack = %d, want 1", got)
		}
	})
}

func TestMaxUnackedBlocksAppend(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		fill int // appends that fit
	}{
		{"records", Options{MaxUnacked: 3}, 3},
		{"bytes", Options{MaxUnackedBytes: 2 * encodedLen(rec(1).Topic, rec(1).Payload)}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tt.opts.Dir = t.TempDir()
				j := openJournal(t, tt.opts)
				var acks []int
				for i := range tt.fill {
					if err := j.Append(context.Background(), rec(i), func() { acks = append(acks, i) }); err != nil {
						t.Fatalf("Append(rec(%d)) = %v, want nil", i, err)
					}
				}
				// Over the bound, an Append with a deadline gives up.
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if err := j.Append(ctx, rec(99), nil); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Append() over the bound = %v, want context.DeadlineExceeded", err)
				}
				// One without a deadline waits for the commit.
				returned := make(chan error, 1)
				go func() {
					returned <- j.Append(context.Background(), rec(tt.fill), func() { acks = append(acks, tt.fill) })
				}()
				synctest.Wait()
				select {
				case err := <-returned:
					t.Fatalf("Append() over the bound returned %v before a commit, want it to block", err)
				default:
				}
				run(t, j)
				if err := <-returned; err != nil {
					t.Fatalf("Append() after commit = %v, want nil", err)
				}
				for j.Stats().Unacked > 0 {
					synctest.Wait()
					time.Sleep(time.Millisecond)
				}
				if want := seq(tt.fill + 1); !slices.Equal(acks, want) {
					t.Errorf("acks = %v, want %v", acks, want)
				}
			})
		})
	}
}

func TestAppendErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	big := Record{Topic: "t", Payload: make([]byte, 200)}
	tests := []struct {
		name    string
		ctx     context.Context
		rec     Record
		stopped bool // Run has ended
		closed  bool
		want    error
	}{
		{"canceled context", canceled, rec(1), false, false, context.Canceled},
		{"too large", context.Background(), big, false, false, ErrTooLarge},
		{"after Run ended", context.Background(), rec(1), true, false, ErrClosed},
		{"after Close", context.Background(), rec(1), false, true, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := openJournal(t, Options{Dir: t.TempDir(), MaxRecordBytes: 100})
			if tt.stopped {
				run(t, j)()
			}
			if tt.closed {
				j.Close()
			}
			if err := j.Append(tt.ctx, tt.rec, nil); !errors.Is(err, tt.want) {
				t.Errorf("Append() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRunDrainsPendingOnStop(t *testing.T) {
	j := openJournal(t, Options{Dir: t.TempDir()})
	var acked int
	for i := range 50 {
		if err := j.Append(context.Background(), rec(i), func() { acked++ }); err != nil {
			t.Fatalf("Append(rec(%d)) = %v, want nil", i, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run sees the end at once and must still commit the 50
	if err := j.Run(ctx); err != nil {
		t.Fatalf("Run() = %v, want nil", err)
	}
	if acked != 50 || j.LastIndex() != 50 {
		t.Errorf("after Run: acked %d, LastIndex() = %d, want 50, 50", acked, j.LastIndex())
	}
	if err := j.Run(context.Background()); err == nil {
		t.Errorf("second Run() = nil, want an error")
	}
}

func TestOpenOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"no dir", Options{}, "Dir is empty"},
		{"retain below window", Options{DedupeWindow: 10, Retain: 5}, "Retain 5 is below DedupeWindow 10"},
		{"defaults", Options{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name != "no dir" {
				tt.opts.Dir = t.TempDir()
			}
			j, err := Open(tt.opts)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Open() = %v, want nil", err)
				}
				j.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCloseWhileRunning(t *testing.T) {
	j := openJournal(t, Options{Dir: t.TempDir()})
	stop := run(t, j)
	appendWait(t, j, rec(1)) // Run is surely active now
	if err := j.Close(); err == nil {
		t.Errorf("Close() while Run is active = nil, want an error")
	}
	stop()
	if err := j.Close(); err != nil {
		t.Errorf("Close() after Run = %v, want nil", err)
	}
}

func TestReopenKeepsEntriesAndCursors(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		n        int
		consumed uint64
	}{
		{"one segment", Options{}, 40, 25},
		{"many segments", Options{SegmentSize: 300}, 120, 77},
		{"nothing consumed", Options{}, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Dir = t.TempDir()
			j := openJournal(t, tt.opts)
			stop := run(t, j)
			var recs []Record
			for i := range tt.n {
				recs = append(recs, rec(i))
			}
			appendWait(t, j, recs...)
			if tt.consumed > 0 {
				consumeTo(t, j, "telemetry", tt.consumed)
			}
			stop()
			if err := j.Close(); err != nil {
				t.Fatalf("Close() = %v, want nil", err)
			}

			j = openJournal(t, tt.opts)
			if got := j.LastIndex(); got != uint64(tt.n) {
				t.Errorf("LastIndex() after reopen = %d, want %d", got, tt.n)
			}
			for i, e := range readAll(t, j) {
				if !sameRecord(e, recs[i]) {
					t.Errorf("entry %d after reopen = %q %s, want %q %s", e.Index, e.Topic, e.Payload, recs[i].Topic, recs[i].Payload)
				}
			}
			if got := j.Cursor("telemetry"); got != tt.consumed {
				t.Errorf("Cursor(telemetry) after reopen = %d, want %d", got, tt.consumed)
			}
			run(t, j)
			appendWait(t, j, rec(tt.n))
			seen := consumeUntil(t, j, "telemetry", uint64(tt.n+1))
			if want := indexes(tt.consumed+1, uint64(tt.n+1)); !slices.Equal(seen, want) {
				t.Errorf("Consume(telemetry) after reopen saw %v, want %v", seen, want)
			}
		})
	}
}

func TestCrashReplaysUnsavedCursor(t *testing.T) {
	dir := t.TempDir()
	j := openJournal(t, Options{Dir: dir})
	j.persistEvery = time.Hour // the cursor moves in memory only
	run(t, j)
	var recs []Record
	for i := range 30 {
		recs = append(recs, rec(i))
	}
	appendWait(t, j, recs...)

	ctx, cancel := context.WithCancel(context.Background())
	reached, resume := make(chan struct{}), make(chan struct{})
	consumed := make(chan error)
	go func() {
		consumed <- j.Consume(ctx, "alarms", 8, func(_ context.Context, batch []Entry) error {
			if batch[len(batch)-1].Index == 30 {
				close(reached)
				<-resume
			}
			return nil
		})
	}()
	<-reached
	// The consumer finished entries 1-29 and is busy with the last batch:
	// the machine dies now.
	crashDir := snapshot(t, dir)
	close(resume)
	cancel()
	if err := <-consumed; err != nil {
		t.Fatalf("Consume() = %v, want nil", err)
	}

	after := openJournal(t, Options{Dir: crashDir})
	if got := after.Cursor("alarms"); got != 0 {
		t.Errorf("Cursor(alarms) after crash = %d, want 0", got)
	}
	run(t, after)
	seen := consumeUntil(t, after, "alarms", 30)
	if want := indexes(1, 30); !slices.Equal(seen, want) {
		t.Errorf("Consume(alarms) after crash saw %v, want %v", seen, want)
	}
}

func TestSegmentCyclingSurvivesReopen(t *testing.T) {
	tests := []struct {
		name    string
		segment int
		payload int
	}{
		{"entries smaller than a segment", 1024, 100},
		{"entries larger than a segment", 64, 200},
		{"exact fits", 2 * (1 + encodedLen("t", make([]byte, 100))), 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Dir: t.TempDir(), SegmentSize: tt.segment, MaxBatch: 7}
			j := openJournal(t, opts)
			stop := run(t, j)
			var recs []Record
			for i := range 60 {
				r := Record{Received: t0, Topic: "t", Payload: make([]byte, tt.payload)}
				r.Payload[0] = byte(i)
				recs = append(recs, r)
			}
			for i := 0; i < len(recs); i += 9 {
				appendWait(t, j, recs[i:min(i+9, len(recs))]...)
			}
			stop()
			if err := j.Close(); err != nil {
				t.Fatalf("Close() = %v, want nil", err)
			}
			j = openJournal(t, opts)
			all := readAll(t, j)
			if len(all) != len(recs) {
				t.Fatalf("readAll() after reopen = %d entries, want %d", len(all), len(recs))
			}
			for i, e := range all {
				if !sameRecord(e, recs[i]) {
					t.Errorf("entry %d = payload[0] %d, want %d", e.Index, e.Payload[0], i)
				}
			}
		})
	}
}

func TestDrainWaitsForAcks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := openJournal(t, Options{Dir: t.TempDir()})
		var acked int
		for i := range 3 {
			if err := j.Append(context.Background(), rec(i), func() { acked++ }); err != nil {
				t.Fatalf("Append(rec(%d)) = %v, want nil", i, err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := j.Drain(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Drain() without Run = %v, want context.DeadlineExceeded", err)
		}
		run(t, j)
		if err := j.Drain(context.Background()); err != nil {
			t.Errorf("Drain() = %v, want nil", err)
		}
		if acked != 3 {
			t.Errorf("acks after Drain() = %d, want 3", acked)
		}
	})
}

func TestWritable(t *testing.T) {
	tests := []struct {
		name string
		do   func(t *testing.T, j *Journal)
		want error
	}{
		{"open", func(*testing.T, *Journal) {}, nil},
		{"running", func(t *testing.T, j *Journal) { run(t, j) }, nil},
		{"Run ended", func(t *testing.T, j *Journal) { run(t, j)() }, ErrClosed},
		{"closed", func(_ *testing.T, j *Journal) { j.Close() }, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := openJournal(t, Options{Dir: t.TempDir(), NoSync: true})
			tt.do(t, j)
			if err := j.Writable(); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Writable() = %v, want %v", err, tt.want)
			}
		})
	}
}

// When the disk fails, nothing is acknowledged and the journal says so.
func TestCommitFailureAcksNothing(t *testing.T) {
	j := openJournal(t, Options{Dir: t.TempDir()})
	j.log.file.Close() // the tail segment can no longer be written
	ran := make(chan error, 1)
	go func() { ran <- j.Run(context.Background()) }()
	acked := false
	if err := j.Append(context.Background(), rec(1), func() { acked = true }); err != nil {
		t.Fatalf("Append() = %v, want nil", err)
	}
	if err := <-ran; err == nil {
		t.Fatalf("Run() = nil, want the write failure")
	}
	if acked {
		t.Errorf("ack ran after a failed commit, want it never to run")
	}
	if got := j.LastIndex(); got != 0 {
		t.Errorf("LastIndex() = %d, want 0", got)
	}
	if err := j.Writable(); err == nil {
		t.Errorf("Writable() = nil, want the commit error")
	}
	if err := j.Append(context.Background(), rec(2), nil); err == nil {
		t.Errorf("Append() after failure = nil, want the commit error")
	}
	if err := j.Drain(context.Background()); err == nil {
		t.Errorf("Drain() after failure = nil, want the commit error")
	}
}

// TestGroupStaysOpenWhileSyncerWaits: records that arrive while the syncer
// waits out CommitInterval join one group, which is synced as soon as the
// interval ends, instead of a group closed by the first of them and another
// for the rest (which made them wait two intervals).
func TestGroupStaysOpenWhileSyncerWaits(t *testing.T) {
	j := openJournal(t, Options{Dir: t.TempDir(), CommitInterval: 300 * time.Millisecond})
	run(t, j)
	appendWait(t, j, rec(0)) // an idle journal syncs at once
	before := j.Stats().Commits
	var wg sync.WaitGroup
	for i := 1; i <= 5; i++ {
		wg.Add(1)
		if err := j.Append(context.Background(), rec(i), wg.Done); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // each record kicks the writer on its own
	}
	wg.Wait()
	if got := j.Stats().Commits - before; got != 1 {
		t.Errorf("commits for 5 records arriving within one CommitInterval = %d, want 1", got)
	}
}
