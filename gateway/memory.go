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

// keepMemoryBudget sets the soft memory limit from the number of beds now
// and again whenever it has changed, checked every interval, until ctx ends.
func keepMemoryBudget(ctx context.Context, reg *devices.Registry, interval time.Duration, set func(int64) int64, log *slog.Logger) error {
	beds := -1
	apply := func() {
		if n := reg.Beds(); n != beds {
			beds = n
			set(memoryBudget(n))
			log.Info("memory limit", "beds", n, "limit_mib", memoryBudget(n)>>20)
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

// setMemoryLimit is debug.SetMemoryLimit; tests replace it.
var setMemoryLimit = debug.SetMemoryLimit
