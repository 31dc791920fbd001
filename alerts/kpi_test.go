package alerts

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// kpiAlert is a counted alert of ag-1 raised at raised, acknowledged ack
// later (no acknowledgement when ack < 0).
func kpiAlert(id int64, raised time.Time, ack time.Duration) Alert {
	a := Alert{ID: id, AgencyID: "ag-1", BedID: "bed-1", Kind: KindVitals, Severity: Critical, State: Open, RaisedAt: raised}
	if ack >= 0 {
		a.State, a.AcknowledgedAt = Acknowledged, timePtr(raised.Add(ack))
	}
	return a
}

func secs(f float64) *float64 { return &f }

func TestResponseKPIs(t *testing.T) {
	sh := loadZone(t, "Asia/Shanghai")
	nov := time.Date(2026, 11, 10, 2, 0, 0, 0, time.UTC) // inside November in Shanghai
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	with := func(a Alert, f func(*Alert)) Alert { f(&a); return a }
	empty := func(agency string) ResponseKPI {
		return ResponseKPI{AgencyID: agency, Month: "2026-11", Target60: 0.975, Target180: 0.99,
			MeetsTarget60: true, MeetsTarget180: true, Exceptions: []KPIException{}}
	}
	kpi := func(f func(*ResponseKPI)) ResponseKPI { k := empty("ag-1"); f(&k); return k }
	areas := map[string]string{"bed-u": "urban", "bed-r": "rural", "bed-x": "mountain"}
	areaType := func(bed string) string { return areas[bed] }
	arrival := func(id int64, bed string, kind Kind, after time.Duration) Alert {
		return with(kpiAlert(id, nov, 30*time.Second), func(a *Alert) {
			a.BedID, a.Kind = bed, kind
			if after >= 0 {
				a.ArrivedAt = timePtr(nov.Add(after))
			}
		})
	}

	tests := []struct {
		name string
		list []Alert
		now  time.Time
		want []ResponseKPI
	}{
		{name: "no alerts at all", want: []ResponseKPI{}},
		{
			name: "exactly 60 s is within 60 s",
			list: []Alert{kpiAlert(1, nov, 60*time.Second), kpiAlert(2, nov, 60*time.Second+time.Millisecond)},
			want: []ResponseKPI{kpi(func(k *ResponseKPI) {
				k.Alerts, k.AckWithin60, k.AckWithin180, k.ShareWithin60, k.ShareWithin180 = 2, 1, 2, 0.5, 1
				k.MeetsTarget60 = false
			})},
		},
		{
			name: "exactly 180 s is within 180 s, later is an exception",
			list: []Alert{kpiAlert(1, nov, 180*time.Second), kpiAlert(2, nov.Add(time.Hour), 181*time.Second)},
			want: []ResponseKPI{kpi(func(k *ResponseKPI) {
				k.Alerts, k.AckWithin180, k.ShareWithin180 = 2, 1, 0.5
				k.MeetsTarget60, k.MeetsTarget180 = false, false
				k.Exceptions = []KPIException{{AlertID: 2, BedID: "bed-1", Kind: KindVitals, Severity: Critical, RaisedAt: nov.Add(time.Hour), AckSeconds: secs(181)}}
			})},
		},
		{
			name: "resolved without an acknowledgement counts at its resolution",
			list: []Alert{with(kpiAlert(1, nov, -1), func(a *Alert) { a.State, a.ResolvedAt = Resolved, timePtr(nov.Add(45*time.Second)) })},
			want: []ResponseKPI{kpi(func(k *ResponseKPI) {
				k.Alerts, k.AckWithin60, k.AckWithin180, k.ShareWithin60, k.ShareWithin180 = 1, 1, 1, 1, 1
			})},
		},
		{
			name: "never acknowledged is an exception once 180 s old",
			list: []Alert{kpiAlert(1, now.Add(-181*time.Second), -1), kpiAlert(2, now.Add(-180*time.Second), -1)},
			// A December report as of now: the second alert can still make it.
			want: []ResponseKPI{{AgencyID: "ag-1", Month: "2026-12", Alerts: 2, Pending: 1, Target60: 0.975, Target180: 0.99,
				Exceptions: []KPIException{{AlertID: 1, BedID: "bed-1", Kind: KindVitals, Severity: Critical, RaisedAt: now.Add(-181 * time.Second)}}}},
		},
		{
			name: "39 of 40 within 60 s meets 97.5 %",
			list: func() []Alert {
				var l []Alert
				for i := range 40 {
					ack := 10 * time.Second
					if i == 0 {
						ack = 61 * time.Second
					}
					l = append(l, kpiAlert(int64(i), nov.Add(time.Duration(i)*time.Minute), ack))
				}
				return l
			}(),
			want: []ResponseKPI{kpi(func(k *ResponseKPI) {
				k.Alerts, k.AckWithin60, k.AckWithin180, k.ShareWithin60, k.ShareWithin180 = 40, 39, 40, 0.975, 1
			})},
		},
		{
			name: "silenced, minor and other months are not counted; their agencies still get a row",
			list: []Alert{
				with(kpiAlert(1, nov, -1), func(a *Alert) { a.Silenced = true }),
				with(kpiAlert(2, nov, -1), func(a *Alert) { a.Severity, a.AgencyID = Minor, "ag-0" }),
				with(kpiAlert(3, nov.AddDate(0, 1, 0), -1), func(a *Alert) { a.AgencyID = "ag-2" }),
				with(kpiAlert(4, nov, 20*time.Second), func(a *Alert) { a.Severity = Major }),
			},
			want: []ResponseKPI{
				empty("ag-0"),
				kpi(func(k *ResponseKPI) {
					k.Alerts, k.AckWithin60, k.AckWithin180, k.ShareWithin60, k.ShareWithin180 = 1, 1, 1, 1, 1
				}),
				empty("ag-2"),
			},
		},
		{
			name: "month boundaries are Shanghai's",
			list: []Alert{
				kpiAlert(1, time.Date(2026, 10, 31, 16, 30, 0, 0, time.UTC), 0),  // 1 November 00:30 in Shanghai
				kpiAlert(2, time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC), 0),   // 1 November 00:00
				kpiAlert(3, time.Date(2026, 10, 31, 15, 59, 59, 0, time.UTC), 0), // 31 October 23:59:59
				kpiAlert(4, time.Date(2026, 11, 30, 15, 59, 59, 0, time.UTC), 0), // 30 November 23:59:59
				kpiAlert(5, time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC), 0),   // 1 December 00:00
			},
			want: []ResponseKPI{kpi(func(k *ResponseKPI) {
				k.Alerts, k.AckWithin60, k.AckWithin180, k.ShareWithin60, k.ShareWithin180 = 3, 3, 3, 1, 1
			})},
		},
		{
			name: "arrivals against 15 min urban, 30 min rural",
			list: []Alert{
				arrival(1, "bed-u", KindSOS, 15*time.Minute),              // urban, exactly on target
				arrival(2, "bed-u", KindFall, 15*time.Minute+time.Second), // urban, late
				arrival(3, "bed-r", KindFall, 29*time.Minute),             // rural, in time
				arrival(4, "bed-x", KindSOS, 20*time.Minute),              // unknown area: urban, late
				arrival(5, "bed-r", KindSOS, -1),                          // nobody came
				arrival(6, "bed-u", KindSmoke, time.Minute),               // not an emergency call
			},
			want: []ResponseKPI{kpi(func(k *ResponseKPI) {
				k.Alerts, k.AckWithin60, k.AckWithin180, k.ShareWithin60, k.ShareWithin180 = 6, 6, 6, 1, 1
				k.Arrivals = ArrivalKPI{Eligible: 5, Arrived: 4, WithinTarget: 2, NoArrival: 1, Share: 0.4,
					MedianSeconds: secs((15*60 + 1 + 20*60) / 2.0)}
			})},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			month, n := "2026-11", now
			if tt.want != nil && len(tt.want) > 0 {
				month = tt.want[0].Month
			}
			got, err := ResponseKPIs(tt.list, month, sh, areaType, n)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ResponseKPIs(%s, %q) =\n %s, %v\nwant\n %s", jsonOf(tt.list), month, jsonOf(got), err, jsonOf(tt.want))
			}
		})
	}
}

func TestResponseKPIsArrivalMedian(t *testing.T) {
	raised := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	list := []Alert{}
	for i, mins := range []int{9, 3, 12} {
		a := kpiAlert(int64(i), raised, 0)
		a.Kind, a.ArrivedAt = KindSOS, timePtr(raised.Add(time.Duration(mins)*time.Minute))
		list = append(list, a)
	}
	got, err := ResponseKPIs(list, "2026-11", nil, nil, raised.AddDate(0, 1, 0))
	if err != nil || len(got) != 1 || got[0].Arrivals.MedianSeconds == nil || *got[0].Arrivals.MedianSeconds != 540 ||
		got[0].Arrivals.WithinTarget != 3 {
		t.Errorf("ResponseKPIs(arrivals after 9, 3, 12 min, no area types) = %s, %v, want a median of 540 s, 3 within target", jsonOf(got), err)
	}
}

func TestResponseKPIsMonth(t *testing.T) {
	tests := []struct {
		name    string
		month   string
		wantErr bool
	}{
		{"month", "2026-02", false},
		{"a day", "2026-02-01", true},
		{"no zero", "2026-2", true},
		{"month 13", "2026-13", true},
		{"empty", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ResponseKPIs(nil, tt.month, time.UTC, nil, refTime)
			if (err != nil) != tt.wantErr {
				t.Errorf("ResponseKPIs(nil, %q) = %v, want error %v", tt.month, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "YYYY-MM") {
				t.Errorf("ResponseKPIs(nil, %q) = %q, want it to say the format", tt.month, err)
			}
		})
	}
}
