package gateway

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"carebed/devices"
)

// The Go runtime's soft memory limit, when Config.ScaleMemoryLimit asks
// for it, is memoryBase plus memoryPerBed for every registered bed. Near
// the limit the collector runs more often, which bounds the resident size
// under a burst (a backlog drained at 100,000 messages a second) at some
// CPU; far from it, the usual GOGC pacing applies. It must stay well above
// the live heap, or the collector runs without pause and delays alarms:
// 1,000 beds hold about 22 MiB at full ingest speed and 30 MiB draining a
// backlog; 10,000 beds (90,000 devices, their health and rule state) hold
// 55-70 MiB.
const (
	memoryBase   = 52 << 20
	memoryPerBed = 11 << 10
)

// memoryBudget is the soft memory limit for a site of beds beds.
func memoryBudget(beds int) int64 { return memoryBase + int64(beds)*memoryPerBed }

// gcPercent is the collector's pacing (GOGC) for a site of beds beds, when
// Config.ScaleGCPercent asks for it. Collecting at three times the live
// heap instead of Go's twice makes a third fewer collections: at 1,000
// beds and full ingest, about 0.6 CPU-seconds per million messages less
// (paired runs of bench/ingest.sh) for 8 MiB more peak RSS. That holds as
// long as three times the live heap stays under the memory limit, up to
// about 3,000 beds. Beyond, the heap would run into the limit, where the
// collector makes allocating goroutines (the alarm path's among them)
// help it: at 10,000 beds the peak RSS rose from 148-159 to 188-190 MiB,
// so larger sites keep Go's pacing.
func gcPercent(beds int) int {
	if 3*liveHeap(beds) <= memoryBudget(beds) {
		return 200
	}
	return 100
}

// liveHeap is the live heap expected at full ingest: 17-19 MiB at 1,000
// beds, 55-70 MiB at 10,000.
func liveHeap(beds int) int64 { return 12<<20 + int64(beds)*(11<<9) }

// memoryTuning says which of the runtime's settings keepMemoryBudget sets;
// a nil one is left alone.
type memoryTuning struct {
	limit func(int64) int64 // debug.SetMemoryLimit
	gc    func(int) int     // debug.SetGCPercent
}

// keepMemoryBudget sets the soft memory limit and the collector's pacing
// from the number of beds now and again whenever it has changed, checked
// every interval, until ctx ends.
func keepMemoryBudget(ctx context.Context, reg *devices.Registry, interval time.Duration, set memoryTuning, log *slog.Logger) error {
	beds := -1
	apply := func() {
		n := reg.Beds()
		if n == beds {
			return
		}
		beds = n
		if set.limit != nil {
			set.limit(memoryBudget(n))
			log.Info("memory limit", "beds", n, "limit_mib", memoryBudget(n)>>20)
		}
		if set.gc != nil {
			set.gc(gcPercent(n))
			log.Info("collector pacing", "beds", n, "gogc", gcPercent(n))
		}
	}
	apply()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			apply()
		}
	}
}

// runtimeTuning is what Config asks keepMemoryBudget to set.
func runtimeTuning(cfg Config) memoryTuning {
	var t memoryTuning
	if cfg.ScaleMemoryLimit {
		t.limit = debug.SetMemoryLimit
	}
	if cfg.ScaleGCPercent {
		t.gc = debug.SetGCPercent
	}
	return t
}
