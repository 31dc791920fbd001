package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"carebed/alerts"
)

// Bounds on the free text of alerts. Longer text is cut, not refused: the
// alarm path must not fail on a long note.
const (
	MaxNote  = 4096 // bytes of a trail note kept
	maxActor = 256  // bytes of a trail actor
)

const alertColumns = `id, agency_id, bed_id, device_id, kind, severity, state, raised_at, last_seen, count,
	acknowledged_at, acknowledged_by, resolved_at, resolved_by, cleared_at, silenced,
	escalation_level, next_escalation, arrived_at, detail`

// AlertChange is what happened to one alert in an AlertBatch.
type AlertChange struct {
	// Alert is inserted when its ID is 0 (SaveAlerts then sets the ID)
	// and replaces the stored alert otherwise. It may be nil when only
	// trail entries or requests are added; they then name their alert.
	Alert *alerts.Alert
	// Trail entries to append. SaveAlerts sets their AlertID from Alert.
	Trail []alerts.Transition
	// Notification requests to queue in the outbox. SaveAlerts sets their
	// AlertID from Alert and their ID.
	Requests []alerts.Request
}

// AlertBatch is everything the alarm consumer concludes from one batch of
// the journal, stored in one transaction by SaveAlerts.
type AlertBatch struct {
	// Changes are applied in order: resolve the old alert of a bed and
	// kind before raising its successor in the same batch.
	Changes []AlertChange
	// RuleStates are upserted; an empty Data deletes the bed's state.
	RuleStates []RuleState
	// Cursor, when set, is the journal index the batch brings the alarm
	// consumer to.
	Cursor *uint64
}

// SaveAlerts stores the batch in one transaction: all of it or, on any
// error, none of it. Only after it commits does it set the IDs it assigned
// (Alert.ID of new alerts, AlertID of trail entries and requests, ID of
// requests) in b, so a failed call leaves b as it was.
//
// Errors: ErrInvalid (naming the field, as changes[i].alert.kind) when an
// entry can never be stored; ErrConflict when a new or updated alert would
// be a second unresolved alert of its bed and kind; ErrNotFound when an
// update, trail entry or request names an alert that is not stored.
// Details and notes longer than the store keeps are cut.
//
// Agencies, beds and devices are not checked: the rules saw them in the
// registry, and a bed deleted since must not stop the alarm path.
func (db *DB) SaveAlerts(ctx context.Context, b AlertBatch) error {
	if err := checkBatch(b); err != nil {
		return fmt.Errorf("save alerts: %w", err)
	}
	if len(b.Changes) == 0 && len(b.RuleStates) == 0 && b.Cursor == nil {
		return nil
	}
	alertIDs := make([]int64, len(b.Changes))
	var requestIDs [][]int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		st := &batchStmts{tx: tx}
		defer st.close()
		requestIDs = make([][]int64, len(b.Changes))
		for i, ch := range b.Changes {
			id, reqs, err := st.change(ctx, ch)
			if err != nil {
				return fmt.Errorf("change %d: %w", i, err)
			}
			alertIDs[i], requestIDs[i] = id, reqs
		}
		for _, r := range b.RuleStates {
			if err := st.ruleState(ctx, r); err != nil {
				return fmt.Errorf("rule state of bed %q: %w", r.BedID, err)
			}
		}
		if b.Cursor != nil {
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_cursor (id, journal_index) VALUES (1, ?)
				ON CONFLICT (id) DO UPDATE SET journal_index = excluded.journal_index`, int64(*b.Cursor)); err != nil {
				return fmt.Errorf("cursor: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save alerts: %w", err)
	}
	for i, ch := range b.Changes {
		for j := range ch.Requests {
			ch.Requests[j].ID = requestIDs[i][j]
		}
		if ch.Alert == nil {
			continue
		}
		ch.Alert.ID = alertIDs[i]
		for j := range ch.Trail {
			ch.Trail[j].AlertID = alertIDs[i]
		}
		for j := range ch.Requests {
			ch.Requests[j].AlertID = alertIDs[i]
		}
	}
	return nil
}

// batchStmts prepares each statement of SaveAlerts once per transaction,
// on first use.
type batchStmts struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

const (
	insertAlertSQL = `INSERT INTO alerts (agency_id, bed_id, device_id, kind, severity, state, raised_at,
		last_seen, count, acknowledged_at, acknowledged_by, resolved_at, resolved_by, cleared_at, silenced,
		escalation_level, next_escalation, arrived_at, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateAlertSQL = `UPDATE alerts SET agency_id = ?, bed_id = ?, device_id = ?, kind = ?, severity = ?,
		state = ?, raised_at = ?, last_seen = ?, count = ?, acknowledged_at = ?, acknowledged_by = ?,
		resolved_at = ?, resolved_by = ?, cleared_at = ?, silenced = ?, escalation_level = ?,
		next_escalation = ?, arrived_at = ?, detail = ? WHERE id = ?`
	insertTrailSQL   = `INSERT INTO alert_trail (alert_id, at, actor, action, state, note) VALUES (?, ?, ?, ?, ?, ?)`
	insertRequestSQL = `INSERT INTO notifications (alert_id, person_id, target, level, reason, at, next_attempt)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	upsertRuleStateSQL = `INSERT INTO rule_state (bed_id, data) VALUES (?, ?)
		ON CONFLICT (bed_id) DO UPDATE SET data = excluded.data`
	deleteRuleStateSQL = `DELETE FROM rule_state WHERE bed_id = ?`
)

func (s *batchStmts) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, ok := s.stmts[query]
	if !ok {
		var err error
		if st, err = s.tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		if s.stmts == nil {
			s.stmts = map[string]*sql.Stmt{}
		}
		s.stmts[query] = st
	}
	return st.ExecContext(ctx, args...)
}

func (s *batchStmts) close() {
	for _, st := range s.stmts {
		st.Close()
	}
}

// change stores one AlertChange and returns the alert's id and the ids of
// its requests.
func (s *batchStmts) change(ctx context.Context, ch AlertChange) (int64, []int64, error) {
	var id int64
	if a := ch.Alert; a != nil {
		args := alertArgs(*a)
		if a.ID == 0 {
			res, err := s.exec(ctx, insertAlertSQL, args...)
			if err != nil {
				return 0, nil, alertWriteErr(*a, err)
			}
			if id, err = res.LastInsertId(); err != nil {
				return 0, nil, err
			}
		} else {
			id = a.ID
			res, err := s.exec(ctx, updateAlertSQL, append(args, a.ID)...)
			if err := notFoundIfNone(res, err); err != nil {
				if errors.Is(err, ErrNotFound) {
					return 0, nil, fmt.Errorf("alert %d: %w", a.ID, ErrNotFound)
				}
				return 0, nil, alertWriteErr(*a, err)
			}
		}
	}
	for j, t := range ch.Trail {
		alertID := t.AlertID
		if ch.Alert != nil {
			alertID = id
		}
		note, _ := clip(t.Note, MaxNote)
		actor, _ := clip(t.Actor, maxActor)
		if _, err := s.exec(ctx, insertTrailSQL, alertID, t.At.UnixNano(), actor, t.Action, t.State, note); err != nil {
			return 0, nil, fmt.Errorf("trail %d: %w", j, refErr(alertID, err))
		}
	}
	var reqIDs []int64
	for j, r := range ch.Requests {
		alertID := r.AlertID
		if ch.Alert != nil {
			alertID = id
		}
		res, err := s.exec(ctx, insertRequestSQL, alertID, r.PersonID, r.Target, r.Level, r.Reason, r.At.UnixNano(), r.At.UnixNano())
		if err != nil {
			return 0, nil, fmt.Errorf("request %d: %w", j, refErr(alertID, err))
		}
		rid, err := res.LastInsertId()
		if err != nil {
			return 0, nil, err
		}
		reqIDs = append(reqIDs, rid)
	}
	return id, reqIDs, nil
}

func (s *batchStmts) ruleState(ctx context.Context, r RuleState) error {
	if len(r.Data) == 0 {
		_, err := s.exec(ctx, deleteRuleStateSQL, r.BedID)
		return err
	}
	_, err := s.exec(ctx, upsertRuleStateSQL, r.BedID, r.Data)
	return err
}

// alertWriteErr explains a failed insert or update of a.
func alertWriteErr(a alerts.Alert, err error) error {
	if constraintCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return fmt.Errorf("bed %q, kind %s: %w: an alert of this bed and kind is already unresolved; resolve it first, or repeat it",
			a.BedID, a.Kind, ErrConflict)
	}
	if isConstraint(err) {
		return fmt.Errorf("bed %q, kind %s: %w: %v", a.BedID, a.Kind, ErrConflict, err)
	}
	return err
}

// refErr turns a foreign key failure of a trail entry or request into
// ErrNotFound for its alert.
func refErr(alertID int64, err error) error {
	if constraintCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return fmt.Errorf("alert %d: %w", alertID, ErrNotFound)
	}
	return err
}

// constraintCode is the extended result code of a SQLite constraint
// violation, or 0.
func constraintCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		return se.Code()
	}
	return 0
}

func alertArgs(a alerts.Alert) []any {
	lastSeen := a.LastSeen
	if lastSeen.IsZero() {
		lastSeen = a.RaisedAt
	}
	detail, _ := clip(a.Detail, maxDetail)
	return []any{a.AgencyID, a.BedID, a.DeviceID, a.Kind, a.Severity, a.State, a.RaisedAt.UnixNano(),
		lastSeen.UnixNano(), a.Count, nanos(a.AcknowledgedAt), a.AcknowledgedBy, nanos(a.ResolvedAt),
		a.ResolvedBy, nanos(a.ClearedAt), a.Silenced, a.EscalationLevel, nanos(a.NextEscalation),
		nanos(a.ArrivedAt), detail}
}

func scanAlert(s scanner) (alerts.Alert, error) {
	var (
		a                                     alerts.Alert
		raised, lastSeen                      int64
		acked, resolved, cleared, next, arriv sql.NullInt64
	)
	err := s.Scan(&a.ID, &a.AgencyID, &a.BedID, &a.DeviceID, &a.Kind, &a.Severity, &a.State, &raised, &lastSeen,
		&a.Count, &acked, &a.AcknowledgedBy, &resolved, &a.ResolvedBy, &cleared, &a.Silenced,
		&a.EscalationLevel, &next, &arriv, &a.Detail)
	if err != nil {
		return alerts.Alert{}, err
	}
	a.RaisedAt, a.LastSeen = time.Unix(0, raised).UTC(), time.Unix(0, lastSeen).UTC()
	a.AcknowledgedAt, a.ResolvedAt, a.ClearedAt = timeOf(acked), timeOf(resolved), timeOf(cleared)
	a.NextEscalation, a.ArrivedAt = timeOf(next), timeOf(arriv)
	return a, nil
}

// GetAlert returns the alert with the given id.
func (db *DB) GetAlert(ctx context.Context, id int64) (alerts.Alert, error) {
	a, err := scanAlert(db.r.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return alerts.Alert{}, fmt.Errorf("alert %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return alerts.Alert{}, fmt.Errorf("get alert %d: %w", id, err)
	}
	return a, nil
}

// UnresolvedAlerts returns every alert that is not resolved, oldest first:
// what the alarm desk loads at start.
func (db *DB) UnresolvedAlerts(ctx context.Context) ([]alerts.Alert, error) {
	return queryList(ctx, db.r, "load unresolved alerts", scanAlert, `SELECT `+alertColumns+` FROM alerts WHERE state <> 'resolved' ORDER BY id`)
}

// AlertTrail returns the trail of the alert in the order it was written.
// ErrNotFound when there is no such alert.
func (db *DB) AlertTrail(ctx context.Context, id int64) ([]alerts.Transition, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT alert_id, at, actor, action, state, note FROM alert_trail
		WHERE alert_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("trail of alert %d: %w", id, err)
	}
	out, err := collect(rows, func(s scanner) (alerts.Transition, error) {
		var (
			t  alerts.Transition
			at int64
		)
		err := s.Scan(&t.AlertID, &at, &t.Actor, &t.Action, &t.State, &t.Note)
		t.At = time.Unix(0, at).UTC()
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("trail of alert %d: %w", id, err)
	}
	if len(out) == 0 {
		if err := db.alertExists(ctx, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// alertExists returns ErrNotFound when there is no alert with the id.
func (db *DB) alertExists(ctx context.Context, id int64) error {
	var one int
	err := db.r.QueryRowContext(ctx, `SELECT 1 FROM alerts WHERE id = ?`, id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("alert %d: %w", id, ErrNotFound)
	case err != nil:
		return fmt.Errorf("alert %d: %w", id, err)
	}
	return nil
}

// AlertFilter selects alerts for ListAlerts. Zero fields select all.
type AlertFilter struct {
	State    alerts.State
	BedID    string
	Kind     alerts.Kind
	Severity alerts.Severity
	AgencyID string
	Since    time.Time // only alerts raised at or after Since
	Limit    int       // 0 means DefaultLimit; at most MaxLimit
	// Before pages newest first, as ListDeadLetters does: only ids below
	// Before (the last id of the previous page); 0 starts at the newest.
	Before int64
}

// ListAlerts returns one page of alerts, newest (highest id) first.
// ErrInvalid naming the filter field when a state, kind or severity is not
// one of the known values or Since is out of range.
func (db *DB) ListAlerts(ctx context.Context, f AlertFilter) ([]alerts.Alert, error) {
	limit, err := checkLimit(f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	if err := checkAlertFilter(f); err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	q, args := `SELECT `+alertColumns+` FROM alerts WHERE 1 = 1`, []any{}
	for _, c := range []struct {
		column string
		v      string
	}{{"state", string(f.State)}, {"bed_id", f.BedID}, {"kind", string(f.Kind)},
		{"severity", string(f.Severity)}, {"agency_id", f.AgencyID}} {
		if c.v != "" {
			q += ` AND ` + c.column + ` = ?`
			args = append(args, c.v)
		}
	}
	if !f.Since.IsZero() {
		q += ` AND raised_at >= ?`
		args = append(args, f.Since.UnixNano())
	}
	if f.Before > 0 {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	return queryList(ctx, db.r, "list alerts", scanAlert, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
}

func checkAlertFilter(f AlertFilter) error {
	switch {
	case f.State != "" && !f.State.Valid():
		return invalid("state", "use open, acknowledged or resolved")
	case f.Kind != "" && !f.Kind.Valid():
		return invalid("kind", "use one of %s", joinAlertKinds())
	case f.Severity != "" && !f.Severity.Valid():
		return invalid("severity", "use critical, major or minor")
	case !f.Since.IsZero() && !storable(f.Since):
		return invalid("since", "use a time between the years %d and %d", earliestYear, latestYear)
	case f.Before < 0:
		return invalid("before", "use an alert id, the last of the previous page")
	}
	return nil
}

// AlertsRaisedBetween returns the alerts raised in [from, to), oldest
// first: what the response KPIs are computed from.
func (db *DB) AlertsRaisedBetween(ctx context.Context, from, to time.Time) ([]alerts.Alert, error) {
	switch {
	case !storable(from):
		return nil, fmt.Errorf("alerts raised between: %w", invalid("from", "use a time between the years %d and %d", earliestYear, latestYear))
	case !storable(to) || !to.After(from):
		return nil, fmt.Errorf("alerts raised between: %w", invalid("to", "use a time after from, before the year %d", latestYear+1))
	}
	return queryList(ctx, db.r, "alerts raised between", scanAlert, `SELECT `+alertColumns+` FROM alerts
		WHERE raised_at >= ? AND raised_at < ? ORDER BY raised_at, id`, from.UnixNano(), to.UnixNano())
}

// checkBatch returns a *ValidationError for the first entry of b that
// SaveAlerts would refuse, naming it by its place in b.
func checkBatch(b AlertBatch) error {
	for i, ch := range b.Changes {
		at := fmt.Sprintf("changes[%d]", i)
		if ch.Alert != nil {
			if err := validateAlert(at+".alert.", *ch.Alert); err != nil {
				return err
			}
		}
		for j, t := range ch.Trail {
			at := fmt.Sprintf("%s.trail[%d].", at, j)
			switch {
			case ch.Alert == nil && t.AlertID <= 0:
				return invalid(at+"alert_id", "give the alert's id, or the alert in the change")
			case !storable(t.At):
				return invalid(at+"at", "give the time of the transition")
			case t.Actor == "":
				return invalid(at+"actor", "give a user id, or %q", alerts.SystemActor)
			case t.Action == "":
				return invalid(at+"action", "give what happened, e.g. %s", alerts.ActionRaised)
			case !t.State.Valid():
				return invalid(at+"state", "use open, acknowledged or resolved")
			}
		}
		for j, r := range ch.Requests {
			at := fmt.Sprintf("%s.requests[%d].", at, j)
			switch {
			case ch.Alert == nil && r.AlertID <= 0:
				return invalid(at+"alert_id", "give the alert's id, or the alert in the change")
			case r.PersonID == "" || len(r.PersonID) > maxKey:
				return invalid(at+"person_id", "give a person's id, or family:<bed id>")
			case !r.Target.Valid():
				return invalid(at+"target", "use one of %s", joinTargets())
			case r.Level < 0:
				return invalid(at+"level", "use 0 or more")
			case r.Reason == "":
				return invalid(at+"reason", "give why the person is told, e.g. %s", alerts.ActionRaised)
			case !storable(r.At):
				return invalid(at+"at", "give the time of the request")
			}
		}
	}
	for i, r := range b.RuleStates {
		if err := checkID(fmt.Sprintf("rule_states[%d].bed_id", i), r.BedID); err != nil {
			return err
		}
	}
	if b.Cursor != nil && *b.Cursor > math.MaxInt64 {
		return invalid("cursor", "use a journal index below 2^63")
	}
	return nil
}

// validateAlert checks the fields of an alert that the store relies on; the
// lifecycle itself is the alerts package's.
func validateAlert(at string, a alerts.Alert) error {
	if err := checkID(at+"agency_id", a.AgencyID); err != nil {
		return err
	}
	if err := checkID(at+"bed_id", a.BedID); err != nil {
		return err
	}
	switch {
	case a.DeviceID != "" && !ValidID(a.DeviceID):
		return invalid(at+"device_id", idFix+", or leave it empty")
	case a.ID < 0:
		return invalid(at+"id", "use 0 for a new alert, or the stored alert's id")
	case !a.Kind.Valid():
		return invalid(at+"kind", "use one of %s", joinAlertKinds())
	case !a.Severity.Valid():
		return invalid(at+"severity", "use critical, major or minor")
	case !a.State.Valid():
		return invalid(at+"state", "use open, acknowledged or resolved")
	case !storable(a.RaisedAt):
		return invalid(at+"raised_at", "give the time the alert was raised")
	case !a.LastSeen.IsZero() && !storable(a.LastSeen):
		return invalid(at+"last_seen", "use a time between the years %d and %d", earliestYear, latestYear)
	case a.Count < 0:
		return invalid(at+"count", "use 0 or more")
	case a.EscalationLevel < 0:
		return invalid(at+"escalation_level", "use 0 or more")
	}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"acknowledged_at", a.AcknowledgedAt}, {"resolved_at", a.ResolvedAt}, {"cleared_at", a.ClearedAt},
		{"next_escalation_at", a.NextEscalation}, {"arrived_at", a.ArrivedAt}} {
		if f.t != nil && !f.t.IsZero() && !storable(*f.t) {
			return invalid(at+f.name, "use a time between the years %d and %d, or leave it out", earliestYear, latestYear)
		}
	}
	return nil
}

func joinAlertKinds() string {
	s := make([]string, len(alerts.Kinds))
	for i, k := range alerts.Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func joinTargets() string {
	s := make([]string, len(alerts.Targets))
	for i, t := range alerts.Targets {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}
