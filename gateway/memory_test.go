package gateway

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"carebed/devices"
)

func TestMemoryBudget(t *testing.T) {
	tests := []struct {
		beds int
		want int64
	}{
		{0, 52 << 20},
		{20, 52<<20 + 220<<10},
		{1000, 52<<20 + 11000<<10},   // 62.7 MiB: the ingest benchmark's site
		{10000, 52<<20 + 110000<<10}, // 159.4 MiB: the alarm benchmark's site
	}
	for _, tt := range tests {
		if got := memoryBudget(tt.beds); got != tt.want {
			t.Errorf("memoryBudget(%d) = %d, want %d", tt.beds, got, tt.want)
		}
	}
}

func TestGCPercent(t *testing.T) {
	tests := []struct {
		beds int
		want int
	}{
		{0, 200},
		{1000, 200},  // 3 x 17.4 MiB under 62.7 MiB
		{2900, 200},  // 3 x 27.6 MiB under 83.2 MiB
		{3100, 100},  // 3 x 28.7 MiB over 85.3 MiB
		{10000, 100}, // 3 x 65.7 MiB over 159.4 MiB
	}
	for _, tt := range tests {
		if got := gcPercent(tt.beds); got != tt.want {
			t.Errorf("gcPercent(%d) = %d, want %d", tt.beds, got, tt.want)
		}
	}
}

func TestKeepMemoryBudgetFollowsBeds(t *testing.T) {
	reg := devices.NewRegistry()
	reg.PutBed(devices.Bed{ID: "b1", AgencyID: "a"})
	var mu sync.Mutex
	var set []int64
	var gc []int
	record := memoryTuning{
		limit: func(v int64) int64 {
			mu.Lock()
			defer mu.Unlock()
			set = append(set, v)
			return 0
		},
		gc: func(v int) int {
			mu.Lock()
			defer mu.Unlock()
			gc = append(gc, v)
			return 0
		},
	}
	last := func() (int64, int) {
		mu.Lock()
		defer mu.Unlock()
		if len(set) == 0 {
			return 0, 0
		}
		return set[len(set)-1], len(set)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- keepMemoryBudget(ctx, reg, time.Millisecond, record, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	waitUntil := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			if got, _ := last(); got == want {
				return
			}
			if time.Now().After(deadline) {
				got, _ := last()
				t.Fatalf("memory limit = %d, want %d", got, want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitUntil(memoryBudget(1))
	reg.PutBed(devices.Bed{ID: "b2", AgencyID: "a"})
	reg.PutBed(devices.Bed{ID: "b3", AgencyID: "a"})
	waitUntil(memoryBudget(3))
	reg.RemoveBed("b1")
	waitUntil(memoryBudget(2))
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("keepMemoryBudget() = %v, want nil", err)
	}
	if _, n := last(); n > 4 { // at most 1, then 3 (or 2 then 3), then 2
		t.Errorf("limit set %d times for three changes of the bed count, want it set only on changes", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(gc) != len(set) || gc[len(gc)-1] != gcPercent(2) {
		t.Errorf("collector pacing set to %v along with limits %v, want gcPercent(2) = %d with each limit", gc, set, gcPercent(2))
	}
}
