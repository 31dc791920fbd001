package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"carebed/devices"
)

// CreateAgency stores a new agency. ErrConflict when the id is taken.
func (db *DB) CreateAgency(ctx context.Context, a devices.Agency) error {
	if err := ValidateAgency(a); err != nil {
		return fmt.Errorf("create agency: %w", err)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := checkFree(ctx, tx, "agencies", a.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO agencies (id, name, district, phone) VALUES (?, ?, ?, ?)`,
			a.ID, a.Name, a.District, a.Phone)
		return err
	})
	return subjectErr("create agency", a.ID, err)
}

// GetAgency returns the agency with the given id.
func (db *DB) GetAgency(ctx context.Context, id string) (devices.Agency, error) {
	row := db.r.QueryRowContext(ctx, `SELECT id, name, district, phone FROM agencies WHERE id = ?`, id)
	a, err := scanAgency(row)
	if errors.Is(err, sql.ErrNoRows) {
		return devices.Agency{}, fmt.Errorf("agency %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return devices.Agency{}, fmt.Errorf("get agency %q: %w", id, err)
	}
	return a, nil
}

// UpdateAgency replaces every field of the agency a.ID. ErrNotFound when
// there is none.
func (db *DB) UpdateAgency(ctx context.Context, a devices.Agency) error {
	if err := ValidateAgency(a); err != nil {
		return fmt.Errorf("update agency: %w", err)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE agencies SET name = ?, district = ?, phone = ? WHERE id = ?`,
			a.Name, a.District, a.Phone, a.ID)
		return notFoundIfNone(res, err)
	})
	return subjectErr("update agency", a.ID, err)
}

// ListAgencies returns one page of agencies ordered by id.
func (db *DB) ListAgencies(ctx context.Context, p Page) ([]devices.Agency, error) {
	limit, err := checkLimit(p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list agencies: %w", err)
	}
	rows, err := db.r.QueryContext(ctx,
		`SELECT id, name, district, phone FROM agencies WHERE id > ? ORDER BY id LIMIT ?`, p.After, limit)
	if err != nil {
		return nil, fmt.Errorf("list agencies: %w", err)
	}
	out, err := collect(rows, scanAgency)
	if err != nil {
		return nil, fmt.Errorf("list agencies: %w", err)
	}
	return out, nil
}

// DeleteAgency deletes the agency. ErrNotFound when there is none,
// ErrConflict while beds still belong to it.
func (db *DB) DeleteAgency(ctx context.Context, id string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		n, err := count(ctx, tx, "beds", "agency_id", id)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: it still has beds (%d); delete them or move them to another agency first", ErrConflict, n)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM agencies WHERE id = ?`, id)
		return notFoundIfNone(res, err)
	})
	return subjectErr("delete agency", id, err)
}

func scanAgency(s scanner) (devices.Agency, error) {
	var a devices.Agency
	err := s.Scan(&a.ID, &a.Name, &a.District, &a.Phone)
	return a, err
}
