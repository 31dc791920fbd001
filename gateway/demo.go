package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"carebed/alerts"

	"carebed/devices"
	"carebed/gateway/simulate"
	"carebed/store"
)

// startDemo registers a demo agency with beds and devices, then runs
// simulated beds inside the process, publishing to the gateway's broker.
func startDemo(ctx context.Context, cfg Config, brokerURL string, db *store.DB, reg *devices.Registry, parts *lifecycle, failed chan<- error, log *slog.Logger) error {
	// The first bed presses its SOS button soon after start, so the demo
	// shows an alarm escalating.
	opts := simulate.Options{Broker: brokerURL, Beds: cfg.DemoBeds, Agency: "demo-agency", Scenario: simulate.ScenarioSOS}
	agency, beds, devs := simulate.Fleet(opts)
	if err := db.CreateAgency(ctx, agency); err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("demo agency: %w", err)
	}
	for _, b := range beds {
		if err := db.CreateBed(ctx, b); err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("demo bed %s: %w", b.ID, err)
		}
		reg.PutBed(b)
	}
	for _, d := range devs {
		if err := db.CreateDevice(ctx, d); err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("demo device %s: %w", d.ID, err)
		}
		reg.PutDevice(d)
	}
	if err := demoStaff(ctx, db, agency.ID); err != nil {
		return err
	}
	log.Info("demo: simulated beds publishing", "beds", len(beds), "devices", len(devs))
	parts.goRun("demo simulator", failed, func(ctx context.Context) error {
		_, err := simulate.Run(ctx, opts)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	})
	return nil
}

// demoStaff gives the demo agency people on duty around the clock, so its
// alarms escalate along the default policy: caregivers on day and night
// shifts, a backup, a dispatcher and a manager.
func demoStaff(ctx context.Context, db *store.DB, agency string) error {
	people := []alerts.Person{
		{ID: "demo-caregiver-day", Name: "Day caregiver", Role: "caregiver"},
		{ID: "demo-caregiver-night", Name: "Night caregiver", Role: "caregiver"},
		{ID: "demo-backup", Name: "Backup caregiver", Role: "caregiver"},
		{ID: "demo-dispatcher", Name: "Dispatcher", Role: "dispatcher"},
		{ID: "demo-manager", Name: "Manager", Role: "manager"},
	}
	for _, p := range people {
		p.AgencyID = agency
		if err := db.CreatePerson(ctx, p); err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("demo person %s: %w", p.ID, err)
		}
	}
	have, err := db.ListDuties(ctx, store.DutyFilter{AgencyID: agency, Page: store.Page{Limit: 1}})
	if err != nil || len(have) > 0 {
		return err
	}
	day := alerts.Duration(12 * time.Hour)
	for _, d := range []alerts.Duty{
		{PersonID: "demo-caregiver-day", Target: alerts.TargetPrimaryCaregiver, Cron: "0 8 * * *", Length: day},
		{PersonID: "demo-caregiver-night", Target: alerts.TargetPrimaryCaregiver, Cron: "0 20 * * *", Length: day},
		{PersonID: "demo-backup", Target: alerts.TargetBackupCaregiver, Cron: "0 0 * * *", Length: alerts.Duration(24 * time.Hour)},
		{PersonID: "demo-dispatcher", Target: alerts.TargetDispatcher, Cron: "0 0 * * *", Length: alerts.Duration(24 * time.Hour)},
		{PersonID: "demo-manager", Target: alerts.TargetManager, Cron: "0 0 * * *", Length: alerts.Duration(24 * time.Hour)},
	} {
		d.AgencyID = agency
		if _, err := db.CreateDuty(ctx, d); err != nil {
			return fmt.Errorf("demo duty of %s: %w", d.PersonID, err)
		}
	}
	return nil
}
