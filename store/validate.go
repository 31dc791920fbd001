package store

import (
	"fmt"
	"strings"
	"time"

	"carebed/devices"
)

// ValidationError says which field of an input is wrong and how to fix it.
// It matches ErrInvalid with errors.Is. It never repeats the value it
// rejects when that value may be personal data.
type ValidationError struct {
	Field string // JSON name of the field at fault, dotted when nested ("elder.disability_level")
	Fix   string // what a valid value looks like
}

func (e *ValidationError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Fix) }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Fix: fmt.Sprintf(format, args...)}
}

// Bed defaults (DOMAIN.md: at least 1 hour a day, 30 hours a month).
const (
	DefaultMinutesPerDay = 60
	DefaultHoursPerMonth = 30
)

const (
	maxIDLen             = 64
	idFix                = "use 1-64 characters from A-Z a-z 0-9 . _ : -"
	dateLayout           = "2006-01-02"
	earliestYear         = 1900 // the range of every stored time and year
	latestYear           = 2200
	minutesPerDayCeiling = 24 * 60
	hoursPerMonthCeiling = 31 * 24
)

var (
	disabilityLevels = []string{"light", "moderate", "severe", "total"}
	areaTypes        = []string{"urban", "rural"}
	// formats are the payload formats the gateway reads (DESIGN.md "Resources").
	formats = []devices.Format{devices.FormatNative, devices.FormatZigbee2MQTT, devices.FormatSenML,
		devices.FormatESPHome, devices.FormatTasmota}
)

// ValidID reports whether s can be an agency, bed or device id: 1-64
// characters from A-Z a-z 0-9 . _ : -, so it is safe in a topic level, a
// URL path segment and a log line.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

func checkID(field, id string) error {
	if id == "" {
		return invalid(field, "required; %s", idFix)
	}
	if !ValidID(id) {
		return invalid(field, idFix)
	}
	return nil
}

// ValidateAgency returns a *ValidationError for the first field of a that
// CreateAgency or UpdateAgency would refuse, or nil.
func ValidateAgency(a devices.Agency) error {
	if err := checkID("id", a.ID); err != nil {
		return err
	}
	if strings.TrimSpace(a.Name) == "" {
		return invalid("name", "required; give the agency's name")
	}
	return nil
}

// BedDefaults returns b with zero required hours set to their defaults.
func BedDefaults(b devices.Bed) devices.Bed {
	if b.RequiredMinutesPerDay == 0 {
		b.RequiredMinutesPerDay = DefaultMinutesPerDay
	}
	if b.RequiredHoursPerMonth == 0 {
		b.RequiredHoursPerMonth = DefaultHoursPerMonth
	}
	return b
}

// ValidateBed returns a *ValidationError for the first field of b that
// CreateBed or UpdateBed would refuse, or nil. Zero values that BedDefaults
// fills are accepted. Whether the agency exists is checked by the store.
func ValidateBed(b devices.Bed) error {
	if err := checkID("id", b.ID); err != nil {
		return err
	}
	if err := checkID("agency_id", b.AgencyID); err != nil {
		return err
	}
	e := b.Elder
	if e.BirthYear != 0 && (e.BirthYear < earliestYear || e.BirthYear > latestYear) {
		return invalid("elder.birth_year", "use a four-digit year, or 0 when unknown")
	}
	if e.DisabilityLevel != "" && !oneOf(e.DisabilityLevel, disabilityLevels) {
		return invalid("elder.disability_level", "use one of %s, or leave it empty", strings.Join(disabilityLevels, ", "))
	}
	if b.AreaType != "" && !oneOf(b.AreaType, areaTypes) {
		return invalid("area_type", "use one of %s, or leave it empty", strings.Join(areaTypes, ", "))
	}
	start, err := civilDate("contract_start", b.ContractStart)
	if err != nil {
		return err
	}
	end, err := civilDate("contract_end", b.ContractEnd)
	if err != nil {
		return err
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		return invalid("contract_end", "must not be before contract_start")
	}
	if b.RequiredMinutesPerDay < 0 || b.RequiredMinutesPerDay > minutesPerDayCeiling {
		return invalid("required_minutes_per_day", "use 1-%d, or 0 for the default %d", minutesPerDayCeiling, DefaultMinutesPerDay)
	}
	if b.RequiredHoursPerMonth < 0 || b.RequiredHoursPerMonth > hoursPerMonthCeiling {
		return invalid("required_hours_per_month", "use 1-%d, or 0 for the default %d", hoursPerMonthCeiling, DefaultHoursPerMonth)
	}
	return nil
}

// storable reports whether t is in the range of times this package stores
// (well inside what Unix nanoseconds in an int64 can hold).
func storable(t time.Time) bool {
	return t.Year() >= earliestYear && t.Year() <= latestYear
}

// civilDate parses an optional YYYY-MM-DD date.
func civilDate(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, invalid(field, "use a date as YYYY-MM-DD, or leave it empty")
	}
	return t, nil
}

// DeviceDefaults returns d with an empty format set to native.
func DeviceDefaults(d devices.Device) devices.Device {
	if d.Format == "" {
		d.Format = devices.FormatNative
	}
	return d
}

// ValidateDevice returns a *ValidationError for the first field of d that
// CreateDevice or UpdateDevice would refuse, or nil. An empty format is
// accepted (DeviceDefaults makes it native). Whether the bed exists is
// checked by the store. The health fields are not input and are ignored.
func ValidateDevice(d devices.Device) error {
	if err := checkID("id", d.ID); err != nil {
		return err
	}
	if err := checkID("bed_id", d.BedID); err != nil {
		return err
	}
	if !d.Kind.Valid() {
		return invalid("kind", "use one of %s", joinKinds())
	}
	if d.Format != "" && !oneOf(d.Format, formats) {
		return invalid("format", "use one of %s, or leave it empty for native", joinFormats())
	}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"installed_at", d.InstalledAt}, {"warranty_until", d.WarrantyUntil}} {
		if f.t != nil && !f.t.IsZero() && !storable(*f.t) {
			return invalid(f.name, "use a time between the years %d and %d, or leave it out", earliestYear, latestYear)
		}
	}
	if d.InstalledAt != nil && d.WarrantyUntil != nil && !d.InstalledAt.IsZero() && !d.WarrantyUntil.IsZero() &&
		d.WarrantyUntil.Before(*d.InstalledAt) {
		return invalid("warranty_until", "must not be before installed_at")
	}
	return nil
}

func oneOf[T comparable](v T, set []T) bool {
	for _, x := range set {
		if x == v {
			return true
		}
	}
	return false
}

func joinKinds() string {
	s := make([]string, len(devices.Kinds))
	for i, k := range devices.Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func joinFormats() string {
	s := make([]string, len(formats))
	for i, f := range formats {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}
