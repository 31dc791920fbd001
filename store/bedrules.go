package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"carebed/alerts"
)

// bedRulesSchema is migration step 6: each bed's overrides of the alarm
// rules (alerts.BedRules: vital-sign bands, night window) as JSON in data.
//
// The overrides go with their bed (ON DELETE CASCADE, as silences do):
// DeleteBed already refuses a bed that still has devices, and a doctor's
// order for an elder is no reason to keep a bed that is gone. The agency
// is not stored but read from the bed, so that a bed moved to another
// agency keeps its rules.
const bedRulesSchema = `CREATE TABLE bed_rules (
		bed_id TEXT PRIMARY KEY REFERENCES beds (id) ON DELETE CASCADE,
		data   TEXT NOT NULL
	) WITHOUT ROWID;`

// ValidateBedRules returns a *ValidationError for the first field of r
// that PutBedRules would refuse, or nil: the bed id, what
// alerts.BedRules.Validate refuses (named by JSON path: "vitals.heart_rate",
// "night_start"), and a night window whose ends are the same. Whether the
// bed exists is checked by the store; AgencyID is ignored.
func ValidateBedRules(r alerts.BedRules) error {
	if err := checkID("bed_id", r.BedID); err != nil {
		return err
	}
	// Validate names a band by its sign but not by its path, and says the
	// same of either end of the night: each override is checked alone so
	// that the error names its field.
	var parts []bedRulesPart
	if v := r.Vitals; v != nil {
		parts = append(parts,
			bedRulesPart{"vitals.heart_rate", "vitals heart_rate: ", alerts.BedRules{Vitals: &alerts.Thresholds{HeartRate: v.HeartRate}}},
			bedRulesPart{"vitals.resp_rate", "vitals resp_rate: ", alerts.BedRules{Vitals: &alerts.Thresholds{RespRate: v.RespRate}}},
			bedRulesPart{"vitals.spo2", "vitals spo2: ", alerts.BedRules{Vitals: &alerts.Thresholds{SpO2: v.SpO2}}},
			bedRulesPart{"vitals.temp_c", "vitals temp_c: ", alerts.BedRules{Vitals: &alerts.Thresholds{TempC: v.TempC}}},
		)
	}
	parts = append(parts,
		bedRulesPart{"night_start", "", alerts.BedRules{NightStart: r.NightStart}},
		bedRulesPart{"night_end", "", alerts.BedRules{NightEnd: r.NightEnd}},
	)
	for _, p := range parts {
		p.rules.BedID = r.BedID
		if err := p.rules.Validate(); err != nil {
			return invalid(p.field, "%s", p.fix(err))
		}
	}
	if err := r.Validate(); err != nil { // anything the parts do not cover
		return domainInvalid(err)
	}
	if r.NightStart != nil && r.NightEnd != nil && *r.NightStart == *r.NightEnd {
		return invalid("night_end", "must differ from night_start %v, or the night would last all day", *r.NightStart)
	}
	return nil
}

// bedRulesPart is one override checked alone: the field it is, the
// prefix of Validate's message that the field already says, and the rules
// holding only that override.
type bedRulesPart struct {
	field, said string
	rules       alerts.BedRules
}

func (p bedRulesPart) fix(err error) string {
	if p.said == "" {
		return "use a time of day from 00:00 to 23:59, or leave it out for the configured night"
	}
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, p.said); ok {
		return rest
	}
	return msg
}

// PutBedRules stores the overrides of the alarm rules of bed r.BedID,
// replacing any. r.AgencyID is ignored: the bed's agency applies.
// ErrInvalid when a field is wrong; ErrNotFound when the bed does not
// exist.
func (db *DB) PutBedRules(ctx context.Context, r alerts.BedRules) error {
	if err := ValidateBedRules(r); err != nil {
		return fmt.Errorf("put bed rules: %w", err)
	}
	r.AgencyID = ""
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("put rules of bed %q: %w", r.BedID, err)
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, "beds", r.BedID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: the bed does not exist", ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO bed_rules (bed_id, data) VALUES (?, ?)
			ON CONFLICT (bed_id) DO UPDATE SET data = excluded.data`, r.BedID, string(data))
		return err
	})
	return subjectErr("put rules of bed", r.BedID, err)
}

// GetBedRules returns the overrides of the bed's alarm rules, with the
// bed's agency. ErrNotFound when the bed has none (its rules are the
// configured ones) or does not exist.
func (db *DB) GetBedRules(ctx context.Context, bedID string) (alerts.BedRules, error) {
	var (
		agency string
		data   sql.NullString
	)
	err := db.r.QueryRowContext(ctx, `SELECT b.agency_id, r.data FROM beds b
		LEFT JOIN bed_rules r ON r.bed_id = b.id WHERE b.id = ?`, bedID).Scan(&agency, &data)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return alerts.BedRules{}, fmt.Errorf("bed %q: %w", bedID, ErrNotFound)
	case err != nil:
		return alerts.BedRules{}, fmt.Errorf("get rules of bed %q: %w", bedID, err)
	case !data.Valid:
		return alerts.BedRules{}, fmt.Errorf("rules of bed %q: %w", bedID, ErrNotFound)
	}
	return decodeBedRules(bedID, agency, data.String)
}

// AllBedRules returns the overrides of every bed that has some, ordered
// by bed id, each with its bed's agency: what the alarm rules load at
// start.
func (db *DB) AllBedRules(ctx context.Context) ([]alerts.BedRules, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT r.bed_id, b.agency_id, r.data FROM bed_rules r
		JOIN beds b ON b.id = r.bed_id ORDER BY r.bed_id`)
	if err != nil {
		return nil, fmt.Errorf("load bed rules: %w", err)
	}
	out, err := collect(rows, func(s scanner) (alerts.BedRules, error) {
		var bed, agency, data string
		if err := s.Scan(&bed, &agency, &data); err != nil {
			return alerts.BedRules{}, err
		}
		return decodeBedRules(bed, agency, data)
	})
	if err != nil {
		return nil, fmt.Errorf("load bed rules: %w", err)
	}
	return out, nil
}

// DeleteBedRules deletes the overrides of the bed's alarm rules, which
// then follow the configuration. ErrNotFound when it has none.
func (db *DB) DeleteBedRules(ctx context.Context, bedID string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM bed_rules WHERE bed_id = ?`, bedID)
		return notFoundIfNone(res, err)
	})
	return subjectErr("delete rules of bed", bedID, err)
}

func decodeBedRules(bedID, agencyID, data string) (alerts.BedRules, error) {
	var r alerts.BedRules
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return alerts.BedRules{}, fmt.Errorf("rules of bed %q: %w", bedID, err)
	}
	r.BedID, r.AgencyID = bedID, agencyID
	return r, nil
}
