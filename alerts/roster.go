package alerts

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Limits of a recurring shift's length.
const (
	MinShift = time.Minute
	MaxShift = 7 * 24 * time.Hour
)

// dstMargin bounds how far a wall-clock shift can outlast its Length in
// elapsed time: the largest change of a zone's offset in one transition
// (one hour in most zones, two for the historical double summer time).
const dstMargin = 2 * time.Hour

// Validate checks a roster entry before it is stored: an agency, a
// person, a target that is a duty (not family), bed ids that are not
// empty, and exactly one kind of shift: a 5-field cron expression for the
// start with a Length of 1 min to 7 days, or an explicit Start before End.
// The error names the field and the fix; it joins every problem found.
func (d Duty) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if d.AgencyID == "" {
		add("agency_id: empty; set the agency whose beds the duty covers")
	}
	if d.PersonID == "" {
		add("person_id: empty; set the id of the person on duty")
	}
	switch {
	case d.Target == TargetFamily:
		add("target: family is the bed's own contact, not a roster duty; use one of %s", targetList(dutyTargets()))
	case !d.Target.Valid():
		add("target: %q is not a duty; use one of %s", d.Target, targetList(dutyTargets()))
	}
	for i, b := range d.Beds {
		if strings.TrimSpace(b) == "" {
			add("beds[%d]: empty bed id; remove it (no beds at all means every bed of the agency)", i)
		}
	}
	recurring := d.Cron != "" || d.Length != 0
	explicit := d.Start != nil || d.End != nil
	switch {
	case recurring && explicit:
		add("cron, length, start, end: set either cron and length (a recurring shift) or start and end (one period), not both")
	case recurring:
		errs = append(errs, d.validateCron()...)
	case explicit:
		switch {
		case d.Start == nil:
			add("start: empty; set when the period begins (end is %s)", d.End.Format(time.RFC3339))
		case d.End == nil:
			add("end: empty; set when the period ends (start is %s)", d.Start.Format(time.RFC3339))
		case !d.Start.Before(*d.End):
			add("end: %s is not after start %s; set an end after the start",
				d.End.Format(time.RFC3339), d.Start.Format(time.RFC3339))
		}
	default:
		add(`cron, length, start, end: no shift; set cron and length (such as "0 8 * * *" and "8h") or start and end`)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("duty %d of person %q: %w", d.ID, d.PersonID, err)
	}
	return nil
}

func (d Duty) validateCron() []error {
	var errs []error
	if d.Cron == "" {
		errs = append(errs, errors.New(`cron: empty; set when the shift starts, such as "0 8 * * *" (08:00 every day)`))
	} else if _, err := parseShift(d.Cron); err != nil {
		errs = append(errs, err)
	}
	if l := time.Duration(d.Length); l < MinShift || l > MaxShift {
		errs = append(errs, fmt.Errorf("length: %s is out of range; set from %s to %s, such as %q",
			l, MinShift, MaxShift, "8h"))
	}
	return errs
}

// parseShift reads a shift's start. It takes what cron.ParseStandard
// takes but "@every" (a delay, not a time of day) and a TZ= prefix (the
// roster's zone is the configured one).
func parseShift(spec string) (cron.Schedule, error) {
	s := strings.TrimSpace(spec)
	if strings.HasPrefix(s, "@every") {
		return nil, fmt.Errorf("cron: %q is a delay, not a shift start; use 5 fields, such as \"0 8 * * *\"", spec)
	}
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return nil, fmt.Errorf("cron: %q names a zone; remove it: shifts are in the configured zone", spec)
	}
	sched, err := cron.ParseStandard(s)
	if err != nil {
		return nil, fmt.Errorf("cron: %q: %v; use 5 fields (minute hour day-of-month month day-of-week), such as \"0 8 * * *\"", spec, err)
	}
	return sched, nil
}

func dutyTargets() []Target {
	return slices.DeleteFunc(slices.Clone(Targets), func(t Target) bool { return t == TargetFamily })
}

// OnDuty reports whether the entry's shift covers now. An explicit period
// covers Start <= now < End. A recurring shift covers its most recent
// start at or before now (in zone; nil means UTC) until that start's wall
// clock time plus Length: a shift starting at 22:00 with Length 8h ends
// at 06:00 local time on the nights the clocks change too (it lasts 7 or
// 9 real hours), so that shifts that tile the day leave neither gap nor
// overlap. An entry that does not validate covers nothing.
//
// Known limit of the cron library: a start inside the hour the clocks
// skip (02:30 on a spring-forward night) does not happen that day.
func (d Duty) OnDuty(now time.Time, zone *time.Location) bool {
	if d.Cron == "" {
		return d.Start != nil && d.End != nil && !now.Before(*d.Start) && now.Before(*d.End)
	}
	length := time.Duration(d.Length)
	if length < MinShift || length > MaxShift {
		return false
	}
	sched, err := parseShift(d.Cron)
	if err != nil {
		return false
	}
	if zone == nil {
		zone = time.UTC
	}
	now = now.In(zone)
	start, ok := lastActivation(sched, now.Add(-length-dstMargin), now)
	return ok && now.Before(wallAdd(start, length))
}

// lastActivation is the latest activation of s in (from, now]. The cron
// library has no Prev: it walks forward from from with Next and, when the
// window holds many activations (a shift every minute, 7 days long),
// bisects instead, so it costs a few dozen Next calls at most.
func lastActivation(s cron.Schedule, from, now time.Time) (time.Time, bool) {
	next := func(t time.Time) (time.Time, bool) {
		n := s.Next(t)
		return n, !n.IsZero() && !n.After(now)
	}
	last, ok := next(from)
	if !ok {
		return time.Time{}, false
	}
	for range 4 { // the usual shift: a start or two in the window
		n, ok := next(last)
		if !ok {
			return last, true
		}
		last = n
	}
	// last is an activation <= now; hi has none in (hi, now].
	hi := now
	for hi.Sub(last) > time.Second {
		mid := last.Add(hi.Sub(last) / 2)
		if n, ok := next(mid); ok {
			last = n
		} else {
			hi = mid
		}
	}
	if n, ok := next(last); ok { // activations are whole seconds: at most one more
		last = n
	}
	return last, true
}

// wallAdd adds d to t's wall clock in t's zone.
func wallAdd(t time.Time, d time.Duration) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond()+int(d), t.Location())
}

// CoversBed reports whether the entry covers the bed: listed, or no beds
// listed at all (every bed of the agency).
func (d Duty) CoversBed(bedID string) bool {
	return len(d.Beds) == 0 || slices.Contains(d.Beds, bedID)
}

// Duties is a roster held in memory: the entries of one or more agencies,
// with the zone their cron shifts are written in (nil means UTC).
type Duties struct {
	Zone *time.Location
	List []Duty
}

// OnDuty is the sorted, deduplicated ids of the people covering t for the
// alert's bed at now: entries of the alert's agency, for that target,
// covering the bed, on shift. Family resolves to "family:<bed id>".
func (ds Duties) OnDuty(t Target, a Alert, now time.Time) []string {
	if t == TargetFamily {
		if a.BedID == "" {
			return nil
		}
		return []string{"family:" + a.BedID}
	}
	var ids []string
	for _, d := range ds.List {
		if d.AgencyID == a.AgencyID && d.Target == t && d.PersonID != "" &&
			d.CoversBed(a.BedID) && d.OnDuty(now, ds.Zone) {
			ids = append(ids, d.PersonID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
