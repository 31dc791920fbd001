package store

import (
	"errors"
	"strings"
	"testing"

	"carebed/devices"
)

// checkInvalid fails unless err is a *ValidationError for field whose text
// contains fix, or err is nil when field is "".
func checkInvalid(t *testing.T, call string, err error, field, fix string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Errorf("%s = %v, want nil", call, err)
		}
		return
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
		t.Errorf("%s = %v, want a *ValidationError matching ErrInvalid", call, err)
		return
	}
	if ve.Field != field || !strings.Contains(ve.Fix, fix) {
		t.Errorf("%s = %q, want field %q and a fix containing %q", call, err, field, fix)
	}
	checkErr(t, call, err, ErrInvalid)
}

func TestValidateAgency(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(*devices.Agency)
		field, fix string
	}{
		{"valid", func(*devices.Agency) {}, "", ""},
		{"id with every allowed character", func(a *devices.Agency) { a.ID = "Aa0._:-" }, "", ""},
		{"id of 64 characters", func(a *devices.Agency) { a.ID = strings.Repeat("x", 64) }, "", ""},
		{"empty id", func(a *devices.Agency) { a.ID = "" }, "id", "required"},
		{"id of 65 characters", func(a *devices.Agency) { a.ID = strings.Repeat("x", 65) }, "id", "1-64 characters"},
		{"id with a slash", func(a *devices.Agency) { a.ID = "a/1" }, "id", "A-Z a-z 0-9 . _ : -"},
		{"id with a space", func(a *devices.Agency) { a.ID = "a 1" }, "id", "A-Z a-z 0-9"},
		{"id with a non-ASCII letter", func(a *devices.Agency) { a.ID = "机构1" }, "id", "A-Z a-z 0-9"},
		{"no name", func(a *devices.Agency) { a.Name = "" }, "name", "required"},
		{"blank name", func(a *devices.Agency) { a.Name = "  " }, "name", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := agency("a1")
			tt.edit(&a)
			checkInvalid(t, "ValidateAgency", ValidateAgency(a), tt.field, tt.fix)
		})
	}
}

func TestValidateBed(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(*devices.Bed)
		field, fix string
	}{
		{"valid", func(*devices.Bed) {}, "", ""},
		{"only the required fields", func(b *devices.Bed) { *b = devices.Bed{ID: "b1", AgencyID: "a1"} }, "", ""},
		{"every disability level", func(b *devices.Bed) { b.Elder.DisabilityLevel = "total" }, "", ""},
		{"rural", func(b *devices.Bed) { b.AreaType = "rural" }, "", ""},
		{"bad id", func(b *devices.Bed) { b.ID = "b#1" }, "id", "1-64 characters"},
		{"no agency", func(b *devices.Bed) { b.AgencyID = "" }, "agency_id", "required"},
		{"bad agency id", func(b *devices.Bed) { b.AgencyID = "a?" }, "agency_id", "1-64 characters"},
		{"unknown disability level", func(b *devices.Bed) { b.Elder.DisabilityLevel = "mild" }, "elder.disability_level",
			"light, moderate, severe, total"},
		{"unknown area type", func(b *devices.Bed) { b.AreaType = "suburban" }, "area_type", "urban, rural"},
		{"birth year of two digits", func(b *devices.Bed) { b.Elder.BirthYear = 42 }, "elder.birth_year", "four-digit year"},
		{"contract start not a date", func(b *devices.Bed) { b.ContractStart = "01/02/2025" }, "contract_start", "YYYY-MM-DD"},
		{"contract end not a date", func(b *devices.Bed) { b.ContractEnd = "2025-13-01" }, "contract_end", "YYYY-MM-DD"},
		{"contract ends before it starts", func(b *devices.Bed) { b.ContractEnd = "2024-12-31" }, "contract_end",
			"not be before contract_start"},
		{"negative minutes", func(b *devices.Bed) { b.RequiredMinutesPerDay = -1 }, "required_minutes_per_day", "default 60"},
		{"more minutes than a day", func(b *devices.Bed) { b.RequiredMinutesPerDay = 1441 }, "required_minutes_per_day", "1-1440"},
		{"more hours than a month", func(b *devices.Bed) { b.RequiredHoursPerMonth = 745 }, "required_hours_per_month", "default 30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bed("b1", "a1")
			tt.edit(&b)
			checkInvalid(t, "ValidateBed", ValidateBed(b), tt.field, tt.fix)
		})
	}
}

func TestValidateDevice(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(*devices.Device)
		field, fix string
	}{
		{"valid", func(*devices.Device) {}, "", ""},
		{"empty format", func(d *devices.Device) { d.Format = "" }, "", ""},
		{"zigbee2mqtt", func(d *devices.Device) { d.Format = devices.FormatZigbee2MQTT; d.Source = "door_1" }, "", ""},
		{"dates in order", func(d *devices.Device) {
			d.InstalledAt, d.WarrantyUntil = ptr(date(2025, 1, 1)), ptr(date(2026, 1, 1))
		}, "", ""},
		{"bad id", func(d *devices.Device) { d.ID = "" }, "id", "required"},
		{"no bed", func(d *devices.Device) { d.BedID = "" }, "bed_id", "required"},
		{"bad bed id", func(d *devices.Device) { d.BedID = "b 1" }, "bed_id", "1-64 characters"},
		{"no kind", func(d *devices.Device) { d.Kind = "" }, "kind", "sos_button"},
		{"unknown kind", func(d *devices.Device) { d.Kind = "toaster" }, "kind", "visit_reader"},
		{"unknown format", func(d *devices.Device) { d.Format = "lorawan" }, "format", "native, zigbee2mqtt, senml, esphome, tasmota"},
		{"warranty before installation", func(d *devices.Device) {
			d.InstalledAt, d.WarrantyUntil = ptr(date(2025, 1, 1)), ptr(date(2024, 1, 1))
		}, "warranty_until", "not be before installed_at"},
		{"installed in year 3000", func(d *devices.Device) { d.InstalledAt = ptr(date(3000, 1, 1)) }, "installed_at", "between the years"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := device("d1", "b1", devices.KindFallSensor)
			d.Format = devices.FormatNative
			tt.edit(&d)
			checkInvalid(t, "ValidateDevice", ValidateDevice(d), tt.field, tt.fix)
		})
	}
}
