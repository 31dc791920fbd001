package api

import (
	"reflect"
	"testing"

	"github.com/gofiber/fiber/v2"

	"carebed/alerts"
)

func TestListIncidents(t *testing.T) {
	h, _ := newAlertHarness(t)
	for _, s := range []alertSpec{ // ids 1..6
		{"ag1", "bed1", alerts.KindBatteryLow, alerts.Minor, alerts.Open, 0},
		{"ag1", "bed1", alerts.KindFall, alerts.Critical, alerts.Acknowledged, 5},
		{"ag1", "bed2", alerts.KindDoorNight, alerts.Major, alerts.Open, 10},
		{"ag1", "bed2", alerts.KindBedExit, alerts.Major, alerts.Open, 12},
		{"ag2", "bed3", alerts.KindSOS, alerts.Critical, alerts.Acknowledged, 20},
		{"ag1", "bed4", alerts.KindSOS, alerts.Critical, alerts.Resolved, 30},
	} {
		h.saveAlert(t, s)
	}
	type row struct {
		Bed      string
		Severity alerts.Severity
		State    alerts.State
		Alerts   []int64
	}
	tests := []struct {
		name, path string
		want       []row
	}{
		// bed1 has an open alert (the battery), so it waits for someone;
		// its fall makes it critical. Resolved alerts (bed4) are no
		// incident.
		{"all", "/api/v1/incidents", []row{
			{"bed1", alerts.Critical, alerts.Open, []int64{2, 1}},
			{"bed2", alerts.Major, alerts.Open, []int64{3, 4}},
			{"bed3", alerts.Critical, alerts.Acknowledged, []int64{5}},
		}},
		{"one agency", "/api/v1/incidents?agency=ag2", []row{{"bed3", alerts.Critical, alerts.Acknowledged, []int64{5}}}},
		{"none", "/api/v1/incidents?agency=nobody", []row{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.mustDo(t, "GET", tt.path, "", fiber.StatusOK)
			got := decode[listBody[Incident]](t, "GET", tt.path, r)
			rows := []row{}
			for _, in := range got.Items {
				ids := []int64{}
				for _, a := range in.Alerts {
					ids = append(ids, a.ID)
				}
				rows = append(rows, row{in.BedID, in.Severity, in.State, ids})
			}
			if !reflect.DeepEqual(rows, tt.want) {
				t.Errorf("GET %s = %+v, want %+v", tt.path, rows, tt.want)
			}
		})
	}
}
