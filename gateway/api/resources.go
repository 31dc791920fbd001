package api

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"carebed/devices"
	"carebed/store"
)

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
	out, err := listOf(items, p.Limit, agencyID, func(last devices.Agency) ([]devices.Agency, error) {
		return s.Store.ListAgencies(c.UserContext(), store.Page{Limit: 1, After: last.ID})
	})
	if err != nil {
		return err
	}
	return c.JSON(out)
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
	if err := s.rulesBedChanged(c, b.ID); err != nil {
		return err
	}
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
	if err := s.rulesBedChanged(c, b.ID); err != nil {
		return err
	}
	return c.JSON(b)
}

func (s *server) deleteBed(c *fiber.Ctx) error {
	id := pathID(c)
	if err := s.Store.DeleteBed(c.UserContext(), id); err != nil {
		return err
	}
	s.Registry.RemoveBed(id)
	if s.Alerts != nil {
		if err := s.Alerts.BedRemoved(c.UserContext(), id); err != nil {
			return err
		}
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *server) listBeds(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f := store.BedFilter{AgencyID: c.Query("agency"), Page: p}
	items, err := s.Store.ListBeds(c.UserContext(), f)
	if err != nil {
		return err
	}
	out, err := listOf(items, p.Limit, bedID, func(last devices.Bed) ([]devices.Bed, error) {
		f.Page = store.Page{Limit: 1, After: last.ID}
		return s.Store.ListBeds(c.UserContext(), f)
	})
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// deviceInput is a device as a client sends it. The health fields are
// read-only: these shallower fields take whatever a client puts there (a
// device it read back, say), so it is dropped instead of refused.
type deviceInput struct {
	devices.Device
	LastSeen any `json:"last_seen"`
	Online   any `json:"online"`
	Battery  any `json:"battery"`
	Tamper   any `json:"tamper"`
}

func decodeDevice(c *fiber.Ctx) (devices.Device, error) {
	var in deviceInput
	if err := decodeBody(c, &in); err != nil {
		return devices.Device{}, err
	}
	d := in.Device
	d.Health = devices.Health{}
	return d, nil
}

func (s *server) createDevice(c *fiber.Ctx) error {
	d, err := decodeDevice(c)
	if err != nil {
		return err
	}
	if err := s.Store.CreateDevice(c.UserContext(), d); err != nil {
		return err
	}
	d, err = s.Store.GetDevice(c.UserContext(), d.ID)
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
	d, err := decodeDevice(c)
	if err != nil {
		return err
	}
	d.ID = pathID(c)
	before, err := s.Store.GetDevice(c.UserContext(), d.ID)
	if err != nil {
		return err
	}
	if err := s.Store.UpdateDevice(c.UserContext(), d); err != nil {
		return err
	}
	d, err = s.Store.GetDevice(c.UserContext(), d.ID)
	if err != nil {
		return err
	}
	s.Registry.PutDevice(d)
	if s.Alerts != nil && (before.BedID != d.BedID || before.Kind != d.Kind) {
		// What the rules knew of it belongs to its old bed or kind.
		if err := s.Alerts.DeviceRemoved(c.UserContext(), before.BedID, d.ID); err != nil {
			return err
		}
	}
	return c.JSON(s.withHealth(d))
}

func (s *server) deleteDevice(c *fiber.Ctx) error {
	id := pathID(c)
	old, err := s.Store.GetDevice(c.UserContext(), id)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteDevice(c.UserContext(), id); err != nil {
		return err
	}
	s.Registry.RemoveDevice(id)
	s.Monitor.Forget(id)
	if s.Alerts != nil {
		if err := s.Alerts.DeviceRemoved(c.UserContext(), old.BedID, id); err != nil {
			return err
		}
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// rulesBedChanged tells the alarm rules of a bed created or changed.
func (s *server) rulesBedChanged(c *fiber.Ctx, bedID string) error {
	if s.Alerts == nil {
		return nil
	}
	return s.Alerts.BedChanged(c.UserContext(), bedID)
}

func (s *server) listDevices(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f := store.DeviceFilter{BedID: c.Query("bed"), Page: p}
	items, err := s.Store.ListDevices(c.UserContext(), f)
	if err != nil {
		return err
	}
	for i := range items {
		items[i] = s.withHealth(items[i])
	}
	out, err := listOf(items, p.Limit, deviceID, func(last devices.Device) ([]devices.Device, error) {
		f.Page = store.Page{Limit: 1, After: last.ID}
		return s.Store.ListDevices(c.UserContext(), f)
	})
	if err != nil {
		return err
	}
	return c.JSON(out)
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
	out, err := listOf(items, p.Limit, unknownKey, func(last store.UnknownDevice) ([]store.UnknownDevice, error) {
		return s.Store.ListUnknown(c.UserContext(), store.Page{Limit: 1, After: last.Key})
	})
	if err != nil {
		return err
	}
	return c.JSON(out)
}
