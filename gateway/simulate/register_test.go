package simulate

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"carebed/devices"
)

// fakeAPI records what Register posts; fail, when set, answers a request
// instead of the default 201 (or 409 for an id posted before).
type fakeAPI struct {
	mu       sync.Mutex
	bodies   map[string][]json.RawMessage // by path
	ids      map[string]bool
	order    []string // paths in arrival order
	inflight atomic.Int32
	maxIn    atomic.Int32
	fail     func(path, id string) (int, string)
}

func newFakeAPI(t *testing.T, token string) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{bodies: map[string][]json.RawMessage{}, ids: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.inflight.Add(1)
		defer f.inflight.Add(-1)
		for {
			m := f.maxIn.Load()
			if n <= m || f.maxIn.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(time.Millisecond) // let requests overlap
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+token || r.Header.Get("Content-Type") != "application/json" {
			problem(w, http.StatusUnauthorized, "bad method, token or content type")
			return
		}
		body, _ := io.ReadAll(r.Body)
		var res struct{ ID string }
		if err := json.Unmarshal(body, &res); err != nil || res.ID == "" {
			problem(w, http.StatusBadRequest, "no id")
			return
		}
		f.mu.Lock()
		f.bodies[r.URL.Path] = append(f.bodies[r.URL.Path], body)
		f.order = append(f.order, r.URL.Path)
		dup := f.ids[r.URL.Path+"/"+res.ID]
		f.ids[r.URL.Path+"/"+res.ID] = true
		f.mu.Unlock()
		if f.fail != nil {
			if code, detail := f.fail(r.URL.Path, res.ID); code != 0 {
				problem(w, code, detail)
				return
			}
		}
		if dup {
			problem(w, http.StatusConflict, "exists")
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

func problem(w http.ResponseWriter, code int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(code), "status": code, "detail": detail})
}

func TestRegister(t *testing.T) {
	const token = "s3cret-token"
	clock := func() time.Time { return time.Date(2026, 6, 15, 10, 0, 0, 0, shanghai) }
	opts := Options{Beds: 20, Agency: "ag-1", Seed: 4, Clock: clock}
	api, srv := newFakeAPI(t, token)

	if err := Register(context.Background(), srv.URL, token, opts); err != nil {
		t.Fatalf("Register = %v", err)
	}
	wantAgency, wantBeds, wantDevs := Fleet(opts)
	checkBodies(t, api.bodies["/api/v1/agencies"], []devices.Agency{wantAgency})
	checkBodies(t, api.bodies["/api/v1/beds"], wantBeds)
	checkBodies(t, api.bodies["/api/v1/devices"], wantDevs)
	// The agency before any bed, every bed before any device.
	rank := map[string]int{"/api/v1/agencies": 0, "/api/v1/beds": 1, "/api/v1/devices": 2}
	for i := 1; i < len(api.order); i++ {
		if rank[api.order[i]] < rank[api.order[i-1]] {
			t.Fatalf("request %d to %s after one to %s", i, api.order[i], api.order[i-1])
		}
	}
	if m := api.maxIn.Load(); m > registerConcurrency || m < 2 {
		t.Errorf("at most %d requests in flight, want 2-%d", m, registerConcurrency)
	}

	// Again, with the API base given as .../api/v1/: everything is a 409
	// Conflict, which is fine.
	if err := Register(context.Background(), srv.URL+"/api/v1/", token, opts); err != nil {
		t.Errorf("Register again = %v, want 409s tolerated", err)
	}
}

func TestRegisterErrors(t *testing.T) {
	const token = "s3cret-token"
	tests := []struct {
		name    string
		token   string
		fail    func(path, id string) (int, string)
		wantErr []string
	}{
		{"server error on a bed", token, func(path, id string) (int, string) {
			if id == "bed-0003" {
				return http.StatusInternalServerError, "database is locked"
			}
			return 0, ""
		}, []string{`bed "bed-0003"`, "500 Internal Server Error", "database is locked"}},
		{"rejected device", token, func(path, id string) (int, string) {
			if id == "bed-0002-smoke" {
				return http.StatusUnprocessableEntity, "unknown bed"
			}
			return 0, ""
		}, []string{`device "bed-0002-smoke"`, "422", "unknown bed"}},
		{"wrong token", "nope", nil, []string{`agency "demo-agency"`, "401"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, srv := newFakeAPI(t, token)
			api.fail = tt.fail
			err := Register(context.Background(), srv.URL, tt.token, Options{Beds: 4})
			if err == nil {
				t.Fatalf("Register = nil, want an error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Register = %q, want it to name %q", err, w)
				}
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Errorf("Register = %q, which shows the token", err)
			}
		})
	}
	if err := Register(context.Background(), "127.0.0.1:8080", token, Options{Beds: 1}); err == nil {
		t.Errorf("Register with an URL without scheme = nil, want an error")
	}
}

// checkBodies checks that the posted bodies are exactly want, in any order.
func checkBodies[T any](t *testing.T, got []json.RawMessage, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d bodies posted, want %d", len(got), len(want))
	}
	wantSet := map[string]int{}
	for _, w := range want {
		b, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		wantSet[string(b)]++
	}
	for _, g := range got {
		if wantSet[string(g)] == 0 {
			t.Errorf("unexpected body %s", g)
		}
		wantSet[string(g)]--
	}
}
