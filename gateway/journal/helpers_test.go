package journal

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2024, 3, 1, 8, 30, 0, 123456789, time.UTC)

// rec makes a record for device n on the vitals stream.
func rec(n int) Record {
	return Record{
		Received: t0.Add(time.Duration(n) * time.Millisecond),
		Topic:    fmt.Sprintf("carebed/dev-%04d/vitals", n%7),
		Payload:  fmt.Appendf(nil, `{"heart_rate":%d,"seq":%d}`, 60+n%40, n),
	}
}

// openJournal opens a journal that is closed when the test ends.
func openJournal(t *testing.T, opts Options) *Journal {
	t.Helper()
	j, err := Open(opts)
	if err != nil {
		t.Fatalf("Open(%+v) = %v, want nil", opts, err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// run starts the commit loop; the returned stop ends it and checks its error.
// It also runs at the end of the test, before the journal is closed.
func run(t *testing.T, j *Journal) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run() = %v, want nil", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// appendWait appends recs and waits until all of them are acked.
func appendWait(t *testing.T, j *Journal, recs ...Record) {
	t.Helper()
	done := make(chan struct{})
	for i, r := range recs {
		var ack func()
		if i == len(recs)-1 {
			ack = func() { close(done) }
		}
		if err := j.Append(context.Background(), r, ack); err != nil {
			t.Fatalf("Append(%q) = %v, want nil", r.Topic, err)
		}
	}
	if len(recs) > 0 {
		<-done
	}
}

// readAll returns every committed entry still in the log.
func readAll(t *testing.T, j *Journal) []Entry {
	t.Helper()
	first := j.Stats().FirstIndex
	var all []Entry
	for from := first; from <= j.LastIndex(); {
		got, err := j.Read(from, 100, nil)
		if err != nil {
			t.Fatalf("Read(%d, 100) = %v, want nil", from, err)
		}
		all = append(all, got...)
		from += uint64(len(got))
	}
	return all
}

// sameRecord reports whether an entry holds what a record carried.
func sameRecord(e Entry, r Record) bool {
	return e.Topic == r.Topic && bytes.Equal(e.Payload, r.Payload) && e.Received.Equal(r.Received)
}

// consumeUntil runs Consume for name until it has seen index until, and
// returns the indexes it was given.
func consumeUntil(t *testing.T, j *Journal, name string, until uint64) []uint64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen []uint64
	err := j.Consume(ctx, name, 10, func(_ context.Context, batch []Entry) error {
		for _, e := range batch {
			seen = append(seen, e.Index)
			if e.Index >= until {
				cancel()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Consume(%q) = %v, want nil", name, err)
	}
	return seen
}

// lastSegment returns the path of the log's tail segment file.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	starts, err := segmentStarts(filepath.Join(dir, logSubdir))
	if err != nil || len(starts) == 0 {
		t.Fatalf("segmentStarts(%s) = %v, %v, want segments", dir, starts, err)
	}
	return filepath.Join(dir, logSubdir, segmentName(starts[len(starts)-1]))
}

// snapshot copies the journal directory as a crash would leave it: what was
// written is there, nothing that only lived in memory.
func snapshot(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o750)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(to)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatalf("snapshot(%s) = %v, want nil", src, err)
	}
	return dst
}

func indexes(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}
