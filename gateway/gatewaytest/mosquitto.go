package gatewaytest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Mosquitto is a mosquitto broker process with persistence in a temporary
// directory, configured for a gateway that keeps a persistent session.
type Mosquitto struct {
	URL  string // tcp://127.0.0.1:<Port>
	Port int
	Dir  string // config, persistence and log

	t    testing.TB
	proc *process
}

const mosquittoInstall = "apt-get install mosquitto"

// StartMosquitto starts mosquitto on a free loopback port and waits until it
// accepts TCP connections. The broker is stopped when the test ends.
//
// Persistence is on (saved on SIGTERM, so Stop and Start keep persistent
// sessions and their queued messages), max_queued_messages is 1,000,000 (the
// default of 1,000 drops a persistent session's backlog) and
// max_inflight_messages is 20,000.
func StartMosquitto(t testing.TB) *Mosquitto {
	t.Helper()
	bin := findBinary(t, "mosquitto", mosquittoInstall, "/usr/sbin", "/usr/local/sbin", "/usr/local/bin")
	dir := t.TempDir()
	port := FreePort(t)
	conf := fmt.Sprintf(`listener %d 127.0.0.1
allow_anonymous true
persistence true
persistence_location %s/
autosave_interval 0
max_queued_messages 1000000
max_inflight_messages 20000
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
log_timestamp_format %%Y-%%m-%%dT%%H:%%M:%%S
`, port, dir)
	if os.Geteuid() == 0 {
		// As root, mosquitto switches to the mosquitto user, which cannot
		// write the test's temporary directory.
		conf += "user root\n"
	}
	confPath := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatalf("gatewaytest: write mosquitto config: %v", err)
	}
	m := &Mosquitto{
		URL:  fmt.Sprintf("tcp://127.0.0.1:%d", port),
		Port: port,
		Dir:  dir,
		t:    t,
		proc: &process{
			name:    "mosquitto",
			path:    bin,
			args:    []string{"-c", confPath},
			logPath: filepath.Join(dir, "mosquitto.log"),
		},
	}
	t.Cleanup(m.Stop)
	m.Start()
	return m
}

// Start starts the broker again on the same port with the same persistence
// file and waits until it accepts connections. It does nothing when the
// broker is running.
func (m *Mosquitto) Start() {
	m.t.Helper()
	if m.proc.cmd != nil {
		return
	}
	if err := m.proc.start(); err != nil {
		m.t.Fatalf("gatewaytest: %v", err)
	}
	if err := m.proc.waitReady(30*time.Second, func() bool { return tcpReady(m.Port) }); err != nil {
		m.t.Fatalf("gatewaytest: %v", err)
	}
}

// Stop stops the broker with SIGTERM, so it saves its persistence file, and
// waits for it to exit. It does nothing when the broker is not running.
func (m *Mosquitto) Stop() { m.proc.stop(30 * time.Second) }

// Log returns the tail of the broker's log, for failure messages.
func (m *Mosquitto) Log() string { return m.proc.tail(8192) }
