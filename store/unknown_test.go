package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSaveUnknown(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }

	steps := []struct {
		name  string
		batch []UnknownDevice
		want  []UnknownDevice // the whole list after the batch
	}{
		{
			name: "first sightings",
			batch: []UnknownDevice{
				{Key: "dev-b", Topic: "carebed/dev-b/vitals", FirstSeen: at(0), LastSeen: at(1), Count: 3, LastPayload: `{"heart_rate":70}`},
				{Key: "dev-a", Topic: "carebed/dev-a/sos", LastSeen: at(2), LastPayload: `{"action":"press"}`},
			},
			want: []UnknownDevice{
				{Key: "dev-a", Topic: "carebed/dev-a/sos", FirstSeen: at(2), LastSeen: at(2), Count: 1, LastPayload: `{"action":"press"}`},
				{Key: "dev-b", Topic: "carebed/dev-b/vitals", FirstSeen: at(0), LastSeen: at(1), Count: 3, LastPayload: `{"heart_rate":70}`},
			},
		},
		{
			name: "newer sighting keeps first_seen, adds count, replaces the rest",
			batch: []UnknownDevice{
				{Key: "dev-b", Topic: "carebed/dev-b/status", FirstSeen: at(5), LastSeen: at(6), Count: 2, LastPayload: `{"battery":50}`},
			},
			want: []UnknownDevice{
				{Key: "dev-a", Topic: "carebed/dev-a/sos", FirstSeen: at(2), LastSeen: at(2), Count: 1, LastPayload: `{"action":"press"}`},
				{Key: "dev-b", Topic: "carebed/dev-b/status", FirstSeen: at(0), LastSeen: at(6), Count: 5, LastPayload: `{"battery":50}`},
			},
		},
		{
			name: "older sighting replayed late adds count and moves first_seen back only",
			batch: []UnknownDevice{
				{Key: "dev-a", Topic: "carebed/dev-a/old", FirstSeen: at(-10), LastSeen: at(-9), Count: 4, LastPayload: "old"},
			},
			want: []UnknownDevice{
				{Key: "dev-a", Topic: "carebed/dev-a/sos", FirstSeen: at(-10), LastSeen: at(2), Count: 5, LastPayload: `{"action":"press"}`},
				{Key: "dev-b", Topic: "carebed/dev-b/status", FirstSeen: at(0), LastSeen: at(6), Count: 5, LastPayload: `{"battery":50}`},
			},
		},
		{
			name: "same key twice in one batch",
			batch: []UnknownDevice{
				{Key: "dev-c", Topic: "z2m/door", LastSeen: at(7), LastPayload: "1"},
				{Key: "dev-c", Topic: "z2m/door", LastSeen: at(8), LastPayload: "2"},
			},
			want: []UnknownDevice{
				{Key: "dev-a", Topic: "carebed/dev-a/sos", FirstSeen: at(-10), LastSeen: at(2), Count: 5, LastPayload: `{"action":"press"}`},
				{Key: "dev-b", Topic: "carebed/dev-b/status", FirstSeen: at(0), LastSeen: at(6), Count: 5, LastPayload: `{"battery":50}`},
				{Key: "dev-c", Topic: "z2m/door", FirstSeen: at(7), LastSeen: at(8), Count: 2, LastPayload: "2"},
			},
		},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := db.SaveUnknown(ctx, s.batch); err != nil {
				t.Fatalf("SaveUnknown = %v, want nil", err)
			}
			got, err := db.ListUnknown(ctx, Page{})
			if err != nil || !reflect.DeepEqual(got, s.want) {
				t.Errorf("ListUnknown = %+v, %v,\nwant %+v, nil", got, err, s.want)
			}
		})
	}

	t.Run("payload cut to 512 bytes of valid UTF-8", func(t *testing.T) {
		payload := strings.Repeat("é", 300) + "\xff" // 601 bytes, ends invalid
		if err := db.SaveUnknown(ctx, []UnknownDevice{{Key: "dev-d", LastSeen: at(9), LastPayload: payload}}); err != nil {
			t.Fatal(err)
		}
		got, err := db.ListUnknown(ctx, Page{After: "dev-c", Limit: 1})
		if err != nil || len(got) != 1 {
			t.Fatalf("ListUnknown(after dev-c) = %+v, %v, want one entry", got, err)
		}
		p := got[0].LastPayload
		if len(p) != 512 || !utf8.ValidString(p) || p != strings.Repeat("é", 256) {
			t.Errorf("LastPayload = %d bytes (valid %v), want 512 bytes of é", len(p), utf8.ValidString(p))
		}
	})

	t.Run("invalid entries save nothing", func(t *testing.T) {
		cases := []struct {
			name  string
			batch []UnknownDevice
			field string
		}{
			{"empty key", []UnknownDevice{{Key: "dev-e", LastSeen: at(1)}, {Key: "", LastSeen: at(1)}}, "key"},
			{"no time", []UnknownDevice{{Key: "dev-e"}}, "last_seen"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				checkErr(t, "SaveUnknown", db.SaveUnknown(ctx, c.batch), ErrInvalid, c.field)
				got, _ := db.ListUnknown(ctx, Page{After: "dev-d"})
				if len(got) != 0 {
					t.Errorf("ListUnknown after a refused batch = %+v, want none", got)
				}
			})
		}
	})

	t.Run("delete", func(t *testing.T) {
		checkErr(t, "DeleteUnknown(dev-a)", db.DeleteUnknown(ctx, "dev-a"), nil)
		checkErr(t, "DeleteUnknown(dev-a) again", db.DeleteUnknown(ctx, "dev-a"), ErrNotFound, `"dev-a"`)
		got, err := db.ListUnknown(ctx, Page{Limit: 1})
		if err != nil || len(got) != 1 || got[0].Key != "dev-b" {
			t.Errorf("ListUnknown(limit 1) = %+v, %v, want [dev-b]", got, err)
		}
	})
}

func TestUnknownBound(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, WithMaxUnknown(3))
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	steps := []struct {
		name  string
		batch []UnknownDevice
		want  []string // keys kept
	}{
		{"under the bound", []UnknownDevice{{Key: "k1", LastSeen: at(1)}, {Key: "k2", LastSeen: at(2)}}, []string{"k1", "k2"}},
		{"at the bound", []UnknownDevice{{Key: "k3", LastSeen: at(3)}}, []string{"k1", "k2", "k3"}},
		{"the least recently seen goes", []UnknownDevice{{Key: "k4", LastSeen: at(4)}}, []string{"k2", "k3", "k4"}},
		{"a fresh sighting saves an old key", []UnknownDevice{{Key: "k2", LastSeen: at(5)}, {Key: "k5", LastSeen: at(6)}},
			[]string{"k2", "k4", "k5"}},
		{"a batch over the bound", []UnknownDevice{{Key: "k6", LastSeen: at(7)}, {Key: "k7", LastSeen: at(8)},
			{Key: "k8", LastSeen: at(9)}, {Key: "k9", LastSeen: at(10)}}, []string{"k7", "k8", "k9"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := db.SaveUnknown(ctx, s.batch); err != nil {
				t.Fatalf("SaveUnknown = %v, want nil", err)
			}
			got, err := db.ListUnknown(ctx, Page{})
			keys := []string{}
			for _, u := range got {
				keys = append(keys, u.Key)
			}
			if err != nil || !reflect.DeepEqual(keys, s.want) {
				t.Errorf("ListUnknown = %v, %v, want %v, nil", keys, err, s.want)
			}
		})
	}
}
