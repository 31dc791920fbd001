package devices

import (
	"testing"
	"time"
)

func TestRegistryDecodeNative(t *testing.T) {
	received := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	r := NewRegistry()
	r.PutBed(Bed{ID: "bed-1", AgencyID: "agency-1"})
	r.PutDevice(Device{ID: "v1", BedID: "bed-1", Kind: KindVitalsMonitor})
	tests := []struct {
		name       string
		topic      string
		payload    string
		wantReason Reason
		wantTime   time.Time
	}{
		{"registered device", "carebed/v1/vitals", `{"heart_rate":70}`, "", received},
		{"device time kept", "carebed/v1/vitals", `{"heart_rate":70,"ts":1795000000000}`, "", time.UnixMilli(1795000000000).UTC()},
		{"unknown device", "carebed/nobody/vitals", `{"heart_rate":70}`, ReasonUnknownDevice, time.Time{}},
		{"unknown topic before registry", "carebed/v1", `{}`, ReasonUnknownTopic, time.Time{}},
		{"oversized before anything", "carebed/v1/vitals", `{"x":"` + string(make([]byte, MaxPayload)) + `"}`, ReasonOversized, time.Time{}},
		{"decoder rejection", "carebed/v1/vitals", `{"heart_rate":900}`, ReasonOutOfRange, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev := []Observation{{DeviceID: "earlier"}}
			got, err := r.Decode(Message{Topic: tt.topic, Payload: []byte(tt.payload), Received: received}, prev)
			if reason := ReasonOf(err); reason != tt.wantReason {
				t.Fatalf("Decode(%q) reason = %q (%v), want %q", tt.topic, reason, err, tt.wantReason)
			}
			if key, _ := UnknownKey(err); tt.wantReason == ReasonUnknownDevice && key != "nobody" {
				t.Errorf("Decode(%q) unknown key = %q, want the unknown id for the unknown list", tt.topic, key)
			}
			if err != nil {
				if len(got) != 1 {
					t.Errorf("Decode(%q) after an error = %d observations, want the 1 given", tt.topic, len(got))
				}
				return
			}
			if len(got) != 2 || got[0].DeviceID != "earlier" {
				t.Fatalf("Decode(%q) = %d observations, want the one given and one more", tt.topic, len(got))
			}
			o := got[1]
			if o.DeviceID != "v1" || o.BedID != "bed-1" || o.AgencyID != "agency-1" || o.Kind != KindVitalsMonitor || !o.Time.Equal(tt.wantTime) {
				t.Errorf("Decode(%q) = device %q bed %q agency %q kind %q time %v, want v1 bed-1 agency-1 vitals_monitor %v",
					tt.topic, o.DeviceID, o.BedID, o.AgencyID, o.Kind, o.Time, tt.wantTime)
			}
		})
	}
	r.RemoveDevice("v1")
	if _, err := r.Decode(Message{Topic: "carebed/v1/vitals", Payload: []byte(`{"heart_rate":70}`), Received: received}, nil); ReasonOf(err) != ReasonUnknownDevice {
		t.Errorf("Decode after RemoveDevice = %v, want unknown_device", err)
	}
}

// A device's observations carry its bed's agency as the bed is registered,
// changed, removed and registered again, whichever came first.
func TestRegistryBedAgency(t *testing.T) {
	r := NewRegistry()
	r.PutDevice(Device{ID: "v1", BedID: "bed-1", Kind: KindVitalsMonitor}) // before its bed
	agency := func() string {
		t.Helper()
		obs, err := r.Decode(Message{Topic: "carebed/v1/vitals", Payload: []byte(`{"heart_rate":70}`), Received: time.Now()}, nil)
		if err != nil || len(obs) != 1 {
			t.Fatalf("Decode() = %v, %v, want one observation", obs, err)
		}
		return obs[0].AgencyID
	}
	steps := []struct {
		name       string
		do         func()
		wantAgency string
		wantBeds   int
	}{
		{"device before its bed", func() {}, "", 0},
		{"bed registered", func() { r.PutBed(Bed{ID: "bed-1", AgencyID: "a1"}) }, "a1", 1},
		{"bed moved to another agency", func() { r.PutBed(Bed{ID: "bed-1", AgencyID: "a2"}) }, "a2", 1},
		{"another bed", func() { r.PutBed(Bed{ID: "bed-2", AgencyID: "a1"}) }, "a2", 2},
		{"bed removed", func() { r.RemoveBed("bed-1") }, "", 1},
		{"removed twice", func() { r.RemoveBed("bed-1") }, "", 1},
		{"bed back", func() { r.PutBed(Bed{ID: "bed-1", AgencyID: "a3"}) }, "a3", 2},
	}
	for _, st := range steps {
		st.do()
		if got := agency(); got != st.wantAgency {
			t.Errorf("%s: agency = %q, want %q", st.name, got, st.wantAgency)
		}
		if got := r.Beds(); got != st.wantBeds {
			t.Errorf("%s: Beds() = %d, want %d", st.name, got, st.wantBeds)
		}
	}
}
