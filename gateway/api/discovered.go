package api

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"carebed/devices"
	"carebed/store"
)

// routesDiscovery serves the devices that Zigbee2MQTT's bridge/devices and
// Home Assistant discovery announce, and their acceptance into the
// registry. Registered before /devices/:id, which would take "discovered"
// for an id.
func (s *server) routesDiscovery(r fiber.Router) {
	r.Get("/devices/discovered", s.listDiscovered)
	r.Post("/devices/discovered/:id/accept", s.acceptDiscovered)
}

// discoveredView is a discovered device as the API shows it.
type discoveredView struct {
	store.DiscoveredDevice
	// HubID is the registered Zigbee2MQTT hub that reads Base, when there
	// is one: accepting puts the device in that hub's bed.
	HubID string `json:"hub_id,omitempty"`
}

func (s *server) listDiscovered(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	items, err := s.Store.ListDiscovered(c.UserContext(), p)
	if err != nil {
		return err
	}
	views := make([]discoveredView, len(items))
	for i, d := range items {
		views[i] = discoveredView{DiscoveredDevice: d}
		if hub, ok := s.Registry.HubReading(d.Base); ok && d.Base != "" {
			views[i].HubID = hub.ID
		}
	}
	out, err := listOf(views, p.Limit, func(v discoveredView) string { return v.ID }, func(last discoveredView) ([]discoveredView, error) {
		more, err := s.Store.ListDiscovered(c.UserContext(), store.Page{Limit: 1, After: last.ID})
		return make([]discoveredView, len(more)), err
	})
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// acceptInput is the body of POST /devices/discovered/{id}/accept. Every
// field may be left out: bed_id defaults to the bed of the hub that lists
// the device, id to the proposed id, kind to the guessed kind.
type acceptInput struct {
	BedID string       `json:"bed_id"`
	ID    string       `json:"id"`
	Kind  devices.Kind `json:"kind"`
}

func (s *server) acceptDiscovered(c *fiber.Ctx) error {
	var in acceptInput
	if len(c.Body()) > 0 {
		if err := decodeBody(c, &in); err != nil {
			return err
		}
	}
	ctx := c.UserContext()
	id := pathID(c)
	d, err := s.Store.GetDiscovered(ctx, id)
	if err != nil {
		return err
	}
	if d.Accepted {
		return &Problem{Status: fiber.StatusConflict, Code: codeConflict,
			Detail: fmt.Sprintf("discovered device %q was accepted already as device %q", id, d.DeviceID)}
	}
	dev, err := s.deviceFor(d, in)
	if err != nil {
		return err
	}
	if err := s.Store.AcceptDiscovered(ctx, id, dev, s.Now()); err != nil {
		return err
	}
	dev, err = s.Store.GetDevice(ctx, dev.ID)
	if err != nil {
		return err
	}
	s.Registry.PutDevice(dev)
	s.Monitor.Load(dev)
	// What it sent before it was registered is no longer unknown.
	for _, key := range []string{dev.ID, d.Source} {
		if err := s.Store.DeleteUnknown(ctx, key); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.Log.Warn("forget unknown device after acceptance", "device", dev.ID, "err", err)
		}
	}
	return c.Status(fiber.StatusCreated).JSON(s.withHealth(dev))
}

// deviceFor builds the device that accepting d with in registers, or a 422
// problem naming what is missing.
func (s *server) deviceFor(d store.DiscoveredDevice, in acceptInput) (devices.Device, error) {
	dev := devices.Device{
		ID: firstOf(in.ID, d.ID), BedID: in.BedID, Kind: devices.Kind(firstOf(string(in.Kind), string(d.Kind))),
		Format: d.Format, Source: d.DeviceSource(), Model: d.Model,
	}
	unprocessable := func(field, format string, args ...any) error {
		return &Problem{Status: fiber.StatusUnprocessableEntity, Code: codeInvalid, Field: field, Detail: fmt.Sprintf(format, args...)}
	}
	if dev.Format == "" || dev.Source == "" {
		return dev, unprocessable("format", "discovery does not say how to read %q; register it with POST /api/v1/devices", d.ID)
	}
	if dev.Kind == "" {
		return dev, unprocessable("kind", "discovery could not tell what %q is for (%s); give kind", d.ID, d.Note)
	}
	if dev.Format == devices.FormatZigbee2MQTT && d.Base != "" {
		hub, ok := s.Registry.HubReading(d.Base)
		switch {
		case !ok:
			return dev, unprocessable("bed_id", "no hub reads the Zigbee2MQTT base %q; register the hub (kind hub, format zigbee2mqtt, source %q) in the elder's bed first", d.Base, d.Base)
		case dev.BedID == "":
			dev.BedID = hub.BedID
		case dev.BedID != hub.BedID:
			return dev, unprocessable("bed_id", "the devices behind hub %q (base %q) belong to its bed %q", hub.ID, d.Base, hub.BedID)
		}
	}
	if dev.BedID == "" {
		return dev, unprocessable("bed_id", "required; give the bed the device is installed at")
	}
	return dev, nil
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
