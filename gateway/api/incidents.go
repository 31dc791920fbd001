package api

import (
	"sort"
	"time"

	"github.com/gofiber/fiber/v2"

	"carebed/alerts"
)

// Incident is what a dispatcher sees of a bed with alerts not yet
// resolved: one row however many alerts the bed has (a fall that also
// set off a long lie, a door left open and the elder out of bed).
type Incident struct {
	BedID    string          `json:"bed_id"`
	AgencyID string          `json:"agency_id"`
	Severity alerts.Severity `json:"severity"` // the highest of its alerts
	// State is open while any of its alerts waits for an acknowledgement.
	State    alerts.State   `json:"state"`
	Since    time.Time      `json:"since"`     // the earliest raise
	LastSeen time.Time      `json:"last_seen"` // the latest signal
	Alerts   []alerts.Alert `json:"alerts"`
}

// listIncidents answers GET /api/v1/incidents[?agency=]: the unresolved
// alerts grouped by bed, those waiting for someone first, then by
// severity, then oldest first.
func (s *server) listIncidents(c *fiber.Ctx) error {
	list, err := s.Store.UnresolvedAlerts(c.UserContext())
	if err != nil {
		return err
	}
	agency := c.Query("agency")
	byBed := map[string]*Incident{}
	var out []*Incident
	for _, a := range list {
		if agency != "" && a.AgencyID != agency {
			continue
		}
		in := byBed[a.BedID]
		if in == nil {
			in = &Incident{BedID: a.BedID, AgencyID: a.AgencyID, Severity: a.Severity, State: alerts.Acknowledged, Since: a.RaisedAt, LastSeen: a.LastSeen}
			byBed[a.BedID] = in
			out = append(out, in)
		}
		in.Alerts = append(in.Alerts, a)
		if a.Severity.Rank() > in.Severity.Rank() {
			in.Severity = a.Severity
		}
		if a.State == alerts.Open {
			in.State = alerts.Open
		}
		if a.RaisedAt.Before(in.Since) {
			in.Since = a.RaisedAt
		}
		if a.LastSeen.After(in.LastSeen) {
			in.LastSeen = a.LastSeen
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.State == alerts.Open) != (b.State == alerts.Open) {
			return a.State == alerts.Open
		}
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		if !a.Since.Equal(b.Since) {
			return a.Since.Before(b.Since)
		}
		return a.BedID < b.BedID
	})
	for _, in := range out {
		sort.Slice(in.Alerts, func(i, j int) bool {
			return in.Alerts[i].Severity.Rank() > in.Alerts[j].Severity.Rank() ||
				in.Alerts[i].Severity == in.Alerts[j].Severity && in.Alerts[i].ID < in.Alerts[j].ID
		})
	}
	if out == nil {
		out = []*Incident{}
	}
	return c.JSON(fiber.Map{"items": out})
}
