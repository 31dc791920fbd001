package simulate

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"carebed/devices"
)

func TestBedID(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{{1, "bed-0001"}, {42, "bed-0042"}, {9999, "bed-9999"}, {12345, "bed-12345"}}
	for _, tt := range tests {
		if got := BedID(tt.n); got != tt.want {
			t.Errorf("BedID(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestFleet(t *testing.T) {
	now := time.Date(2026, 6, 15, 10, 0, 0, 0, shanghai)
	clock := func() time.Time { return now }
	tests := []struct {
		name       string
		opts       Options
		wantAgency string
		wantBeds   []string
	}{
		{"defaults", Options{Beds: 3, Clock: clock}, "demo-agency", []string{"bed-0001", "bed-0002", "bed-0003"}},
		{"offset", Options{Beds: 2, FirstBed: 101, Agency: "ag-7", Clock: clock}, "ag-7", []string{"bed-0101", "bed-0102"}},
		{"no beds", Options{Beds: 0, Clock: clock}, "demo-agency", nil},
	}
	suffixes := map[string]devices.Kind{
		"vitals": devices.KindVitalsMonitor, "sos": devices.KindSOSButton, "fall": devices.KindFallSensor,
		"door": devices.KindDoorSensor, "motion": devices.KindMotionSensor, "smoke": devices.KindSmokeAlarm,
		"gas": devices.KindGasAlarm, "water": devices.KindWaterLeak, "visit": devices.KindVisitReader,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agency, beds, devs := Fleet(tt.opts)
			if agency.ID != tt.wantAgency || agency.Name == "" || agency.District == "" {
				t.Errorf("agency = %+v, want id %q with a name and district", agency, tt.wantAgency)
			}
			var ids []string
			for _, b := range beds {
				ids = append(ids, b.ID)
				checkBed(t, b, tt.wantAgency, now)
			}
			if !reflect.DeepEqual(ids, tt.wantBeds) {
				t.Errorf("bed ids = %v, want %v", ids, tt.wantBeds)
			}
			if len(devs) != len(beds)*len(suffixes) {
				t.Fatalf("%d devices for %d beds, want %d each", len(devs), len(beds), len(suffixes))
			}
			seen := map[string]bool{}
			for _, d := range devs {
				bed, suffix, _ := strings.Cut(strings.TrimPrefix(d.ID, "bed-"), "-")
				if "bed-"+bed != d.BedID || suffixes[suffix] != d.Kind || seen[d.ID] {
					t.Errorf("device %+v: want id <bed>-<suffix> of a known kind, once", d)
				}
				seen[d.ID] = true
				if d.Format != devices.FormatNative || d.Source != "carebed/"+d.ID || d.Model == "" || !d.Kind.Valid() {
					t.Errorf("device %s: format %q source %q model %q, want native, carebed/<id> and a model", d.ID, d.Format, d.Source, d.Model)
				}
				if d.InstalledAt == nil || d.WarrantyUntil == nil || d.WarrantyUntil.Before(d.InstalledAt.AddDate(1, 0, 0)) || d.InstalledAt.After(now) {
					t.Errorf("device %s: installed %v, warranty until %v; want installed before now with a warranty of at least a year", d.ID, d.InstalledAt, d.WarrantyUntil)
				}
			}
		})
	}
}

// checkBed checks that a made-up bed is complete and believable.
func checkBed(t *testing.T, b devices.Bed, agency string, now time.Time) {
	t.Helper()
	e := b.Elder
	if b.AgencyID != agency || b.District == "" || b.Address == "" {
		t.Errorf("bed %s: agency %q district %q address %q", b.ID, b.AgencyID, b.District, b.Address)
	}
	if n := len([]rune(e.Name)); n < 2 || n > 4 {
		t.Errorf("bed %s: elder name %q, want a Chinese name", b.ID, e.Name)
	}
	if e.BirthYear < 1930 || e.BirthYear > 1955 {
		t.Errorf("bed %s: birth year %d, want 1930-1955", b.ID, e.BirthYear)
	}
	switch e.DisabilityLevel {
	case "light", "moderate", "severe", "total":
	default:
		t.Errorf("bed %s: disability level %q", b.ID, e.DisabilityLevel)
	}
	if b.FamilyCaregiver.Name == "" || len(b.FamilyCaregiver.Phone) != 11 {
		t.Errorf("bed %s: family caregiver %+v, want a name and a mobile number", b.ID, b.FamilyCaregiver)
	}
	if b.AreaType != "urban" && b.AreaType != "rural" {
		t.Errorf("bed %s: area type %q", b.ID, b.AreaType)
	}
	from, err1 := time.ParseInLocation(time.DateOnly, b.ContractStart, shanghai)
	to, err2 := time.ParseInLocation(time.DateOnly, b.ContractEnd, shanghai)
	if err1 != nil || err2 != nil || !from.Before(now) || !to.After(now) {
		t.Errorf("bed %s: contract %s to %s, want dates around %v", b.ID, b.ContractStart, b.ContractEnd, now)
	}
	if b.RequiredMinutesPerDay != 60 || b.RequiredHoursPerMonth != 30 {
		t.Errorf("bed %s: requires %d min a day and %d h a month, want 60 and 30", b.ID, b.RequiredMinutesPerDay, b.RequiredHoursPerMonth)
	}
}

func TestFleetDeterministic(t *testing.T) {
	clock := func() time.Time { return time.Date(2026, 6, 15, 10, 0, 0, 0, shanghai) }
	_, a, _ := Fleet(Options{Beds: 2, Seed: 9, Clock: clock})
	_, b, _ := Fleet(Options{Beds: 20, Seed: 9, Clock: clock})
	_, c, _ := Fleet(Options{Beds: 2, Seed: 10, Clock: clock})
	if !reflect.DeepEqual(a, b[:2]) {
		t.Errorf("the first two beds differ between a fleet of 2 and one of 20")
	}
	if reflect.DeepEqual(a, c) {
		t.Errorf("seeds 9 and 10 make the same beds")
	}
	names := map[string]bool{}
	for _, x := range b {
		names[x.Elder.Name] = true
	}
	if len(names) < 10 {
		t.Errorf("%d distinct names among 20 elders, want variety", len(names))
	}
	// The JSON is the API's resource (DESIGN.md "Resources").
	raw, err := json.Marshal(a[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"agency_id"`, `"elder"`, `"birth_year"`, `"disability_level"`, `"family_caregiver"`, `"area_type"`, `"contract_start"`, `"required_minutes_per_day":60`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("bed JSON %s lacks %s", raw, key)
		}
	}
}
