package devices

import (
	"testing"
	"time"
)

// foreignRoutes registers one device of every foreign format, so that the
// native tables below also show that routes of other formats change no
// native verdict. No hub reads the base zigbee2mqtt: the bad table's
// zigbee2mqtt topic is an unknown topic only as long as none does
// (TestRegistryZigbee2MQTT has the other case).
func foreignRoutes(r *Registry) {
	r.PutBed(Bed{ID: "bed-f", AgencyID: "agency-f"})
	for _, d := range []Device{
		{ID: "f-hub", BedID: "bed-f", Kind: KindHub, Format: FormatZigbee2MQTT, Source: "z2m/home-1"},
		{ID: "f-sos", BedID: "bed-f", Kind: KindSOSButton, Format: FormatZigbee2MQTT, Source: "0x00158d0001a2b3c4"},
		{ID: "f-radar", BedID: "bed-f", Kind: KindVitalsMonitor, Format: FormatESPHome, Source: "bedroom-radar"},
		{ID: "f-tasmota", BedID: "bed-f", Kind: KindClimate, Format: FormatTasmota, Source: "tasmota_3D5E26"},
		{ID: "f-senml", BedID: "bed-f", Kind: KindVitalsMonitor, Format: FormatSenML, Source: "care/home-17/bedroom-radar/senml"},
	} {
		r.PutDevice(d)
	}
}

// nativeCaseRegistry registers, besides the foreign routes, the device of
// every case whose topic names one, on bed-1.
func nativeCaseRegistry(cases []nativeCase) *Registry {
	r := NewRegistry()
	foreignRoutes(r)
	r.PutBed(Bed{ID: "bed-1", AgencyID: "agency-1"})
	for _, c := range cases {
		if id, _, err := ParseNativeTopic(c.Topic); err == nil {
			r.PutDevice(Device{ID: id, BedID: "bed-1", Kind: KindVitalsMonitor})
		}
	}
	return r
}

// TestRegistryDecodeNativeBadCases runs the whole native bad table through
// Decode with every device registered: each case is refused for the reason
// and field the table says, as ParseNativeTopic and DecodeNative refuse it.
func TestRegistryDecodeNativeBadCases(t *testing.T) {
	cases := loadNativeCases(t, "native-bad.jsonl")
	r := nativeCaseRegistry(cases)
	received := time.Now()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got, err := r.Decode(Message{Topic: c.Topic, Payload: c.wire(), Received: received}, nil)
			re := asReject(err)
			if re == nil || re.Reason != c.Reason || re.Field != c.Field {
				t.Fatalf("Decode(%q, %q) = %v, want %s field %q", clip(c.Topic), clip(string(c.wire())), err, c.Reason, c.Field)
			}
			if len(got) != 0 {
				t.Errorf("Decode(%q) = %d observations with an error, want none", clip(c.Topic), len(got))
			}
		})
	}
}

// TestRegistryDecodeNativeGoodCases: every good case gives one observation
// with the table's fields.
func TestRegistryDecodeNativeGoodCases(t *testing.T) {
	cases := loadNativeCases(t, "native-good.jsonl")
	r := nativeCaseRegistry(cases)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got, err := r.Decode(Message{Topic: c.Topic, Payload: c.wire(), Received: time.Now()}, nil)
			if err != nil || len(got) != 1 {
				t.Fatalf("Decode(%q) = %d observations, %v; want 1", c.Topic, len(got), err)
			}
			if !fieldsMatch(got[0].Fields, c.Fields) || got[0].Via != "" {
				t.Errorf("Decode(%q) = %s via %q, want fields %v and no hub", c.Topic, fmtReading(got[0].Reading), got[0].Via, c.Fields)
			}
		})
	}
}

func TestRegistryNativeSenML(t *testing.T) {
	received := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	r := NewRegistry()
	r.PutBed(Bed{ID: "bed-1", AgencyID: "agency-1"})
	r.PutDevice(Device{ID: "radar-1", BedID: "bed-1", Kind: KindVitalsMonitor, Format: FormatSenML})
	pack := `[{"bn":"urn:dev:mac:0024befffe804ff1:","n":"heartRate","u":"beat/min","v":72},{"n":"rr","u":"1/min","v":16},{"n":"batt","u":"%EL","v":87,"t":-60}]`
	tests := []struct {
		name, topic, payload string
		want                 string // observations, or the reason
		wantKey              string
	}{
		{"default names", "carebed/radar-1/senml", pack, "radar-1 vitals heart_rate=72 resp_rate=16; radar-1 status battery=87 @-1m0s", ""},
		{"no record mapped is a sign of life", "carebed/radar-1/senml", `[{"n":"voltage","u":"V","v":3.1}]`, "radar-1 status", ""},
		{"unknown device", "carebed/nobody/senml", pack, "unknown_device", "nobody"},
		{"bad pack", "carebed/radar-1/senml", `{"n":"hr"}`, "wrong_type", ""},
		{"unknown unit", "carebed/radar-1/senml", `[{"n":"hr","u":"Cel","v":72}]`, "invalid_value", ""},
		{"stream case still matters", "carebed/radar-1/SenML", pack, "unknown_stream", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Decode(Message{Topic: tt.topic, Payload: []byte(tt.payload), Received: received}, nil)
			if s := summary(got, err, received); s != tt.want {
				t.Errorf("Decode(%q) = %s, want %s", tt.topic, s, tt.want)
			}
			if key, _ := UnknownKey(err); key != tt.wantKey {
				t.Errorf("Decode(%q) unknown key = %q, want %q", tt.topic, key, tt.wantKey)
			}
		})
	}
}
