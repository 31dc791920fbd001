package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"carebed/devices"
)

// metrics are the gateway's Prometheus series. Label values come from
// closed sets (streams, results, reasons, consumer names): never a device
// id or anything personal.
type metrics struct {
	reg          *prometheus.Registry
	messages     *prometheus.CounterVec // by stream and result
	byStream     map[string]map[string]prometheus.Counter
	deadLetters  *prometheus.CounterVec // by reason
	writeSeconds prometheus.Histogram
	writePoints  *prometheus.CounterVec // by result: written, dropped, retried

	alertsOpen       prometheus.Gauge
	alertsRaised     *prometheus.CounterVec // by kind and severity
	alertLatency     *prometheus.HistogramVec
	alertSaveSeconds prometheus.Histogram
	alertDelay       prometheus.Histogram
	alertEscalations prometheus.Counter
	alertAckSeconds  *prometheus.HistogramVec // by severity
	notifications    *prometheus.CounterVec   // by result
}

const (
	resultAccepted = "accepted"
	resultRejected = "rejected"
	resultUnknown  = "unknown_device"
)

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &metrics{
		reg: reg,
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_messages_total",
			Help: "Device messages taken from the journal, by stream and result (accepted, rejected, unknown_device).",
		}, []string{"stream", "result"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_dead_letters_total",
			Help: "Unusable messages, by reason.",
		}, []string{"reason"}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "carebed_telemetry_write_seconds",
			Help:    "Time to write one batch to the time-series store.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		writePoints: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_telemetry_observations_total",
			Help: "Observations sent to the time-series store, by result (written, dropped).",
		}, []string{"result"}),
	}
	m.alertsOpen = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "carebed_alerts_unresolved",
		Help: "Alerts not yet resolved.",
	})
	m.alertsRaised = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "carebed_alerts_raised_total",
		Help: "Alerts opened, by kind and severity.",
	}, []string{"kind", "severity"})
	m.alertLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "carebed_alert_raise_seconds",
		Help: "From receiving the message that raised an alert (or its timer's deadline) to the alert being stored, by kind.",
		// 0.5 ms to about 8 s.
		Buckets: prometheus.ExponentialBucketsRange(0.0005, 8, 29),
	}, []string{"kind"})
	m.alertSaveSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "carebed_alert_save_seconds",
		Help:    "Time to store one unit of alert changes (one transaction).",
		Buckets: prometheus.ExponentialBucketsRange(0.0002, 4, 22),
	})
	m.alertDelay = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "carebed_alert_rules_delay_seconds",
		Help:    "From receiving a message to the alarm rules taking it (the oldest message of each batch).",
		Buckets: prometheus.ExponentialBucketsRange(0.0002, 8, 30),
	})
	m.alertEscalations = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "carebed_alert_escalations_total",
		Help: "Escalation steps taken.",
	})
	m.alertAckSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "carebed_alert_ack_seconds",
		Help:    "Time from raise to acknowledgement, by severity.",
		Buckets: []float64{5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800},
	}, []string{"severity"})
	m.notifications = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "carebed_notifications_total",
		Help: "Notification requests handed to a channel, by result (sent, retry, failed).",
	}, []string{"result"})
	reg.MustRegister(m.messages, m.deadLetters, m.writeSeconds, m.writePoints,
		m.alertsOpen, m.alertsRaised, m.alertLatency, m.alertSaveSeconds, m.alertDelay, m.alertEscalations, m.alertAckSeconds, m.notifications)
	for _, r := range []string{"sent", "retry", "failed"} {
		m.notifications.WithLabelValues(r)
	}
	// Pre-create the closed label sets so dashboards see zeros, not gaps.
	m.byStream = map[string]map[string]prometheus.Counter{}
	for _, s := range append(devices.Streams, "none") {
		m.byStream[string(s)] = map[string]prometheus.Counter{}
		for _, r := range []string{resultAccepted, resultRejected, resultUnknown} {
			m.byStream[string(s)][r] = m.messages.WithLabelValues(string(s), r)
		}
	}
	for _, r := range devices.Reasons {
		m.deadLetters.WithLabelValues(string(r))
	}
	m.writePoints.WithLabelValues("written")
	m.writePoints.WithLabelValues("dropped")
	return m
}

// message is the counter of one stream and result; stream is a label from
// streamLabel, result one of the result constants.
func (m *metrics) message(stream, result string) prometheus.Counter {
	return m.byStream[stream][result]
}
