package alerts

import (
	"strconv"
	"time"

	"carebed/devices"
)

// battery applies a battery percentage: low at or below BatteryLow, fine
// again at or above BatteryClear, unchanged in between.
func (e *Engine) battery(b *ruleBed, d *ruleDevice, pct float64, at time.Time, out []Signal) []Signal {
	low := d.flags&dfPercentLow != 0
	switch {
	case !low && pct <= e.cfg.BatteryLow:
		d.flags |= dfPercentLow
		e.touch(b)
		detail := "battery " + strconv.FormatFloat(pct, 'f', -1, 64) + "% <= " + strconv.FormatFloat(e.cfg.BatteryLow, 'f', -1, 64) + "%"
		return e.batteryLow(b, d, at, detail, out)
	case low && pct >= e.cfg.BatteryClear:
		d.flags &^= dfPercentLow
		e.touch(b)
		return e.batteryLow(b, d, at, "battery "+strconv.FormatFloat(pct, 'f', -1, 64)+"%", out)
	}
	return out
}

// batteryLow re-evaluates a device's low battery: low while its
// percentage or its battery_low level says so (a device's percentage may
// be an estimate, its battery_low bit is the device's own word). Raised
// for the device; cleared when no device of the bed is low.
func (e *Engine) batteryLow(b *ruleBed, d *ruleDevice, at time.Time, detail string, out []Signal) []Signal {
	low := d.flags&dfPercentLow != 0 || d.levels[lvBatteryLow] == lvTrue
	if (d.flags&dfBatteryLow != 0) == low {
		return out
	}
	d.flags ^= dfBatteryLow
	e.touch(b)
	if low {
		return append(out, b.signal(Raise, KindBatteryLow, Minor, d.id, at, detail))
	}
	if !b.anyFlag(dfBatteryLow) {
		out = append(out, b.signal(Clear, KindBatteryLow, Minor, d.id, at, detail))
	}
	return out
}

// wentOffline marks device d offline. A hub's own offline message blinds
// the bed: one hub_offline for the bed, and no inactivity or no_signal
// while it lasts. Any other device (and a silent hub) raises
// device_offline, minor, major for an SOS button.
func (e *Engine) wentOffline(b *ruleBed, d *ruleDevice, at time.Time, reported bool, detail string, out []Signal) []Signal {
	if reported && d.kind == devices.KindHub {
		if d.flags&dfHubDown != 0 {
			return out
		}
		wasBlind := b.blind()
		d.flags |= dfHubDown
		e.touch(b)
		if !wasBlind {
			out = append(out, b.signal(Raise, KindHubOffline, Major, d.id, at, "hub offline: the devices behind it are unmonitored"))
		}
		return out
	}
	if d.flags&dfOffline != 0 {
		return out
	}
	d.flags |= dfOffline
	e.touch(b)
	return append(out, b.signal(Raise, KindDeviceOffline, ruleSeverity(KindDeviceOffline, d), d.id, at, string(d.kind)+" "+detail))
}

// heard notes a message of device d: an offline device is back.
func (e *Engine) heard(b *ruleBed, d *ruleDevice, at time.Time, out []Signal) []Signal {
	if d.flags&dfHubDown != 0 {
		d.flags &^= dfHubDown
		e.touch(b)
		if !b.blind() {
			e.unblind(b, at.UnixNano())
			out = append(out, b.signal(Clear, KindHubOffline, Major, d.id, at, "hub online"))
		}
	}
	if d.flags&dfOffline != 0 {
		d.flags &^= dfOffline
		e.touch(b)
		if !b.anyFlag(dfOffline) {
			out = append(out, b.signal(Clear, KindDeviceOffline, ruleSeverity(KindDeviceOffline, d), d.id, at, "message received"))
		}
	}
	return out
}

// unblind restarts, from n, the timers a blind bed suspended: what
// happened while nothing could be seen is unknown, so inactivity and no
// signal count again from when the bed can be seen.
func (e *Engine) unblind(b *ruleBed, n int64) {
	if q := floorMinute(n); b.activity != 0 && q > b.activity {
		b.activity = q
	}
	if b.noValid != 0 && n > b.noValid {
		b.noValid = n
	}
	e.touch(b)
}
