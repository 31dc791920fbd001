package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"carebed/devices"
)

func z2mList(base string, at time.Time, list ...devices.Discovered) DiscoveryMessage {
	for i := range list {
		list[i].Format, list[i].Via = devices.FormatZigbee2MQTT, devices.ViaZigbee2MQTT
		if list[i].Source == "" {
			list[i].Source = base + "/" + list[i].FriendlyName
		}
	}
	return DiscoveryMessage{Announcement: devices.Announcement{Via: devices.ViaZigbee2MQTT, Base: base, Devices: list}, Received: at}
}

func haEntity(topic string, at time.Time, d devices.Discovered) DiscoveryMessage {
	d.Via = devices.ViaHomeAssistant
	return DiscoveryMessage{Announcement: devices.Announcement{Via: devices.ViaHomeAssistant, Topic: topic, Devices: []devices.Discovered{d}}, Received: at}
}

func haRemoved(topic string, at time.Time) DiscoveryMessage {
	return DiscoveryMessage{Announcement: devices.Announcement{Via: devices.ViaHomeAssistant, Topic: topic, Deleted: true}, Received: at}
}

// discoveredSummary lists the discovered devices as "id kind base listed".
func discoveredSummary(t *testing.T, db *DB) []string {
	t.Helper()
	items, err := db.ListDiscovered(context.Background(), Page{})
	if err != nil {
		t.Fatalf("ListDiscovered = %v", err)
	}
	var out []string
	for _, d := range items {
		s := fmt.Sprintf("%s %s %q listed=%v", d.ID, d.Kind, d.Base, d.Listed)
		if d.Accepted {
			s += " accepted=" + d.DeviceID
		}
		out = append(out, s)
	}
	return out
}

func TestSaveDiscovery(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	sos := devices.Discovered{ID: "0x0c4314fffe03c247", IEEE: "0x0c4314fffe03c247", FriendlyName: "Bedroom/SOS button", Kind: devices.KindSOSButton, Model: "TS0215A_sos"}
	pir := devices.Discovered{ID: "0x00158d0001a1b2c3", IEEE: "0x00158d0001a1b2c3", FriendlyName: "Hallway PIR", Kind: devices.KindMotionSensor}
	leak := devices.Discovered{ID: "0xa4c138c36f8a774e", IEEE: "0xa4c138c36f8a774e", FriendlyName: "Kitchen leak", Note: "no kind"}

	steps := []struct {
		name string
		msgs []DiscoveryMessage
		want []string
	}{
		{"a hub's list", []DiscoveryMessage{z2mList("z2m/home-1", t0, sos, pir, leak)}, []string{
			`0x00158d0001a1b2c3 motion_sensor "z2m/home-1" listed=true`,
			`0x0c4314fffe03c247 sos_button "z2m/home-1" listed=true`,
			`0xa4c138c36f8a774e  "z2m/home-1" listed=true`,
		}},
		{"home assistant fills in a kind, keeps the list's", []DiscoveryMessage{
			haEntity("homeassistant/binary_sensor/0xa4c138c36f8a774e/water_leak/config", t0, devices.Discovered{ID: "0xa4c138c36f8a774e", Kind: devices.KindWaterLeak, Format: devices.FormatZigbee2MQTT}),
			haEntity("homeassistant/sensor/0x0c4314fffe03c247/battery/config", t0, devices.Discovered{ID: "0x0c4314fffe03c247", Note: "battery"}),
			haEntity("homeassistant/binary_sensor/0x0c4314fffe03c247/sos/config", t0, devices.Discovered{ID: "0x0c4314fffe03c247", Kind: devices.KindGasAlarm}),
		}, []string{
			`0x00158d0001a1b2c3 motion_sensor "z2m/home-1" listed=true`,
			`0x0c4314fffe03c247 sos_button "z2m/home-1" listed=true`,
			`0xa4c138c36f8a774e water_leak "z2m/home-1" listed=true`,
		}},
		{"home assistant alone", []DiscoveryMessage{
			haEntity("homeassistant/binary_sensor/radar/fall/config", t0, devices.Discovered{ID: "radar", Format: devices.FormatESPHome, Source: "radar/binary_sensor/fall/state"}),
		}, []string{
			`0x00158d0001a1b2c3 motion_sensor "z2m/home-1" listed=true`,
			`0x0c4314fffe03c247 sos_button "z2m/home-1" listed=true`,
			`0xa4c138c36f8a774e water_leak "z2m/home-1" listed=true`,
			`radar  "" listed=false`,
		}},
		{"a new list drops the devices it no longer has, not those home assistant still announces", []DiscoveryMessage{
			z2mList("z2m/home-1", t0.Add(time.Hour), sos),
		}, []string{
			`0x0c4314fffe03c247 sos_button "z2m/home-1" listed=true`,
			`0xa4c138c36f8a774e water_leak "z2m/home-1" listed=false`,
			`radar  "" listed=false`,
		}},
		{"removing the last entity drops what no list holds", []DiscoveryMessage{
			haRemoved("homeassistant/binary_sensor/0xa4c138c36f8a774e/water_leak/config", t0.Add(time.Hour)),
			haRemoved("homeassistant/sensor/0x0c4314fffe03c247/battery/config", t0.Add(time.Hour)),
			haRemoved("homeassistant/binary_sensor/never/seen/config", t0.Add(time.Hour)),
		}, []string{
			`0x0c4314fffe03c247 sos_button "z2m/home-1" listed=true`,
			`radar  "" listed=false`,
		}},
		{"a deleted list changes nothing", []DiscoveryMessage{
			{Announcement: devices.Announcement{Via: devices.ViaZigbee2MQTT, Base: "z2m/home-1", Deleted: true}, Received: t0.Add(2 * time.Hour)},
		}, []string{
			`0x0c4314fffe03c247 sos_button "z2m/home-1" listed=true`,
			`radar  "" listed=false`,
		}},
	}
	for _, st := range steps {
		if err := db.SaveDiscovery(ctx, st.msgs); err != nil {
			t.Fatalf("%s: SaveDiscovery = %v", st.name, err)
		}
		if got := discoveredSummary(t, db); !slices.Equal(got, st.want) {
			t.Errorf("%s: discovered =\n%q\nwant\n%q", st.name, got, st.want)
		}
	}
	d, err := db.GetDiscovered(ctx, "0x0c4314fffe03c247")
	if err != nil {
		t.Fatal(err)
	}
	if d.FriendlyName != "Bedroom/SOS button" || d.Source != "z2m/home-1/Bedroom/SOS button" || d.Model != "TS0215A_sos" ||
		!d.FirstSeen.Equal(t0) || !d.LastSeen.Equal(t0.Add(time.Hour)) || d.Via != devices.ViaZigbee2MQTT {
		t.Errorf("GetDiscovered(sos) = %+v, want its list's name, source, model, first seen t0, last seen t0+1h", d)
	}
	if _, err := db.GetDiscovered(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetDiscovered(nope) = %v, want ErrNotFound", err)
	}
	if err := db.SaveDiscovery(ctx, []DiscoveryMessage{{Announcement: devices.Announcement{Via: devices.ViaZigbee2MQTT}}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("SaveDiscovery(no receive time) = %v, want ErrInvalid", err)
	}
}

func TestZigbee2MQTTLists(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	a := devices.Discovered{ID: "0x1", IEEE: "0x1", FriendlyName: "Bedroom/SOS button"}
	b := devices.Discovered{ID: "0x2", IEEE: "0x2", FriendlyName: "Bathroom radar"}
	renamed := devices.Discovered{ID: "0x1", IEEE: "0x1", FriendlyName: "Hall SOS"}
	for _, m := range []DiscoveryMessage{
		z2mList("z2m/home-1", t0, a, b),
		z2mList("zigbee2mqtt", t0, b),
		z2mList("z2m/home-1", t0.Add(time.Hour), renamed, b),
		z2mList("z2m/home-1", t0.Add(time.Minute), a, b), // older: the names stay
	} {
		if err := db.SaveDiscovery(ctx, []DiscoveryMessage{m}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Zigbee2MQTTLists(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Zigbee2MQTTList{
		{Base: "z2m/home-1", Received: t0.Add(time.Hour), Names: map[string]string{"Hall SOS": "0x1", "Bathroom radar": "0x2"}},
		{Base: "zigbee2mqtt", Received: t0, Names: map[string]string{"Bathroom radar": "0x2"}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Zigbee2MQTTLists = %v, want %v", got, want)
	}
}

func TestAcceptDiscovered(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	seed(t, db, "taken")
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	pir := devices.Discovered{ID: "0x00158d0001a1b2c3", IEEE: "0x00158d0001a1b2c3", FriendlyName: "Hallway PIR", Kind: devices.KindMotionSensor}
	if err := db.SaveDiscovery(ctx, []DiscoveryMessage{z2mList("z2m/home-1", t0, pir)}); err != nil {
		t.Fatal(err)
	}
	dev := devices.Device{ID: "pir-1", BedID: "b1", Kind: devices.KindMotionSensor, Format: devices.FormatZigbee2MQTT, Source: pir.IEEE}
	tests := []struct {
		name string
		id   string
		d    devices.Device
		want error
	}{
		{"not discovered", "nope", dev, ErrNotFound},
		{"invalid device", pir.ID, devices.Device{ID: "pir-1", BedID: "b1", Kind: "lamp"}, ErrInvalid},
		{"no such bed", pir.ID, devices.Device{ID: "pir-1", BedID: "b9", Kind: devices.KindMotionSensor}, ErrInvalid},
		{"id taken", pir.ID, devices.Device{ID: "taken", BedID: "b1", Kind: devices.KindMotionSensor}, ErrConflict},
		{"accepted", pir.ID, dev, nil},
		{"accepted twice", pir.ID, devices.Device{ID: "pir-2", BedID: "b1", Kind: devices.KindMotionSensor}, ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.AcceptDiscovered(ctx, tt.id, tt.d, t0.Add(time.Hour))
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("AcceptDiscovered(%s, %s) = %v, want %v", tt.id, tt.d.ID, err, tt.want)
			}
		})
	}
	got, err := db.GetDevice(ctx, "pir-1")
	if err != nil || got.Source != pir.IEEE || got.Format != devices.FormatZigbee2MQTT || got.BedID != "b1" {
		t.Errorf("GetDevice(pir-1) = %+v, %v; want the accepted device", got, err)
	}
	d, _ := db.GetDiscovered(ctx, pir.ID)
	if !d.Accepted || d.DeviceID != "pir-1" || d.AcceptedAt == nil || !d.AcceptedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("GetDiscovered after accept = %+v, want accepted as pir-1 at t0+1h", d)
	}
	// An accepted device stays listed after its hub forgets it.
	if err := db.SaveDiscovery(ctx, []DiscoveryMessage{z2mList("z2m/home-1", t0.Add(2*time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if got := discoveredSummary(t, db); !slices.Equal(got, []string{`0x00158d0001a1b2c3 motion_sensor "z2m/home-1" listed=false accepted=pir-1`}) {
		t.Errorf("discovered after the hub forgot the accepted device = %q", got)
	}
}

func TestDiscoveredBound(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var msgs []DiscoveryMessage
	for i := range DefaultMaxDiscovered + 5 {
		id := fmt.Sprintf("e%05d", i)
		msgs = append(msgs, haEntity("homeassistant/light/"+id+"/config", t0.Add(time.Duration(i)*time.Second), devices.Discovered{ID: id}))
	}
	if err := db.SaveDiscovery(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetDiscovered(ctx, "e00004"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetDiscovered(oldest) = %v, want it dropped", err)
	}
	if _, err := db.GetDiscovered(ctx, "e00005"); err != nil {
		t.Errorf("GetDiscovered(e00005) = %v, want it kept", err)
	}
}
