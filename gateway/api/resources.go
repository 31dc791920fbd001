package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"carebed/devices"
	"carebed/store"
)

// list is the shape of every list response.
type list[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

func decodeBody(c *fiber.Ctx, v any) error {
	if err := json.Unmarshal(c.Body(), v); err != nil {
		return errBadRequest(fmt.Sprintf("request body is not the expected JSON: %v", err))
	}
	return nil
}

func page(c *fiber.Ctx) (store.Page, error) {
	p := store.Page{Limit: 100, After: c.Query("after")}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return p, errBadRequest("limit must be 1..1000")
		}
		p.Limit = n
	}
	return p, nil
}

func nextOf[T any](items []T, limit int, id func(T) string) string {
	if len(items) < limit || len(items) == 0 {
		return ""
	}
	return id(items[len(items)-1])
}

// pathID copies the id path parameter out of Fiber's request buffer.
func pathID(c *fiber.Ctx) string { return string([]byte(c.Params("id"))) }

func (s *server) createAgency(c *fiber.Ctx) error {
	var a devices.Agency
	if err := decodeBody(c, &a); err != nil {
		return err
	}
	if err := s.Store.CreateAgency(c.UserContext(), a); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(a)
}

func (s *server) getAgency(c *fiber.Ctx) error {
	a, err := s.Store.GetAgency(c.UserContext(), pathID(c))
	if err != nil {
		return err
	}
	return c.JSON(a)
}

func (s *server) updateAgency(c *fiber.Ctx) error {
	var a devices.Agency
	if err := decodeBody(c, &a); err != nil {
		return err
	}
	a.ID = pathID(c)
	if err := s.Store.UpdateAgency(c.UserContext(), a); err != nil {
		return err
	}
	return c.JSON(a)
}

func (s *server) deleteAgency(c *fiber.Ctx) error {
	if err := s.Store.DeleteAgency(c.UserContext(), pathID(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *server) listAgencies(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	items, err := s.Store.ListAgencies(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.JSON(list[devices.Agency]{Items: nonNil(items), Next: nextOf(items, p.Limit, func(a devices.Agency) string { return a.ID })})
}

func (s *server) createBed(c *fiber.Ctx) error {
	var b devices.Bed
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if err := s.Store.CreateBed(c.UserContext(), b); err != nil {
		return err
	}
	b, err := s.Store.GetBed(c.UserContext(), b.ID)
	if err != nil {
		return err
	}
	s.Registry.PutBed(b)
	return c.Status(fiber.StatusCreated).JSON(b)
}

func (s *server) getBed(c *fiber.Ctx) error {
	b, err := s.Store.GetBed(c.UserContext(), pathID(c))
	if err != nil {
		return err
	}
	return c.JSON(b)
}

func (s *server) updateBed(c *fiber.Ctx) error {
	var b devices.Bed
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	b.ID = pathID(c)
	if err := s.Store.UpdateBed(c.UserContext(), b); err != nil {
		return err
	}
	b, err := s.Store.GetBed(c.UserContext(), b.ID)
	if err != nil {
		return err
	}
	s.Registry.PutBed(b)
	return c.JSON(b)
}

func (s *server) deleteBed(c *fiber.Ctx) error {
	id := pathID(c)
	if err := s.Store.DeleteBed(c.UserContext(), id); err != nil {
		return err
	}
	s.Registry.RemoveBed(id)
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *server) listBeds(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	items, err := s.Store.ListBeds(c.UserContext(), store.BedFilter{AgencyID: c.Query("agency"), Page: p})
	if err != nil {
		return err
	}
	return c.JSON(list[devices.Bed]{Items: nonNil(items), Next: nextOf(items, p.Limit, func(b devices.Bed) string { return b.ID })})
}

func (s *server) createDevice(c *fiber.Ctx) error {
	var d devices.Device
	if err := decodeBody(c, &d); err != nil {
		return err
	}
	d.Health = devices.Health{} // read-only
	if err := s.Store.CreateDevice(c.UserContext(), d); err != nil {
		return err
	}
	d, err := s.Store.GetDevice(c.UserContext(), d.ID)
	if err != nil {
		return err
	}
	s.Registry.PutDevice(d)
	// Messages it sent before it was registered are no longer unknown.
	if err := s.Store.DeleteUnknown(c.UserContext(), d.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.Log.Warn("forget unknown device after registration", "device", d.ID, "err", err)
	}
	return c.Status(fiber.StatusCreated).JSON(s.withHealth(d))
}

func (s *server) getDevice(c *fiber.Ctx) error {
	d, err := s.Store.GetDevice(c.UserContext(), pathID(c))
	if err != nil {
		return err
	}
	return c.JSON(s.withHealth(d))
}

func (s *server) updateDevice(c *fiber.Ctx) error {
	var d devices.Device
	if err := decodeBody(c, &d); err != nil {
		return err
	}
	d.ID = pathID(c)
	if err := s.Store.UpdateDevice(c.UserContext(), d); err != nil {
		return err
	}
	d, err := s.Store.GetDevice(c.UserContext(), d.ID)
	if err != nil {
		return err
	}
	s.Registry.PutDevice(d)
	return c.JSON(s.withHealth(d))
}

func (s *server) deleteDevice(c *fiber.Ctx) error {
	id := pathID(c)
	if err := s.Store.DeleteDevice(c.UserContext(), id); err != nil {
		return err
	}
	s.Registry.RemoveDevice(id)
	s.Monitor.Forget(id)
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *server) listDevices(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	items, err := s.Store.ListDevices(c.UserContext(), store.DeviceFilter{BedID: c.Query("bed"), Page: p})
	if err != nil {
		return err
	}
	for i := range items {
		items[i] = s.withHealth(items[i])
	}
	return c.JSON(list[devices.Device]{Items: nonNil(items), Next: nextOf(items, p.Limit, func(d devices.Device) string { return d.ID })})
}

// withHealth overlays the live health the monitor holds on the stored one,
// which is saved in batches.
func (s *server) withHealth(d devices.Device) devices.Device {
	if h, ok := s.Monitor.Get(d.ID); ok {
		d.Health = h
	}
	return d
}

func (s *server) listUnknown(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	items, err := s.Store.ListUnknown(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.JSON(list[store.UnknownDevice]{Items: nonNil(items), Next: nextOf(items, p.Limit, func(u store.UnknownDevice) string { return u.Key })})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
