package gateway

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"carebed/devices"
	"carebed/gateway/api"
	"carebed/gateway/broker"
	"carebed/gateway/ingest"
	"carebed/gateway/journal"
	"carebed/gateway/telemetry"
	"carebed/store"
)

// Run starts the gateway and blocks until ctx ends or a part fails; then it
// stops every part in the reverse order of starting, within
// cfg.ShutdownTimeout. ready, when not nil, is called once everything
// listens (tests use it).
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready func(Info)) (err error) {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	var parts lifecycle
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		err = errors.Join(err, parts.stop(sctx, log))
	}()
	failed := make(chan error, 8)

	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data-dir %s: %w", cfg.DataDir, err)
	}
	m := newMetrics()

	db, err := store.Open(ctx, filepath.Join(cfg.DataDir, "state.db"), store.WithMaxDeadLetters(cfg.DeadLetterKeep))
	if err != nil {
		return fmt.Errorf("state database: %w", err)
	}
	parts.add("state database", func(context.Context) error { return db.Close() })

	zone, err := time.LoadLocation(cfg.Zone)
	if err != nil {
		return fmt.Errorf("zone: %w", err)
	}
	reg := devices.NewRegistry(devices.WithZone(zone), devices.WithSenMLNames(cfg.SenMLRecordNames()))
	monitor := devices.NewMonitor(heartbeats(cfg.Heartbeats))
	if err := loadRegistry(ctx, db, reg, monitor); err != nil {
		return err
	}
	if cfg.ScaleMemoryLimit || cfg.ScaleGCPercent {
		parts.goRun("memory budget", failed, func(ctx context.Context) error {
			return keepMemoryBudget(ctx, reg, time.Second, runtimeTuning(cfg), log)
		})
	}

	j, err := journal.Open(journal.Options{
		Dir: filepath.Join(cfg.DataDir, "journal"), MaxUnacked: cfg.MaxUnacked, NoSync: cfg.JournalNoSync,
		CommitInterval: 3 * time.Millisecond, // at most 333 fsyncs a second; 3 ms more per acknowledgement
	})
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	parts.add("journal", func(context.Context) error { return j.Close() })
	parts.goRun("journal commit", failed, j.Run)

	drops := &dropBox{}
	ts, err := openTelemetry(cfg, drops.add)
	if err != nil {
		return err
	}
	parts.add("telemetry store", func(context.Context) error { return ts.Close() })

	decoded := newDecodedRing(reg)
	desk, err := startAlarms(ctx, cfg, db, decoded, j, m, log, &parts, failed)
	if err != nil {
		return err
	}
	state := &deviceState{reg: reg, decoded: decoded, monitor: monitor, db: db, metrics: m, log: log, saveEvery: healthSaveEvery, silent: desk.devicesSilent}
	writer := &telemetryWriter{decoded: decoded, store: ts, metrics: m, drops: drops, db: db}
	parts.goRun("device state", failed, func(ctx context.Context) error {
		err := j.Consume(ctx, consumerDevices, 4096, state.consume, journal.WithLinger(20*time.Millisecond))
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return errors.Join(err, state.saveHealth(sctx)) // what the last batches changed
	})
	parts.goRun("device sweep", failed, func(ctx context.Context) error { return state.sweep(ctx, 10*time.Second) })
	parts.goRun("telemetry writer", failed, func(ctx context.Context) error {
		// Lingering up to 200 ms makes InfluxDB batches of thousands of
		// points instead of one request per commit.
		return j.Consume(ctx, consumerTelemetry, 5000, writer.consume, journal.WithLinger(200*time.Millisecond))
	})
	registerJournalMetrics(m.reg, j)
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "carebed_state_checkpoint_failures_total",
		Help: "Background checkpoints of the state database's WAL that failed.",
	}, func() float64 { n, _ := db.CheckpointFailures(); return float64(n) }))

	var emb *broker.Broker
	brokerURL := cfg.BrokerURL()
	if addr := cfg.EmbeddedBroker(); addr != "" {
		bopts := broker.Options{Addr: addr, DataDir: filepath.Join(cfg.DataDir, "broker"), MaxInflight: max(cfg.MaxUnacked, 1024), Logger: log}
		emb, err = broker.Start(bopts)
		if err != nil && cfg.Demo && errors.Is(err, syscall.EADDRINUSE) {
			// A demo should run even where a broker already holds 1883.
			bopts.Addr = "127.0.0.1:0"
			emb, err = broker.Start(bopts)
			if err == nil {
				log.Warn("address taken; the demo's embedded broker listens elsewhere", "wanted", addr, "listening", emb.Addr())
			}
		}
		if err != nil {
			return err
		}
		parts.add("embedded broker", emb.Close)
		if cfg.MQTTURL == "" {
			brokerURL = localURL(emb.Addr()) // the real port when the address said :0
		}
	}

	tlsCfg, err := mqttTLS(cfg)
	if err != nil {
		return err
	}
	sub, err := ingest.New(ingest.Options{
		URL: brokerURL, ClientID: cfg.MQTTClientID, Username: cfg.MQTTUsername, Password: cfg.MQTTPassword,
		TLS: tlsCfg, Topics: cfg.MQTTTopics, Logger: log,
	}, j)
	if err != nil {
		return err
	}
	parts.goRun("mqtt subscriber", failed, func(ctx context.Context) error { return sub.Run(ctx, j.Drain) })

	adminToken := cfg.AdminToken
	if adminToken == "" && cfg.Demo {
		adminToken = randomToken()
	}
	app := api.New(api.Deps{
		Store: db, Registry: reg, Monitor: monitor, Telemetry: ts, AdminToken: adminToken, Log: log,
		Alerts: desk, Zone: zone,
		Metrics: promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}),
		Ready:   readiness(sub, j, ts),
	})
	ln, err := listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	parts.goRun("http api", failed, func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- app.Listener(ln) }()
		select {
		case err := <-errc:
			return fmt.Errorf("http api: %w", err)
		case <-ctx.Done():
		}
		if err := app.ShutdownWithTimeout(3 * time.Second); err != nil {
			return err
		}
		return <-errc
	})

	if cfg.DebugAddr != "" {
		if err := serveDebug(cfg.DebugAddr, &parts, failed); err != nil {
			return err
		}
	}
	info := Info{HTTPAddr: ln.Addr().String(), BrokerURL: redactURL(brokerURL), AdminToken: adminToken}
	if emb != nil {
		info.EmbeddedBroker = emb.Addr()
	}
	if cfg.Demo {
		if err := startDemo(ctx, cfg, brokerURL, db, reg, &parts, failed, log); err != nil {
			return err
		}
	}
	log.Info("carebed is running", "api", "http://"+info.HTTPAddr, "broker", redactURL(info.BrokerURL), "telemetry", telemetryName(cfg), "data", cfg.DataDir)
	if ready != nil {
		ready(info)
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return nil
	case err := <-failed:
		return err
	}
}

// Info says where a running gateway can be reached.
type Info struct {
	HTTPAddr       string
	BrokerURL      string
	EmbeddedBroker string
	AdminToken     string
}

func heartbeats(in map[string]time.Duration) map[devices.Kind]time.Duration {
	out := make(map[devices.Kind]time.Duration, len(in))
	for k, v := range in {
		out[devices.Kind(k)] = v
	}
	return out
}

func loadRegistry(ctx context.Context, db *store.DB, reg *devices.Registry, monitor *devices.Monitor) error {
	for p := (store.Page{Limit: 1000}); ; {
		beds, err := db.ListBeds(ctx, store.BedFilter{Page: p})
		if err != nil {
			return fmt.Errorf("load beds: %w", err)
		}
		for _, b := range beds {
			reg.PutBed(b)
		}
		if len(beds) < p.Limit {
			break
		}
		p.After = beds[len(beds)-1].ID
	}
	devs, err := db.AllDevices(ctx)
	if err != nil {
		return fmt.Errorf("load devices: %w", err)
	}
	for _, d := range devs {
		reg.PutDevice(d)
		monitor.Load(d)
	}
	// Friendly names of the Zigbee2MQTT hubs, until their retained lists
	// arrive again.
	lists, err := db.Zigbee2MQTTLists(ctx)
	if err != nil {
		return err
	}
	for _, l := range lists {
		reg.LearnZigbee2MQTTNames(l.Base, l.Names, l.Received)
	}
	return nil
}

func openTelemetry(cfg Config, dropped telemetry.DropFunc) (telemetry.Store, error) {
	if cfg.InfluxURL == "" {
		s, err := telemetry.OpenEmbedded(filepath.Join(cfg.DataDir, "telemetry.db"), dropped)
		if err != nil {
			return nil, fmt.Errorf("embedded telemetry store: %w", err)
		}
		return s, nil
	}
	s, err := telemetry.NewInflux(telemetry.InfluxConfig{URL: cfg.InfluxURL, Token: cfg.InfluxToken, Org: cfg.InfluxOrg, Bucket: cfg.InfluxBucket, Timeout: 30 * time.Second}, dropped)
	if err != nil {
		return nil, fmt.Errorf("influx-url: %w", err)
	}
	return s, nil
}

func telemetryName(cfg Config) string {
	if cfg.InfluxURL == "" {
		return "embedded"
	}
	return redactURL(cfg.InfluxURL)
}

func mqttTLS(cfg Config) (*tls.Config, error) {
	if cfg.MQTTCAFile == "" && cfg.MQTTCertFile == "" && !cfg.MQTTInsecure {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.MQTTInsecure} //nolint:gosec // operator's explicit choice
	if cfg.MQTTCAFile != "" {
		pem, err := os.ReadFile(cfg.MQTTCAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt-ca-file %s: no PEM certificate found", cfg.MQTTCAFile)
		}
		t.RootCAs = pool
	}
	if cfg.MQTTCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.MQTTCertFile, cfg.MQTTKeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt-cert-file/mqtt-key-file: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

func readiness(sub *ingest.Subscriber, j *journal.Journal, ts telemetry.Store) func(context.Context) []api.Check {
	return func(ctx context.Context) []api.Check {
		checks := []api.Check{{Name: "broker", OK: sub.Connected()}}
		jerr := j.Writable()
		checks = append(checks, api.Check{Name: "journal", OK: jerr == nil, Detail: errText(jerr)})
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := ts.Ping(pctx); err != nil {
			// Unreachable telemetry is survivable: the journal spools.
			lag := j.LastIndex() - j.Cursor(consumerTelemetry)
			checks = append(checks, api.Check{Name: "telemetry", OK: jerr == nil, Detail: fmt.Sprintf("unreachable, spooling %d messages in the journal", lag)})
		} else {
			checks = append(checks, api.Check{Name: "telemetry", OK: true})
		}
		return checks
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func registerJournalMetrics(reg *prometheus.Registry, j *journal.Journal) {
	for _, name := range []string{consumerDevices, consumerTelemetry, consumerAlerts} {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "carebed_journal_lag_messages",
			Help:        "Committed journal messages a consumer has not finished yet.",
			ConstLabels: prometheus.Labels{"consumer": name},
		}, func() float64 { return float64(j.LastIndex() - j.Cursor(name)) }))
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "carebed_telemetry_spool_messages",
		Help: "Messages held in the journal because the time-series store has not taken them yet.",
	}, func() float64 { return float64(j.LastIndex() - j.Cursor(consumerTelemetry)) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "carebed_journal_committed_total", Help: "Messages committed to the journal.",
	}, func() float64 { return float64(j.Stats().Committed) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "carebed_journal_commits_total", Help: "Group commits (one fsync each).",
	}, func() float64 { return float64(j.Stats().Commits) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "carebed_journal_commit_seconds_total", Help: "Time spent writing and syncing commits.",
	}, func() float64 { return float64(j.Stats().CommitNanos) / 1e9 }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "carebed_journal_duplicates_total", Help: "Redelivered messages recognised as duplicates and dropped.",
	}, func() float64 { return float64(j.Stats().Duplicates) }))
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dropBox collects observations the time-series store refused for good, so
// they can be kept as dead letters after the write.
type dropBox struct {
	mu    sync.Mutex
	items []store.DeadLetter
}

func (d *dropBox) add(o devices.Observation, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.items = append(d.items, store.DeadLetter{
		Received: o.Received, Topic: devices.NativePrefix + "/" + o.DeviceID + "/" + string(o.Stream),
		Reason: devices.ReasonStoreRejected, Detail: reason,
	})
}

func (d *dropBox) take() []store.DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.items
	d.items = nil
	return out
}
