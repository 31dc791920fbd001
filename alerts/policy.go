package alerts

import (
	"slices"
	"time"
)

// Target is who an escalation step calls, resolved against the roster of
// the alert's bed at the time of the step.
type Target string

// Escalation targets, in the usual order of a policy.
const (
	TargetPrimaryCaregiver Target = "primary_caregiver"
	TargetBackupCaregiver  Target = "backup_caregiver"
	TargetDispatcher       Target = "dispatcher" // the dispatcher on duty
	TargetManager          Target = "manager"    // the agency manager
	TargetFamily           Target = "family"     // the bed's family contact
)

// Targets lists every escalation target.
var Targets = []Target{TargetPrimaryCaregiver, TargetBackupCaregiver, TargetDispatcher, TargetManager, TargetFamily}

// Valid reports whether t is a known target.
func (t Target) Valid() bool { return slices.Contains(Targets, t) }

// Step is one step of an escalation policy: whom to call, and how long to
// wait for an acknowledgement before the next step, per severity.
type Step struct {
	Target Target `json:"target"`
	// Timeouts per severity; zero means the policy default (60 s for
	// critical, 5 min for major, 30 min for minor).
	Critical Duration `json:"critical,omitempty"`
	Major    Duration `json:"major,omitempty"`
	Minor    Duration `json:"minor,omitempty"`
}

// Policy is an agency's escalation policy.
type Policy struct {
	AgencyID string `json:"agency_id"`
	Steps    []Step `json:"steps"`
	// RepeatEvery is how often a critical alert that went through every
	// step without an acknowledgement calls the last step again (zero: the
	// last step's critical timeout).
	RepeatEvery Duration `json:"repeat_every,omitempty"`
}

// Person is someone an escalation can call: a caregiver, dispatcher or
// manager of an agency. Name and phone are personal data: never logged.
type Person struct {
	ID       string `json:"id"`
	AgencyID string `json:"agency_id"`
	Name     string `json:"name"`
	Phone    string `json:"phone,omitempty"`
	// Role is caregiver, dispatcher or manager.
	Role string `json:"role"`
}

// Duty is one roster entry: a person covering a duty (a Target other than
// family) for some beds of an agency during shifts. Shifts are either
// recurring (Cron, a 5-field cron expression in the configured zone, for
// the start, plus Length) or one explicit period (Start to End).
type Duty struct {
	ID       int64  `json:"id"`
	AgencyID string `json:"agency_id"`
	PersonID string `json:"person_id"`
	Target   Target `json:"target"`
	// Beds the entry covers; empty means every bed of the agency.
	Beds   []string   `json:"beds,omitempty"`
	Cron   string     `json:"cron,omitempty"`
	Length Duration   `json:"length,omitempty"`
	Start  *time.Time `json:"start,omitempty"`
	End    *time.Time `json:"end,omitempty"`
}

// Silence is a maintenance window: alerts of the bed (or only of the
// device, when DeviceID is set) raised before Until are recorded but page
// nobody.
type Silence struct {
	ID        int64     `json:"id"`
	BedID     string    `json:"bed_id"`
	DeviceID  string    `json:"device_id,omitempty"`
	Until     time.Time `json:"until"`
	Reason    string    `json:"reason,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Covers reports whether the silence applies to an alert of bed and device
// raised at.
func (s Silence) Covers(bedID, deviceID string, at time.Time) bool {
	if s.BedID != bedID || !at.Before(s.Until) || at.Before(s.CreatedAt) {
		return false
	}
	return s.DeviceID == "" || s.DeviceID == deviceID
}

// Request asks a notification channel to tell one person about one alert.
// PersonID is a Person's id, or "family:<bed id>" for the bed's family
// contact.
type Request struct {
	ID       int64     `json:"id"`
	AlertID  int64     `json:"alert_id"`
	PersonID string    `json:"person_id"`
	Target   Target    `json:"target"`
	Level    int       `json:"level"`
	Reason   Action    `json:"reason"` // raised, escalated, renotified, repeated
	At       time.Time `json:"at"`
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("60s", "5m").
type Duration time.Duration

// MarshalText writes the duration as "1m0s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
