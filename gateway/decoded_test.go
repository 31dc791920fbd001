package gateway

import (
	"testing"
	"time"

	"carebed/devices"
	"carebed/gateway/journal"
)

func TestDecodedSharesAndFallsBack(t *testing.T) {
	reg := devices.NewRegistry()
	reg.PutBed(devices.Bed{ID: "bed-1", AgencyID: "a"})
	reg.PutDevice(devices.Device{ID: "v1", BedID: "bed-1", Kind: devices.KindVitalsMonitor})
	at := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	entry := func(i uint64, payload string) journal.Entry {
		return journal.Entry{Index: i, Received: at, Topic: "carebed/v1/vitals", Payload: []byte(payload)}
	}
	d := newDecoded(4)
	// Entry 1 was decoded by the device-state consumer (with a marker value
	// the payload does not have, to tell a hit from a decode); entry 2 was
	// rejected there; entries 3 and 7 are missing (7 collides with 3's slot
	// once 3 is overwritten, so 3 must be decoded again).
	d.put([]decodedSlot{
		{index: 1, ok: true, obs: devices.Observation{DeviceID: "v1", Reading: devices.Reading{Fields: []devices.Field{devices.FloatField("heart_rate", 99)}}}},
		{index: 2, ok: false},
		{index: 7, ok: true, obs: devices.Observation{DeviceID: "v1", Reading: devices.Reading{Fields: []devices.Field{devices.FloatField("heart_rate", 77)}}}},
	})
	batch := []journal.Entry{entry(1, `{"heart_rate":60}`), entry(2, `{"heart_rate":61}`), entry(3, `{"heart_rate":62}`)}
	got, _ := d.observe(reg, batch, nil, nil)
	var rates []float64
	for _, o := range got {
		rates = append(rates, o.Fields[0].F)
	}
	if want := []float64{99, 62}; len(rates) != len(want) || rates[0] != want[0] || rates[1] != want[1] {
		t.Errorf("observe() heart rates = %v, want %v (1 from the ring, 2 rejected, 3 decoded)", rates, want)
	}
}
