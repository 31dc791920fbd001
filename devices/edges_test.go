package devices

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// z2mStep is one message of a device in an Edges scenario.
type z2mStep struct {
	device  string
	kind    Kind
	topic   string // "" for the JSON state, "action" for the plain-text topic
	payload string
	after   time.Duration // since the scenario's start
	want    []Field
}

func runEdges(t *testing.T, e *Edges, steps []z2mStep) {
	t.Helper()
	for i, s := range steps {
		var r Reading
		var err error
		if s.topic == Z2MSubAction {
			r, err = DecodeZigbee2MQTTAction([]byte(s.payload))
		} else {
			r, err = DecodeZigbee2MQTT(s.kind, []byte(s.payload), z2mReceived)
		}
		if err != nil {
			t.Fatalf("step %d: decode %q: %v", i, s.payload, err)
		}
		if got := e.Step(s.device, r, z2mReceived.Add(s.after)); !reflect.DeepEqual(got, s.want) {
			t.Errorf("step %d: Step(%s, %s) = %v, want %v", i, s.device, s.payload, got, s.want)
		}
	}
}

func TestEdgesStep(t *testing.T) {
	sosTrue, sosFalse := BoolField("sos", true), BoolField("sos", false)
	press := StringField("action", "press")
	tests := []struct {
		name  string
		steps []z2mStep
	}{
		{"transitions, not repeats", []z2mStep{
			{device: "d", kind: KindSOSButton, payload: `{"sos":false,"battery":90}`},
			{device: "d", kind: KindSOSButton, payload: `{"sos":true,"battery":90}`, after: time.Minute, want: []Field{sosTrue}},
			{device: "d", kind: KindSOSButton, payload: `{"sos":true,"battery":90}`, after: 2 * time.Minute},
			{device: "d", kind: KindSOSButton, payload: `{"sos":false,"battery":90}`, after: 3 * time.Minute, want: []Field{sosFalse}},
		}},
		{"battery report repeating sos true raises nothing new", []z2mStep{
			{device: "d", kind: KindSOSButton, payload: `{"sos":true,"battery":96}`, want: []Field{sosTrue}},
			{device: "d", kind: KindSOSButton, payload: `{"battery":95,"battery_low":false,"linkquality":99,"sos":true,"tamper":false}`, after: time.Hour},
		}},
		{"first value raised only when alarming", []z2mStep{
			{device: "door", kind: KindDoorSensor, payload: `{"contact":false,"tamper":true}`},
			{device: "bed", kind: KindVitalsMonitor, payload: `{"occupancy":true}`},
			{device: "fall", kind: KindFallSensor, payload: `{"fall_down_status":"none"}`},
			{device: "radar", kind: KindFallSensor, payload: `{"fall_down_status":"maybe_fall"}`, want: []Field{StringField("state", "suspected")}},
			{device: "leak", kind: KindWaterLeak, payload: `{"water_leak":true}`, want: []Field{BoolField("water_leak", true)}},
		}},
		{"z2m start-up replay raises nothing", []z2mStep{
			{device: "door", kind: KindDoorSensor, payload: `{"contact":true}`},
			{device: "fall", kind: KindFallSensor, payload: `{"fall_down_status":"fall"}`, want: []Field{StringField("state", "fall")}},
			{device: "door", kind: KindDoorSensor, payload: `{"contact":true}`, after: time.Hour},
			{device: "fall", kind: KindFallSensor, payload: `{"fall_down_status":"fall"}`, after: time.Hour},
		}},
		{"action empty, null and off are not presses", []z2mStep{
			{device: "b", kind: KindSOSButton, payload: `{"action":""}`},
			{device: "b", kind: KindSOSButton, payload: `{"action":null}`, after: 10 * time.Second},
			{device: "b", kind: KindSOSButton, payload: `{"action":"off"}`, after: 20 * time.Second},
			{device: "b", kind: KindSOSButton, topic: Z2MSubAction, payload: `off`, after: 30 * time.Second},
		}},
		{"json action and /action count once", []z2mStep{
			{device: "b", kind: KindSOSButton, payload: `{"action":"emergency","linkquality":90}`, want: []Field{press}},
			{device: "b", kind: KindSOSButton, topic: Z2MSubAction, payload: `emergency`, after: 300 * time.Millisecond},
			{device: "b", kind: KindSOSButton, payload: `{"action":"","linkquality":90}`, after: 400 * time.Millisecond},
			{device: "b", kind: KindSOSButton, payload: `{"action":"emergency","linkquality":90}`, after: 5 * time.Second, want: []Field{press}},
		}},
		{"/action first, then json, out of order", []z2mStep{
			{device: "b", kind: KindSOSButton, topic: Z2MSubAction, payload: `emergency`, after: time.Second, want: []Field{press}},
			{device: "b", kind: KindSOSButton, payload: `{"action":"emergency"}`},
		}},
		{"presses of two devices are not merged", []z2mStep{
			{device: "a", kind: KindSOSButton, payload: `{"action":"emergency"}`, want: []Field{press}},
			{device: "b", kind: KindSOSButton, payload: `{"action":"emergency"}`, want: []Field{press}},
		}},
		{"null is unknown and missing key changes nothing", []z2mStep{
			{device: "leak", kind: KindWaterLeak, payload: `{"water_leak":true}`, want: []Field{BoolField("water_leak", true)}},
			{device: "leak", kind: KindWaterLeak, payload: `{"water_leak":null,"battery":100}`, after: time.Minute},
			{device: "leak", kind: KindWaterLeak, payload: `{"battery":100}`, after: 2 * time.Minute},
			{device: "leak", kind: KindWaterLeak, payload: `{"water_leak":false}`, after: 3 * time.Minute, want: []Field{BoolField("water_leak", false)}},
		}},
		{"contact polarity", []z2mStep{
			{device: "door", kind: KindDoorSensor, payload: `{"contact":true}`},
			{device: "door", kind: KindDoorSensor, payload: `{"contact":false}`, after: time.Minute, want: []Field{BoolField("door_open", true)}},
			{device: "door", kind: KindDoorSensor, payload: `{"contact":true}`, after: 2 * time.Minute, want: []Field{BoolField("door_open", false)}},
		}},
		{"status levels change too", []z2mStep{
			{device: "smoke", kind: KindSmokeAlarm, payload: `{"smoke":false,"battery_low":false,"tamper":false}`},
			{device: "smoke", kind: KindSmokeAlarm, payload: `{"smoke":false,"battery_low":true,"tamper":false}`, after: time.Hour,
				want: []Field{BoolField("battery_low", true)}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runEdges(t, NewEdges(), tt.steps) })
	}
}

func TestEdgesSnapshotRestore(t *testing.T) {
	e := NewEdges()
	runEdges(t, e, []z2mStep{
		{device: "fall", kind: KindFallSensor, payload: `{"fall_down_status":"fall"}`, want: []Field{StringField("state", "fall")}},
		{device: "door", kind: KindDoorSensor, payload: `{"contact":false}`},
		{device: "sos", kind: KindSOSButton, payload: `{"sos":true,"action":"emergency"}`, want: []Field{StringField("action", "press"), BoolField("sos", true)}},
	})
	snap := e.Snapshot()
	restored := NewEdges()
	if err := restored.Restore(snap); err != nil {
		t.Fatalf("Restore(%s) = %v, want nil", snap, err)
	}
	if again := restored.Snapshot(); string(again) != string(snap) {
		t.Errorf("Snapshot after Restore = %s, want %s", again, snap)
	}
	// Zigbee2MQTT replays after our restart: nothing is raised again.
	runEdges(t, restored, []z2mStep{
		{device: "fall", kind: KindFallSensor, payload: `{"fall_down_status":"fall"}`, after: time.Minute},
		{device: "door", kind: KindDoorSensor, payload: `{"contact":false}`, after: time.Minute},
		{device: "sos", kind: KindSOSButton, payload: `{"sos":true}`, after: time.Minute},
		{device: "door", kind: KindDoorSensor, payload: `{"contact":true}`, after: 2 * time.Minute, want: []Field{BoolField("door_open", false)}},
	})

	bad := []struct{ name, in string }{
		{"not json", `{`},
		{"other version", `{"version":2,"devices":{}}`},
		{"wrong level type", `{"version":1,"devices":{"d":{"levels":{"sos":"yes"}}}}`},
		{"state too long", `{"version":1,"devices":{"d":{"levels":{"state":"` + string(make([]byte, 40)) + `"}}}}`},
	}
	for _, b := range bad {
		e := NewEdges()
		e.Step("keep", Reading{Fields: []Field{BoolField("sos", true)}}, z2mReceived)
		if err := e.Restore([]byte(b.in)); err == nil {
			t.Errorf("%s: Restore(%q) = nil, want an error", b.name, b.in)
		}
		if got := e.Step("keep", Reading{Fields: []Field{BoolField("sos", true)}}, z2mReceived); got != nil {
			t.Errorf("%s: state changed by a failed Restore: Step = %v, want nil", b.name, got)
		}
	}
	unknown := NewEdges()
	if err := unknown.Restore([]byte(`{"version":1,"devices":{"d":{"levels":{"heart_rate":1,"sos":null,"smoke":true}}}}`)); err != nil {
		t.Errorf("Restore with unknown level = %v, want nil", err)
	}
	if got := unknown.Step("d", Reading{Fields: []Field{BoolField("smoke", true)}}, z2mReceived); got != nil {
		t.Errorf("Step after Restore(smoke true) = %v, want nil", got)
	}
}

func TestEdgesForget(t *testing.T) {
	e := NewEdges()
	r := Reading{Fields: []Field{BoolField("sos", true)}}
	e.Step("d", r, z2mReceived)
	e.Forget("d")
	if got := e.Step("d", r, z2mReceived); len(got) != 1 {
		t.Errorf("Step after Forget = %v, want the alarming first value again", got)
	}
}

// TestEdgesConcurrent is meant for -race.
func TestEdgesConcurrent(t *testing.T) {
	e := NewEdges()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				dev := fmt.Sprintf("dev-%d", i%5)
				r := Reading{Fields: []Field{BoolField("sos", (i+g)%2 == 0), StringField("action", "press")}}
				e.Step(dev, r, z2mReceived.Add(time.Duration(i)*time.Second))
				if i%50 == 0 {
					_ = e.Restore(e.Snapshot())
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkEdgesStep(b *testing.B) {
	e := NewEdges()
	r, err := DecodeZigbee2MQTT(KindSOSButton, []byte(`{"battery":95,"battery_low":false,"linkquality":99,"sos":true,"tamper":false}`), z2mReceived)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("0x00158d0001a2%04x", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Step(ids[i%len(ids)], r, z2mReceived)
		i++
	}
}
