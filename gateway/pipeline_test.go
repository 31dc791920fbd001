package gateway

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"carebed/devices"
	"carebed/gateway/journal"
	"carebed/store"
)

// TestDeviceStateZigbee2MQTT runs one journal batch of a Zigbee2MQTT home
// through the device-state consumer: discovery is kept, a hub going offline
// blinds its devices at that point of the batch, and messages that carry
// nothing are counted as ignored, not as dead letters.
func TestDeviceStateZigbee2MQTT(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateAgency(ctx, devices.Agency{ID: "a1", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateBed(ctx, devices.Bed{ID: "b1", AgencyID: "a1"}); err != nil {
		t.Fatal(err)
	}
	reg, mon := devices.NewRegistry(), devices.NewMonitor(nil)
	reg.PutBed(devices.Bed{ID: "b1", AgencyID: "a1"})
	for _, d := range []devices.Device{
		{ID: "hub-1", BedID: "b1", Kind: devices.KindHub, Format: devices.FormatZigbee2MQTT, Source: "z2m/home-1"},
		{ID: "sos-1", BedID: "b1", Kind: devices.KindSOSButton, Format: devices.FormatZigbee2MQTT, Source: "0x0c4314fffe03c247"},
		{ID: "fall-1", BedID: "b1", Kind: devices.KindFallSensor, Format: devices.FormatZigbee2MQTT, Source: "Bathroom radar"},
	} {
		if err := db.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
		reg.PutDevice(d)
	}
	list, err := os.ReadFile("../devices/testdata/discovery/bridge-devices.json")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var batch []journal.Entry
	add := func(topic, payload string) {
		batch = append(batch, journal.Entry{Index: uint64(len(batch) + 1), Received: t0.Add(time.Duration(len(batch)) * time.Second), Topic: topic, Payload: []byte(payload)})
	}
	add("z2m/home-1/bridge/devices", string(list))
	add("z2m/home-1/bridge/state", `{"state":"online"}`)
	add("z2m/home-1/Bedroom/SOS button", `{"sos":false,"battery":90}`)
	add("z2m/home-1/Bathroom radar", `{"fall_down_status":"none"}`)
	add("z2m/home-1/bridge/logging", `{"message":"x"}`)
	add("z2m/home-1/bridge/state", `{"state":"offline"}`)
	add("z2m/home-1/bridge/state", `{"state":"online"}`)
	add("z2m/home-1/Bathroom radar", `{"fall_down_status":"none"}`) // back; the button says nothing yet
	add("z2m/home-1/Hallway PIR", `{"occupancy":true}`)
	add("homeassistant/binary_sensor/0xa4c138c36f8a774e/water_leak/config", `{"dev_cla":"moisture","dev":{"ids":["zigbee2mqtt_0xa4c138c36f8a774e"]}}`)
	add("z2m/home-1/Bathroom radar", `{"fall_down_status":1}`)

	m := newMetrics()
	d := &deviceState{reg: reg, decoded: newDecodedRing(reg), monitor: mon, db: db, metrics: m, log: slog.New(slog.NewTextHandler(io.Discard, nil)), saveEvery: time.Hour}
	if err := d.consume(ctx, batch); err != nil {
		t.Fatalf("consume = %v", err)
	}

	for id, want := range map[string]bool{"hub-1": true, "sos-1": false, "fall-1": true} {
		if h, _ := mon.Get(id); h.Online != want {
			t.Errorf("online of %s = %v, want %v", id, h.Online, want)
		}
	}
	disc, err := db.ListDiscovered(ctx, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range disc {
		ids = append(ids, x.ID)
	}
	if len(disc) != 11 || !slices.Contains(ids, "0xa4c138c36f8a774e") {
		t.Errorf("discovered = %v, want the hub's 10 and Home Assistant's water leak sensor", ids)
	}
	lists, err := db.Zigbee2MQTTLists(ctx)
	if err != nil || len(lists) != 1 || lists[0].Names["Bedroom/SOS button"] != "0x0c4314fffe03c247" {
		t.Errorf("Zigbee2MQTTLists = %v, %v; want the hub's names", lists, err)
	}
	unknown, err := db.ListUnknown(ctx, store.Page{})
	if err != nil || len(unknown) != 1 || unknown[0].Key != "z2m/home-1/Hallway PIR" {
		t.Errorf("unknown devices = %+v, %v; want z2m/home-1/Hallway PIR", unknown, err)
	}
	dead, err := db.ListDeadLetters(ctx, store.DeadLetterFilter{})
	if err != nil || len(dead) != 1 || dead[0].Reason != devices.ReasonWrongType {
		t.Errorf("dead letters = %+v, %v; want the one wrong type", dead, err)
	}
	for _, c := range []struct {
		stream, result string
		want           float64
	}{
		{"none", resultIgnored, 1},  // bridge/logging
		{"none", resultAccepted, 2}, // the two discovery messages
		{"availability", resultAccepted, 3},
		{"sos", resultAccepted, 1},
		{"fall", resultAccepted, 2},
		{"none", resultUnknown, 1},
		{"none", resultRejected, 1},
	} {
		var pb dto.Metric
		if err := m.messages.WithLabelValues(c.stream, c.result).Write(&pb); err != nil {
			t.Fatal(err)
		}
		if got := pb.GetCounter().GetValue(); got != c.want {
			t.Errorf("messages{stream=%s,result=%s} = %v, want %v", c.stream, c.result, got, c.want)
		}
	}
}
