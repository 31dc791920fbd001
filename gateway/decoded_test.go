package gateway

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"carebed/devices"
	"carebed/gateway/journal"
)

// TestDecodedRing: consumers share an entry's decoding while the registry
// stays as it was, and decode again when it changed or the slot holds
// another entry; a consumer reusing its buffer never changes what the
// others get.
func TestDecodedRing(t *testing.T) {
	at := time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC)
	vitals := func(index uint64, device string, hr int) journal.Entry {
		return journal.Entry{Index: index, Received: at, Topic: "carebed/" + device + "/vitals",
			Payload: []byte(`{"heart_rate":` + strconv.Itoa(hr) + `}`)}
	}
	heartRate := func(t *testing.T, obs []devices.Observation) float64 {
		t.Helper()
		if len(obs) != 1 {
			t.Fatalf("decode gave %d observations, want 1", len(obs))
		}
		f, ok := obs[0].Field("heart_rate")
		if !ok {
			t.Fatalf("observation %+v has no heart_rate", obs[0])
		}
		return f.F
	}
	newRing := func() (*devices.Registry, *decodedRing) {
		reg := devices.NewRegistry()
		reg.PutBed(devices.Bed{ID: "b1", AgencyID: "a1"})
		reg.PutDevice(devices.Device{ID: "vm-1", BedID: "b1", Kind: devices.KindVitalsMonitor})
		return reg, newDecodedRing(reg)
	}

	t.Run("second consumer shares the first decoding", func(t *testing.T) {
		_, ring := newRing()
		first, err := ring.decode(vitals(1, "vm-1", 61), nil)
		if err != nil {
			t.Fatal(err)
		}
		second, err := ring.decode(vitals(1, "vm-1", 61), nil)
		if err != nil {
			t.Fatal(err)
		}
		if &first[0].Fields[0] != &second[0].Fields[0] {
			t.Error("second decode of entry 1 made new fields, want the first decoding shared")
		}
	})
	t.Run("registry change decodes again", func(t *testing.T) {
		reg, ring := newRing()
		e := vitals(1, "vm-2", 70)
		_, err := ring.decode(e, nil)
		if ue := (*devices.UnknownDeviceError)(nil); !errors.As(err, &ue) {
			t.Fatalf("decode of an unregistered device = %v, want *UnknownDeviceError", err)
		}
		reg.PutDevice(devices.Device{ID: "vm-2", BedID: "b1", Kind: devices.KindVitalsMonitor})
		obs, err := ring.decode(e, nil)
		if err != nil {
			t.Fatalf("decode after the device was registered = %v, want nil", err)
		}
		if got := heartRate(t, obs); got != 70 {
			t.Errorf("heart_rate = %v, want 70", got)
		}
	})
	t.Run("slot taken by a later entry decodes again", func(t *testing.T) {
		_, ring := newRing()
		if _, err := ring.decode(vitals(1, "vm-1", 61), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ring.decode(vitals(1+decodedSlots, "vm-1", 99), nil); err != nil {
			t.Fatal(err)
		}
		obs, err := ring.decode(vitals(1, "vm-1", 61), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := heartRate(t, obs); got != 61 {
			t.Errorf("heart_rate of entry 1 after its slot was reused = %v, want 61", got)
		}
	})
	t.Run("a consumer far behind leaves later entries in place", func(t *testing.T) {
		_, ring := newRing()
		ahead, err := ring.decode(vitals(1+decodedSlots, "vm-1", 99), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ring.decode(vitals(1, "vm-1", 61), nil); err != nil {
			t.Fatal(err)
		}
		again, err := ring.decode(vitals(1+decodedSlots, "vm-1", 99), nil)
		if err != nil {
			t.Fatal(err)
		}
		if &ahead[0].Fields[0] != &again[0].Fields[0] {
			t.Error("entry 1 decoded by a consumer behind evicted the later entry sharing its slot, want it kept")
		}
	})
	t.Run("reused buffer leaves the shared decoding alone", func(t *testing.T) {
		_, ring := newRing()
		buf, err := ring.decode(vitals(1, "vm-1", 61), nil)
		if err != nil {
			t.Fatal(err)
		}
		buf[0] = devices.Observation{DeviceID: "overwritten"}
		obs, err := ring.decode(vitals(1, "vm-1", 61), buf[:0])
		if err != nil {
			t.Fatal(err)
		}
		if obs[0].DeviceID != "vm-1" || heartRate(t, obs) != 61 {
			t.Errorf("decode after the first consumer reused its buffer = %+v, want vm-1 with heart_rate 61", obs[0])
		}
	})
	t.Run("appends to what out holds", func(t *testing.T) {
		_, ring := newRing()
		out := []devices.Observation{{DeviceID: "earlier"}}
		out, err := ring.decode(vitals(1, "vm-1", 61), out)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 2 || out[0].DeviceID != "earlier" || out[1].DeviceID != "vm-1" {
			t.Errorf("decode appended %+v, want [earlier vm-1]", out)
		}
		out, err = ring.decode(vitals(1, "vm-1", 61), out[:1])
		if err != nil || len(out) != 2 || out[1].DeviceID != "vm-1" {
			t.Errorf("shared decode appended %+v, %v, want [earlier vm-1]", out, err)
		}
	})
}
