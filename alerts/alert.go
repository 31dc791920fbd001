package alerts

import (
	"slices"
	"time"
)

// Kind is what an alert is about (DESIGN.md "Resources").
type Kind string

// Alert kinds.
const (
	KindSOS           Kind = "sos"
	KindFall          Kind = "fall"
	KindVitals        Kind = "vitals"
	KindNoSignal      Kind = "no_signal"
	KindBedExit       Kind = "bed_exit"
	KindInactivity    Kind = "inactivity"
	KindSmoke         Kind = "smoke"
	KindGas           Kind = "gas"
	KindWaterLeak     Kind = "water_leak"
	KindDoorNight     Kind = "door_night"
	KindDeviceOffline Kind = "device_offline"
	KindHubOffline    Kind = "hub_offline"
	KindBatteryLow    Kind = "battery_low"
	KindTamper        Kind = "tamper"
	// KindServiceDue is a device that needs a test or service: an SOS
	// button nobody has pressed (test or real) for 30 days.
	KindServiceDue Kind = "service_due"
)

// Kinds lists every alert kind.
var Kinds = []Kind{KindSOS, KindFall, KindVitals, KindNoSignal, KindBedExit, KindInactivity, KindSmoke,
	KindGas, KindWaterLeak, KindDoorNight, KindDeviceOffline, KindHubOffline, KindBatteryLow, KindTamper, KindServiceDue}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Severity orders alerts by urgency.
type Severity string

// Severities, most urgent first.
const (
	Critical Severity = "critical"
	Major    Severity = "major"
	Minor    Severity = "minor"
)

// Rank is 3 for critical, 2 for major, 1 for minor and 0 for anything else.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 3
	case Major:
		return 2
	case Minor:
		return 1
	}
	return 0
}

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool { return s.Rank() > 0 }

// State is where an alert is in its lifecycle.
type State string

// Alert states.
const (
	Open         State = "open"
	Acknowledged State = "acknowledged"
	Resolved     State = "resolved"
)

// Valid reports whether s is a known state.
func (s State) Valid() bool { return s == Open || s == Acknowledged || s == Resolved }

// Alert is one alarm of one bed. There is at most one alert per bed and
// kind that is not resolved; a repeat raises its Count.
type Alert struct {
	ID       int64     `json:"id"`
	AgencyID string    `json:"agency_id"`
	BedID    string    `json:"bed_id"`
	DeviceID string    `json:"device_id,omitempty"`
	Kind     Kind      `json:"kind"`
	Severity Severity  `json:"severity"`
	State    State     `json:"state"`
	RaisedAt time.Time `json:"raised_at"`
	// LastSeen is the time of the latest signal that raised or repeated it.
	LastSeen       time.Time  `json:"last_seen"`
	Count          int        `json:"count"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	ResolvedBy     string     `json:"resolved_by,omitempty"`
	// ClearedAt is when the condition behind a condition alert ended. An
	// alert cleared before anyone acknowledged it stays open (visible)
	// until someone does.
	ClearedAt *time.Time `json:"cleared_at"`
	// Silenced alerts are recorded but page nobody (maintenance).
	Silenced        bool       `json:"silenced"`
	EscalationLevel int        `json:"escalation_level"`
	NextEscalation  *time.Time `json:"next_escalation_at"`
	// ArrivedAt is when a caregiver checked in at the home after the
	// alert (sos and fall); set by the visit ledger.
	ArrivedAt *time.Time `json:"arrived_at"`
	Detail    string     `json:"detail,omitempty"`
}

// Action names a step in an alert's audit trail.
type Action string

// Trail actions.
const (
	ActionRaised       Action = "raised"
	ActionRepeated     Action = "repeated"
	ActionUpgraded     Action = "upgraded"
	ActionRecurred     Action = "recurred" // raised again after it cleared
	ActionRenotified   Action = "renotified"
	ActionCleared      Action = "cleared"
	ActionAcknowledged Action = "acknowledged"
	ActionResolved     Action = "resolved"
	ActionEscalated    Action = "escalated"
	ActionNoted        Action = "noted"
)

// Transition is one entry of an alert's audit trail: what happened, when,
// by whom (a user id, or "system" for the gateway), with an optional note.
type Transition struct {
	AlertID int64     `json:"alert_id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  Action    `json:"action"`
	State   State     `json:"state"`
	Note    string    `json:"note,omitempty"`
}

// SystemActor is the actor of transitions the gateway makes by itself.
const SystemActor = "system"

// Op says what a Signal asks of the alert of its bed and kind.
type Op uint8

// Signal operations.
const (
	// Raise opens the alert, or repeats it when one is already open.
	Raise Op = iota + 1
	// Clear says the condition ended (condition alerts only).
	Clear
	// Renotify repeats an open alert and restarts its escalation (a long
	// lie not yet resolved).
	Renotify
)

// Signal is what the rules conclude from an observation or from the
// passing of time: raise, clear or re-notify the alert of one bed and kind.
type Signal struct {
	Op       Op
	Kind     Kind
	Severity Severity
	AgencyID string
	BedID    string
	DeviceID string
	// At is when the condition was met: the observation's receive time,
	// or a timer's deadline (not when the timer was noticed).
	At     time.Time
	Detail string
}
