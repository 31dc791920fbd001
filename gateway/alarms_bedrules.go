package gateway

import (
	"context"
	"errors"
	"fmt"

	"carebed/alerts"
	"carebed/store"
)

// Per-bed overrides of the alarm rules (a doctor's order for one elder's
// vital-sign bands, the night window of an elder who sleeps early). The
// store keeps them; the desk's engine holds them while the gateway runs:
// loadLocked puts them into every engine it builds (applyBedRules), and
// PutBedRules and DeleteBedRules (the API's AlertDesk) change the store,
// then the running engine.

// PutBedRules stores a bed's overrides, replacing any, and applies them to
// the running rules. r.AgencyID is ignored: the bed's agency applies.
// Errors: store.ErrInvalid (a *store.ValidationError naming the field),
// store.ErrNotFound when the bed does not exist.
func (d *alarmDesk) PutBedRules(ctx context.Context, r alerts.BedRules) error {
	if err := d.checkNight(r); err != nil {
		return err
	}
	if err := d.db.PutBedRules(ctx, r); err != nil {
		return err
	}
	return d.syncBedRules(ctx, r.BedID)
}

// DeleteBedRules deletes a bed's overrides; its running rules go back to
// the configured ones. store.ErrNotFound when it has none.
func (d *alarmDesk) DeleteBedRules(ctx context.Context, bedID string) error {
	if err := d.db.DeleteBedRules(ctx, bedID); err != nil {
		return err
	}
	return d.syncBedRules(ctx, bedID)
}

// applyBedRules puts every stored override into e, each with its bed's
// agency. loadLocked calls it on each engine it builds, after putting the
// beds.
func (d *alarmDesk) applyBedRules(ctx context.Context, e *alerts.Engine) error {
	list, err := d.db.AllBedRules(ctx)
	if err != nil {
		return fmt.Errorf("load bed rules for the alarm rules: %w", err)
	}
	for _, r := range list {
		e.PutBed(r)
	}
	return nil
}

// syncBedRules gives the running engine what the store holds for the bed
// now. It reads under d.mu: when two calls write the same bed's rules at
// once, the one that syncs last reads both writes, so the engine ends as
// the store does whatever the order.
func (d *alarmDesk) syncBedRules(ctx context.Context, bedID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.engine == nil {
		return nil // not loaded yet: load applies what is stored
	}
	r, err := d.storedRules(ctx, bedID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil // the bed was deleted meanwhile
	case err != nil:
		return fmt.Errorf("apply the stored rules of bed %q: %w", bedID, err)
	}
	d.engine.PutBed(r)
	return nil
}

// storedRules returns the rules the engine should hold for a bed: its
// stored overrides, or none, with the bed's agency. store.ErrNotFound when
// the bed does not exist.
func (d *alarmDesk) storedRules(ctx context.Context, bedID string) (alerts.BedRules, error) {
	r, err := d.db.GetBedRules(ctx, bedID)
	if !errors.Is(err, store.ErrNotFound) {
		return r, err
	}
	b, err := d.db.GetBed(ctx, bedID)
	if err != nil {
		return alerts.BedRules{}, err
	}
	return alerts.BedRules{BedID: b.ID, AgencyID: b.AgencyID}, nil
}

// checkNight refuses one end of the night window given alone when it is
// the configured other end: the night would last all day, and every bed
// exit would raise. (The store refuses a window given whole with equal
// ends; it does not know the configuration.)
func (d *alarmDesk) checkNight(r alerts.BedRules) error {
	if (r.NightStart == nil) == (r.NightEnd == nil) {
		return nil
	}
	d.mu.Lock()
	cfg := d.cfg
	if d.engine != nil {
		cfg = d.engine.Config() // defaults filled in
	}
	d.mu.Unlock()
	if cfg.NightStart == 0 && cfg.NightEnd == 0 {
		def := alerts.DefaultConfig()
		cfg.NightStart, cfg.NightEnd = def.NightStart, def.NightEnd
	}
	field, v, other := "night_start", r.NightStart, cfg.NightEnd
	if r.NightEnd != nil {
		field, v, other = "night_end", r.NightEnd, cfg.NightStart
	}
	if *v != other {
		return nil
	}
	return fmt.Errorf("put rules of bed %q: %w", r.BedID, &store.ValidationError{Field: field,
		Fix: fmt.Sprintf("%v is the other end of the configured night %v-%v, so the night would last all day; give both ends, or another time",
			*v, cfg.NightStart, cfg.NightEnd)})
}
