package store

import (
	"context"
	"reflect"
	"testing"

	"carebed/devices"
)

func TestAgencyCRUD(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seed(t, db) // a1 with bed b1

	tests := []struct {
		name  string
		call  func() error
		want  error
		texts []string
	}{
		{"create", func() error { return db.CreateAgency(ctx, agency("a2")) }, nil, nil},
		{"create taken id", func() error { return db.CreateAgency(ctx, agency("a1")) }, ErrConflict, []string{`"a1"`, "id is taken"}},
		{"create invalid", func() error { return db.CreateAgency(ctx, devices.Agency{ID: "a3"}) }, ErrInvalid, []string{"name"}},
		{"update", func() error { a := agency("a2"); a.Name = "Renamed"; return db.UpdateAgency(ctx, a) }, nil, nil},
		{"update missing", func() error { return db.UpdateAgency(ctx, agency("nope")) }, ErrNotFound, []string{`"nope"`}},
		{"update invalid", func() error { return db.UpdateAgency(ctx, devices.Agency{ID: "a2"}) }, ErrInvalid, []string{"name"}},
		{"delete with beds", func() error { return db.DeleteAgency(ctx, "a1") }, ErrConflict, []string{`"a1"`, "still has beds (1)"}},
		{"delete missing", func() error { return db.DeleteAgency(ctx, "nope") }, ErrNotFound, []string{`"nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.name, tt.call(), tt.want, tt.texts...) })
	}

	got, err := db.GetAgency(ctx, "a2")
	want := agency("a2")
	want.Name = "Renamed"
	if err != nil || got != want {
		t.Errorf("GetAgency(a2) = %+v, %v, want %+v, nil", got, err, want)
	}
	_, err = db.GetAgency(ctx, "nope")
	checkErr(t, "GetAgency(nope)", err, ErrNotFound, `agency "nope": not found`)

	checkErr(t, "DeleteAgency(a2)", db.DeleteAgency(ctx, "a2"), nil)
	_, err = db.GetAgency(ctx, "a2")
	checkErr(t, "GetAgency(a2) after delete", err, ErrNotFound)
}

func TestBedCRUD(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seed(t, db, "d1") // a1, b1 with device d1
	if err := db.CreateAgency(ctx, agency("a2")); err != nil {
		t.Fatal(err)
	}

	moved := bed("b2", "a2")
	moved.Elder.Name, moved.RequiredMinutesPerDay, moved.RequiredHoursPerMonth = "赵六", 90, 40
	tests := []struct {
		name  string
		call  func() error
		want  error
		texts []string
	}{
		{"create", func() error { return db.CreateBed(ctx, bed("b2", "a1")) }, nil, nil},
		{"create taken id", func() error { return db.CreateBed(ctx, bed("b1", "a1")) }, ErrConflict, []string{`bed "b1"`, "id is taken"}},
		{"create in missing agency", func() error { return db.CreateBed(ctx, bed("b3", "nope")) }, ErrInvalid,
			[]string{"agency_id", `agency "nope" does not exist`}},
		{"create invalid", func() error { b := bed("b3", "a1"); b.AreaType = "moon"; return db.CreateBed(ctx, b) }, ErrInvalid,
			[]string{"area_type", "urban, rural"}},
		{"update", func() error { return db.UpdateBed(ctx, moved) }, nil, nil},
		{"update missing", func() error { return db.UpdateBed(ctx, bed("nope", "a1")) }, ErrNotFound, []string{`"nope"`}},
		{"update to missing agency", func() error { return db.UpdateBed(ctx, bed("b2", "nope")) }, ErrInvalid, []string{"agency_id"}},
		{"update invalid", func() error {
			b := bed("b2", "a1")
			b.Elder.DisabilityLevel = "some"
			return db.UpdateBed(ctx, b)
		}, ErrInvalid, []string{"elder.disability_level"}},
		{"delete with devices", func() error { return db.DeleteBed(ctx, "b1") }, ErrConflict, []string{`"b1"`, "still has devices (1)"}},
		{"delete missing", func() error { return db.DeleteBed(ctx, "nope") }, ErrNotFound, []string{`"nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.name, tt.call(), tt.want, tt.texts...) })
	}

	t.Run("read back", func(t *testing.T) {
		want := bed("b1", "a1")
		want.RequiredMinutesPerDay, want.RequiredHoursPerMonth = 60, 30 // defaults
		if got, err := db.GetBed(ctx, "b1"); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("GetBed(b1) = %+v, %v, want %+v, nil", got, err, want)
		}
		if got, err := db.GetBed(ctx, "b2"); err != nil || !reflect.DeepEqual(got, moved) {
			t.Errorf("GetBed(b2) = %+v, %v, want %+v, nil", got, err, moved)
		}
		_, err := db.GetBed(ctx, "nope")
		checkErr(t, "GetBed(nope)", err, ErrNotFound, `bed "nope": not found`)
	})
	t.Run("list by agency", func(t *testing.T) {
		got, err := db.ListBeds(ctx, BedFilter{AgencyID: "a2"})
		if err != nil || len(got) != 1 || got[0].ID != "b2" {
			t.Errorf("ListBeds(agency a2) = %+v, %v, want [b2], nil", got, err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		checkErr(t, "DeleteBed(b2)", db.DeleteBed(ctx, "b2"), nil)
		_, err := db.GetBed(ctx, "b2")
		checkErr(t, "GetBed(b2) after delete", err, ErrNotFound)
	})
}

func TestDeviceCRUD(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seed(t, db, "d1")
	b2 := bed("b2", "a1")
	if err := db.CreateBed(ctx, b2); err != nil {
		t.Fatal(err)
	}

	zigbee := devices.Device{ID: "z1", BedID: "b1", Kind: devices.KindDoorSensor, Format: devices.FormatZigbee2MQTT,
		Source: "front_door", Model: "MCCGQ11LM", InstalledAt: ptr(date(2025, 3, 1)), WarrantyUntil: ptr(date(2026, 3, 1))}
	tests := []struct {
		name  string
		call  func() error
		want  error
		texts []string
	}{
		{"create", func() error { return db.CreateDevice(ctx, zigbee) }, nil, nil},
		{"create taken id", func() error { return db.CreateDevice(ctx, device("d1", "b1", devices.KindHub)) }, ErrConflict,
			[]string{`device "d1"`, "id is taken"}},
		{"create with a source in use", func() error {
			d := zigbee
			d.ID = "z2"
			return db.CreateDevice(ctx, d)
		}, ErrConflict, []string{`"z2"`, `device "z1" already uses this source`}},
		{"same source in another format", func() error {
			d := zigbee
			d.ID, d.Format = "t1", devices.FormatTasmota
			return db.CreateDevice(ctx, d)
		}, nil, nil},
		{"create in missing bed", func() error { return db.CreateDevice(ctx, device("d9", "nope", devices.KindHub)) }, ErrInvalid,
			[]string{"bed_id", `bed "nope" does not exist`}},
		{"create invalid", func() error { return db.CreateDevice(ctx, device("d9", "b1", "kettle")) }, ErrInvalid, []string{"kind"}},
		{"update", func() error {
			d := device("d1", "b2", devices.KindSOSButton)
			d.Model = "SOS-2"
			return db.UpdateDevice(ctx, d)
		}, nil, nil},
		{"update keeping its own source", func() error {
			d := zigbee
			d.Model = "MCCGQ12LM"
			return db.UpdateDevice(ctx, d)
		}, nil, nil},
		{"update missing", func() error { return db.UpdateDevice(ctx, device("nope", "b1", devices.KindHub)) }, ErrNotFound,
			[]string{`"nope"`}},
		{"update to missing bed", func() error { return db.UpdateDevice(ctx, device("d1", "nope", devices.KindHub)) }, ErrInvalid,
			[]string{"bed_id"}},
		{"delete missing", func() error { return db.DeleteDevice(ctx, "nope") }, ErrNotFound, []string{`"nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.name, tt.call(), tt.want, tt.texts...) })
	}

	t.Run("read back", func(t *testing.T) {
		want := zigbee
		want.Model = "MCCGQ12LM"
		if got, err := db.GetDevice(ctx, "z1"); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("GetDevice(z1) = %+v, %v, want %+v, nil", got, err, want)
		}
		want = devices.Device{ID: "d1", BedID: "b2", Kind: devices.KindSOSButton, Format: devices.FormatNative, Model: "SOS-2"}
		if got, err := db.GetDevice(ctx, "d1"); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("GetDevice(d1) = %+v, %v, want %+v, nil", got, err, want)
		}
		_, err := db.GetDevice(ctx, "nope")
		checkErr(t, "GetDevice(nope)", err, ErrNotFound, `device "nope": not found`)
	})
	t.Run("list by bed", func(t *testing.T) {
		got, err := db.ListDevices(ctx, DeviceFilter{BedID: "b1"})
		if ids := deviceIDList(got); err != nil || !reflect.DeepEqual(ids, []string{"t1", "z1"}) {
			t.Errorf("ListDevices(bed b1) = %v, %v, want [t1 z1], nil", ids, err)
		}
	})
	t.Run("all", func(t *testing.T) {
		got, err := db.AllDevices(ctx)
		if ids := deviceIDList(got); err != nil || !reflect.DeepEqual(ids, []string{"d1", "t1", "z1"}) {
			t.Errorf("AllDevices = %v, %v, want [d1 t1 z1], nil", ids, err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		checkErr(t, "DeleteDevice(z1)", db.DeleteDevice(ctx, "z1"), nil)
		_, err := db.GetDevice(ctx, "z1")
		checkErr(t, "GetDevice(z1) after delete", err, ErrNotFound)
		// Its source is free again.
		d := zigbee
		d.ID = "z2"
		checkErr(t, "CreateDevice(z2 with z1's old source)", db.CreateDevice(ctx, d), nil)
	})
}

func deviceIDList(ds []devices.Device) []string {
	ids := []string{}
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}
