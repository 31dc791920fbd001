package telemetry

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"carebed/devices"
	"carebed/gateway/gatewaytest"
)

func newInflux(t testing.TB, url, bucket string, drops *dropLog) *Influx {
	t.Helper()
	var drop DropFunc
	if drops != nil {
		drop = drops.drop
	}
	s, err := NewInflux(InfluxConfig{URL: url, Bucket: bucket, Timeout: 5 * time.Second}, drop)
	if err != nil {
		t.Fatalf("NewInflux(%s, %s) = %v, want nil", url, bucket, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestInflux runs against a real InfluxDB 1.8 through its v2 API.
func TestInflux(t *testing.T) {
	db := gatewaytest.StartInfluxDB(t)
	drops := &dropLog{}
	s := newInflux(t, db.URL, db.Bucket, drops)
	ctx := context.Background()

	testStore(t, s, drops, func(t *testing.T, measurement, field string) int {
		t.Helper()
		return db.Count(t, measurement, field)
	})

	t.Run("tags and fields", func(t *testing.T) {
		rows := db.Query(t, `SELECT * FROM visit`)
		want := gatewaytest.Row{"_measurement": "visit", "time": "2024-05-01T08:00:06Z", "agency": "a1", "bed": "b1",
			"device": "vr1", "kind": "visit_reader", "caregiver": "c1", "action": "check_in", "method": "nfc", "services": "0101,0102"}
		if len(rows) != 1 || !sameRow(rows[0], want) {
			t.Errorf("SELECT * FROM visit = %v, want [%v]", rows, want)
		}
		rows = db.Query(t, `SELECT heart_rate, in_bed FROM vitals WHERE bed = 'b1' AND device = 'vm1'`)
		var got []string
		for _, r := range rows {
			got = append(got, r["time"].(string))
		}
		if want := []string{"2024-05-01T08:00:00.123456789Z", "2024-05-01T08:00:20.123456789Z", "2024-05-01T08:01:10.000000001Z"}; !slices.Equal(got, want) {
			t.Errorf("times of vitals = %q, want %q (nanosecond precision)", got, want)
		}
		var keys []string
		for _, r := range db.Query(t, `SHOW TAG KEYS`) {
			if k := r["tagKey"].(string); !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		if want := []string{"agency", "bed", "device", "kind"}; !slices.Equal(keys, want) {
			t.Errorf("SHOW TAG KEYS = %q, want %q", keys, want)
		}
		types := map[string]string{}
		for _, r := range db.Query(t, `SHOW FIELD KEYS FROM vitals`) {
			types[r["fieldKey"].(string)] = r["fieldType"].(string)
		}
		for f, typ := range map[string]string{"heart_rate": "float", "in_bed": "boolean", "spo2": "float", "temp_c": "float"} {
			if types[f] != typ {
				t.Errorf("SHOW FIELD KEYS FROM vitals: %s is %q, want %q", f, types[f], typ)
			}
		}
		if got := db.Query(t, `SELECT * FROM sos`); len(got) != 1 || got[0]["action"] != "press" || got[0]["kind"] != "sos_button" {
			t.Errorf("SELECT * FROM sos = %v, want one press from an sos_button", got)
		}
	})

	t.Run("bad points dropped, others stored", func(t *testing.T) {
		// heart_rate is a float in vitals (stored above); InfluxDB 1.8 answers
		// 400 "partial write: field type conflict" and stores the rest.
		tests := []struct {
			name   string
			bad    devices.Field
			reason string
		}{
			{"field type conflict", devices.StringField("heart_rate", "high"), "field type conflict"},
			{"bool for a float field", devices.BoolField("heart_rate", true), "is type boolean, already exists as type float"},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				device := "vm-c" + string(rune('0'+i))
				start := base.Add(time.Duration(i+1) * 24 * time.Hour)
				obs := vitalsBatch(device, start, 9)
				bad := obs[4]
				bad.DeviceID = "vm-bad"
				bad.Fields = []devices.Field{tt.bad, devices.FloatField("spo2", 95)}
				obs = slices.Insert(obs, 4, bad)
				before := db.Count(t, "vitals", "heart_rate")
				if err := s.Write(ctx, obs); err != nil {
					t.Fatalf("Write(9 good, 1 bad) = %v, want nil", err)
				}
				got := drops.take()
				if len(got) != 1 || !strings.HasPrefix(got[0], "vm-bad: refused by InfluxDB: ") || !strings.Contains(got[0], tt.reason) {
					t.Errorf("dropped = %q, want only vm-bad with a reason containing %q", got, tt.reason)
				}
				if got, want := db.Count(t, "vitals", "heart_rate")-before, 9; got != want {
					t.Errorf("new heart_rate points = %d, want %d", got, want)
				}
				pts, err := s.Query(ctx, Query{BedID: obs[0].BedID, Field: "spo2", From: start, To: start.Add(time.Hour)})
				if err != nil || len(pts) != 9 {
					t.Errorf("Query(spo2 of the batch) = %d points, %v, want 9 (not the bad point's)", len(pts), err)
				}
			})
		}
	})

	t.Run("configuration errors keep the data", func(t *testing.T) {
		tests := []struct {
			name, bucket, want string
		}{
			{"unknown database", "nope/autogen", "database not found"},
			{"unknown retention policy", "carebed/nope", "retention policy not found"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wrong := newInflux(t, db.URL, tt.bucket, drops)
				err := wrong.Write(ctx, vitalsBatch("vm-w", base, 3))
				if !errors.Is(err, ErrRetry) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Write(bucket %s) = %v, want ErrRetry mentioning %q", tt.bucket, err, tt.want)
				}
				if got := drops.take(); len(got) != 0 {
					t.Errorf("Write(bucket %s) dropped %q, want nothing", tt.bucket, got)
				}
			})
		}
	})

	t.Run("outage", func(t *testing.T) {
		obs := vitalsBatch("vm-o", base.Add(10*24*time.Hour), 20)
		db.Stop()
		err := s.Write(ctx, obs)
		if !errors.Is(err, ErrRetry) {
			t.Errorf("Write() while InfluxDB is down = %v, want ErrRetry", err)
		}
		if err := s.Ping(ctx); !errors.Is(err, ErrRetry) {
			t.Errorf("Ping() while InfluxDB is down = %v, want ErrRetry", err)
		}
		if _, err := s.Query(ctx, Query{BedID: "b1", Field: "heart_rate", From: base}); !errors.Is(err, ErrRetry) {
			t.Errorf("Query() while InfluxDB is down = %v, want ErrRetry", err)
		}
		db.Start()
		if err := s.Ping(ctx); err != nil {
			t.Errorf("Ping() after restart = %v, want nil", err)
		}
		if err := s.Write(ctx, obs); err != nil {
			t.Fatalf("Write() after restart = %v, want nil", err)
		}
		if got := drops.take(); len(got) != 0 {
			t.Errorf("dropped %q, want nothing", got)
		}
		rows := db.Query(t, `SELECT count(heart_rate) FROM vitals WHERE device = 'vm-o'`)
		if len(rows) != 1 || rows[0]["count"] != 20.0 {
			t.Errorf("count of the batch after restart = %v, want 20", rows)
		}
	})
}

func sameRow(got, want gatewaytest.Row) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
