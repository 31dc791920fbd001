package alerts

import (
	"errors"
	"fmt"
	"math"
	"time"
	_ "time/tzdata" // Asia/Shanghai on a minimal image
)

// DefaultZone is the zone of the night window when none is configured.
const DefaultZone = "Asia/Shanghai"

// Config holds the alarm rules' numbers (DOMAIN.md: another city sets
// other numbers). NewEngine takes every zero field from DefaultConfig, so
// a caller sets only what it changes; Validate says what is wrong with the
// rest.
type Config struct {
	// Zone is where the night window's clock times are read.
	Zone *time.Location
	// Vitals are the alarm bands of the vital signs.
	Vitals Thresholds
	// Sustain is how long a vital sign must stay abnormal, in every
	// reading, before the vitals alarm is raised.
	Sustain time.Duration
	// NoSignalAfter is how long a monitor may say "in bed" with no valid
	// heart or breathing rate before no_signal is raised.
	NoSignalAfter time.Duration
	// BedExitAfter is how long an elder may be out of bed at night.
	BedExitAfter time.Duration
	// InactivityAfter is how long a home may show no activity.
	InactivityAfter time.Duration
	// DoorNightAfter is how long a door may stand open at night.
	DoorNightAfter time.Duration
	// LongLieAfter is how long after a fall without recovery the fall
	// alarm is sent again (a long lie), and LongLieRepeat how often after.
	LongLieAfter  time.Duration
	LongLieRepeat time.Duration
	// SuspectedUpgradeAfter is how long a suspected fall may last before
	// it is raised again as a critical fall.
	SuspectedUpgradeAfter time.Duration
	// TestDueAfter is how long an SOS button may go without a press (real
	// or test) before service_due is raised.
	TestDueAfter time.Duration
	// NightStart (inclusive) and NightEnd (exclusive) bound the night
	// window in Zone; the window may cross midnight. Both zero means the
	// default window.
	NightStart, NightEnd ClockTime
	// BatteryLow raises battery_low at or below this percentage;
	// BatteryClear clears it at or above this one.
	BatteryLow, BatteryClear float64
}

// Thresholds are the alarm bands of the vital signs. The defaults are the
// red (3-point) bands of NEWS2, the National Early Warning Score.
type Thresholds struct {
	HeartRate Band `json:"heart_rate"`
	RespRate  Band `json:"resp_rate"`
	SpO2      Band `json:"spo2"`
	TempC     Band `json:"temp_c"`
}

// Band is the alarm band of one vital sign: a value at or below Low, or at
// or above High, is abnormal. Zero means no limit on that side (a vital
// sign is never 0: radars send 0 for "no reading", which decoders drop).
// Once raised, the sign counts as normal again only more than Margin
// inside the limits (Low+Margin < v < High-Margin), so a value wobbling at
// a limit does not flap the alarm. An all-zero Band takes the default.
type Band struct {
	Low    float64 `json:"low,omitempty"`
	High   float64 `json:"high,omitempty"`
	Margin float64 `json:"margin,omitempty"`
}

// abnormal reports whether v is in the alarm band.
func (b Band) abnormal(v float64) bool {
	return (b.Low > 0 && v <= b.Low) || (b.High > 0 && v >= b.High)
}

// recovered reports whether v is back inside the limits by more than the
// margin.
func (b Band) recovered(v float64) bool {
	return (b.Low <= 0 || v > b.Low+b.Margin) && (b.High <= 0 || v < b.High-b.Margin)
}

func (b Band) validate(name string) error {
	switch {
	case math.IsNaN(b.Low) || math.IsNaN(b.High) || math.IsNaN(b.Margin) || b.Low < 0 || b.High < 0 || b.Margin < 0:
		return fmt.Errorf("vitals %s: low, high and margin must be numbers >= 0 (0: no limit)", name)
	case b.Low == 0 && b.High == 0:
		return fmt.Errorf("vitals %s: set low, high or both", name)
	case b.High > 0 && b.Low+2*b.Margin >= b.High:
		return fmt.Errorf("vitals %s: low %g + 2 x margin %g must stay below high %g, or no value is normal", name, b.Low, b.Margin, b.High)
	}
	return nil
}

// ClockTime is a time of day, in minutes after midnight (0 to 1439). It
// reads and writes as "22:00".
type ClockTime int

// Clock returns the ClockTime h:m.
func Clock(h, m int) ClockTime { return ClockTime(h*60 + m) }

// String writes c as "22:00".
func (c ClockTime) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// MarshalText writes c as "22:00".
func (c ClockTime) MarshalText() ([]byte, error) {
	if !c.valid() {
		return nil, fmt.Errorf("clock time %d minutes is outside 00:00-23:59", int(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText reads "22:00" or "6:00".
func (c *ClockTime) UnmarshalText(b []byte) error {
	v, err := ParseClockTime(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ParseClockTime reads a time of day written "HH:MM" (24-hour clock).
func ParseClockTime(s string) (ClockTime, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("clock time %q: want HH:MM, such as 22:00", s)
	}
	return Clock(t.Hour(), t.Minute()), nil
}

func (c ClockTime) valid() bool { return c >= 0 && c < 24*60 }

// DefaultConfig returns the default rules: NEWS2 red bands sustained 60 s,
// no signal after 5 min, bed exit 20 min and door open 5 min in the night
// 22:00-06:00 Asia/Shanghai, inactivity after 12 h, a long lie after 5 min
// repeated every 5 min, a suspected fall upgraded after 60 s, an SOS
// button test due after 30 days, battery low at 20% and clear at 25%.
func DefaultConfig() Config {
	zone, err := time.LoadLocation(DefaultZone)
	if err != nil { // cannot happen with time/tzdata linked in
		zone = time.FixedZone("CST", 8*60*60)
	}
	return Config{
		Zone: zone,
		Vitals: Thresholds{
			HeartRate: Band{Low: 40, High: 131, Margin: 2},
			RespRate:  Band{Low: 8, High: 25, Margin: 1},
			SpO2:      Band{Low: 91, Margin: 1},
			TempC:     Band{Low: 35.0, High: 39.1, Margin: 0.2},
		},
		Sustain:               60 * time.Second,
		NoSignalAfter:         5 * time.Minute,
		BedExitAfter:          20 * time.Minute,
		InactivityAfter:       12 * time.Hour,
		DoorNightAfter:        5 * time.Minute,
		LongLieAfter:          5 * time.Minute,
		LongLieRepeat:         5 * time.Minute,
		SuspectedUpgradeAfter: 60 * time.Second,
		TestDueAfter:          30 * 24 * time.Hour,
		NightStart:            Clock(22, 0),
		NightEnd:              Clock(6, 0),
		BatteryLow:            20,
		BatteryClear:          25,
	}
}

// Validate checks a configuration as NewEngine will use it (zero fields
// taking their defaults). The error names each setting at fault and the
// fix; it joins every problem found.
func (c Config) Validate() error {
	var errs []error
	for _, d := range c.durations() {
		if *d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %v: must be positive (0 takes the default %v)", d.name, *d.v, d.def))
		}
	}
	if !c.NightStart.valid() || !c.NightEnd.valid() {
		errs = append(errs, fmt.Errorf("night window %d-%d minutes: both ends must be within 00:00-23:59", int(c.NightStart), int(c.NightEnd)))
	} else if c.NightStart == c.NightEnd && c.NightStart != 0 {
		errs = append(errs, fmt.Errorf("night window %v-%v: start and end must differ", c.NightStart, c.NightEnd))
	}
	f := c.withDefaults()
	if err := f.Vitals.validate(); err != nil {
		errs = append(errs, err)
	}
	if !(f.BatteryLow > 0 && f.BatteryLow < f.BatteryClear && f.BatteryClear <= 100) {
		errs = append(errs, fmt.Errorf("battery low %g%% and clear %g%%: want 0 < low < clear <= 100", f.BatteryLow, f.BatteryClear))
	}
	return errors.Join(errs...)
}

func (t Thresholds) validate() error {
	return errors.Join(t.HeartRate.validate("heart_rate"), t.RespRate.validate("resp_rate"),
		t.SpO2.validate("spo2"), t.TempC.validate("temp_c"))
}

type ruleNamedDuration struct {
	name string
	v    *time.Duration
	def  time.Duration
}

// durations lists c's durations with their names and defaults.
func (c *Config) durations() []ruleNamedDuration {
	d := DefaultConfig()
	return []ruleNamedDuration{
		{"sustain", &c.Sustain, d.Sustain},
		{"no signal after", &c.NoSignalAfter, d.NoSignalAfter},
		{"bed exit after", &c.BedExitAfter, d.BedExitAfter},
		{"inactivity after", &c.InactivityAfter, d.InactivityAfter},
		{"door night after", &c.DoorNightAfter, d.DoorNightAfter},
		{"long lie after", &c.LongLieAfter, d.LongLieAfter},
		{"long lie repeat", &c.LongLieRepeat, d.LongLieRepeat},
		{"suspected upgrade after", &c.SuspectedUpgradeAfter, d.SuspectedUpgradeAfter},
		{"test due after", &c.TestDueAfter, d.TestDueAfter},
	}
}

// withDefaults returns c with every zero (or, for durations, negative)
// field taken from DefaultConfig, so that no timer can be due forever.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Zone == nil {
		c.Zone = d.Zone
	}
	c.Vitals = c.Vitals.or(d.Vitals)
	for _, x := range c.durations() {
		if *x.v <= 0 {
			*x.v = x.def
		}
	}
	if c.NightStart == 0 && c.NightEnd == 0 || !c.NightStart.valid() || !c.NightEnd.valid() {
		c.NightStart, c.NightEnd = d.NightStart, d.NightEnd
	}
	if c.BatteryLow == 0 {
		c.BatteryLow = d.BatteryLow
	}
	if c.BatteryClear == 0 {
		c.BatteryClear = d.BatteryClear
	}
	return c
}

// or fills every all-zero band of t from def.
func (t Thresholds) or(def Thresholds) Thresholds {
	fill := func(b *Band, d Band) {
		if *b == (Band{}) {
			*b = d
		}
	}
	fill(&t.HeartRate, def.HeartRate)
	fill(&t.RespRate, def.RespRate)
	fill(&t.SpO2, def.SpO2)
	fill(&t.TempC, def.TempC)
	return t
}

// BedRules are one bed's identity and its overrides of the Config.
type BedRules struct {
	BedID    string `json:"bed_id"`
	AgencyID string `json:"agency_id,omitempty"`
	// Vitals, when set, replaces the configured bands for this elder (a
	// doctor's order: an elder whose resting heart rate is 45); an all-zero
	// band in it keeps the configured one.
	Vitals *Thresholds `json:"vitals,omitempty"`
	// NightStart and NightEnd, when set, replace the configured night
	// window (an elder who sleeps from 20:00).
	NightStart *ClockTime `json:"night_start,omitempty"`
	NightEnd   *ClockTime `json:"night_end,omitempty"`
}

// Validate checks a bed's overrides; the error names the setting and the
// fix. PutBed keeps the configured value for an override that is not
// valid.
func (r BedRules) Validate() error {
	var errs []error
	if r.BedID == "" {
		errs = append(errs, errors.New("bed rules: bed id is empty"))
	}
	if r.Vitals != nil {
		if err := r.Vitals.or(DefaultConfig().Vitals).validate(); err != nil {
			errs = append(errs, fmt.Errorf("bed %q: %w", r.BedID, err))
		}
	}
	for _, c := range []*ClockTime{r.NightStart, r.NightEnd} {
		if c != nil && !c.valid() {
			errs = append(errs, fmt.Errorf("bed %q: night window end %d minutes: want 00:00-23:59", r.BedID, int(*c)))
		}
	}
	return errors.Join(errs...)
}

// ruleSet is the resolved rules of a bed; beds without overrides share
// the engine's.
type ruleSet struct {
	vitals     Thresholds
	nightStart ClockTime
	nightEnd   ClockTime
}

// inNight reports whether t falls in the night window, read in zone:
// start inclusive, end exclusive, crossing midnight when start > end.
func (r *ruleSet) inNight(t time.Time, zone *time.Location) bool {
	h, m, s := t.In(zone).Clock()
	sec := h*3600 + m*60 + s
	start, end := int(r.nightStart)*60, int(r.nightEnd)*60
	if start < end {
		return sec >= start && sec < end
	}
	return sec >= start || sec < end
}
