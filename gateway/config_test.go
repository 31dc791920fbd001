package gateway

import (
	"slices"
	"strings"
	"testing"
)

func TestConfigSenMLNames(t *testing.T) {
	c := Defaults()
	c.SenMLNames = map[string]string{"pulse2": "heart_rate", "temp": "vitals.temp_c", "hr": ""}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
	names := c.SenMLRecordNames()
	if names["pulse2"] != "heart_rate" || names["temp"] != "vitals.temp_c" || names["heartRate"] != "heart_rate" {
		t.Errorf("SenMLRecordNames() = %v, want the defaults with pulse2 added and temp changed", names)
	}
	if _, ok := names["hr"]; ok {
		t.Errorf("SenMLRecordNames() keeps hr, want it dropped by hr=")
	}
	c.SenMLNames = map[string]string{"pulse": "heartbeat"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "senml-names: pulse=heartbeat") {
		t.Errorf("Validate() with an unknown field = %v, want a senml-names error naming it", err)
	}
}

func TestDefaultTopicsReadEveryFormat(t *testing.T) {
	for _, f := range []string{"carebed/#", "zigbee2mqtt/#", "z2m/#", "homeassistant/#", "tele/#", "esphome/#"} {
		if !slices.Contains(Defaults().MQTTTopics, f) {
			t.Errorf("Defaults().MQTTTopics = %v, want %s", Defaults().MQTTTopics, f)
		}
	}
}
