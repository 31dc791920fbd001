package alerts

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Response targets (DOMAIN.md: an emergency call answered and help sent).
const (
	Target60  = 0.975 // share of alerts acknowledged within 60 s
	Target180 = 0.99  // share of alerts acknowledged within 180 s

	ArrivalUrban = 15 * time.Minute // service radius in the city centre
	ArrivalRural = 30 * time.Minute // service radius in remote rural areas
)

// ResponseKPI is one agency's response to its alerts in one month.
type ResponseKPI struct {
	AgencyID string `json:"agency_id"`
	Month    string `json:"month"` // YYYY-MM
	// Alerts counted: raised in the month, not silenced, critical or major.
	Alerts       int `json:"alerts"`
	AckWithin60  int `json:"ack_within_60s"`
	AckWithin180 int `json:"ack_within_180s"`
	// Pending alerts are unacknowledged and not yet 180 s old at the time
	// of the report: counted in Alerts, not (yet) within a target, and not
	// (yet) exceptions. Only a report of the running month has any.
	Pending        int            `json:"pending"`
	ShareWithin60  float64        `json:"share_within_60s"`
	ShareWithin180 float64        `json:"share_within_180s"`
	Target60       float64        `json:"target_60s"`
	Target180      float64        `json:"target_180s"`
	MeetsTarget60  bool           `json:"meets_target_60s"`
	MeetsTarget180 bool           `json:"meets_target_180s"`
	Exceptions     []KPIException `json:"exceptions"`
	Arrivals       ArrivalKPI     `json:"arrivals"`
}

// KPIException is an alert answered after 180 s, or never answered and
// older than 180 s.
type KPIException struct {
	AlertID  int64     `json:"alert_id"`
	BedID    string    `json:"bed_id"`
	Kind     Kind      `json:"kind"`
	Severity Severity  `json:"severity"`
	RaisedAt time.Time `json:"raised_at"`
	// AckSeconds is the time to acknowledge; nil when nobody did.
	AckSeconds *float64 `json:"ack_seconds"`
}

// ArrivalKPI is how fast a caregiver reached the home after an sos or
// fall alert: within 15 minutes in urban areas, 30 in rural ones.
type ArrivalKPI struct {
	Eligible     int     `json:"eligible"` // counted sos and fall alerts
	Arrived      int     `json:"arrived"`
	WithinTarget int     `json:"within_target"`
	NoArrival    int     `json:"no_arrival"` // Eligible - Arrived
	Share        float64 `json:"share"`      // WithinTarget / Eligible; 0 when none
	// MedianSeconds is the median time to arrive of the alerts with an
	// arrival; nil when none.
	MedianSeconds *float64 `json:"median_seconds"`
}

// ResponseKPIs measures each agency's answer to its alerts raised in
// month (YYYY-MM, a calendar month in zone; nil means UTC), as of now.
//
// It counts alerts that are not silenced and are critical or major:
// minor alerts are technical (a low battery, a device to service) and not
// emergency calls, and silenced alerts paged nobody. Time to acknowledge
// is AcknowledgedAt - RaisedAt, or ResolvedAt - RaisedAt for an alert
// resolved without an acknowledgement; exactly 60 s is within 60 s. An
// alert nobody acknowledged that is more than 180 s old at now is an
// exception and within neither target.
//
// Arrivals count the sos and fall alerts among them: arrived within 15
// minutes of RaisedAt when areaType(bed) is "urban", 30 when "rural"; an
// unknown area type (or a nil areaType) gets the stricter urban target.
//
// There is one ResponseKPI per agency found in list, sorted by agency id,
// including agencies with no alert counted in the month: their shares are
// 0 and they meet the targets.
func ResponseKPIs(list []Alert, month string, zone *time.Location, areaType func(bedID string) string, now time.Time) ([]ResponseKPI, error) {
	if zone == nil {
		zone = time.UTC
	}
	first, err := time.ParseInLocation("2006-01", month, zone)
	if err != nil {
		return nil, fmt.Errorf("response KPIs: month %q: want YYYY-MM, such as \"2026-11\"", month)
	}
	end := first.AddDate(0, 1, 0)

	byAgency := map[string]*kpiTally{}
	for _, a := range list {
		t := byAgency[a.AgencyID]
		if t == nil {
			t = &kpiTally{k: ResponseKPI{AgencyID: a.AgencyID, Month: month, Target60: Target60, Target180: Target180}}
			byAgency[a.AgencyID] = t
		}
		if a.Silenced || (a.Severity != Critical && a.Severity != Major) ||
			a.RaisedAt.Before(first) || !a.RaisedAt.Before(end) {
			continue
		}
		t.add(a, areaType, now)
	}

	out := make([]ResponseKPI, 0, len(byAgency))
	for _, t := range byAgency {
		out = append(out, t.result())
	}
	slices.SortFunc(out, func(x, y ResponseKPI) int { return cmp.Compare(x.AgencyID, y.AgencyID) })
	return out, nil
}

// kpiTally is one agency's KPI in the making.
type kpiTally struct {
	k        ResponseKPI
	arrivals []float64 // seconds
}

func (t *kpiTally) add(a Alert, areaType func(string) string, now time.Time) {
	t.k.Alerts++
	ack, acked := ackTime(a)
	switch {
	case acked:
		if ack <= 60*time.Second {
			t.k.AckWithin60++
		}
		if ack <= 180*time.Second {
			t.k.AckWithin180++
		} else {
			t.exception(a, &ack)
		}
	case now.Sub(a.RaisedAt) > 180*time.Second:
		t.exception(a, nil)
	default:
		t.k.Pending++
	}
	if !isEvent(a.Kind) {
		return
	}
	t.k.Arrivals.Eligible++
	if a.ArrivedAt == nil {
		return
	}
	t.k.Arrivals.Arrived++
	took := max(a.ArrivedAt.Sub(a.RaisedAt), 0)
	if took <= arrivalTarget(a.BedID, areaType) {
		t.k.Arrivals.WithinTarget++
	}
	t.arrivals = append(t.arrivals, took.Seconds())
}

func (t *kpiTally) exception(a Alert, ack *time.Duration) {
	e := KPIException{AlertID: a.ID, BedID: a.BedID, Kind: a.Kind, Severity: a.Severity, RaisedAt: a.RaisedAt}
	if ack != nil {
		s := ack.Seconds()
		e.AckSeconds = &s
	}
	t.k.Exceptions = append(t.k.Exceptions, e)
}

func (t *kpiTally) result() ResponseKPI {
	k := t.k
	if k.Exceptions == nil {
		k.Exceptions = []KPIException{} // JSON: [] rather than null
	}
	k.ShareWithin60 = kpiShare(k.AckWithin60, k.Alerts)
	k.ShareWithin180 = kpiShare(k.AckWithin180, k.Alerts)
	k.MeetsTarget60 = kpiMeets(k.AckWithin60, k.Alerts, k.Target60)
	k.MeetsTarget180 = kpiMeets(k.AckWithin180, k.Alerts, k.Target180)
	slices.SortFunc(k.Exceptions, func(x, y KPIException) int {
		return cmp.Or(x.RaisedAt.Compare(y.RaisedAt), cmp.Compare(x.AlertID, y.AlertID))
	})
	ar := &k.Arrivals
	ar.NoArrival = ar.Eligible - ar.Arrived
	ar.Share = kpiShare(ar.WithinTarget, ar.Eligible)
	ar.MedianSeconds = medianOf(t.arrivals)
	return k
}

// ackTime is how long an alert waited for a human answer: to its
// acknowledgement, or to its resolution when nobody acknowledged it.
// Clock skew never makes it negative.
func ackTime(a Alert) (time.Duration, bool) {
	switch {
	case a.AcknowledgedAt != nil:
		return max(a.AcknowledgedAt.Sub(a.RaisedAt), 0), true
	case a.ResolvedAt != nil:
		return max(a.ResolvedAt.Sub(a.RaisedAt), 0), true
	}
	return 0, false
}

func arrivalTarget(bedID string, areaType func(string) string) time.Duration {
	if areaType != nil && areaType(bedID) == "rural" {
		return ArrivalRural
	}
	return ArrivalUrban
}

func kpiShare(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// kpiMeets compares in counts, so that 39 of 40 meets 97.5 % whatever the
// rounding of the share.
func kpiMeets(n, of int, target float64) bool {
	return of == 0 || float64(n) >= target*float64(of)-1e-9
}

func medianOf(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + m) / 2
	}
	return &m
}
