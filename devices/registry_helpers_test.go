package devices

import (
	"strconv"
	"strings"
	"time"
)

// summary writes what Decode gave in one line, for table tests: each
// observation as "<device> <stream> <field>=<value>...", with " via=<hub>"
// when it came through a hub and " @<offset>" when its time is not the
// receive time, joined by "; "; the rejection reason on error; "none" when
// nothing came out.
func summary(obs []Observation, err error, received time.Time) string {
	if err != nil {
		return string(ReasonOf(err))
	}
	if len(obs) == 0 {
		return "none"
	}
	parts := make([]string, len(obs))
	for i, o := range obs {
		var b strings.Builder
		b.WriteString(o.DeviceID + " " + string(o.Stream))
		for _, f := range o.Fields {
			b.WriteString(" " + f.Name + "=" + fieldText(f))
		}
		if o.Via != "" {
			b.WriteString(" via=" + o.Via)
		}
		if !o.Time.Equal(received) {
			b.WriteString(" @" + o.Time.Sub(received).String())
		}
		parts[i] = b.String()
	}
	return strings.Join(parts, "; ")
}

func fieldText(f Field) string {
	switch f.Type {
	case Bool:
		return strconv.FormatBool(f.B)
	case String:
		return f.S
	}
	return strconv.FormatFloat(f.F, 'g', -1, 64)
}
