package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"carebed/devices"
	"carebed/gateway/gatewaytest"
)

func TestLoadConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "carebed.yaml")
	if err := os.WriteFile(file, []byte("http-addr: \":9000\"\ndata-dir: /from/file\nmax-unacked: 500\nmqtt-topics: [\"a/#\", \"b/#\"]\nheartbeat:\n  vitals_monitor: 2m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, got map[string]string)
	}{
		{"defaults", nil, nil, func(t *testing.T, got map[string]string) {
			want(t, got, "http-addr", ":8080")
			want(t, got, "data-dir", "./data")
			want(t, got, "mqtt-topics", "carebed/#,zigbee2mqtt/#,z2m/#,homeassistant/#,tele/#,esphome/#")
			want(t, got, "zone", "Asia/Shanghai")
		}},
		{"file", []string{"--config", file}, nil, func(t *testing.T, got map[string]string) {
			want(t, got, "http-addr", ":9000")
			want(t, got, "data-dir", "/from/file")
			want(t, got, "max-unacked", "500")
			want(t, got, "mqtt-topics", "a/#,b/#")
			want(t, got, "heartbeat", "vitals_monitor=2m0s")
		}},
		{"env over file", []string{"--config", file}, map[string]string{"CAREBED_HTTP_ADDR": ":9100", "CAREBED_DEMO": "true"}, func(t *testing.T, got map[string]string) {
			want(t, got, "http-addr", ":9100")
			want(t, got, "data-dir", "/from/file")
			want(t, got, "demo", "true")
		}},
		{"flag over env", []string{"--config", file, "--http-addr", ":9200", "--demo=false"}, map[string]string{"CAREBED_HTTP_ADDR": ":9100", "CAREBED_DEMO": "true"}, func(t *testing.T, got map[string]string) {
			want(t, got, "http-addr", ":9200")
			want(t, got, "demo", "false")
		}},
		{"config file from env", nil, map[string]string{"CAREBED_CONFIG": file}, func(t *testing.T, got map[string]string) {
			want(t, got, "http-addr", ":9000")
		}},
		{"bare bool flag", []string{"--demo"}, nil, func(t *testing.T, got map[string]string) {
			want(t, got, "demo", "true")
		}},
		{"senml names", []string{"--senml-names", "pulse=heart_rate, temp=vitals.temp_c,hr="}, nil, func(t *testing.T, got map[string]string) {
			want(t, got, "senml-names", "hr=,pulse=heart_rate,temp=vitals.temp_c")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig("serve", tt.args, mapEnv(tt.env), io.Discard)
			if err != nil {
				t.Fatalf("loadConfig(%q) = %v, want nil", tt.args, err)
			}
			got := map[string]string{}
			for _, s := range settings {
				got[s.name] = s.get(&cfg)
			}
			tt.check(t, got)
		})
	}
}

func want(t *testing.T, got map[string]string, key, w string) {
	t.Helper()
	if got[key] != w {
		t.Errorf("%s = %q, want %q", key, got[key], w)
	}
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigErrorsNameTheSetting(t *testing.T) {
	dir := t.TempDir()
	badFile := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(badFile, []byte("htp-addr: :1\n"), 0o600)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad int", []string{"--max-unacked", "lots"}, nil, "max-unacked (from --max-unacked): want a whole number"},
		{"bad duration env", nil, map[string]string{"CAREBED_SHUTDOWN_TIMEOUT": "soon"}, "shutdown-timeout (from CAREBED_SHUTDOWN_TIMEOUT)"},
		{"out of range", []string{"--max-unacked", "0"}, nil, "max-unacked: 0 out of range"},
		{"bad broker url", []string{"--mqtt-url", "localhost"}, nil, "mqtt-url:"},
		{"broker off and none given", []string{"--mqtt-listen", "off"}, nil, "mqtt-listen: the embedded broker is off"},
		{"bad zone", []string{"--zone", "Mars/Olympus"}, nil, "zone:"},
		{"short token", nil, map[string]string{"CAREBED_ADMIN_TOKEN": "abc"}, "admin-token: too short"},
		{"unknown key in file", []string{"--config", badFile}, nil, `unknown setting "htp-addr"`},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "nope.yaml"},
		{"bad heartbeat", []string{"--heartbeat", "vitals_monitor"}, nil, "heartbeat (from --heartbeat): want kind=duration"},
		{"stray argument", []string{"extra"}, nil, `unexpected argument "extra"`},
		{"half a client certificate", []string{"--mqtt-cert-file", "c.pem"}, nil, "mqtt-cert-file: set both"},
		{"influx url", []string{"--influx-url", "127.0.0.1:8086"}, nil, "influx-url:"},
		{"senml name to no field", []string{"--senml-names", "pulse=heartbeat"}, nil, "senml-names: pulse=heartbeat: want record=field"},
		{"senml names not pairs", nil, map[string]string{"CAREBED_SENML_NAMES": "pulse"}, "senml-names (from CAREBED_SENML_NAMES): want record=field pairs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig("serve", tt.args, mapEnv(tt.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("loadConfig(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestPrintConfigHidesSecrets(t *testing.T) {
	env := mapEnv(map[string]string{
		"CAREBED_ADMIN_TOKEN": "very-secret-admin-token", "CAREBED_MQTT_PASSWORD": "mqtt-secret-pw",
		"CAREBED_INFLUX_TOKEN": "influx-secret", "CAREBED_INFLUX_URL": "http://127.0.0.1:8086",
	})
	var out bytes.Buffer
	if err := run(t.Context(), []string{"config"}, env, &out, io.Discard); err != nil {
		t.Fatalf("carebed config = %v", err)
	}
	for _, secret := range []string{"very-secret-admin-token", "mqtt-secret-pw", "influx-secret"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("carebed config printed the secret %q:\n%s", secret, out.String())
		}
	}
	if !strings.Contains(out.String(), `admin-token: "(set, hidden)"`) {
		t.Errorf("carebed config = %s, want admin-token shown as set and hidden", out.String())
	}
}

// serveEmbedded runs `carebed serve` with everything embedded in a temp
// dir, waits for its banner, and returns the API base URL and a stop
// function that checks the graceful stop.
func serveEmbedded(t *testing.T, extra ...string) (api string, out *syncBuffer, stop func()) {
	t.Helper()
	out = &syncBuffer{}
	done := make(chan error, 1)
	runCtx, cancel := context.WithCancel(t.Context())
	args := append([]string{"serve", "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--mqtt-listen", "127.0.0.1:0"}, extra...)
	go func() { done <- run(runCtx, args, mapEnv(nil), out, io.Discard) }()
	banner := regexp.MustCompile(`API: +(http://[0-9.:]+)/api/v1`)
	deadline := time.Now().Add(20 * time.Second)
	for banner.FindStringSubmatch(out.String()) == nil {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("carebed serve printed %q, want the running banner", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	api = banner.FindStringSubmatch(out.String())[1]
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("carebed serve after cancel = %v, want nil", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("carebed serve did not stop within 15s of cancel")
		}
	}
	t.Cleanup(stop)
	return api, out, stop
}

func TestServeEmbeddedIsReadyAndStops(t *testing.T) {
	api, _, stop := serveEmbedded(t)
	gatewaytest.WaitFor(t, 10*time.Second, "ready with the embedded broker and store", func() bool {
		resp, err := http.Get(api + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	stop()
}

// TestDemoServesSimulatedBeds is the README's first command: everything
// embedded, simulated beds publishing, devices seen through the API.
func TestDemoServesSimulatedBeds(t *testing.T) {
	api, out, _ := serveEmbedded(t, "--demo", "--demo-beds", "3")
	token := regexp.MustCompile(`Bearer ([0-9a-f]{32})`).FindStringSubmatch(out.String())
	if token == nil {
		t.Fatalf("demo banner %q has no token", out.String())
	}
	var devs struct {
		Items []devices.Device `json:"items"`
	}
	gatewaytest.WaitFor(t, 30*time.Second, "simulated vitals monitors seen", func() bool {
		req, _ := http.NewRequest("GET", api+"/api/v1/devices?limit=1000", nil)
		req.Header.Set("Authorization", "Bearer "+token[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		if json.NewDecoder(resp.Body).Decode(&devs) != nil {
			return false
		}
		seen := 0
		for _, d := range devs.Items {
			if d.Kind == devices.KindVitalsMonitor && d.LastSeen != nil && d.Online {
				seen++
			}
		}
		return seen == 3
	})
	if len(devs.Items) != 27 {
		t.Errorf("demo devices = %d, want 27 (9 per bed)", len(devs.Items))
	}
	// The first bed presses its SOS button: the alarm pages the caregiver
	// on shift now.
	var view struct {
		Items []struct {
			ID            int64
			Kind          string
			Notifications []struct {
				PersonID string `json:"person_id"`
			}
		}
	}
	gatewaytest.WaitFor(t, 30*time.Second, "the demo SOS alarm", func() bool {
		req, _ := http.NewRequest("GET", api+"/api/v1/alerts?kind=sos", nil)
		req.Header.Set("Authorization", "Bearer "+token[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&view) == nil && len(view.Items) == 1
	})
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/alerts/%d", api, view.Items[0].ID), nil)
	req.Header.Set("Authorization", "Bearer "+token[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var one struct {
		Notifications []struct {
			PersonID string `json:"person_id"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&one); err != nil || len(one.Notifications) == 0 ||
		!strings.HasPrefix(one.Notifications[0].PersonID, "demo-caregiver-") {
		t.Errorf("demo SOS notifications = %+v (%v), want the caregiver on shift first", one.Notifications, err)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
