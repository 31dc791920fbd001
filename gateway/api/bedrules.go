package api

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"carebed/alerts"
	"carebed/store"
)

// routesBedRules registers a bed's overrides of the alarm rules (a
// doctor's order for one elder's vital-sign bands, the night window of an
// elder who sleeps early):
//
//   - GET /beds/{id}/rules: the overrides, with the bed's agency; 404
//     while the bed has none (its alarms follow the configured rules).
//   - PUT /beds/{id}/rules: replaces the overrides; the path names the bed
//     (a bed_id or agency_id in the body is ignored). Body:
//     {"vitals": {"heart_rate": {"low": 35, "high": 120, "margin": 2}, ...},
//     "night_start": "20:00", "night_end": "06:00"}, every member
//     optional; a band left out or {} keeps the configured one. A wrong
//     value is 422 naming the field ("vitals.heart_rate", "night_start").
//   - DELETE /beds/{id}/rules: back to the configured rules; 404 when the
//     bed has no overrides.
//
// PUT and DELETE go through the alarm desk, which applies them to the
// running rules at once (503 without a desk); GET reads the store. The
// routes have one more path segment than /beds/{id}, which cannot match
// them, so their order among the bed routes does not matter.
func (s *server) routesBedRules(v1 fiber.Router) {
	v1.Get("/beds/:id/rules", s.getBedRules)
	v1.Put("/beds/:id/rules", s.putBedRules)
	v1.Delete("/beds/:id/rules", s.deleteBedRules)
}

// bedRulesInput is the body of PUT /beds/{id}/rules. The night window is
// read here, not by alerts.ClockTime, so that a wrong time is a 422 naming
// its field rather than an unreadable body.
type bedRulesInput struct {
	Vitals     *alerts.Thresholds `json:"vitals"`
	NightStart *string            `json:"night_start"`
	NightEnd   *string            `json:"night_end"`
}

func (in bedRulesInput) rules(bedID string) (alerts.BedRules, error) {
	r := alerts.BedRules{BedID: bedID, Vitals: in.Vitals}
	for _, f := range []struct {
		name string
		in   *string
		out  **alerts.ClockTime
	}{{"night_start", in.NightStart, &r.NightStart}, {"night_end", in.NightEnd, &r.NightEnd}} {
		if f.in == nil {
			continue
		}
		c, err := alerts.ParseClockTime(*f.in)
		if err != nil {
			return alerts.BedRules{}, &Problem{Status: fiber.StatusUnprocessableEntity, Code: codeInvalid, Field: f.name,
				Detail: fmt.Sprintf("invalid %s: use a time of day as HH:MM, such as 20:00, or leave it out for the configured night", f.name)}
		}
		*f.out = &c
	}
	return r, nil
}

func (s *server) getBedRules(c *fiber.Ctx) error {
	ctx, id := c.UserContext(), pathID(c)
	r, err := s.Store.GetBedRules(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		if _, berr := s.Store.GetBed(ctx, id); berr != nil {
			return berr // no such bed: its own 404
		}
		return fmt.Errorf("%w; until some are put, the bed's alarms follow the configured rules (defaults apply)", err)
	}
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *server) putBedRules(c *fiber.Ctx) error {
	if err := s.needDesk(); err != nil {
		return err
	}
	var in bedRulesInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	r, err := in.rules(pathID(c))
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := s.Alerts.PutBedRules(ctx, r); err != nil {
		return err
	}
	if r, err = s.Store.GetBedRules(ctx, r.BedID); err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *server) deleteBedRules(c *fiber.Ctx) error {
	if err := s.needDesk(); err != nil {
		return err
	}
	if err := s.Alerts.DeleteBedRules(c.UserContext(), pathID(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// needDesk is a 503 when no alarm desk runs.
func (s *server) needDesk() error {
	if s.Alerts == nil {
		return &Problem{Status: fiber.StatusServiceUnavailable, Code: codeUnavailable,
			Detail: "the alarm desk is not running; try again later"}
	}
	return nil
}
