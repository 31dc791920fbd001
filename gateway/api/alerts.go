package api

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"carebed/alerts"
	"carebed/store"
)

// The alert routes, and the choices made where DESIGN.md is silent:
//
//   - GET /alerts lists newest first, like /deadletters: a page's next is
//     an alert id, passed back as before (not after). Filters: state, bed,
//     kind, severity, agency, since (RFC 3339, Unix ms or -24h). An
//     unknown state, kind or severity is a 400 naming the parameter.
//   - GET /alerts/{id} is the alert with its trail and notifications.
//   - POST /alerts/{id}/ack, /resolve and /notes take an optional body
//     {"note": "...", "by": "user-id"}; an empty body is {}. The trail's
//     actor is "by" when given (the admin acting for a named person, e.g. a
//     dispatcher's console), else "admin". When per-user tokens arrive,
//     the token's user will be the actor and "by" only honoured for
//     admins. A state that does not allow the action is 409 wrong_state; a
//     missing note (a note's text, or resolving a critical alert) is 422
//     note_required with field "note". Without a desk they answer 503.
//   - Integer ids are route-constrained: /alerts/abc is "no such route"
//     (404), which leaves /alerts/stream free for the event stream.
//   - GET /kpis/response?month=YYYY-MM[&agency=] counts the alerts raised
//     in that month of Deps.Zone (Asia/Shanghai by default); an unknown
//     agency is 404, an agency without alerts gives no items.

// AlertDesk changes alerts on a person's behalf, and the rules that raise
// them. The gateway's alarm desk implements it: it holds the live alerts
// and rules, applies the alerts lifecycle and stores the result, so that
// the alarm consumer and the API never write an alert past each other.
// Errors: store.ErrNotFound, store.ErrInvalid, alerts.ErrState,
// alerts.ErrNoteRequired.
type AlertDesk interface {
	Acknowledge(ctx context.Context, id int64, actor, note string) (alerts.Alert, error)
	Resolve(ctx context.Context, id int64, actor, note string) (alerts.Alert, error)
	AddNote(ctx context.Context, id int64, actor, note string) (alerts.Transition, error)
	// BedChanged, BedRemoved and DeviceRemoved keep the alarm rules in step
	// with the registry.
	BedChanged(ctx context.Context, bedID string) error
	BedRemoved(ctx context.Context, bedID string) error
	DeviceRemoved(ctx context.Context, bedID, deviceID string) error
	// PutBedRules stores a bed's overrides of the alarm rules and applies
	// them; DeleteBedRules puts the bed back on the configured rules.
	PutBedRules(ctx context.Context, r alerts.BedRules) error
	DeleteBedRules(ctx context.Context, bedID string) error
}

// adminActor is who the admin token acts as in audit trails when a request
// does not say on whose behalf it acts.
const adminActor = "admin"

// routesAlerts registers the alert routes and those of what escalation
// reads. Integer ids are constrained (":id<int>") so that a word after
// /alerts/ (such as the event stream) is left to its own route.
func (s *server) routesAlerts(v1 fiber.Router) {
	v1.Get("/alerts", s.listAlerts)
	v1.Get("/alerts/:id<int>", s.getAlert)
	v1.Post("/alerts/:id<int>/ack", s.ackAlert)
	v1.Post("/alerts/:id<int>/resolve", s.resolveAlert)
	v1.Post("/alerts/:id<int>/notes", s.noteAlert)
	v1.Get("/incidents", s.listIncidents)
	v1.Get("/kpis/response", s.responseKPIs)
	s.routesAlerting(v1)
}

// pathInt reads an integer id path parameter; one out of range is an id
// that does not exist.
func pathInt(c *fiber.Ctx, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, &Problem{Status: fiber.StatusNotFound, Code: codeNotFound, Detail: fmt.Sprintf("no such %s", what)}
	}
	return id, nil
}

// badQuery is a 400 naming the query parameter at fault.
func badQuery(param, detail string) error {
	return &Problem{Status: fiber.StatusBadRequest, Code: codeBadRequest, Field: param, Detail: param + ": " + detail}
}

// newestFirst reads limit and before, the paging of lists newest first.
func newestFirst(c *fiber.Ctx) (limit int, before int64, err error) {
	limit = store.DefaultLimit
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxLimit {
			return 0, 0, badQuery("limit", fmt.Sprintf("use 1..%d", store.MaxLimit))
		}
		limit = n
	}
	if b := c.Query("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			return 0, 0, badQuery("before", "use the next of the previous page")
		}
		before = n
	}
	return limit, before, nil
}

// listAlerts serves GET /alerts: newest first, filtered by state, bed,
// kind, severity, agency and since (raised at or after; RFC 3339, Unix
// milliseconds or -24h). A page's next goes in before.
func (s *server) listAlerts(c *fiber.Ctx) error {
	f := store.AlertFilter{
		State:    alerts.State(c.Query("state")),
		BedID:    c.Query("bed"),
		Kind:     alerts.Kind(c.Query("kind")),
		Severity: alerts.Severity(c.Query("severity")),
		AgencyID: c.Query("agency"),
	}
	switch {
	case f.State != "" && !f.State.Valid():
		return badQuery("state", "use open, acknowledged or resolved")
	case f.Kind != "" && !f.Kind.Valid():
		return badQuery("kind", "use one of "+kindList())
	case f.Severity != "" && !f.Severity.Valid():
		return badQuery("severity", "use critical, major or minor")
	}
	if since := c.Query("since"); since != "" {
		t, err := parseTime(since, s.Now(), time.Time{})
		if err != nil {
			return badQuery("since", "use RFC 3339 (2025-01-02T15:04:05+08:00), Unix milliseconds or -24h")
		}
		f.Since = t
	}
	var err error
	if f.Limit, f.Before, err = newestFirst(c); err != nil {
		return err
	}
	items, err := s.Store.ListAlerts(c.UserContext(), f)
	if errors.Is(err, store.ErrInvalid) {
		return errBadRequest(err.Error()) // only the query can be at fault (a since out of range)
	}
	if err != nil {
		return err
	}
	out, err := listOf(items, f.Limit, alertID, func(last alerts.Alert) ([]alerts.Alert, error) {
		more := f
		more.Limit, more.Before = 1, last.ID
		return s.Store.ListAlerts(c.UserContext(), more)
	})
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func alertID(a alerts.Alert) string { return strconv.FormatInt(a.ID, 10) }

func kindList() string {
	s := make([]string, len(alerts.Kinds))
	for i, k := range alerts.Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// alertView is an alert with its audit trail and notifications.
type alertView struct {
	alerts.Alert
	Trail         []alerts.Transition  `json:"trail"`
	Notifications []store.Notification `json:"notifications"`
}

func (s *server) getAlert(c *fiber.Ctx) error {
	id, err := pathInt(c, "alert")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	a, err := s.Store.GetAlert(ctx, id)
	if err != nil {
		return err
	}
	v := alertView{Alert: a}
	if v.Trail, err = s.Store.AlertTrail(ctx, id); err != nil {
		return err
	}
	if v.Notifications, err = s.Store.ListNotifications(ctx, id); err != nil {
		return err
	}
	v.Trail, v.Notifications = nonNil(v.Trail), nonNil(v.Notifications)
	return c.JSON(v)
}

// actionInput is the body of ack, resolve and notes; all of it is
// optional. By names the person the admin acts for in the trail ("admin"
// when left out).
type actionInput struct {
	Note string `json:"note"`
	By   string `json:"by"`
}

// action reads the alert id and the optional body of an alert action, and
// returns the actor for the trail.
func (s *server) action(c *fiber.Ctx) (id int64, actor, note string, err error) {
	if s.Alerts == nil {
		return 0, "", "", &Problem{Status: fiber.StatusServiceUnavailable, Code: codeUnavailable,
			Detail: "the alarm desk is not running; try again later"}
	}
	if id, err = pathInt(c, "alert"); err != nil {
		return 0, "", "", err
	}
	var in actionInput
	if len(strings.TrimSpace(string(c.Body()))) > 0 {
		if err := decodeBody(c, &in); err != nil {
			return 0, "", "", err
		}
	}
	switch {
	case len(in.Note) > store.MaxNote:
		return 0, "", "", &Problem{Status: fiber.StatusUnprocessableEntity, Code: codeInvalid, Field: "note",
			Detail: fmt.Sprintf("invalid note: use at most %d bytes", store.MaxNote)}
	case in.By != "" && !store.ValidID(in.By):
		return 0, "", "", &Problem{Status: fiber.StatusUnprocessableEntity, Code: codeInvalid, Field: "by",
			Detail: "invalid by: give a user id of 1-64 characters from A-Z a-z 0-9 . _ : -, or leave it out"}
	}
	actor = adminActor
	if in.By != "" {
		actor = in.By
	}
	return id, actor, in.Note, nil
}

// deskErr gives a missing note the field it is about.
func deskErr(err error) error {
	if errors.Is(err, alerts.ErrNoteRequired) {
		return &Problem{Status: fiber.StatusUnprocessableEntity, Code: codeNoteRequired, Field: "note", Detail: err.Error()}
	}
	return err
}

func (s *server) ackAlert(c *fiber.Ctx) error {
	id, actor, note, err := s.action(c)
	if err != nil {
		return err
	}
	a, err := s.Alerts.Acknowledge(c.UserContext(), id, actor, note)
	if err != nil {
		return deskErr(err)
	}
	return c.JSON(a)
}

func (s *server) resolveAlert(c *fiber.Ctx) error {
	id, actor, note, err := s.action(c)
	if err != nil {
		return err
	}
	a, err := s.Alerts.Resolve(c.UserContext(), id, actor, note)
	if err != nil {
		return deskErr(err)
	}
	return c.JSON(a)
}

func (s *server) noteAlert(c *fiber.Ctx) error {
	id, actor, note, err := s.action(c)
	if err != nil {
		return err
	}
	t, err := s.Alerts.AddNote(c.UserContext(), id, actor, note)
	if err != nil {
		return deskErr(err)
	}
	return c.Status(fiber.StatusCreated).JSON(t)
}

// defaultZone is the civil zone when Deps.Zone is nil (DESIGN.md). China
// has kept UTC+8 without summer time since 1991, so a fixed zone stands in
// when the zone database is missing.
var defaultZone = sync.OnceValue(func() *time.Location {
	if z, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return z
	}
	return time.FixedZone("Asia/Shanghai", 8*60*60)
})

func (s *server) zone() *time.Location {
	if s.Zone != nil {
		return s.Zone
	}
	return defaultZone()
}

// responseKPIs serves GET /kpis/response?month=YYYY-MM[&agency=]: each
// agency's answer to the alerts raised in the month (in the configured
// zone), as alerts.ResponseKPIs measures it.
func (s *server) responseKPIs(c *fiber.Ctx) error {
	ctx, zone := c.UserContext(), s.zone()
	month := string([]byte(c.Query("month")))
	first, err := time.ParseInLocation("2006-01", month, zone)
	if err != nil || first.Year() < 1900 || first.Year() > 2199 {
		return badQuery("month", "use YYYY-MM, such as 2025-03")
	}
	agency := c.Query("agency")
	if agency != "" {
		if _, err := s.Store.GetAgency(ctx, agency); err != nil {
			return err
		}
	}
	list, err := s.Store.AlertsRaisedBetween(ctx, first, first.AddDate(0, 1, 0))
	if err != nil {
		return err
	}
	if agency != "" {
		kept := list[:0]
		for _, a := range list {
			if a.AgencyID == agency {
				kept = append(kept, a)
			}
		}
		list = kept
	}
	areas, err := s.areaTypes(ctx, agency)
	if err != nil {
		return err
	}
	items, err := alerts.ResponseKPIs(list, month, zone, func(bed string) string { return areas[bed] }, s.Now())
	if err != nil {
		return badQuery("month", err.Error())
	}
	return c.JSON(fiber.Map{"month": month, "items": nonNil(items)})
}

// areaTypes maps the id of every bed (of the agency, when given) to its
// area type. A bed deleted since its alert is unknown, which the KPIs
// treat as urban, the stricter target.
func (s *server) areaTypes(ctx context.Context, agency string) (map[string]string, error) {
	areas := map[string]string{}
	f := store.BedFilter{AgencyID: agency, Page: store.Page{Limit: store.MaxLimit}}
	for {
		beds, err := s.Store.ListBeds(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, b := range beds {
			areas[b.ID] = b.AreaType
		}
		if len(beds) < f.Limit {
			return areas, nil
		}
		f.After = beds[len(beds)-1].ID
	}
}
