package alerts

import (
	"strconv"
	"time"
)

// vitals applies the vital signs of one reading. A sign raises vitals when
// it has read abnormal in every reading for Sustain (a reading exactly
// Sustain after the first abnormal one raises); a reading that leaves the
// sign out (a radar's "no reading") neither continues nor breaks the run.
// vitals clears when no sign that raised it is still out of its band by
// the margin and every sign of the reading is back inside by the margin.
// Then no_signal: an explicit no-reading marker while someone is in bed
// starts it; a valid heart or breathing rate ends it.
func (e *Engine) vitals(b *ruleBed, d *ruleDevice, r *ruleReading, at time.Time, out []Signal) []Signal {
	n := at.UnixNano()
	th := &b.rules.vitals
	allBack := true
	var newly uint8 // signs whose run reached Sustain with this reading
	for s := range numSigns {
		if r.has&(1<<s) == 0 {
			continue
		}
		v, band := r.vals[s], th.band(s)
		if band.abnormal(v) {
			allBack = false
			if b.abnormal[s] == 0 {
				b.abnormal[s] = n
				e.touch(b)
			}
			if b.raised&(1<<s) == 0 && n-b.abnormal[s] >= int64(e.cfg.Sustain) {
				newly |= 1 << s
			}
			continue
		}
		if b.abnormal[s] != 0 {
			b.abnormal[s] = 0
			e.touch(b)
		}
		if !band.recovered(v) {
			allBack = false
		} else if b.raised&(1<<s) != 0 {
			b.raised &^= 1 << s
			e.touch(b)
		}
	}
	if newly != 0 {
		b.raised |= newly
		b.open |= openVitals
		e.touch(b)
		out = append(out, b.signal(Raise, KindVitals, Major, d.id, at, e.vitalsDetail(b, r, newly, n)))
	}
	if r.has != 0 && allBack && b.raised == 0 && b.open&openVitals != 0 {
		b.open &^= openVitals
		e.touch(b)
		out = append(out, b.signal(Clear, KindVitals, Major, d.id, at, "vital signs back in range"))
	}

	switch {
	case r.has&(1<<signHR|1<<signRR) != 0:
		if b.noValid != 0 {
			b.noValid, b.noValidDev = 0, ""
			e.touch(b)
		}
		if b.open&openNoSignal != 0 {
			b.open &^= openNoSignal
			e.touch(b)
			out = append(out, b.signal(Clear, KindNoSignal, Major, d.id, at, "valid reading"))
		}
	case r.noReading && b.noValid == 0 && b.inBed():
		b.noValid, b.noValidDev = n, d.id
		e.touch(b)
	}
	return out
}

// vitalsDetail writes "heart_rate 145 >= 131 for 60s" for each sign in
// signs, joined with "; ".
func (e *Engine) vitalsDetail(b *ruleBed, r *ruleReading, signs uint8, n int64) string {
	buf := make([]byte, 0, 48)
	for s := range numSigns {
		if signs&(1<<s) == 0 {
			continue
		}
		if len(buf) > 0 {
			buf = append(buf, "; "...)
		}
		v, band := r.vals[s], b.rules.vitals.band(s)
		buf = append(buf, ruleSignNames[s]...)
		buf = append(buf, ' ')
		buf = strconv.AppendFloat(buf, v, 'f', -1, 64)
		if band.High > 0 && v >= band.High {
			buf = append(buf, " >= "...)
			buf = strconv.AppendFloat(buf, band.High, 'f', -1, 64)
		} else {
			buf = append(buf, " <= "...)
			buf = strconv.AppendFloat(buf, band.Low, 'f', -1, 64)
		}
		buf = append(buf, " for "...)
		buf = append(buf, ruleDuration(time.Duration(n-b.abnormal[s]).Truncate(time.Second))...)
	}
	return string(buf)
}
