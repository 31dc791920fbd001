package devices

import (
	"testing"
	"time"
)

func TestRegistryObserve(t *testing.T) {
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
			o, err := r.Observe(Message{Topic: tt.topic, Payload: []byte(tt.payload), Received: received})
			if got := ReasonOf(err); got != tt.wantReason {
				t.Fatalf("Observe(%q) reason = %q (%v), want %q", tt.topic, got, err, tt.wantReason)
			}
			if tt.wantReason == ReasonUnknownDevice && o.DeviceID != "nobody" {
				t.Errorf("Observe(%q).DeviceID = %q, want the unknown id for the unknown list", tt.topic, o.DeviceID)
			}
			if err != nil {
				return
			}
			if o.BedID != "bed-1" || o.AgencyID != "agency-1" || o.Kind != KindVitalsMonitor || !o.Time.Equal(tt.wantTime) {
				t.Errorf("Observe(%q) = bed %q agency %q kind %q time %v, want bed-1 agency-1 vitals_monitor %v",
					tt.topic, o.BedID, o.AgencyID, o.Kind, o.Time, tt.wantTime)
			}
		})
	}
	r.RemoveDevice("v1")
	if _, err := r.Observe(Message{Topic: "carebed/v1/vitals", Payload: []byte(`{"heart_rate":70}`), Received: received}); ReasonOf(err) != ReasonUnknownDevice {
		t.Errorf("Observe after RemoveDevice = %v, want unknown_device", err)
	}
}
