package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"carebed/devices"
)

// TestConcurrentWriters runs the device-state consumer's SaveHealth while
// devices are being registered and lists read, through one DB and through
// two DBs on the same file (as two processes would). None may fail, in
// particular not with SQLITE_BUSY.
func TestConcurrentWriters(t *testing.T) {
	tests := []struct {
		name    string
		handles int
	}{
		{"one handle", 1},
		{"two handles on one file", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "c.db")
			dbs := make([]*DB, tt.handles)
			for i := range dbs {
				db, err := Open(ctx, path)
				if err != nil {
					t.Fatalf("Open #%d = %v", i+1, err)
				}
				defer db.Close()
				dbs[i] = db
			}
			seed(t, dbs[0])
			const writers, rounds = 4, 25
			health := map[string]devices.Health{}
			for i := range writers * rounds {
				health[fmt.Sprintf("w%d-%d", i%writers, i/writers)] = devices.Health{LastSeen: ptr(t0), Online: true}
			}

			errs := make(chan error, 3*writers*rounds)
			var wg sync.WaitGroup
			for w := range writers {
				saver, creator := dbs[w%len(dbs)], dbs[(w+1)%len(dbs)]
				wg.Go(func() {
					for r := range rounds {
						if err := creator.CreateDevice(ctx, device(fmt.Sprintf("w%d-%d", w, r), "b1", devices.KindHub)); err != nil {
							errs <- err
						}
					}
				})
				wg.Go(func() {
					for range rounds {
						if err := saver.SaveHealth(ctx, health); err != nil {
							errs <- err
						}
					}
				})
				wg.Go(func() {
					for range rounds {
						if _, err := saver.ListDevices(ctx, DeviceFilter{BedID: "b1", Page: Page{Limit: MaxLimit}}); err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("concurrent call = %v, want nil", err)
			}

			// A final save reaches every device.
			if err := dbs[0].SaveHealth(ctx, health); err != nil {
				t.Fatal(err)
			}
			all, err := dbs[len(dbs)-1].AllDevices(ctx)
			if err != nil || len(all) != writers*rounds {
				t.Fatalf("AllDevices = %d devices, %v, want %d", len(all), err, writers*rounds)
			}
			for _, d := range all {
				if d.LastSeen == nil || !d.LastSeen.Equal(t0) || !d.Online {
					t.Errorf("device %s health = %+v, want seen at %v and online", d.ID, d.Health, t0)
				}
			}
		})
	}
}

// TestContextCancel checks that a cancelled context stops a call waiting
// for the writer.
func TestContextCancel(t *testing.T) {
	db := openTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if err := db.CreateAgency(ctx, agency("a1")); err == nil {
		t.Errorf("CreateAgency(cancelled ctx) = nil, want an error")
	}
}
