package journal

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

// benchRecords are device messages of about 150 bytes on 64 topics.
func benchRecords() []Record {
	recs := make([]Record, 1024)
	for i := range recs {
		payload := fmt.Appendf(nil, `{"ts":1709281800%03d,"heart_rate":%d,"resp_rate":16,"spo2":97,"temp_c":36.6,"in_bed":true,"movement":%d,"seq":%08d}`, i%1000, 60+i%40, i%100, i)
		for len(payload) < 150 {
			payload = append(payload, ' ')
		}
		recs[i] = Record{Received: t0, Topic: fmt.Sprintf("carebed/dev-%04d/vitals", i%64), Payload: payload}
	}
	return recs
}

func benchmarkAppendCommit(b *testing.B, noSync bool) {
	j, err := Open(Options{Dir: b.TempDir(), NoSync: noSync})
	if err != nil {
		b.Fatalf("Open() = %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- j.Run(ctx) }()
	recs := benchRecords()

	var acked atomic.Int64
	done := make(chan struct{})
	n := int64(b.N)
	ack := func() {
		if acked.Add(1) == n {
			close(done)
		}
	}
	b.SetBytes(int64(len(recs[0].Payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := j.Append(ctx, recs[i%len(recs)], ack); err != nil {
			b.Fatalf("Append() = %v, want nil", err)
		}
	}
	<-done
	b.StopTimer()
	st := j.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if st.Commits > 0 {
		b.ReportMetric(float64(st.Committed)/float64(st.Commits), "records/commit")
		b.ReportMetric(float64(st.CommitNanos)/float64(st.Commits)/1e3, "µs/commit")
	}
	cancel()
	if err := <-ran; err != nil {
		b.Fatalf("Run() = %v, want nil", err)
	}
	if err := j.Close(); err != nil {
		b.Fatalf("Close() = %v, want nil", err)
	}
}

func BenchmarkAppendCommit(b *testing.B)       { benchmarkAppendCommit(b, false) }
func BenchmarkAppendCommitNoSync(b *testing.B) { benchmarkAppendCommit(b, true) }

func BenchmarkRead(b *testing.B) {
	j, err := Open(Options{Dir: b.TempDir(), NoSync: true})
	if err != nil {
		b.Fatalf("Open() = %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- j.Run(ctx) }()
	recs := benchRecords()
	const total = 100000
	done := make(chan struct{})
	for i := range total {
		var ack func()
		if i == total-1 {
			ack = func() { close(done) }
		}
		if err := j.Append(ctx, recs[i%len(recs)], ack); err != nil {
			b.Fatalf("Append() = %v, want nil", err)
		}
	}
	<-done
	const batch = 1024
	dst := make([]Entry, 0, batch)
	b.SetBytes(int64(len(recs[0].Payload)))
	b.ReportAllocs()
	b.ResetTimer()
	from := uint64(1)
	for i := 0; i < b.N; i += len(dst) {
		if from > total {
			from = 1
		}
		dst, err = j.Read(from, min(batch, b.N-i), dst)
		if err != nil || len(dst) == 0 {
			b.Fatalf("Read(%d) = %d entries, %v, want entries", from, len(dst), err)
		}
		from += uint64(len(dst))
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	cancel()
	if err := <-ran; err != nil {
		b.Fatalf("Run() = %v, want nil", err)
	}
	if err := j.Close(); err != nil {
		b.Fatalf("Close() = %v, want nil", err)
	}
}
