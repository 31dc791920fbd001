package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"carebed/devices"
	"carebed/gateway/simulate"
	"carebed/store"
)

// startDemo registers a demo agency with beds and devices, then runs
// simulated beds inside the process, publishing to the gateway's broker.
func startDemo(ctx context.Context, cfg Config, brokerURL string, db *store.DB, reg *devices.Registry, parts *lifecycle, failed chan<- error, log *slog.Logger) error {
	opts := simulate.Options{Broker: brokerURL, Beds: cfg.DemoBeds, Agency: "demo-agency"}
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
