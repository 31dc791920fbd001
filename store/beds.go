package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"carebed/devices"
)

const bedColumns = `id, agency_id, district,
	elder_name, elder_birth_year, elder_disability_level, elder_safety_net, elder_draws_disability_nursing_subsidy,
	caregiver_name, caregiver_phone, address, area_type, contract_start, contract_end,
	required_minutes_per_day, required_hours_per_month`

// CreateBed stores a new bed, with BedDefaults applied. ErrConflict when the
// id is taken; ErrInvalid when a field is wrong or the agency does not exist.
func (db *DB) CreateBed(ctx context.Context, b devices.Bed) error {
	b = BedDefaults(b)
	if err := ValidateBed(b); err != nil {
		return fmt.Errorf("create bed: %w", err)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := checkFree(ctx, tx, "beds", b.ID); err != nil {
			return err
		}
		if err := checkAgency(ctx, tx, b.AgencyID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO beds (`+bedColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, bedArgs(b)...)
		return err
	})
	return subjectErr("create bed", b.ID, err)
}

// GetBed returns the bed with the given id.
func (db *DB) GetBed(ctx context.Context, id string) (devices.Bed, error) {
	b, err := scanBed(db.r.QueryRowContext(ctx, `SELECT `+bedColumns+` FROM beds WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return devices.Bed{}, fmt.Errorf("bed %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return devices.Bed{}, fmt.Errorf("get bed %q: %w", id, err)
	}
	return b, nil
}

// UpdateBed replaces every field of the bed b.ID, with BedDefaults applied.
// ErrNotFound when there is none; ErrInvalid when the agency does not exist.
func (db *DB) UpdateBed(ctx context.Context, b devices.Bed) error {
	b = BedDefaults(b)
	if err := ValidateBed(b); err != nil {
		return fmt.Errorf("update bed: %w", err)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, "beds", b.ID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		if err := checkAgency(ctx, tx, b.AgencyID); err != nil {
			return err
		}
		// bedArgs starts with the id; the UPDATE takes it last.
		args := append(bedArgs(b)[1:], b.ID)
		_, err = tx.ExecContext(ctx, `UPDATE beds SET agency_id = ?, district = ?,
			elder_name = ?, elder_birth_year = ?, elder_disability_level = ?, elder_safety_net = ?,
			elder_draws_disability_nursing_subsidy = ?, caregiver_name = ?, caregiver_phone = ?,
			address = ?, area_type = ?, contract_start = ?, contract_end = ?,
			required_minutes_per_day = ?, required_hours_per_month = ?
			WHERE id = ?`, args...)
		return err
	})
	return subjectErr("update bed", b.ID, err)
}

// BedFilter selects beds for ListBeds.
type BedFilter struct {
	AgencyID string // only this agency's beds; "" for every agency
	Page
}

// ListBeds returns one page of beds ordered by id.
func (db *DB) ListBeds(ctx context.Context, f BedFilter) ([]devices.Bed, error) {
	limit, err := checkLimit(f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list beds: %w", err)
	}
	q, args := `SELECT `+bedColumns+` FROM beds WHERE id > ?`, []any{f.After}
	if f.AgencyID != "" {
		q += ` AND agency_id = ?`
		args = append(args, f.AgencyID)
	}
	return queryList(ctx, db.r, "list beds", scanBed, q+` ORDER BY id LIMIT ?`, append(args, limit)...)
}

// DeleteBed deletes the bed. ErrNotFound when there is none, ErrConflict
// while devices are still installed in it.
func (db *DB) DeleteBed(ctx context.Context, id string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		n, err := count(ctx, tx, "devices", "bed_id", id)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: it still has devices (%d); delete them or move them to another bed first", ErrConflict, n)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM beds WHERE id = ?`, id)
		return notFoundIfNone(res, err)
	})
	return subjectErr("delete bed", id, err)
}

// checkAgency returns ErrInvalid naming agency_id when the agency does not exist.
func checkAgency(ctx context.Context, q querier, id string) error {
	ok, err := exists(ctx, q, "agencies", id)
	if err != nil {
		return err
	}
	if !ok {
		return invalid("agency_id", "agency %q does not exist; create it first or give an existing agency", id)
	}
	return nil
}

func bedArgs(b devices.Bed) []any {
	e, c := b.Elder, b.FamilyCaregiver
	return []any{b.ID, b.AgencyID, b.District,
		e.Name, e.BirthYear, e.DisabilityLevel, e.SafetyNet, e.DrawsDisabilityNursingSubsidy,
		c.Name, c.Phone, b.Address, b.AreaType, b.ContractStart, b.ContractEnd,
		b.RequiredMinutesPerDay, b.RequiredHoursPerMonth}
}

func scanBed(s scanner) (devices.Bed, error) {
	var b devices.Bed
	e, c := &b.Elder, &b.FamilyCaregiver
	err := s.Scan(&b.ID, &b.AgencyID, &b.District,
		&e.Name, &e.BirthYear, &e.DisabilityLevel, &e.SafetyNet, &e.DrawsDisabilityNursingSubsidy,
		&c.Name, &c.Phone, &b.Address, &b.AreaType, &b.ContractStart, &b.ContractEnd,
		&b.RequiredMinutesPerDay, &b.RequiredHoursPerMonth)
	return b, err
}
