package gateway

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"carebed/alerts"
)

// alarmTimers names the rule durations the alarm-timers setting can change.
var alarmTimers = map[string]func(*alerts.Config) *time.Duration{
	"sustain":           func(c *alerts.Config) *time.Duration { return &c.Sustain },
	"no_signal":         func(c *alerts.Config) *time.Duration { return &c.NoSignalAfter },
	"bed_exit":          func(c *alerts.Config) *time.Duration { return &c.BedExitAfter },
	"inactivity":        func(c *alerts.Config) *time.Duration { return &c.InactivityAfter },
	"door_night":        func(c *alerts.Config) *time.Duration { return &c.DoorNightAfter },
	"long_lie":          func(c *alerts.Config) *time.Duration { return &c.LongLieAfter },
	"long_lie_repeat":   func(c *alerts.Config) *time.Duration { return &c.LongLieRepeat },
	"suspected_upgrade": func(c *alerts.Config) *time.Duration { return &c.SuspectedUpgradeAfter },
	"test_due":          func(c *alerts.Config) *time.Duration { return &c.TestDueAfter },
}

// alarmConfig builds the rules' configuration from the zone and the
// alarm-timers setting: a comma-separated list of name=duration
// ("bed_exit=15m,inactivity=10h") and night=HH:MM-HH:MM.
func alarmConfig(zone, timers string) (alerts.Config, error) {
	cfg := alerts.DefaultConfig()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return cfg, fmt.Errorf("zone %q: %w", zone, err)
	}
	cfg.Zone = loc
	for _, item := range strings.Split(timers, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, ok := strings.Cut(item, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok {
			return cfg, fmt.Errorf("%q: want name=value, e.g. bed_exit=20m", item)
		}
		if name == "night" {
			from, to, ok := strings.Cut(value, "-")
			start, err1 := alerts.ParseClockTime(from)
			end, err2 := alerts.ParseClockTime(to)
			if !ok || err1 != nil || err2 != nil {
				return cfg, fmt.Errorf("night=%q: want HH:MM-HH:MM, e.g. night=22:00-06:00", value)
			}
			cfg.NightStart, cfg.NightEnd = start, end
			continue
		}
		field, known := alarmTimers[name]
		if !known {
			return cfg, fmt.Errorf("%q is not a rule timer; known: %s, night", name, timerNames())
		}
		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("%s=%q: want a positive duration such as 20m or 90s", name, value)
		}
		*field(&cfg) = d
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func timerNames() string {
	names := make([]string, 0, len(alarmTimers))
	for n := range alarmTimers {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
