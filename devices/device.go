package devices

import (
	"slices"
	"time"
)

// Kind is what a device is for.
type Kind string

// Device kinds (DESIGN.md "Resources").
const (
	KindSOSButton     Kind = "sos_button"
	KindVitalsMonitor Kind = "vitals_monitor"
	KindFallSensor    Kind = "fall_sensor"
	KindDoorSensor    Kind = "door_sensor"
	KindMotionSensor  Kind = "motion_sensor"
	KindSmokeAlarm    Kind = "smoke_alarm"
	KindGasAlarm      Kind = "gas_alarm"
	KindWaterLeak     Kind = "water_leak"
	KindClimate       Kind = "climate"
	KindHub           Kind = "hub"
	KindVisitReader   Kind = "visit_reader"
)

// Kinds lists every device kind.
var Kinds = []Kind{KindSOSButton, KindVitalsMonitor, KindFallSensor, KindDoorSensor, KindMotionSensor,
	KindSmokeAlarm, KindGasAlarm, KindWaterLeak, KindClimate, KindHub, KindVisitReader}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Format is the payload dialect a device speaks.
type Format string

// Payload formats.
const (
	FormatNative      Format = "native"
	FormatZigbee2MQTT Format = "zigbee2mqtt"
	FormatSenML       Format = "senml"
	FormatESPHome     Format = "esphome"
	FormatTasmota     Format = "tasmota"
)

// Device is one installed device.
type Device struct {
	ID            string     `json:"id"`
	BedID         string     `json:"bed_id"`
	Kind          Kind       `json:"kind"`
	Format        Format     `json:"format"`
	Source        string     `json:"source,omitempty"`
	Model         string     `json:"model,omitempty"`
	InstalledAt   *time.Time `json:"installed_at,omitempty"`
	WarrantyUntil *time.Time `json:"warranty_until,omitempty"`
	Health
}

// Health is what the gateway has seen of a device; read-only through the API.
type Health struct {
	LastSeen *time.Time `json:"last_seen"`
	Online   bool       `json:"online"`
	Battery  *float64   `json:"battery"`
	Tamper   bool       `json:"tamper"`
}

// Elder is the person a bed serves. Personal data: never logged.
type Elder struct {
	Name                          string `json:"name"`
	BirthYear                     int    `json:"birth_year,omitempty"`
	DisabilityLevel               string `json:"disability_level,omitempty"`
	SafetyNet                     bool   `json:"safety_net"`
	DrawsDisabilityNursingSubsidy bool   `json:"draws_disability_nursing_subsidy"`
}

// Contact is a family caregiver. Personal data: never logged.
type Contact struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// Bed is one home elderly-care bed.
type Bed struct {
	ID                    string  `json:"id"`
	AgencyID              string  `json:"agency_id"`
	District              string  `json:"district,omitempty"`
	Elder                 Elder   `json:"elder"`
	FamilyCaregiver       Contact `json:"family_caregiver"`
	Address               string  `json:"address,omitempty"`
	AreaType              string  `json:"area_type,omitempty"`
	ContractStart         string  `json:"contract_start,omitempty"`
	ContractEnd           string  `json:"contract_end,omitempty"`
	RequiredMinutesPerDay int     `json:"required_minutes_per_day"`
	RequiredHoursPerMonth int     `json:"required_hours_per_month"`
}

// Agency is a care agency that runs beds.
type Agency struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	District string `json:"district,omitempty"`
	Phone    string `json:"phone,omitempty"`
}
