package alerts

import (
	"fmt"
	"testing"
	"time"

	"carebed/devices"
)

// BenchmarkEngineObserveVitals is the hot path: a normal vital-signs
// reading of one of 10,000 beds, round robin, 50 µs of receive time apart
// (20,000 messages a second).
func BenchmarkEngineObserveVitals(b *testing.B) {
	const beds = 10000
	start := ruleDay(12, 0)
	e := ruleFleet(b, beds, start)
	base := ruleObservation(b, ruleStep{dev: "radar", do: `native vitals {"heart_rate":72,"resp_rate":14,"spo2":97,"temp_c":36.5,"in_bed":true,"movement":20}`}, start)
	obs := make([]devices.Observation, beds)
	for i := range obs {
		obs[i] = base
		obs[i].BedID = fmt.Sprintf("bed-%05d", i)
		obs[i].DeviceID = obs[i].BedID + "-radar"
	}
	e.TakeDirty()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		o := &obs[i%beds]
		o.Received = start.Add(time.Duration(i) * 50 * time.Microsecond)
		e.Observe(*o)
		i++
	}
	b.StopTimer()
	b.ReportMetric(float64(len(e.TakeDirty())), "dirty-beds")
}

// BenchmarkEngineTickIdle is a Tick of 10,000 beds with timers running
// and none due.
func BenchmarkEngineTickIdle(b *testing.B) {
	start := ruleDay(12, 0)
	e := ruleFleet(b, 10000, start)
	now := start.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		e.Tick(now)
	}
}

// BenchmarkEngineMemoryPerBed reports the heap per bed of six devices and
// the size of its saved state, for 10,000 beds.
func BenchmarkEngineMemoryPerBed(b *testing.B) {
	var heap, saved int
	for b.Loop() {
		heap, saved = memoryPerBed(b, 10000)
	}
	b.ReportMetric(float64(heap), "heap-B/bed")
	b.ReportMetric(float64(saved), "state-B/bed")
}
