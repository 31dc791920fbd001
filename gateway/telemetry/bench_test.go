package telemetry

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"carebed/devices"
	"carebed/gateway/gatewaytest"
)

const benchBatch = 5000

// benchObservations returns a batch of vitals from 100 devices, 5 fields
// each, and a function that moves the batch to its n-th second so that every
// iteration writes new points.
func benchObservations() ([]devices.Observation, func(n int)) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	obs := make([]devices.Observation, benchBatch)
	for i := range obs {
		dev := fmt.Sprintf("vm-%03d", i%100)
		obs[i] = devices.Observation{
			Reading: devices.Reading{Stream: devices.StreamVitals, Fields: []devices.Field{
				devices.FloatField("heart_rate", float64(60+i%40)),
				devices.FloatField("resp_rate", 16),
				devices.FloatField("spo2", 97.5),
				devices.BoolField("in_bed", i%7 != 0),
				devices.FloatField("movement", float64(i%100)),
			}},
			DeviceID: dev,
			BedID:    "bed-" + dev[3:],
			AgencyID: "agency-01",
			Kind:     devices.KindVitalsMonitor,
		}
	}
	move := func(n int) {
		for i := range obs {
			t := start.Add(time.Duration(n*benchBatch/100+i/100) * time.Second).Add(time.Duration(i%100) * time.Millisecond)
			obs[i].Time, obs[i].Received = t, t
		}
	}
	move(0)
	return obs, move
}

// cpuTime returns the CPU time this process has used. On a busy machine it
// says more about the cost of a write than the wall clock does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPoints reports points per second of wall time, and CPU time of this
// process per point (a server process is not counted).
func reportPoints(b *testing.B, cpuStart time.Duration) {
	points := float64(b.N * benchBatch)
	b.ReportMetric(points/b.Elapsed().Seconds(), "points/s")
	b.ReportMetric(float64(cpuTime()-cpuStart)/points, "cpu-ns/point")
}

func BenchmarkEncode(b *testing.B) {
	obs, _ := benchObservations()
	var bt batch
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		bt.reset()
		bt.encode(obs, nil)
	}
	b.SetBytes(int64(len(bt.buf)))
	reportPoints(b, cpu)
}

func BenchmarkInfluxWrite(b *testing.B) {
	db := gatewaytest.StartInfluxDB(b)
	benchWrite(b, newInflux(b, db.URL, db.Bucket, nil))
}

func BenchmarkEmbeddedWrite(b *testing.B) {
	benchWrite(b, openEmbedded(b, nil))
}

// benchWrite writes batches of 5,000 observations, moved in time each round
// so that every point is new.
func benchWrite(b *testing.B, s Store) {
	obs, move := benchObservations()
	ctx := context.Background()
	n := 0
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		n++
		move(n)
		if err := s.Write(ctx, obs); err != nil {
			b.Fatalf("Write() = %v", err)
		}
	}
	reportPoints(b, cpu)
}
