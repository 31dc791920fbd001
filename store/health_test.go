package store

import (
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"

	"carebed/devices"
)

func TestSaveHealth(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seed(t, db, "d1", "d2", "d3")
	seen := time.Date(2025, 6, 1, 8, 30, 0, 123456789, time.UTC)
	later := seen.Add(time.Minute)

	steps := []struct {
		name  string
		batch map[string]devices.Health
		want  map[string]devices.Health // every device after the batch
	}{
		{
			name: "first batch with an unknown id",
			batch: map[string]devices.Health{
				"d1":      {LastSeen: &seen, Online: true, Battery: ptr(87.5)},
				"d2":      {LastSeen: &seen, Online: false, Tamper: true},
				"ghost":   {LastSeen: &seen, Online: true},
				"deleted": {},
			},
			want: map[string]devices.Health{
				"d1": {LastSeen: &seen, Online: true, Battery: ptr(87.5)},
				"d2": {LastSeen: &seen, Tamper: true},
				"d3": {},
			},
		},
		{
			name:  "empty batch",
			batch: map[string]devices.Health{},
			want: map[string]devices.Health{
				"d1": {LastSeen: &seen, Online: true, Battery: ptr(87.5)},
				"d2": {LastSeen: &seen, Tamper: true},
				"d3": {},
			},
		},
		{
			name: "second batch replaces, battery back to unknown",
			batch: map[string]devices.Health{
				"d1": {LastSeen: &later, Online: false},
				"d3": {LastSeen: &later, Online: true, Battery: ptr(0.0)},
			},
			want: map[string]devices.Health{
				"d1": {LastSeen: &later},
				"d2": {LastSeen: &seen, Tamper: true},
				"d3": {LastSeen: &later, Online: true, Battery: ptr(0.0)},
			},
		},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := db.SaveHealth(ctx, s.batch); err != nil {
				t.Fatalf("SaveHealth = %v, want nil", err)
			}
			all, err := db.AllDevices(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]devices.Health{}
			for _, d := range all {
				got[d.ID] = d.Health
			}
			if !reflect.DeepEqual(got, s.want) {
				t.Errorf("health after SaveHealth = %s, want %s", fmtHealth(got), fmtHealth(s.want))
			}
		})
	}

	t.Run("UpdateDevice keeps health", func(t *testing.T) {
		d := device("d3", "b1", devices.KindHub)
		d.Health = devices.Health{} // input health is ignored
		if err := db.UpdateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetDevice(ctx, "d3")
		want := devices.Health{LastSeen: &later, Online: true, Battery: ptr(0.0)}
		if err != nil || !reflect.DeepEqual(got.Health, want) {
			t.Errorf("GetDevice(d3).Health = %s, %v, want %s", fmtHealth(map[string]devices.Health{"d3": got.Health}), err,
				fmtHealth(map[string]devices.Health{"d3": want}))
		}
	})
}

func fmtHealth(m map[string]devices.Health) string {
	s := "{"
	for _, id := range []string{"d1", "d2", "d3"} {
		h, ok := m[id]
		if !ok {
			continue
		}
		s += id + ":"
		if h.LastSeen != nil {
			s += h.LastSeen.Format(time.RFC3339Nano)
		} else {
			s += "never"
		}
		if h.Battery != nil {
			s += " battery=" + strconv.FormatFloat(*h.Battery, 'g', -1, 64)
		}
		if h.Online {
			s += " online"
		}
		if h.Tamper {
			s += " tamper"
		}
		s += "; "
	}
	return s + "}"
}
