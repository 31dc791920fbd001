package api

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"carebed/alerts"
	"carebed/store"
)

// routesAlerting registers what escalation reads: silences, policies,
// the duty roster and the people it calls (/caregivers).
//
//   - /silences: POST {bed_id, device_id?, until, reason?, created_by?}
//     starts a silence now (created_at is the server's time; created_by
//     defaults to "admin"), answered 201 with its id and a Location; GET
//     lists them by id (?bed=, ?active=true for those in force now),
//     GET/DELETE /silences/{id}. There is no PUT: delete one to end it
//     early, create another to extend it.
//   - /policies/{agency}: PUT replaces the agency's policy (the path names
//     the agency), GET answers 404 while the agency has none (escalation
//     then follows alerts.DefaultPolicy), DELETE; GET /policies lists them
//     by agency id.
//   - /duties: POST (the server assigns the id: 201 with a Location), GET
//     (?agency=, ?person=), GET/PUT/DELETE /duties/{id}.
//   - /caregivers: the people escalation calls (caregivers, dispatchers,
//     managers: field role); POST with the id, GET (?agency=, ?role=),
//     GET/PUT/DELETE /caregivers/{id}. A person still on a duty cannot be
//     deleted (409).
//
// Lists over integer ids page by after like the others; their next is an
// id in decimal.
func (s *server) routesAlerting(v1 fiber.Router) {
	v1.Post("/silences", s.createSilence)
	v1.Get("/silences", s.listSilences)
	v1.Get("/silences/:id<int>", s.getSilence)
	v1.Delete("/silences/:id<int>", s.deleteSilence)
	v1.Get("/policies", s.listPolicies)
	v1.Get("/policies/:id", s.getPolicy)
	v1.Put("/policies/:id", s.putPolicy)
	v1.Delete("/policies/:id", s.deletePolicy)
	v1.Post("/duties", s.createDuty)
	v1.Get("/duties", s.listDuties)
	v1.Get("/duties/:id<int>", s.getDuty)
	v1.Put("/duties/:id<int>", s.updateDuty)
	v1.Delete("/duties/:id<int>", s.deleteDuty)
	v1.Post("/caregivers", s.createPerson)
	v1.Get("/caregivers", s.listPeople)
	v1.Get("/caregivers/:id", s.getPerson)
	v1.Put("/caregivers/:id", s.updatePerson)
	v1.Delete("/caregivers/:id", s.deletePerson)
}

// silenceInput is a silence as a client sends it: it starts now, and
// created_by defaults to the admin.
type silenceInput struct {
	BedID     string    `json:"bed_id"`
	DeviceID  string    `json:"device_id"`
	Until     time.Time `json:"until"`
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by"`
}

func (s *server) createSilence(c *fiber.Ctx) error {
	var in silenceInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	if in.CreatedBy == "" {
		in.CreatedBy = adminActor
	} else if !store.ValidID(in.CreatedBy) {
		return &Problem{Status: fiber.StatusUnprocessableEntity, Code: codeInvalid, Field: "created_by",
			Detail: "invalid created_by: give a user id of 1-64 characters from A-Z a-z 0-9 . _ : -, or leave it out"}
	}
	sl, err := s.Store.CreateSilence(c.UserContext(), alerts.Silence{BedID: in.BedID, DeviceID: in.DeviceID,
		Until: in.Until, Reason: in.Reason, CreatedBy: in.CreatedBy, CreatedAt: s.Now().UTC()})
	if err != nil {
		return err
	}
	c.Location("/api/v1/silences/" + strconv.FormatInt(sl.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(sl)
}

func (s *server) getSilence(c *fiber.Ctx) error {
	id, err := pathInt(c, "silence")
	if err != nil {
		return err
	}
	sl, err := s.Store.GetSilence(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(sl)
}

func (s *server) deleteSilence(c *fiber.Ctx) error {
	id, err := pathInt(c, "silence")
	if err != nil {
		return err
	}
	if err := s.Store.DeleteSilence(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// listSilences serves GET /silences[?bed=][&active=true]: active keeps
// the silences in force now.
func (s *server) listSilences(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	if _, err := idAfter(p); err != nil {
		return err
	}
	f := store.SilenceFilter{BedID: c.Query("bed"), Page: p}
	switch c.Query("active") {
	case "", "false", "0":
	case "true", "1":
		f.ActiveAt = s.Now().UTC()
	default:
		return badQuery("active", "use true or false")
	}
	items, err := s.Store.ListSilences(c.UserContext(), f)
	if err != nil {
		return err
	}
	out, err := listOf(items, p.Limit, silenceID, func(last alerts.Silence) ([]alerts.Silence, error) {
		f.Page = store.Page{Limit: 1, After: silenceID(last)}
		return s.Store.ListSilences(c.UserContext(), f)
	})
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// idAfter checks the after cursor of a list over integer ids.
func idAfter(p store.Page) (int64, error) {
	if p.After == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(p.After, 10, 64)
	if err != nil || n < 0 {
		return 0, badQuery("after", "use the next of the previous page")
	}
	return n, nil
}

func silenceID(sl alerts.Silence) string { return strconv.FormatInt(sl.ID, 10) }
func dutyID(d alerts.Duty) string        { return strconv.FormatInt(d.ID, 10) }
func policyID(p alerts.Policy) string    { return p.AgencyID }
func personID(p alerts.Person) string    { return p.ID }

func (s *server) putPolicy(c *fiber.Ctx) error {
	var p alerts.Policy
	if err := decodeBody(c, &p); err != nil {
		return err
	}
	p.AgencyID = pathID(c)
	if err := s.Store.PutPolicy(c.UserContext(), p); err != nil {
		return err
	}
	p, err := s.Store.GetPolicy(c.UserContext(), p.AgencyID)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *server) getPolicy(c *fiber.Ctx) error {
	p, err := s.Store.GetPolicy(c.UserContext(), pathID(c))
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w; until one is put, escalation follows the default policy (every target in turn, default timeouts)", err)
	}
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *server) deletePolicy(c *fiber.Ctx) error {
	if err := s.Store.DeletePolicy(c.UserContext(), pathID(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *server) listPolicies(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	items, err := s.Store.ListPolicies(c.UserContext(), p)
	if err != nil {
		return err
	}
	out, err := listOf(items, p.Limit, policyID, func(last alerts.Policy) ([]alerts.Policy, error) {
		return s.Store.ListPolicies(c.UserContext(), store.Page{Limit: 1, After: last.AgencyID})
	})
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) createDuty(c *fiber.Ctx) error {
	var d alerts.Duty
	if err := decodeBody(c, &d); err != nil {
		return err
	}
	id, err := s.Store.CreateDuty(c.UserContext(), d)
	if err != nil {
		return err
	}
	if d, err = s.Store.GetDuty(c.UserContext(), id); err != nil {
		return err
	}
	c.Location("/api/v1/duties/" + dutyID(d))
	return c.Status(fiber.StatusCreated).JSON(d)
}

func (s *server) getDuty(c *fiber.Ctx) error {
	id, err := pathInt(c, "duty")
	if err != nil {
		return err
	}
	d, err := s.Store.GetDuty(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (s *server) updateDuty(c *fiber.Ctx) error {
	id, err := pathInt(c, "duty")
	if err != nil {
		return err
	}
	var d alerts.Duty
	if err := decodeBody(c, &d); err != nil {
		return err
	}
	d.ID = id
	if err := s.Store.UpdateDuty(c.UserContext(), d); err != nil {
		return err
	}
	if d, err = s.Store.GetDuty(c.UserContext(), id); err != nil {
		return err
	}
	return c.JSON(d)
}

func (s *server) deleteDuty(c *fiber.Ctx) error {
	id, err := pathInt(c, "duty")
	if err != nil {
		return err
	}
	if err := s.Store.DeleteDuty(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// listDuties serves GET /duties[?agency=][&person=].
func (s *server) listDuties(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	if _, err := idAfter(p); err != nil {
		return err
	}
	f := store.DutyFilter{AgencyID: c.Query("agency"), PersonID: c.Query("person"), Page: p}
	items, err := s.Store.ListDuties(c.UserContext(), f)
	if err != nil {
		return err
	}
	out, err := listOf(items, p.Limit, dutyID, func(last alerts.Duty) ([]alerts.Duty, error) {
		f.Page = store.Page{Limit: 1, After: dutyID(last)}
		return s.Store.ListDuties(c.UserContext(), f)
	})
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) createPerson(c *fiber.Ctx) error {
	var p alerts.Person
	if err := decodeBody(c, &p); err != nil {
		return err
	}
	if err := s.Store.CreatePerson(c.UserContext(), p); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

func (s *server) getPerson(c *fiber.Ctx) error {
	p, err := s.Store.GetPerson(c.UserContext(), pathID(c))
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *server) updatePerson(c *fiber.Ctx) error {
	var p alerts.Person
	if err := decodeBody(c, &p); err != nil {
		return err
	}
	p.ID = pathID(c)
	if err := s.Store.UpdatePerson(c.UserContext(), p); err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *server) deletePerson(c *fiber.Ctx) error {
	if err := s.Store.DeletePerson(c.UserContext(), pathID(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// listPeople serves GET /caregivers[?agency=][&role=].
func (s *server) listPeople(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	role := c.Query("role")
	if role != "" && !slices.Contains(store.Roles, role) {
		return badQuery("role", "use caregiver, dispatcher or manager")
	}
	f := store.PersonFilter{AgencyID: c.Query("agency"), Role: role, Page: p}
	items, err := s.Store.ListPeople(c.UserContext(), f)
	if err != nil {
		return err
	}
	out, err := listOf(items, p.Limit, personID, func(last alerts.Person) ([]alerts.Person, error) {
		f.Page = store.Page{Limit: 1, After: last.ID}
		return s.Store.ListPeople(c.UserContext(), f)
	})
	if err != nil {
		return err
	}
	return c.JSON(out)
}
