package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"carebed/gateway"
	"carebed/gateway/gatewaytest"
)

const testToken = "test-admin-token-0123456789"

// servers are the real components one system test runs against.
type servers struct {
	mqtt   *gatewaytest.Mosquitto
	influx *gatewaytest.InfluxDB
}

func startServers(t *testing.T) servers {
	t.Helper()
	return servers{mqtt: gatewaytest.StartMosquitto(t), influx: gatewaytest.StartInfluxDB(t)}
}

// gatewayArgs are the flags of a gateway wired to the test's servers.
func (s servers) gatewayArgs(dataDir string) []string {
	return []string{
		"--data-dir", dataDir, "--http-addr", "127.0.0.1:0", "--mqtt-listen", "off",
		"--mqtt-url", s.mqtt.URL, "--mqtt-client-id", "carebed-test",
		"--influx-url", s.influx.URL, "--influx-bucket", s.influx.Bucket,
	}
}

// inProcess runs the gateway in this test process, configured through the
// same flag parsing as the command. It stops at cleanup.
type inProcess struct {
	info   gateway.Info
	cancel context.CancelFunc
	done   chan error
}

func startInProcess(t *testing.T, args ...string) *inProcess {
	t.Helper()
	env := func(k string) string {
		if k == "CAREBED_ADMIN_TOKEN" {
			return testToken
		}
		return ""
	}
	cfg, err := loadConfig("serve", args, env, io.Discard)
	if err != nil {
		t.Fatalf("loadConfig(%q) = %v", args, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &inProcess{cancel: cancel, done: make(chan error, 1)}
	ready := make(chan gateway.Info, 1)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() { g.done <- gateway.Run(ctx, cfg, log, func(i gateway.Info) { ready <- i }) }()
	select {
	case g.info = <-ready:
	case err := <-g.done:
		t.Fatalf("gateway.Run = %v before it was ready", err)
	case <-time.After(30 * time.Second):
		t.Fatal("gateway not ready after 30s")
	}
	t.Cleanup(func() { g.stop(t) })
	return g
}

func (g *inProcess) stop(t *testing.T) {
	if g.cancel == nil {
		return
	}
	g.cancel()
	g.cancel = nil
	select {
	case err := <-g.done:
		if err != nil {
			t.Errorf("gateway.Run = %v at stop, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("gateway did not stop within 30s")
	}
}

func (g *inProcess) api() string { return "http://" + g.info.HTTPAddr }

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// binary builds the carebed command once per test binary.
var builtBinary atomic.Pointer[string]

func carebedBinary(t *testing.T) string {
	t.Helper()
	if p := builtBinary.Load(); p != nil {
		return *p
	}
	dir, err := os.MkdirTemp("", "carebed-bin")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "carebed")
	cmd := exec.Command("go", "build", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	builtBinary.Store(&out)
	return out
}

// subprocess is the gateway as its own process, for crash tests.
type subprocess struct {
	cmd  *exec.Cmd
	api  string
	logs *bytes.Buffer
}

func startSubprocess(t *testing.T, httpPort int, args ...string) *subprocess {
	t.Helper()
	bin := carebedBinary(t)
	args = append([]string{"serve"}, args...)
	for i, a := range args {
		if a == "127.0.0.1:0" {
			args[i] = fmt.Sprintf("127.0.0.1:%d", httpPort)
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "CAREBED_ADMIN_TOKEN="+testToken)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gateway: %v", err)
	}
	p := &subprocess{cmd: cmd, api: fmt.Sprintf("http://127.0.0.1:%d", httpPort), logs: logs}
	t.Cleanup(func() { p.kill() })
	gatewaytest.WaitFor(t, 30*time.Second, "gateway /healthz", func() bool {
		resp, err := http.Get(p.api + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

func (p *subprocess) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill() // SIGKILL
		_ = p.cmd.Wait()
	}
}

// call does one API request with the test token and decodes a JSON answer.
func call(t *testing.T, method, url string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: answer %q is not JSON: %v", method, url, raw, err)
		}
	}
	return resp.StatusCode
}

func mustCall(t *testing.T, method, url string, body, out any, want ...int) {
	t.Helper()
	got := call(t, method, url, body, out)
	for _, w := range want {
		if got == w {
			return
		}
	}
	t.Fatalf("%s %s = %d, want %v", method, url, got, want)
}
