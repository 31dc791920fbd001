package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"carebed/devices"
)

// fakeInflux is a v2 write endpoint whose answer a test decides.
type fakeInflux struct {
	mu       sync.Mutex
	answer   func(body string) (status int, header http.Header, message string)
	stored   []string // lines of the requests answered 204
	requests int
}

func (f *fakeInflux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	body := string(b)
	f.mu.Lock()
	f.requests++
	status, header, msg := f.answer(body)
	if status == http.StatusNoContent {
		f.stored = append(f.stored, strings.Split(body, "\n")...)
	}
	f.mu.Unlock()
	for k, v := range header {
		w.Header()[k] = v
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	// The error body of InfluxDB 2.x.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":"invalid","message":%q}`, msg)
}

func deviceIDs(obs []devices.Observation) []string {
	var ids []string
	for _, o := range obs {
		ids = append(ids, o.DeviceID)
	}
	return ids
}

// batchOf returns n observations of devices d0, d1, ...
func batchOf(n int) []devices.Observation {
	obs := make([]devices.Observation, n)
	for i := range obs {
		obs[i] = at(time.Duration(i)*time.Second, "b1", fmt.Sprintf("d%d", i), devices.KindVitalsMonitor, devices.StreamVitals,
			devices.FloatField("heart_rate", 70))
	}
	return obs
}

func TestInfluxWriteErrors(t *testing.T) {
	refuse := func(devs ...string) func(string) (int, http.Header, string) {
		return func(body string) (int, http.Header, string) {
			for _, d := range devs {
				if strings.Contains(body, "device="+d+",") {
					return http.StatusUnprocessableEntity, nil, "failure writing points to database: partial write: field type conflict"
				}
			}
			return http.StatusNoContent, nil, ""
		}
	}
	status := func(code int, header http.Header, msg string) func(string) (int, http.Header, string) {
		return func(string) (int, http.Header, string) { return code, header, msg }
	}
	tests := []struct {
		name       string
		n          int
		answer     func(body string) (int, http.Header, string)
		wantErr    string // substring; "" for nil
		wantAfter  time.Duration
		wantDrops  []string // device ids
		wantStored int
	}{
		{"stored", 10, status(http.StatusNoContent, nil, ""), "", 0, nil, 10},
		{"bad points found by bisection", 37, refuse("d3", "d20", "d36"), "", 0, []string{"d3", "d20", "d36"}, 34},
		{"every point bad", 4, refuse("d0", "d1", "d2", "d3"), "", 0, []string{"d0", "d1", "d2", "d3"}, 0},
		{"too large: split until it fits", 16, func(body string) (int, http.Header, string) {
			if strings.Count(body, "\n") >= 3 {
				return http.StatusRequestEntityTooLarge, nil, "request too large"
			}
			return http.StatusNoContent, nil, ""
		}, "", 0, nil, 16},
		{"one point too large", 3, func(body string) (int, http.Header, string) {
			if strings.Contains(body, "device=d1,") {
				return http.StatusRequestEntityTooLarge, nil, "request too large"
			}
			return http.StatusNoContent, nil, ""
		}, "", 0, []string{"d1"}, 2},
		{"rate limited", 5, status(http.StatusTooManyRequests, http.Header{"Retry-After": {"7"}}, "slow down"), "retry after 7s", 7 * time.Second, nil, 0},
		{"unavailable", 5, status(http.StatusServiceUnavailable, nil, "starting"), "starting", 0, nil, 0},
		{"server error", 5, status(http.StatusInternalServerError, nil, "boom"), "boom", 0, nil, 0},
		{"bad token", 5, status(http.StatusUnauthorized, nil, "unauthorized access"), "check the InfluxDB URL, token, org and bucket", 0, nil, 0},
		{"forbidden", 5, status(http.StatusForbidden, nil, "insufficient permissions"), "insufficient permissions", 0, nil, 0},
		{"bucket not found", 5, status(http.StatusNotFound, nil, `bucket "x" not found`), `bucket "x" not found`, 0, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeInflux{answer: tt.answer}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			drops := &dropLog{}
			s := newInflux(t, srv.URL, "carebed", drops)
			obs := batchOf(tt.n)
			err := s.Write(context.Background(), obs)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Write(%d points) = %v, want nil", tt.n, err)
			case tt.wantErr != "" && (!errors.Is(err, ErrRetry) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Write(%d points) = %v, want ErrRetry containing %q", tt.n, err, tt.wantErr)
			}
			var re *RetryError
			if errors.As(err, &re) && re.After != tt.wantAfter {
				t.Errorf("Write(%d points).After = %v, want %v", tt.n, re.After, tt.wantAfter)
			}
			var got []string
			for _, d := range drops.take() {
				got = append(got, strings.SplitN(d, ":", 2)[0])
			}
			if !slices.Equal(got, tt.wantDrops) {
				t.Errorf("dropped %q, want %q", got, tt.wantDrops)
			}
			if got := len(fake.stored); got != tt.wantStored {
				t.Errorf("stored %d points, want %d", got, tt.wantStored)
			}
		})
	}
}

func TestInfluxWriteUnreachable(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name string
		url  string
		want error
	}{
		{"connection refused", closed.URL, ErrRetry},
		{"timeout", slow.URL, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewInflux(InfluxConfig{URL: tt.url, Bucket: "carebed", Timeout: 300 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = s.Write(context.Background(), batchOf(3))
			if !errors.Is(err, ErrRetry) || !errors.Is(err, tt.want) {
				t.Errorf("Write() = %v, want ErrRetry wrapping %v", err, tt.want)
			}
		})
	}
}

func TestNewInfluxConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  InfluxConfig
		ok   bool
	}{
		{"good", InfluxConfig{URL: "http://127.0.0.1:8086", Bucket: "carebed/autogen"}, true},
		{"https", InfluxConfig{URL: "https://influx.example:8086", Token: "t", Org: "o", Bucket: "b"}, true},
		{"no scheme", InfluxConfig{URL: "127.0.0.1:8086", Bucket: "b"}, false},
		{"empty URL", InfluxConfig{Bucket: "b"}, false},
		{"no bucket", InfluxConfig{URL: "http://127.0.0.1:8086"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewInflux(tt.cfg, nil)
			if got := err == nil; got != tt.ok {
				t.Errorf("NewInflux(%+v) = %v, want ok %v", tt.cfg, err, tt.ok)
			}
			if s != nil {
				s.Close()
			}
		})
	}
}
