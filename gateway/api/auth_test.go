package api

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestAuth(t *testing.T) {
	h := newHarness(t)
	const path = "/api/v1/agencies"
	tests := []struct {
		name          string
		authorization string
		want          int
		challenge     string // WWW-Authenticate on a 401
	}{
		{"no header", "", fiber.StatusUnauthorized, `Bearer realm="carebed"`},
		{"empty bearer", "Bearer ", fiber.StatusUnauthorized, `Bearer realm="carebed"`},
		{"other scheme", "Basic " + adminToken, fiber.StatusUnauthorized, `Bearer realm="carebed"`},
		{"token without scheme", adminToken, fiber.StatusUnauthorized, `Bearer realm="carebed"`},
		{"wrong token", "Bearer nope", fiber.StatusUnauthorized, `Bearer realm="carebed", error="invalid_token"`},
		{"token prefix", "Bearer " + adminToken[:len(adminToken)-1], fiber.StatusUnauthorized, `Bearer realm="carebed", error="invalid_token"`},
		{"token with suffix", "Bearer " + adminToken + "x", fiber.StatusUnauthorized, `Bearer realm="carebed", error="invalid_token"`},
		{"right token", "Bearer " + adminToken, fiber.StatusOK, ""},
		{"scheme in lower case", "bearer " + adminToken, fiber.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.send(t, "GET", path, "", tt.authorization)
			if tt.want != fiber.StatusUnauthorized {
				if r.status != tt.want {
					t.Errorf("GET %s = %d %s, want %d", path, r.status, r.body, tt.want)
				}
				return
			}
			p := wantProblem(t, "GET", path, r, fiber.StatusUnauthorized, codeUnauthorized)
			if got := r.header.Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("GET %s WWW-Authenticate = %q, want %q", path, got, tt.challenge)
			}
			if strings.Contains(string(r.body), adminToken) {
				t.Errorf("GET %s problem %+v repeats the admin token", path, p)
			}
		})
	}
}

func TestAuthGuardsEveryAPIRoute(t *testing.T) {
	h := newHarness(t)
	h.seed(t)
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/agencies/ag1"},
		{"PUT", "/api/v1/agencies/ag1"},
		{"DELETE", "/api/v1/agencies/ag1"},
		{"POST", "/api/v1/beds"},
		{"GET", "/api/v1/beds/bed1/telemetry?field=heart_rate"},
		{"GET", "/api/v1/devices"},
		{"DELETE", "/api/v1/devices/dev1"},
		{"GET", "/api/v1/devices/unknown"},
		{"GET", "/api/v1/deadletters"},
		{"GET", "/api/v1/no-such-route"}, // says nothing about which routes exist
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			r := h.send(t, rt.method, rt.path, agencyJSON("ag1"), "Bearer wrong")
			wantProblem(t, rt.method, rt.path, r, fiber.StatusUnauthorized, codeUnauthorized)
		})
	}
	// Nothing was changed by the refused calls.
	h.mustDo(t, "GET", "/api/v1/devices/dev1", "", fiber.StatusOK)
}

func TestAuthWithoutConfiguredToken(t *testing.T) {
	h := newHarness(t, func(d *Deps) { d.AdminToken = "" })
	for _, authorization := range []string{"", "Bearer ", "Bearer " + adminToken} {
		r := h.send(t, "GET", "/api/v1/agencies", "", authorization)
		wantProblem(t, "GET", "/api/v1/agencies", r, fiber.StatusUnauthorized, codeUnauthorized)
	}
}

func TestOpenEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounter(prometheus.CounterOpts{Name: "carebed_test_requests_total", Help: "Test."})
	reg.MustRegister(requests)
	requests.Add(3)
	h := newHarness(t, func(d *Deps) { d.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{}) })
	tests := []struct {
		name, path string
		want       string // in the body
	}{
		{"healthz", "/healthz", `"status":"ok"`},
		{"readyz", "/readyz", `"ready":true`},
		{"metrics", "/metrics", "carebed_test_requests_total 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.send(t, "GET", tt.path, "", "")
			if r.status != fiber.StatusOK {
				t.Fatalf("GET %s = %d %s, want %d", tt.path, r.status, r.body, fiber.StatusOK)
			}
			if !strings.Contains(string(r.body), tt.want) {
				t.Errorf("GET %s = %s, want it to contain %s", tt.path, r.body, tt.want)
			}
		})
	}
}

func TestTokenOK(t *testing.T) {
	tests := []struct {
		name      string
		got, want string
		ok        bool
	}{
		{"equal", "abc", "abc", true},
		{"different", "abd", "abc", false},
		{"shorter", "ab", "abc", false},
		{"longer", "abcd", "abc", false},
		{"empty presented", "", "abc", false},
		{"nothing configured", "", "", false},
		{"anything against nothing configured", "abc", "", false},
	}
	for _, tt := range tests {
		if ok := tokenOK(tt.got, tt.want); ok != tt.ok {
			t.Errorf("%s: tokenOK(%q, %q) = %v, want %v", tt.name, tt.got, tt.want, ok, tt.ok)
		}
	}
}

// TestTokenComparedInConstantTime reads the package's source: the token
// must go through subtle.ConstantTimeCompare, and no == or != may compare
// it, which would return as soon as a byte differs.
func TestTokenComparedInConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var constantTime bool
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Name.Name == "tokenOK" {
					constantTime = callsConstantTimeCompare(n)
					for _, b := range comparisons(n) {
						if !isLiteral(b.X) && !isLiteral(b.Y) {
							t.Errorf("%s: tokenOK compares two values with %s", fset.Position(b.Pos()), b.Op)
						}
					}
				}
			case *ast.BinaryExpr:
				if (n.Op == token.EQL || n.Op == token.NEQ) && mentionsToken(n) {
					t.Errorf("%s: %s compares the token with %s", fset.Position(n.Pos()), name, n.Op)
				}
			}
			return true
		})
	}
	if !constantTime {
		t.Errorf("tokenOK calls subtle.ConstantTimeCompare = false, want true")
	}
}

func callsConstantTimeCompare(fn *ast.FuncDecl) bool {
	var found bool
	ast.Inspect(fn, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "ConstantTimeCompare" {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "subtle" {
				found = true
			}
		}
		return true
	})
	return found
}

// comparisons returns every == and != in fn.
func comparisons(fn *ast.FuncDecl) []*ast.BinaryExpr {
	var out []*ast.BinaryExpr
	ast.Inspect(fn, func(n ast.Node) bool {
		if b, ok := n.(*ast.BinaryExpr); ok && (b.Op == token.EQL || b.Op == token.NEQ) {
			out = append(out, b)
		}
		return true
	})
	return out
}

func isLiteral(e ast.Expr) bool {
	_, ok := e.(*ast.BasicLit)
	return ok
}

// mentionsToken reports whether a comparison has the configured token on
// one side and anything but the empty string on the other.
func mentionsToken(b *ast.BinaryExpr) bool {
	isToken := func(e ast.Expr) bool {
		sel, ok := e.(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "AdminToken"
	}
	isEmpty := func(e ast.Expr) bool {
		lit, ok := e.(*ast.BasicLit)
		return ok && lit.Value == `""`
	}
	return (isToken(b.X) && !isEmpty(b.Y)) || (isToken(b.Y) && !isEmpty(b.X))
}

func TestReadyz(t *testing.T) {
	tests := []struct {
		name      string
		ready     func(context.Context) []Check
		want      int
		wantReady bool
		wantN     int
	}{
		{"no checks configured", nil, fiber.StatusOK, true, 0},
		{"all ok", func(context.Context) []Check {
			return []Check{{Name: "broker", OK: true}, {Name: "telemetry", OK: true}}
		}, fiber.StatusOK, true, 2},
		{"one failing", func(context.Context) []Check {
			return []Check{{Name: "broker", OK: true}, {Name: "telemetry", OK: false, Detail: "unreachable"}}
		}, fiber.StatusServiceUnavailable, false, 2},
		{"handler context has a deadline", func(ctx context.Context) []Check {
			_, ok := ctx.Deadline()
			return []Check{{Name: "deadline", OK: ok}}
		}, fiber.StatusOK, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(d *Deps) { d.Ready = tt.ready })
			r := h.send(t, "GET", "/readyz", "", "")
			if r.status != tt.want {
				t.Errorf("GET /readyz = %d %s, want %d", r.status, r.body, tt.want)
			}
			got := decode[struct {
				Ready  bool    `json:"ready"`
				Checks []Check `json:"checks"`
			}](t, "GET", "/readyz", r)
			if got.Ready != tt.wantReady || len(got.Checks) != tt.wantN {
				t.Errorf("GET /readyz = %s, want ready %v with %d checks", r.body, tt.wantReady, tt.wantN)
			}
		})
	}
}

func TestReadyzTimesOut(t *testing.T) {
	h := newHarness(t, func(d *Deps) {
		d.RequestTimeout = 50 * time.Millisecond
		d.Ready = func(ctx context.Context) []Check {
			<-ctx.Done() // a check that hangs is cut at the request deadline
			return []Check{{Name: "hung", OK: false, Detail: ctx.Err().Error()}}
		}
	})
	r := h.send(t, "GET", "/readyz", "", "")
	if r.status != fiber.StatusServiceUnavailable || !strings.Contains(string(r.body), "deadline exceeded") {
		t.Errorf("GET /readyz = %d %s, want %d naming the deadline", r.status, r.body, fiber.StatusServiceUnavailable)
	}
}
