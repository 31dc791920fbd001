package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"carebed/gateway/gatewaytest"
	"carebed/gateway/simulate"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   func(string) string
		check func(t *testing.T, c config)
	}{
		{"defaults", nil, env(), func(t *testing.T, c config) {
			if c.opts.Broker != "tcp://127.0.0.1:1883" || c.opts.Beds != 10 || c.opts.QoS != 1 || c.opts.OmitTimestamps || c.opts.Seed != 1 {
				t.Errorf("defaults = %+v", c.opts)
			}
		}},
		{"flags", []string{"--broker", "tcp://b:1", "--beds", "500", "--rate", "2000", "--duration", "90s", "--count", "7",
			"--scenario", "sos", "--fast", "--conns", "4", "--stream", "vitals", "--agency", "ag-2", "--seed", "9",
			"--first-bed", "11", "--qos", "2", "--timestamps=false"}, env(), func(t *testing.T, c config) {
			want := simulate.Options{Broker: "tcp://b:1", Beds: 500, FirstBed: 11, Agency: "ag-2", Rate: 2000, Fast: true, Count: 7,
				Duration: 90 * time.Second, Scenario: "sos", QoS: 2, Conns: 4, Seed: 9, Stream: "vitals", OmitTimestamps: true}
			if c.opts.Clock != nil || !equalOptions(c.opts, want) {
				t.Errorf("options = %+v, want %+v", c.opts, want)
			}
		}},
		{"environment", nil, env("CAREBED_SIM_BROKER", "tcp://e:2", "CAREBED_SIM_BEDS", "20", "CAREBED_SIM_REGISTER_URL", "http://api:8080",
			"CAREBED_SIM_FAST", "true", "CAREBED_SIM_DURATION", "1m"), func(t *testing.T, c config) {
			if c.opts.Broker != "tcp://e:2" || c.opts.Beds != 20 || !c.opts.Fast || c.opts.Duration != time.Minute || c.registerURL != "http://api:8080" {
				t.Errorf("config = %+v", c)
			}
		}},
		{"flag beats environment", []string{"--beds", "3"}, env("CAREBED_SIM_BEDS", "20"), func(t *testing.T, c config) {
			if c.opts.Beds != 3 {
				t.Errorf("beds = %d, want the flag's 3", c.opts.Beds)
			}
		}},
		{"admin token", nil, env("CAREBED_ADMIN_TOKEN", "adm"), func(t *testing.T, c config) {
			if c.token != "adm" {
				t.Errorf("token from CAREBED_ADMIN_TOKEN not used")
			}
		}},
		{"sim token beats admin token", nil, env("CAREBED_ADMIN_TOKEN", "adm", "CAREBED_SIM_TOKEN", "sim"), func(t *testing.T, c config) {
			if c.token != "sim" {
				t.Errorf("CAREBED_SIM_TOKEN not preferred")
			}
		}},
		{"token flag beats all", []string{"--token", "flag"}, env("CAREBED_ADMIN_TOKEN", "adm", "CAREBED_SIM_TOKEN", "sim"), func(t *testing.T, c config) {
			if c.token != "flag" {
				t.Errorf("--token not preferred")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(tt.args, tt.env, io.Discard)
			if err != nil {
				t.Fatalf("parse(%q) = %v", tt.args, err)
			}
			tt.check(t, c)
		})
	}
}

func equalOptions(a, b simulate.Options) bool {
	a.Clock, b.Clock = nil, nil
	return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  func(string) string
		want string
	}{
		{"bad flag", []string{"--beds", "many"}, env(), "invalid value"},
		{"bad environment", nil, env("CAREBED_SIM_BEDS", "many"), "CAREBED_SIM_BEDS"},
		{"bad qos", []string{"--qos", "0"}, env(), "--qos"},
		{"stray argument", []string{"beds"}, env(), "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := parse(tt.args, tt.env, &out)
			if !errors.Is(err, errUsage) || !strings.Contains(out.String(), tt.want) {
				t.Errorf("parse(%q) = %v, printed %q; want errUsage and a message naming %q", tt.args, err, out.String(), tt.want)
			}
		})
	}
}

func TestRunRegistersAndPublishes(t *testing.T) {
	const token = "t0p-secret"
	m := gatewaytest.StartMosquitto(t)
	var mu sync.Mutex
	posts := map[string]int{}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		posts[r.URL.Path]++
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer api.Close()

	var stderr bytes.Buffer
	args := []string{"--broker", m.URL, "--beds", "3", "--count", "300", "--fast", "--conns", "2", "--register-url", api.URL}
	if err := run(context.Background(), args, env("CAREBED_ADMIN_TOKEN", token), &stderr); err != nil {
		t.Fatalf("run = %v; output:\n%s", err, stderr.String())
	}
	if want := map[string]int{"/api/v1/agencies": 1, "/api/v1/beds": 3, "/api/v1/devices": 27}; !equalCounts(posts, want) {
		t.Errorf("API posts = %v, want %v", posts, want)
	}
	out := stderr.String()
	if strings.Contains(out, token) {
		t.Errorf("output shows the token:\n%s", out)
	}
	line := regexp.MustCompile(`(?m)^carebed-sim: published=306 acked=306 errors=0 elapsed=\S+ rate=\d+ msgs/s$`)
	if !line.MatchString(out) {
		t.Errorf("output:\n%s\nwant a summary line matching %s", out, line)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRunFailures(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  func(string) string
		want string
	}{
		{"register without token", []string{"--register-url", "http://127.0.0.1:1"}, env(), "token"},
		{"unknown scenario", []string{"--broker", "tcp://127.0.0.1:1", "--scenario", "flood"}, env(), "Scenario"},
		{"broker down", []string{"--broker", "tcp://127.0.0.1:1", "--beds", "1"}, env(), "tcp://127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			var stderr bytes.Buffer
			err := run(ctx, tt.args, tt.env, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error naming %q", tt.args, err, tt.want)
			}
		})
	}
}
