package store

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"carebed/alerts"
)

// person is a caregiver of agency a1 whose name and phone are the
// fixtures' personal data.
func person(id string) alerts.Person {
	return alerts.Person{ID: id, AgencyID: "a1", Name: elderName, Phone: elderPhone, Role: "caregiver"}
}

func TestPeople(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seed(t, db)
	if err := db.CreateAgency(ctx, agency("a2")); err != nil {
		t.Fatal(err)
	}
	p := person("p1")
	if err := db.CreatePerson(ctx, p); err != nil {
		t.Fatalf("CreatePerson = %v, want nil", err)
	}
	if got, err := db.GetPerson(ctx, "p1"); err != nil || got != p {
		t.Errorf("GetPerson(p1) = %+v, %v, want %+v", got, err, p)
	}
	checkErr(t, "CreatePerson(p1 again)", db.CreatePerson(ctx, p), ErrConflict, "p1")

	p.Role, p.Phone = "dispatcher", ""
	if err := db.UpdatePerson(ctx, p); err != nil {
		t.Fatalf("UpdatePerson = %v, want nil", err)
	}
	if got, _ := db.GetPerson(ctx, "p1"); got != p {
		t.Errorf("GetPerson after update = %+v, want %+v", got, p)
	}
	for _, id := range []string{"p2", "p3"} {
		q := person(id)
		if id == "p3" {
			q.AgencyID, q.Role = "a2", "manager"
		}
		if err := db.CreatePerson(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	lists := []struct {
		f    PersonFilter
		want []string
	}{
		{PersonFilter{}, []string{"p1", "p2", "p3"}},
		{PersonFilter{AgencyID: "a1"}, []string{"p1", "p2"}},
		{PersonFilter{Role: "manager"}, []string{"p3"}},
		{PersonFilter{Page: Page{Limit: 1, After: "p1"}}, []string{"p2"}},
	}
	for _, l := range lists {
		got, err := db.ListPeople(ctx, l.f)
		ids := []string{}
		for _, p := range got {
			ids = append(ids, p.ID)
		}
		if err != nil || !reflect.DeepEqual(ids, l.want) {
			t.Errorf("ListPeople(%+v) = %v, %v, want %v", l.f, ids, err, l.want)
		}
	}

	bad := []struct {
		name  string
		edit  func(*alerts.Person)
		field string
	}{
		{"no id", func(p *alerts.Person) { p.ID = "" }, "id"},
		{"bad agency id", func(p *alerts.Person) { p.AgencyID = "a 1" }, "agency_id"},
		{"unknown agency", func(p *alerts.Person) { p.AgencyID = "nope" }, "agency_id"},
		{"no name", func(p *alerts.Person) { p.Name = " " }, "name"},
		{"bad phone", func(p *alerts.Person) { p.Phone = elderPhone + "x" }, "phone"},
		{"role", func(p *alerts.Person) { p.Role = "nurse" }, "role"},
	}
	for _, tt := range bad {
		q := person("p9")
		tt.edit(&q)
		err := db.CreatePerson(ctx, q)
		checkErr(t, "CreatePerson("+tt.name+")", err, ErrInvalid, tt.field)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("CreatePerson(%s) = %v, want a ValidationError of field %s", tt.name, err, tt.field)
		}
	}
	checkErr(t, "UpdatePerson(nope)", db.UpdatePerson(ctx, person("nope")), ErrNotFound)
	_, err := db.GetPerson(ctx, "nope")
	checkErr(t, "GetPerson(nope)", err, ErrNotFound, "nope")
	checkErr(t, "DeletePerson(p2)", db.DeletePerson(ctx, "p2"), nil)
	checkErr(t, "DeletePerson(p2 again)", db.DeletePerson(ctx, "p2"), ErrNotFound)
	// An agency with people cannot be deleted.
	checkErr(t, "DeleteAgency(a2)", db.DeleteAgency(ctx, "a2"), ErrConflict)
}

func TestDuties(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seed(t, db) // a1, b1
	if err := db.CreateAgency(ctx, agency("a2")); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateBed(ctx, bed("b2", "a2")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []alerts.Person{person("p1"), {ID: "p2", AgencyID: "a2", Name: "x", Role: "dispatcher"}} {
		if err := db.CreatePerson(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	night := alerts.Duty{AgencyID: "a1", PersonID: "p1", Target: alerts.TargetPrimaryCaregiver, Beds: []string{"b1"},
		Cron: "0 22 * * *", Length: alerts.Duration(8 * time.Hour)}
	id, err := db.CreateDuty(ctx, night)
	if err != nil || id <= 0 {
		t.Fatalf("CreateDuty = %d, %v, want an id", id, err)
	}
	night.ID = id
	if got, err := db.GetDuty(ctx, id); err != nil || !reflect.DeepEqual(got, night) {
		t.Errorf("GetDuty(%d) = %+v, %v, want %+v", id, got, err, night)
	}
	start, end := t0, t0.Add(12*time.Hour)
	once := alerts.Duty{AgencyID: "a2", PersonID: "p2", Target: alerts.TargetDispatcher, Start: &start, End: &end}
	id2, err := db.CreateDuty(ctx, once)
	if err != nil {
		t.Fatalf("CreateDuty(once) = %v, want nil", err)
	}
	once.ID = id2
	if got, err := db.GetDuty(ctx, id2); err != nil || !reflect.DeepEqual(got, once) {
		t.Errorf("GetDuty(%d) = %+v, %v, want %+v", id2, got, err, once)
	}

	night.Beds, night.Target = nil, alerts.TargetBackupCaregiver
	if err := db.UpdateDuty(ctx, night); err != nil {
		t.Fatalf("UpdateDuty = %v, want nil", err)
	}
	if got, _ := db.GetDuty(ctx, id); !reflect.DeepEqual(got, night) {
		t.Errorf("GetDuty after update = %+v, want %+v", got, night)
	}
	all, err := db.AllDuties(ctx)
	if err != nil || len(all) != 2 {
		t.Errorf("AllDuties = %v, %v, want 2", all, err)
	}
	lists := []struct {
		f    DutyFilter
		want []int64
	}{
		{DutyFilter{}, []int64{id, id2}},
		{DutyFilter{AgencyID: "a2"}, []int64{id2}},
		{DutyFilter{PersonID: "p1"}, []int64{id}},
		{DutyFilter{Page: Page{Limit: 1}}, []int64{id}},
		{DutyFilter{Page: Page{After: strconv.FormatInt(id, 10)}}, []int64{id2}},
	}
	for _, l := range lists {
		got, err := db.ListDuties(ctx, l.f)
		ids := []int64{}
		for _, d := range got {
			ids = append(ids, d.ID)
		}
		if err != nil || !reflect.DeepEqual(ids, l.want) {
			t.Errorf("ListDuties(%+v) = %v, %v, want %v", l.f, ids, err, l.want)
		}
	}
	_, err = db.ListDuties(ctx, DutyFilter{Page: Page{After: "x"}})
	checkErr(t, "ListDuties(after x)", err, ErrInvalid, "after")

	bad := []struct {
		name  string
		edit  func(*alerts.Duty)
		field string
	}{
		{"family target", func(d *alerts.Duty) { d.Target = alerts.TargetFamily }, "target"},
		{"no shift", func(d *alerts.Duty) { d.Cron, d.Length = "", 0 }, "cron"},
		{"bad cron", func(d *alerts.Duty) { d.Cron = "every night" }, "cron"},
		{"short length", func(d *alerts.Duty) { d.Length = alerts.Duration(time.Second) }, "length"},
		{"no person", func(d *alerts.Duty) { d.PersonID = "" }, "person_id"},
		{"unknown agency", func(d *alerts.Duty) { d.AgencyID = "nope" }, "agency_id"},
		{"unknown person", func(d *alerts.Duty) { d.PersonID = "nope" }, "person_id"},
		{"person of another agency", func(d *alerts.Duty) { d.PersonID = "p2" }, "person_id"},
		{"unknown bed", func(d *alerts.Duty) { d.Beds = []string{"b1", "nope"} }, "beds[1]"},
		{"bed of another agency", func(d *alerts.Duty) { d.Beds = []string{"b2"} }, "beds[0]"},
	}
	for _, tt := range bad {
		d := night
		d.ID = 0
		tt.edit(&d)
		_, err := db.CreateDuty(ctx, d)
		checkErr(t, "CreateDuty("+tt.name+")", err, ErrInvalid, tt.field)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("CreateDuty(%s) = %v, want a ValidationError of field %s", tt.name, err, tt.field)
		}
	}
	missing := night
	missing.ID = 999
	checkErr(t, "UpdateDuty(999)", db.UpdateDuty(ctx, missing), ErrNotFound)

	// A person on duty can be neither deleted nor moved to another agency.
	checkErr(t, "DeletePerson(p1)", db.DeletePerson(ctx, "p1"), ErrConflict, "duties")
	moved := person("p1")
	moved.AgencyID = "a2"
	checkErr(t, "UpdatePerson(p1 to a2)", db.UpdatePerson(ctx, moved), ErrConflict, "duties")
	checkErr(t, "DeleteDuty", db.DeleteDuty(ctx, id), nil)
	checkErr(t, "DeleteDuty again", db.DeleteDuty(ctx, id), ErrNotFound)
	_, err = db.GetDuty(ctx, id)
	checkErr(t, "GetDuty(deleted)", err, ErrNotFound)
	checkErr(t, "DeletePerson(p1) without duties", db.DeletePerson(ctx, "p1"), nil)
}

func TestPolicies(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seed(t, db)
	if err := db.CreateAgency(ctx, agency("a2")); err != nil {
		t.Fatal(err)
	}
	_, err := db.GetPolicy(ctx, "a1")
	checkErr(t, "GetPolicy(a1) before any", err, ErrNotFound, "a1")

	p := alerts.Policy{AgencyID: "a1", RepeatEvery: alerts.Duration(2 * time.Minute), Steps: []alerts.Step{
		{Target: alerts.TargetPrimaryCaregiver, Critical: alerts.Duration(30 * time.Second)},
		{Target: alerts.TargetDispatcher},
	}}
	if err := db.PutPolicy(ctx, p); err != nil {
		t.Fatalf("PutPolicy = %v, want nil", err)
	}
	if got, err := db.GetPolicy(ctx, "a1"); err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("GetPolicy(a1) = %+v, %v, want %+v", got, err, p)
	}
	p.Steps = p.Steps[1:]
	if err := db.PutPolicy(ctx, p); err != nil {
		t.Fatalf("PutPolicy(replace) = %v, want nil", err)
	}
	if got, _ := db.GetPolicy(ctx, "a1"); !reflect.DeepEqual(got, p) {
		t.Errorf("GetPolicy(a1) after replace = %+v, want %+v", got, p)
	}
	if err := db.PutPolicy(ctx, alerts.DefaultPolicy("a2")); err != nil {
		t.Fatal(err)
	}
	got, err := db.ListPolicies(ctx, Page{})
	if err != nil || len(got) != 2 || got[0].AgencyID != "a1" || got[1].AgencyID != "a2" {
		t.Errorf("ListPolicies = %+v, %v, want a1, a2", got, err)
	}
	if got, _ := db.ListPolicies(ctx, Page{After: "a1"}); len(got) != 1 || got[0].AgencyID != "a2" {
		t.Errorf("ListPolicies(after a1) = %+v, want a2", got)
	}

	bad := []struct {
		name  string
		p     alerts.Policy
		field string
	}{
		{"no steps", alerts.Policy{AgencyID: "a1"}, "steps"},
		{"bad target", alerts.Policy{AgencyID: "a1", Steps: []alerts.Step{{Target: "neighbour"}}}, "steps[0].target"},
		{"no agency", alerts.Policy{Steps: []alerts.Step{{Target: alerts.TargetDispatcher}}}, "agency_id"},
		{"unknown agency", alerts.Policy{AgencyID: "nope", Steps: []alerts.Step{{Target: alerts.TargetDispatcher}}}, "agency_id"},
	}
	for _, tt := range bad {
		err := db.PutPolicy(ctx, tt.p)
		checkErr(t, "PutPolicy("+tt.name+")", err, ErrInvalid, tt.field)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("PutPolicy(%s) = %v, want a ValidationError of field %s", tt.name, err, tt.field)
		}
	}
	checkErr(t, "DeletePolicy(a2)", db.DeletePolicy(ctx, "a2"), nil)
	checkErr(t, "DeletePolicy(a2) again", db.DeletePolicy(ctx, "a2"), ErrNotFound)
}

func TestSilences(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seed(t, db, "d1") // a1, b1 with d1
	if err := db.CreateBed(ctx, bed("b2", "a1")); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateDevice(ctx, device("d2", "b2", "hub")); err != nil {
		t.Fatal(err)
	}
	// Times in the past: the store does not care when "now" is.
	whole, err := db.CreateSilence(ctx, alerts.Silence{BedID: "b1", Until: t0.Add(2 * time.Hour), Reason: "repair",
		CreatedBy: "admin", CreatedAt: t0})
	if err != nil || whole.ID <= 0 {
		t.Fatalf("CreateSilence = %+v, %v, want an id", whole, err)
	}
	if got, err := db.GetSilence(ctx, whole.ID); err != nil || !reflect.DeepEqual(got, whole) {
		t.Errorf("GetSilence(%d) = %+v, %v, want %+v", whole.ID, got, err, whole)
	}
	dev, err := db.CreateSilence(ctx, alerts.Silence{BedID: "b1", DeviceID: "d1", Until: t0.Add(4 * time.Hour), CreatedAt: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.CreateSilence(ctx, alerts.Silence{BedID: "b2", Until: t0.Add(time.Hour), CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}

	active := []struct {
		at   time.Time
		want []int64
	}{
		{t0.Add(-time.Second), []int64{}},
		{t0, []int64{whole.ID}},
		{t0.Add(90 * time.Minute), []int64{whole.ID, dev.ID}},
		{t0.Add(2 * time.Hour), []int64{dev.ID}}, // until is excluded
		{t0.Add(5 * time.Hour), []int64{}},
	}
	for _, a := range active {
		got, err := db.ActiveSilences(ctx, "b1", a.at)
		if ids := silenceIDs(got); err != nil || !reflect.DeepEqual(ids, a.want) {
			t.Errorf("ActiveSilences(b1, %v) = %v, %v, want %v", a.at, ids, err, a.want)
		}
	}
	lists := []struct {
		f    SilenceFilter
		want []int64
	}{
		{SilenceFilter{}, []int64{whole.ID, dev.ID, other.ID}},
		{SilenceFilter{BedID: "b2"}, []int64{other.ID}},
		{SilenceFilter{ActiveAt: t0.Add(90 * time.Minute)}, []int64{whole.ID, dev.ID}},
		{SilenceFilter{Page: Page{Limit: 1, After: strconv.FormatInt(whole.ID, 10)}}, []int64{dev.ID}},
	}
	for _, l := range lists {
		got, err := db.ListSilences(ctx, l.f)
		if ids := silenceIDs(got); err != nil || !reflect.DeepEqual(ids, l.want) {
			t.Errorf("ListSilences(%+v) = %v, %v, want %v", l.f, ids, err, l.want)
		}
	}

	bad := []struct {
		name  string
		s     alerts.Silence
		field string
	}{
		{"no bed", alerts.Silence{Until: t0.Add(time.Hour), CreatedAt: t0}, "bed_id"},
		{"unknown bed", alerts.Silence{BedID: "nope", Until: t0.Add(time.Hour), CreatedAt: t0}, "bed_id"},
		{"unknown device", alerts.Silence{BedID: "b1", DeviceID: "nope", Until: t0.Add(time.Hour), CreatedAt: t0}, "device_id"},
		{"device of another bed", alerts.Silence{BedID: "b1", DeviceID: "d2", Until: t0.Add(time.Hour), CreatedAt: t0}, "device_id"},
		{"until before created", alerts.Silence{BedID: "b1", Until: t0, CreatedAt: t0.Add(time.Hour)}, "until"},
		{"no until", alerts.Silence{BedID: "b1", CreatedAt: t0}, "until"},
		{"no created", alerts.Silence{BedID: "b1", Until: t0}, "created_at"},
	}
	for _, tt := range bad {
		_, err := db.CreateSilence(ctx, tt.s)
		checkErr(t, "CreateSilence("+tt.name+")", err, ErrInvalid, tt.field)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("CreateSilence(%s) = %v, want a ValidationError of field %s", tt.name, err, tt.field)
		}
	}

	checkErr(t, "DeleteSilence", db.DeleteSilence(ctx, whole.ID), nil)
	checkErr(t, "DeleteSilence again", db.DeleteSilence(ctx, whole.ID), ErrNotFound)
	_, err = db.GetSilence(ctx, whole.ID)
	checkErr(t, "GetSilence(deleted)", err, ErrNotFound)
	// A silence goes with its bed.
	if err := db.DeleteDevice(ctx, "d2"); err != nil {
		t.Fatal(err)
	}
	checkErr(t, "DeleteBed(b2)", db.DeleteBed(ctx, "b2"), nil)
	if _, err := db.GetSilence(ctx, other.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetSilence of a deleted bed's silence = %v, want ErrNotFound", err)
	}
}

func silenceIDs(ss []alerts.Silence) []int64 {
	ids := []int64{}
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return ids
}
