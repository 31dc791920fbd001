package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func TestConsumeRetriesWithBackoff(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		fails  int
		delays []time.Duration // between successive calls of fn
	}{
		{"no failure", 0, nil},
		{"one failure", 1, []time.Duration{50 * ms}},
		{"doubling", 4, []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms}},
		{"capped at 5s", 9, []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5000 * ms, 5000 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				j := openJournal(t, Options{Dir: t.TempDir(), NoSync: true})
				run(t, j)
				appendWait(t, j, rec(1), rec(2), rec(3))

				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var calls []time.Time
				var batches [][]uint64
				err := j.Consume(ctx, "influx", 10, func(_ context.Context, batch []Entry) error {
					calls = append(calls, time.Now())
					var idx []uint64
					for _, e := range batch {
						idx = append(idx, e.Index)
					}
					batches = append(batches, idx)
					if len(calls) <= tt.fails {
						return errors.New("influxdb unavailable")
					}
					cancel()
					return nil
				})
				if err != nil {
					t.Fatalf("Consume() = %v, want nil", err)
				}
				var delays []time.Duration
				for i := 1; i < len(calls); i++ {
					delays = append(delays, calls[i].Sub(calls[i-1]))
				}
				if !slices.Equal(delays, tt.delays) {
					t.Errorf("delays between attempts = %v, want %v", delays, tt.delays)
				}
				for i, b := range batches {
					if want := []uint64{1, 2, 3}; !slices.Equal(b, want) {
						t.Errorf("attempt %d got batch %v, want the same batch %v", i, b, want)
					}
				}
				if got := j.Cursor("influx"); got != 3 {
					t.Errorf("Cursor(influx) = %d, want 3", got)
				}
				if got := j.Stats().Retries; got != uint64(tt.fails) {
					t.Errorf("Stats().Retries = %d, want %d", got, tt.fails)
				}
			})
		})
	}
}

func TestConsumeStopsDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := openJournal(t, Options{Dir: t.TempDir(), NoSync: true})
		run(t, j)
		appendWait(t, j, rec(1))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := j.Consume(ctx, "influx", 10, func(context.Context, []Entry) error { return errors.New("down") })
		if err != nil {
			t.Errorf("Consume() = %v, want nil on context end", err)
		}
		if got := j.Cursor("influx"); got != 0 {
			t.Errorf("Cursor(influx) after failures only = %d, want 0", got)
		}
	})
}

func TestConsumeWaitsForCommits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := openJournal(t, Options{Dir: t.TempDir(), NoSync: true})
		run(t, j)
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan []uint64, 10)
		done := make(chan error)
		go func() {
			done <- j.Consume(ctx, "state", 100, func(_ context.Context, batch []Entry) error {
				var idx []uint64
				for _, e := range batch {
					idx = append(idx, e.Index)
				}
				got <- idx
				return nil
			})
		}()
		synctest.Wait() // idle: blocked on a channel, not polling
		select {
		case b := <-got:
			t.Fatalf("Consume() delivered %v before any append", b)
		default:
		}
		for round, want := range [][]uint64{{1, 2}, {3}, {4, 5, 6}} {
			var recs []Record
			for _, i := range want {
				recs = append(recs, rec(int(i)))
			}
			appendWait(t, j, recs...)
			synctest.Wait()
			var seen []uint64
			for len(got) > 0 {
				seen = append(seen, <-got...)
			}
			if !slices.Equal(seen, want) {
				t.Errorf("round %d: Consume() delivered %v, want %v", round, seen, want)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Consume() = %v, want nil", err)
		}
	})
}

func TestConsumeSavesCursorPeriodically(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		j := openJournal(t, Options{Dir: dir, NoSync: true})
		run(t, j)
		path := filepath.Join(dir, curSubdir, "alarms"+cursorExt)
		stored := func() uint64 {
			v, ok := readCursorFile(path)
			if !ok {
				t.Fatalf("readCursorFile(%s) failed, want a sound cursor file", path)
			}
			return v
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			done <- j.Consume(ctx, "alarms", 100, func(context.Context, []Entry) error { return nil })
		}()
		synctest.Wait()
		if got := stored(); got != 0 {
			t.Errorf("stored cursor of a new consumer = %d, want 0", got)
		}
		// The saver ticks every defaultPersistEvery: an entry consumed
		// between two ticks is stored at the next one, not before.
		time.Sleep(defaultPersistEvery / 2)
		appendWait(t, j, rec(1))
		synctest.Wait()
		if got := stored(); got != 0 {
			t.Errorf("stored cursor right after consuming 1 = %d, want 0 (stored at the next tick)", got)
		}
		time.Sleep(defaultPersistEvery)
		synctest.Wait()
		if got := stored(); got != 1 {
			t.Errorf("stored cursor %v later = %d, want 1", defaultPersistEvery, got)
		}
		appendWait(t, j, rec(2), rec(3))
		synctest.Wait()
		time.Sleep(defaultPersistEvery)
		synctest.Wait()
		if got := stored(); got != 3 {
			t.Errorf("stored cursor %v after 2 and 3 = %d, want 3", defaultPersistEvery, got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Consume() = %v, want nil", err)
		}
	})
}

func TestConsumeNames(t *testing.T) {
	tests := []struct {
		name     string
		consumer string
		running  bool // another Consume with that name runs
		want     error
	}{
		{"busy", "alarms", true, ErrCursorBusy},
		{"empty", "", false, nil},
		{"path", "../x", false, nil},
		{"hidden", ".x", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				j := openJournal(t, Options{Dir: t.TempDir(), NoSync: true})
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				nop := func(context.Context, []Entry) error { return nil }
				first := make(chan error)
				if tt.running {
					go func() { first <- j.Consume(ctx, tt.consumer, 1, nop) }()
					synctest.Wait()
				}
				err := j.Consume(ctx, tt.consumer, 1, nop)
				if tt.want != nil && !errors.Is(err, tt.want) || tt.want == nil && err == nil {
					t.Errorf("Consume(%q) = %v, want %v", tt.consumer, err, orAnyError(tt.want))
				}
				if tt.running {
					cancel()
					<-first
				}
			})
		})
	}
}

func orAnyError(err error) any {
	if err == nil {
		return "an error"
	}
	return err
}

func TestCorruptEntryIsSkipped(t *testing.T) {
	dir := t.TempDir()
	j := openJournal(t, Options{Dir: dir})
	stop := run(t, j)
	appendWait(t, j, rec(1), rec(2), rec(3))
	stop()
	if err := j.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	// Damage the payload of entry 2; entry 3 after it is sound, so repair
	// keeps both.
	path := lastSegment(t, dir)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first := 1 + encodedLen(rec(1).Topic, rec(1).Payload)
	data[first+20] ^= 0xff
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}

	j = openJournal(t, Options{Dir: dir})
	if got := j.LastIndex(); got != 3 {
		t.Fatalf("LastIndex() = %d, want 3", got)
	}
	got, err := j.Read(1, 10, nil)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Index != 2 || !errors.Is(err, ErrCorrupt) || len(got) != 1 {
		t.Errorf("Read(1, 10) = %d entries, %v, want 1 entry and a *CorruptError for entry 2", len(got), err)
	}
	run(t, j)
	if seen := consumeUntil(t, j, "alarms", 3); !slices.Equal(seen, []uint64{1, 3}) {
		t.Errorf("Consume() saw %v, want [1 3]", seen)
	}
	if got := j.Stats().CorruptSkipped; got != 1 {
		t.Errorf("Stats().CorruptSkipped = %d, want 1", got)
	}
}

func TestReadRanges(t *testing.T) {
	j := openJournal(t, Options{Dir: t.TempDir(), NoSync: true})
	run(t, j)
	var recs []Record
	for i := range 10 {
		recs = append(recs, rec(i))
	}
	appendWait(t, j, recs...)
	tests := []struct {
		name string
		from uint64
		max  int
		want []uint64
	}{
		{"from the start", 1, 3, []uint64{1, 2, 3}},
		{"zero means the start", 0, 2, []uint64{1, 2}},
		{"to the end", 8, 100, []uint64{8, 9, 10}},
		{"past the end", 11, 5, nil},
		{"no room", 1, 0, nil},
	}
	dst := make([]Entry, 0, 4)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			dst, err = j.Read(tt.from, tt.max, dst)
			if err != nil {
				t.Fatalf("Read(%d, %d) = %v, want nil", tt.from, tt.max, err)
			}
			var got []uint64
			for _, e := range dst {
				got = append(got, e.Index)
				if !sameRecord(e, recs[e.Index-1]) {
					t.Errorf("Read(%d, %d) entry %d = %q %s, want %q %s", tt.from, tt.max, e.Index, e.Topic, e.Payload, recs[e.Index-1].Topic, recs[e.Index-1].Payload)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Read(%d, %d) = %v, want %v", tt.from, tt.max, got, tt.want)
			}
		})
	}
}

func TestConsumeWithLingerBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := openJournal(t, Options{Dir: t.TempDir(), NoSync: true})
		run(t, j)
		batches := make(chan []uint64, 10)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			done <- j.Consume(ctx, "telemetry", 3, func(_ context.Context, b []Entry) error {
				var idx []uint64
				for _, e := range b {
					idx = append(idx, e.Index)
				}
				batches <- idx
				return nil
			}, WithLinger(time.Second))
		}()
		synctest.Wait()
		appendWait(t, j, rec(1))
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		if len(batches) != 0 {
			t.Fatalf("Consume delivered %v half way through the linger, want nothing yet", <-batches)
		}
		appendWait(t, j, rec(2), rec(3)) // a full batch ends the linger early
		synctest.Wait()
		if got := <-batches; !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Errorf("full batch = %v, want [1 2 3]", got)
		}
		appendWait(t, j, rec(4))
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		if len(batches) != 0 {
			t.Fatalf("Consume delivered %v before the linger ended, want nothing yet", <-batches)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := <-batches; !slices.Equal(got, []uint64{4}) {
			t.Errorf("batch after the linger = %v, want [4]", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Consume() = %v, want nil", err)
		}
	})
}

// TestConsumeBeforeCursorSave: the hook runs before the cursor is stored,
// and a failing hook keeps the stored cursor where it was.
func TestConsumeBeforeCursorSave(t *testing.T) {
	tests := []struct {
		name      string
		hookErr   error
		wantSaved uint64
	}{
		{"hook succeeds", nil, 3},
		{"hook fails", errors.New("state database unavailable"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := openJournal(t, Options{Dir: t.TempDir(), NoSync: true})
			run(t, j)
			appendWait(t, j, rec(1), rec(2), rec(3))
			ctx, cancel := context.WithCancel(context.Background())
			var hooked []uint64 // the consumer's position when the hook ran
			err := j.Consume(ctx, "alerts", 10, func(_ context.Context, batch []Entry) error {
				cancel() // stop after this batch: Consume then stores the cursor
				return nil
			}, WithBeforeCursorSave(func(context.Context) error {
				hooked = append(hooked, j.Cursor("alerts"))
				return tt.hookErr
			}))
			if (err != nil) != (tt.hookErr != nil) || tt.hookErr != nil && !errors.Is(err, tt.hookErr) {
				t.Errorf("Consume() = %v, want %v", err, tt.hookErr)
			}
			if len(hooked) != 1 || hooked[0] != 3 {
				t.Errorf("hook ran at positions %v, want once at 3", hooked)
			}
			cs := j.cursors["alerts"]
			if got := cs.saved.Load(); got != tt.wantSaved {
				t.Errorf("stored cursor = %d, want %d", got, tt.wantSaved)
			}
		})
	}
}

// TestReadPayloadsStayPut: Read returns views into the log, not copies; the
// bytes under a view must not change while later records are written,
// segments cycle and leave the cache, and the front is truncated.
func TestReadPayloadsStayPut(t *testing.T) {
	j := openJournal(t, Options{Dir: t.TempDir(), NoSync: true, SegmentSize: 512,
		DedupeWindow: 10, Retain: 10, TruncateEvery: 5 * time.Millisecond})
	run(t, j)
	var recs []Record
	for n := 1; n <= 40; n++ {
		recs = append(recs, rec(n))
	}
	appendWait(t, j, recs...)
	early, err := j.Read(1, 40, nil)
	if err != nil || len(early) != 40 {
		t.Fatalf("Read(1, 40) = %d entries, %v, want 40, nil", len(early), err)
	}
	for n := 41; n <= 400; n++ {
		appendWait(t, j, rec(n))
	}
	consumeUntil(t, j, "c", 400) // stores its cursor: the front may go
	deadline := time.Now().Add(5 * time.Second)
	for j.Stats().Truncations == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if j.Stats().Truncations == 0 {
		t.Fatal("no front truncation within 5 s, want some")
	}
	if _, err := j.Read(1, 1, nil); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Read(1) after truncation = %v, want ErrTruncated", err)
	}
	for i, e := range early {
		if !sameRecord(e, recs[i]) {
			t.Errorf("entry %d read before 360 more records and a truncation = %q on %q, want %q on %q",
				e.Index, e.Payload, e.Topic, recs[i].Payload, recs[i].Topic)
		}
	}
}
