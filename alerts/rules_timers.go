package alerts

import (
	"strconv"
	"time"

	"carebed/devices"
)

// ruleTimer names a timer of a bed. Every timer is a deadline computed
// from the bed's material state, so a restored state resumes its timers
// with the right remaining time and nothing to save per tick.
type ruleTimer uint8

const (
	tmNone       ruleTimer = iota
	tmUpgrade              // a suspected fall still suspected: raise it as a fall
	tmLongLie              // a fall without recovery: re-notify
	tmNoSignal             // in bed with no valid reading
	tmBedExit              // out of bed at night
	tmDoorNight            // a door open at night
	tmInactivity           // no activity in the home
	tmServiceDue           // an SOS button not pressed for a long time
)

// nextTimer returns b's earliest deadline, which timer it is and, for a
// device's timer, the device's index; ruleNoTimer when none runs. At equal
// deadlines the order above wins. Inactivity and no signal do not run
// while the bed is blind (a hub offline).
func (e *Engine) nextTimer(b *ruleBed) (at int64, t ruleTimer, dev int) {
	at, t, dev = ruleNoTimer, tmNone, -1
	c := &e.cfg
	pick := func(when int64, which ruleTimer, d int) {
		if when < at {
			at, t, dev = when, which, d
		}
	}
	if b.fallOnset != 0 && b.fallSev == 1 {
		pick(b.fallOnset+int64(c.SuspectedUpgradeAfter), tmUpgrade, -1)
	}
	if b.fallOnset != 0 && b.fallSev == 2 && b.longLie != 0 && !b.fallRecovered {
		pick(b.longLie, tmLongLie, -1)
	}
	blind := b.blind()
	if b.noValid != 0 && b.open&openNoSignal == 0 && !blind {
		pick(b.noValid+int64(c.NoSignalAfter), tmNoSignal, -1)
	}
	if b.outOfBed != 0 && b.open&openBedExit == 0 {
		pick(b.outOfBed+int64(c.BedExitAfter), tmBedExit, -1)
	}
	if b.doorOpen != 0 && b.open&openDoorNight == 0 {
		pick(b.doorOpen+int64(c.DoorNightAfter), tmDoorNight, -1)
	}
	if b.activity != 0 && b.open&openInactivity == 0 && !blind {
		pick(b.activity+int64(c.InactivityAfter), tmInactivity, -1)
	}
	for i := range b.devs {
		d := &b.devs[i]
		if d.kind == devices.KindSOSButton && d.flags&dfServiceDue == 0 {
			if base := max(d.firstSeen, d.lastPress); base != 0 {
				pick(base+int64(c.TestDueAfter), tmServiceDue, i)
			}
		}
	}
	return at, t, dev
}

// fireNext fires b's earliest timer, which must be due, and reschedules
// b. Each firing changes the state so that the same timer is not due
// again.
func (e *Engine) fireNext(b *ruleBed, out []Signal) []Signal {
	n, t, di := e.nextTimer(b)
	at := time.Unix(0, n).UTC()
	c := &e.cfg
	switch t {
	case tmUpgrade:
		b.fallSev = 2
		e.armLongLie(b, n)
		out = append(out, b.signal(Raise, KindFall, Critical, b.fallDev, at, "suspected fall for "+ruleDuration(c.SuspectedUpgradeAfter)))
	case tmLongLie:
		b.longLie = n + int64(c.LongLieRepeat)
		out = append(out, b.signal(Renotify, KindFall, Critical, b.fallDev, at, "long lie: no recovery "+ruleDuration(time.Duration(n-b.fallOnset))+" after the fall"))
	case tmNoSignal:
		b.open |= openNoSignal
		out = append(out, b.signal(Raise, KindNoSignal, Major, b.noValidDev, at, "in bed with no valid heart or breathing rate for "+ruleDuration(c.NoSignalAfter)))
	case tmBedExit:
		b.open |= openBedExit
		out = append(out, b.signal(Raise, KindBedExit, Major, b.exitDev, at, "out of bed at night for "+ruleDuration(c.BedExitAfter)))
	case tmDoorNight:
		b.open |= openDoorNight
		out = append(out, b.signal(Raise, KindDoorNight, Major, b.doorDev, at, "door open at night for "+ruleDuration(c.DoorNightAfter)))
	case tmInactivity:
		b.open |= openInactivity
		out = append(out, b.signal(Raise, KindInactivity, Major, "", at, "no activity for "+ruleDuration(c.InactivityAfter)))
	case tmServiceDue:
		d := &b.devs[di]
		d.flags |= dfServiceDue
		out = append(out, b.signal(Raise, KindServiceDue, Minor, d.id, at, "SOS button not pressed for "+ruleDuration(c.TestDueAfter)+": test it"))
	default:
		panic("alerts: fireNext on a bed with no timer")
	}
	e.touch(b)
	e.settle(b)
	return out
}

// armLongLie starts the long-lie timer of a fall that became critical at
// n: LongLieAfter from the onset of the episode (the elder may have been
// down since a suspected fall), or one repeat from n when that is past.
func (e *Engine) armLongLie(b *ruleBed, n int64) {
	if b.fallRecovered {
		return
	}
	ll := b.fallOnset + int64(e.cfg.LongLieAfter)
	if ll <= n {
		ll = n + int64(e.cfg.LongLieRepeat)
	}
	b.longLie = ll
}

// ruleDuration writes a rule's duration for a detail: "60s", "5m", "12h",
// "30d".
func ruleDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d >= day && d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d >= 2*time.Minute && d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.Round(time.Millisecond).String()
}
