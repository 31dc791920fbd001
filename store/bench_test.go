package store

import (
	"context"
	"fmt"
	"testing"

	"carebed/devices"
)

func BenchmarkSaveHealth(b *testing.B) {
	ctx := context.Background()
	db := openTest(b)
	seed(b, db)
	const n = 1000
	batch := make(map[string]devices.Health, n)
	for i := range n {
		id := fmt.Sprintf("d%04d", i)
		if err := db.CreateDevice(ctx, device(id, "b1", devices.KindVitalsMonitor)); err != nil {
			b.Fatal(err)
		}
		batch[id] = devices.Health{LastSeen: ptr(t0), Online: true, Battery: ptr(80.0)}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := db.SaveHealth(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/device")
}

func BenchmarkAddDeadLetters(b *testing.B) {
	ctx := context.Background()
	db := openTest(b)
	const n = 1000
	batch := letters(n, t0)
	for i := range batch {
		batch[i].Payload = fmt.Sprintf(`{"heart_rate":%d,"spo2":"high","note":"%0200d"}`, 900+i, i)
	}
	// Fill to the bound first, so every measured call also prunes.
	for range DefaultMaxDeadLetters / n {
		if err := db.AddDeadLetters(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := db.AddDeadLetters(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/letter")
}
