package store

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"carebed/devices"
)

func TestPaging(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seed(t, db) // a1, b1
	var agencyIDs, bedIDs, deviceIDs []string
	for i := range 7 {
		id := fmt.Sprintf("x%02d", i)
		agencyIDs = append(agencyIDs, id)
		if err := db.CreateAgency(ctx, agency(id)); err != nil {
			t.Fatal(err)
		}
		bedIDs = append(bedIDs, id)
		if err := db.CreateBed(ctx, bed(id, "a1")); err != nil {
			t.Fatal(err)
		}
		deviceIDs = append(deviceIDs, id)
		if err := db.CreateDevice(ctx, device(id, id, devices.KindHub)); err != nil {
			t.Fatal(err)
		}
	}
	agencyIDs = append([]string{"a1"}, agencyIDs...)
	bedIDs = append([]string{"b1"}, bedIDs...)

	lists := []struct {
		name string
		list func(Page) ([]string, error)
		all  []string
	}{
		{"agencies", func(p Page) ([]string, error) {
			as, err := db.ListAgencies(ctx, p)
			ids := []string{}
			for _, a := range as {
				ids = append(ids, a.ID)
			}
			return ids, err
		}, agencyIDs},
		{"beds", func(p Page) ([]string, error) {
			bs, err := db.ListBeds(ctx, BedFilter{Page: p})
			ids := []string{}
			for _, b := range bs {
				ids = append(ids, b.ID)
			}
			return ids, err
		}, bedIDs},
		{"devices", func(p Page) ([]string, error) {
			ds, err := db.ListDevices(ctx, DeviceFilter{Page: p})
			return deviceIDList(ds), err
		}, deviceIDs},
	}
	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			cases := []struct {
				name string
				page Page
				want []string
			}{
				{"default limit returns all", Page{}, l.all},
				{"first page", Page{Limit: 3}, l.all[:3]},
				{"second page", Page{Limit: 3, After: l.all[2]}, l.all[3:6]},
				{"last short page", Page{Limit: 3, After: l.all[5]}, l.all[6:]},
				{"after the end", Page{Limit: 3, After: l.all[len(l.all)-1]}, []string{}},
				{"after an id that is not stored", Page{Limit: 2, After: "x025"}, []string{"x03", "x04"}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					got, err := l.list(c.page)
					if err != nil || !reflect.DeepEqual(got, c.want) {
						t.Errorf("List(%+v) = %v, %v, want %v, nil", c.page, got, err, c.want)
					}
				})
			}
			for _, limit := range []int{-1, MaxLimit + 1} {
				_, err := l.list(Page{Limit: limit})
				checkErr(t, fmt.Sprintf("List(limit %d)", limit), err, ErrInvalid, "limit", "1-1000")
			}
		})
	}

	t.Run("walk every page", func(t *testing.T) {
		var got []string
		p := Page{Limit: 2}
		for {
			ds, err := db.ListDevices(ctx, DeviceFilter{Page: p})
			if err != nil {
				t.Fatalf("ListDevices(%+v) = %v", p, err)
			}
			got = append(got, deviceIDList(ds)...)
			if len(ds) < p.Limit {
				break
			}
			p.After = ds[len(ds)-1].ID
		}
		if !reflect.DeepEqual(got, deviceIDs) {
			t.Errorf("pages of ListDevices = %v, want %v", got, deviceIDs)
		}
	})
}
