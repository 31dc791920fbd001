package gateway

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"carebed/alerts"
	"carebed/devices"
	"carebed/gateway/journal"
	"carebed/store"
)

// alarmT0 is on a minute, so that activity (kept to the minute) starts
// exactly at it.
var alarmT0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// alarmFix is a state database with one agency, two beds and their
// devices, the registry that knows them, and a clock for the desks made
// from it. Several desks over the same database stand for restarts.
type alarmFix struct {
	t    *testing.T
	ctx  context.Context
	path string
	db   *store.DB
	reg  *devices.Registry
	cfg  alerts.Config
	now  time.Time
}

func newAlarmFix(t *testing.T) *alarmFix {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateAgency(ctx, devices.Agency{ID: "a1", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	reg := devices.NewRegistry()
	for _, b := range []devices.Bed{{ID: "b1", AgencyID: "a1"}, {ID: "b2", AgencyID: "a1"}} {
		if err := db.CreateBed(ctx, b); err != nil {
			t.Fatal(err)
		}
		reg.PutBed(b)
	}
	for _, d := range []devices.Device{
		{ID: "pir-1", BedID: "b1", Kind: devices.KindMotionSensor},
		{ID: "smoke-1", BedID: "b1", Kind: devices.KindSmokeAlarm},
		{ID: "fall-1", BedID: "b1", Kind: devices.KindFallSensor},
		{ID: "sos-1", BedID: "b1", Kind: devices.KindSOSButton},
		{ID: "door-2", BedID: "b2", Kind: devices.KindDoorSensor},
	} {
		if err := db.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
		reg.PutDevice(d)
	}
	cfg := alerts.DefaultConfig()
	cfg.Zone = time.UTC
	cfg.InactivityAfter = 10 * time.Minute
	return &alarmFix{t: t, ctx: ctx, path: path, db: db, reg: reg, cfg: cfg, now: alarmT0}
}

// desk loads a desk from the database, as the gateway does at start.
func (f *alarmFix) desk() *alarmDesk {
	f.t.Helper()
	d := newAlarmDesk(f.db, newDecodedRing(f.reg), newMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)), f.cfg)
	d.now = func() time.Time { return f.now }
	if err := d.load(f.ctx); err != nil {
		f.t.Fatalf("load = %v", err)
	}
	return d
}

func alarmEntry(index uint64, at time.Time, topic, payload string) journal.Entry {
	return journal.Entry{Index: index, Received: at, Topic: topic, Payload: []byte(payload)}
}

func (f *alarmFix) consume(d *alarmDesk, batch ...journal.Entry) {
	f.t.Helper()
	if err := d.consume(f.ctx, batch); err != nil {
		f.t.Fatalf("consume(%d..%d) = %v", batch[0].Index, batch[len(batch)-1].Index, err)
	}
}

// alerts lists the alerts of a bed and kind, newest first.
func (f *alarmFix) alerts(bed string, kind alerts.Kind) []alerts.Alert {
	f.t.Helper()
	list, err := f.db.ListAlerts(f.ctx, store.AlertFilter{BedID: bed, Kind: kind})
	if err != nil {
		f.t.Fatal(err)
	}
	return list
}

func (f *alarmFix) unresolved(bed string, kind alerts.Kind) []alerts.Alert {
	f.t.Helper()
	var out []alerts.Alert
	for _, a := range f.alerts(bed, kind) {
		if a.State != alerts.Resolved {
			out = append(out, a)
		}
	}
	return out
}

func (f *alarmFix) notifications(id int64) int {
	f.t.Helper()
	list, err := f.db.ListNotifications(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(list)
}

// TestAlarmDeskResolvedAndRaisedInOneBatch: an acknowledged smoke alert
// whose detector goes quiet and sounds again within one journal batch is
// resolved, and a new alert is raised and escalated. Both changes have the
// same bed and kind; merged into one they made SaveAlerts insert the new
// alert while the old one was still unresolved (ErrConflict), and the
// journal offered the same batch again forever: no later alarm got through.
func TestAlarmDeskResolvedAndRaisedInOneBatch(t *testing.T) {
	f := newAlarmFix(t)
	d := f.desk()
	f.consume(d, alarmEntry(1, alarmT0, "carebed/smoke-1/env", `{"smoke":true}`))
	first := f.unresolved("b1", alerts.KindSmoke)
	if len(first) != 1 {
		t.Fatalf("smoke alerts after the first alarm = %+v, want one", first)
	}
	if _, err := d.Acknowledge(f.ctx, first[0].ID, "cg1", "on my way"); err != nil {
		t.Fatal(err)
	}

	f.now = alarmT0.Add(3 * time.Minute)
	f.consume(d,
		alarmEntry(2, alarmT0.Add(time.Minute), "carebed/smoke-1/env", `{"smoke":false}`),
		alarmEntry(3, alarmT0.Add(2*time.Minute), "carebed/smoke-1/env", `{"smoke":true}`))

	old, err := f.db.GetAlert(f.ctx, first[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.State != alerts.Resolved {
		t.Errorf("first alert is %s, want resolved (the condition ended after it was acknowledged)", old.State)
	}
	now := f.unresolved("b1", alerts.KindSmoke)
	if len(now) != 1 || now[0].ID == first[0].ID {
		t.Fatalf("unresolved smoke alerts = %+v, want one new alert", now)
	}
	b := now[0]
	if b.State != alerts.Open || b.NextEscalation == nil || f.notifications(b.ID) == 0 {
		t.Errorf("new alert: state %s, next escalation %v, %d notifications; want open and escalating",
			b.State, b.NextEscalation, f.notifications(b.ID))
	}
	if got := d.open[alertKey{"b1", alerts.KindSmoke}]; got.ID != b.ID {
		t.Errorf("desk holds alert %d for b1 smoke, want %d", got.ID, b.ID)
	}
}

// TestAlarmDeskNoteOnResolvedKeepsSuccessor: a note added to an old,
// resolved alert must not drop the unresolved alert of the same bed and
// kind from the desk, which would stop its escalation.
func TestAlarmDeskNoteOnResolvedKeepsSuccessor(t *testing.T) {
	f := newAlarmFix(t)
	d := f.desk()
	f.consume(d, alarmEntry(1, alarmT0, "carebed/smoke-1/env", `{"smoke":true}`))
	old := f.unresolved("b1", alerts.KindSmoke)[0]
	if _, err := d.Acknowledge(f.ctx, old.ID, "cg1", ""); err != nil {
		t.Fatal(err)
	}
	f.consume(d, alarmEntry(2, alarmT0.Add(time.Minute), "carebed/smoke-1/env", `{"smoke":false}`))
	f.consume(d, alarmEntry(3, alarmT0.Add(2*time.Minute), "carebed/smoke-1/env", `{"smoke":true}`))
	cur := f.unresolved("b1", alerts.KindSmoke)
	if len(cur) != 1 || cur[0].ID == old.ID {
		t.Fatalf("unresolved smoke alerts = %+v, want the successor", cur)
	}
	b := cur[0]

	if _, err := d.AddNote(f.ctx, old.ID, "cg1", "visit report: burnt toast"); err != nil {
		t.Fatal(err)
	}
	if got, ok := d.open[alertKey{"b1", alerts.KindSmoke}]; !ok || got.ID != b.ID {
		t.Fatalf("after a note on alert %d the desk holds %+v (held %v) for b1 smoke, want alert %d", old.ID, got, ok, b.ID)
	}
	before := f.notifications(b.ID)
	f.now = b.NextEscalation.Add(time.Second)
	if err := d.tick(f.ctx); err != nil {
		t.Fatal(err)
	}
	if after := f.notifications(b.ID); after <= before {
		t.Errorf("notifications of alert %d after its escalation was due: %d, want more than %d", b.ID, after, before)
	}
}

// TestAlarmDeskTickStoresCursor: entries that change nothing move the
// desk's index without storing it. A tick that then fires a timer stores
// the rules' state, past those entries; when the journal offers them again
// after a crash (its cursor is stored every 100 ms, and not in the same
// transaction), they must not run again on that state. Here a motion
// report from before the inactivity deadline "cleared" the inactivity
// alert that was raised after it.
func TestAlarmDeskTickStoresCursor(t *testing.T) {
	f := newAlarmFix(t)
	d := f.desk()
	f.consume(d, alarmEntry(1, alarmT0.Add(10*time.Second), "carebed/pir-1/env", `{"motion":true}`))
	again := alarmEntry(2, alarmT0.Add(40*time.Second), "carebed/pir-1/env", `{"motion":true}`) // same minute: nothing to keep
	f.consume(d, again)

	f.now = alarmT0.Add(11 * time.Minute)
	if err := d.tick(f.ctx); err != nil {
		t.Fatal(err)
	}
	raised := f.unresolved("b1", alerts.KindInactivity)
	if len(raised) != 1 || raised[0].ClearedAt != nil {
		t.Fatalf("inactivity alerts after the deadline = %+v, want one, not cleared", raised)
	}

	// Crash; the journal's cursor had not been stored past entry 2.
	d2 := f.desk()
	f.consume(d2, again)
	got := f.unresolved("b1", alerts.KindInactivity)
	if len(got) != 1 || got[0].ClearedAt != nil || got[0].Count != 1 {
		t.Errorf("inactivity alerts after the replay = %+v, want the one raised, unchanged", got)
	}
}

// TestAlarmDeskTimersAfterRestart: after a restart the desk's index is the
// stored one, behind entries that changed nothing; the journal does not
// offer those again (the consumer's cursor is past them). The rules'
// clock must not stay at the receive time of such an entry, or a timer due
// meanwhile waits for the next message, however long that takes.
func TestAlarmDeskTimersAfterRestart(t *testing.T) {
	f := newAlarmFix(t)
	dir := t.TempDir()
	openJ := func() (*journal.Journal, func()) {
		j, err := journal.Open(journal.Options{Dir: dir, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- j.Run(ctx) }()
		return j, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("journal Run = %v", err)
			}
			if err := j.Close(); err != nil {
				t.Errorf("journal Close = %v", err)
			}
		}
	}
	j, stop := openJ()
	for _, r := range []journal.Record{
		{Received: alarmT0.Add(10 * time.Second), Topic: "carebed/pir-1/env", Payload: []byte(`{"motion":true}`)},
		{Received: alarmT0.Add(40 * time.Second), Topic: "carebed/pir-1/env", Payload: []byte(`{"motion":true}`)},
	} {
		acked := make(chan struct{})
		if err := j.Append(f.ctx, r, func() { close(acked) }); err != nil {
			t.Fatal(err)
		}
		<-acked
	}
	d := f.desk()
	d.pendingSince = pendingSince(j, consumerAlerts)
	cctx, cancel := context.WithCancel(f.ctx)
	err := j.Consume(cctx, consumerAlerts, 1, func(ctx context.Context, batch []journal.Entry) error {
		err := d.consume(ctx, batch)
		if batch[len(batch)-1].Index == 2 {
			cancel()
		}
		return err
	})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	stop()

	// Restart at a time past the inactivity deadline, nothing new in the
	// journal.
	j, stop = openJ()
	defer stop()
	if got := j.Cursor(consumerAlerts); got != 2 {
		t.Fatalf("journal cursor after the restart = %d, want 2", got)
	}
	f.now = alarmT0.Add(11 * time.Minute)
	d2 := f.desk()
	d2.pendingSince = pendingSince(j, consumerAlerts)
	if err := d2.tick(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.unresolved("b1", alerts.KindInactivity); len(got) != 1 {
		t.Errorf("inactivity alerts 1 min past the deadline, after a restart = %+v, want one", got)
	}
}

// TestAlarmDeskSilentDevicesPartialFailure: when one device of the sweep's
// list cannot be looked up, the devices before it must not be left marked
// offline in the rules without their alert: no later call raises it.
func TestAlarmDeskSilentDevicesPartialFailure(t *testing.T) {
	f := newAlarmFix(t)
	d := f.desk()
	// door-2's bed is gone (a move and a deletion in between the sweep and
	// this call look the same to the desk).
	raw, err := sql.Open("sqlite", f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	for _, q := range []string{`PRAGMA busy_timeout = 5000`, `PRAGMA foreign_keys = OFF`, `UPDATE devices SET bed_id = 'gone' WHERE id = 'door-2'`} {
		if _, err := raw.ExecContext(f.ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	at := alarmT0.Add(time.Hour)
	f.now = at
	firstErr := d.devicesSilent(f.ctx, []string{"sos-1", "door-2"}, at)
	// The sweep reports each device once; even a retry must raise it.
	if err := d.devicesSilent(f.ctx, []string{"sos-1"}, at); err != nil {
		t.Fatalf("devicesSilent(sos-1) = %v", err)
	}
	if got := f.unresolved("b1", alerts.KindDeviceOffline); len(got) != 1 {
		t.Errorf("device_offline alerts of b1 = %+v (first call: %v), want one", got, firstErr)
	}
}

// TestAlarmDeskReloadFailureNotLost: a unit of work that fails, and whose
// reload fails as well (here both fail on the context; a disk error or a
// busy database does the same), leaves the engine ahead of the database.
// The journal offers the batch again: it must still raise the alarm.
func TestAlarmDeskReloadFailureNotLost(t *testing.T) {
	f := newAlarmFix(t)
	d := f.desk()
	batch := []journal.Entry{alarmEntry(1, alarmT0, "carebed/smoke-1/env", `{"smoke":true}`)}
	failing, cancel := context.WithCancel(f.ctx)
	cancel()
	if err := d.consume(failing, batch); err == nil {
		t.Fatal("consume with a cancelled context = nil, want an error")
	}
	f.consume(d, batch...)
	if got := f.unresolved("b1", alerts.KindSmoke); len(got) != 1 {
		t.Errorf("smoke alerts after the retry = %+v, want one", got)
	}
}

// TestAlarmDeskSilentDevicesRuleClock: the sweep's time must not run the
// rules' timers past a journal entry they have not seen yet: the motion
// at 9 min, still in the journal, means there was no inactivity at 10 min.
func TestAlarmDeskSilentDevicesRuleClock(t *testing.T) {
	f := newAlarmFix(t)
	d := f.desk()
	pending := alarmEntry(2, alarmT0.Add(9*time.Minute), "carebed/pir-1/env", `{"motion":true}`)
	d.pendingSince = func(after uint64) (time.Time, bool) {
		if after < pending.Index {
			return pending.Received, true
		}
		return time.Time{}, false
	}
	f.consume(d, alarmEntry(1, alarmT0.Add(10*time.Second), "carebed/pir-1/env", `{"motion":true}`))
	f.now = alarmT0.Add(12 * time.Minute)
	if err := d.devicesSilent(f.ctx, []string{"sos-1"}, f.now); err != nil {
		t.Fatal(err)
	}
	f.consume(d, pending)
	if got := f.alerts("b1", alerts.KindInactivity); len(got) != 0 {
		t.Errorf("inactivity alerts = %+v, want none (there was motion 9 min after the last)", got)
	}
	if got := f.unresolved("b1", alerts.KindDeviceOffline); len(got) != 1 {
		t.Errorf("device_offline alerts = %+v, want one", got)
	}
}

func ackCount(t *testing.T, m *metrics) uint64 {
	t.Helper()
	var n uint64
	for _, sev := range []alerts.Severity{alerts.Critical, alerts.Major, alerts.Minor} {
		var pb dto.Metric
		if err := m.alertAckSeconds.WithLabelValues(string(sev)).(prometheus.Metric).Write(&pb); err != nil {
			t.Fatal(err)
		}
		n += pb.GetHistogram().GetSampleCount()
	}
	return n
}

// TestAlarmDeskAckMetric: the acknowledgement time is observed once per
// alert, at its first answer (as the response KPI counts it): also when
// the acknowledgement resolves a cleared alert at once, and not again when
// an upgrade reopened it.
func TestAlarmDeskAckMetric(t *testing.T) {
	f := newAlarmFix(t)
	d := f.desk()
	f.consume(d,
		alarmEntry(1, alarmT0, "carebed/smoke-1/env", `{"smoke":true}`),
		alarmEntry(2, alarmT0.Add(10*time.Second), "carebed/smoke-1/env", `{"smoke":false}`))
	smoke := f.unresolved("b1", alerts.KindSmoke)[0]
	f.now = alarmT0.Add(30 * time.Second)
	if a, err := d.Acknowledge(f.ctx, smoke.ID, "cg1", ""); err != nil || a.State != alerts.Resolved {
		t.Fatalf("Acknowledge(cleared smoke) = %s, %v; want resolved", a.State, err)
	}
	if got := ackCount(t, d.metrics); got != 1 {
		t.Errorf("acknowledgements observed after acknowledging a cleared alert = %d, want 1", got)
	}

	f.consume(d, alarmEntry(3, alarmT0.Add(time.Minute), "carebed/fall-1/fall", `{"state":"suspected"}`))
	fall := f.unresolved("b1", alerts.KindFall)[0]
	f.now = alarmT0.Add(90 * time.Second)
	if _, err := d.Acknowledge(f.ctx, fall.ID, "cg1", ""); err != nil {
		t.Fatal(err)
	}
	before := ackCount(t, d.metrics)
	f.consume(d, alarmEntry(4, alarmT0.Add(2*time.Minute), "carebed/fall-1/fall", `{"state":"fall"}`)) // upgrade reopens it
	f.now = alarmT0.Add(150 * time.Second)
	if a, err := d.Acknowledge(f.ctx, fall.ID, "cg1", ""); err != nil || a.Severity != alerts.Critical {
		t.Fatalf("Acknowledge(upgraded fall) = %s, %v; want it critical", a.Severity, err)
	}
	if got := ackCount(t, d.metrics); got != before {
		t.Errorf("acknowledgements observed after the second answer to one alert = %d, want %d (the first only)", got, before)
	}
}

// TestAlarmDeskReloadKeepsAppliedIndex: a reload after a failure must not
// take the desk's index back to the stored one: the entries after it that
// changed nothing are not offered again by the journal, and a tick would
// store the rules' state past them with the older index (as in
// TestAlarmDeskTickStoresCursor).
func TestAlarmDeskReloadKeepsAppliedIndex(t *testing.T) {
	f := newAlarmFix(t)
	d := f.desk()
	f.consume(d, alarmEntry(1, alarmT0.Add(10*time.Second), "carebed/pir-1/env", `{"motion":true}`))
	again := alarmEntry(2, alarmT0.Add(40*time.Second), "carebed/pir-1/env", `{"motion":true}`) // changes nothing
	f.consume(d, again)

	f.now = alarmT0.Add(11 * time.Minute)
	failing, cancel := context.WithCancel(f.ctx)
	cancel()
	if err := d.tick(failing); err == nil {
		t.Fatal("tick with a cancelled context = nil, want an error")
	}
	if err := d.tick(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.unresolved("b1", alerts.KindInactivity); len(got) != 1 {
		t.Fatalf("inactivity alerts after the deadline = %+v, want one", got)
	}

	// Crash; the journal's cursor had not been stored past entry 2.
	f.consume(f.desk(), again)
	got := f.unresolved("b1", alerts.KindInactivity)
	if len(got) != 1 || got[0].ClearedAt != nil {
		t.Errorf("inactivity alerts after the replay = %+v, want the one raised, not cleared", got)
	}
}

// TestAlarmDeskNewJournal: a journal that starts again from index 1 while
// the state database remembers a later index is read from its start, not
// skipped as already applied.
func TestAlarmDeskNewJournal(t *testing.T) {
	f := newAlarmFix(t)
	d := f.desk()
	f.consume(d, alarmEntry(500, alarmT0, "carebed/sos-1/sos", `{"action":"press"}`))
	d = f.desk() // restart with the journal directory gone
	if err := d.newJournal(f.ctx, 0); err != nil {
		t.Fatalf("newJournal = %v", err)
	}
	f.consume(d, alarmEntry(1, alarmT0.Add(time.Minute), "carebed/smoke-1/env", `{"smoke":true}`))
	if got := f.unresolved("b1", alerts.KindSmoke); len(got) != 1 {
		t.Errorf("smoke alerts from the new journal's first entry = %d, want 1", len(got))
	}
	if got, err := f.db.AlertCursor(f.ctx); err != nil || got != 1 {
		t.Errorf("AlertCursor = %d, %v; want 1", got, err)
	}
}
