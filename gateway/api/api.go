// Package api is CareBed's HTTP interface (Fiber): health and readiness,
// Prometheus metrics, and the v1 JSON resources. It gets every dependency in
// one Deps struct and does not own the listener's lifetime.
//
// It must never log request bodies (they carry elders' personal data) and
// never keep Fiber's request-scoped strings beyond a handler.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"carebed/devices"
	"carebed/gateway/telemetry"
	"carebed/store"
)

// Check is one readiness condition.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Deps is everything the API needs.
type Deps struct {
	Store      *store.DB
	Registry   *devices.Registry
	Monitor    *devices.Monitor
	Telemetry  telemetry.Store
	Ready      func(ctx context.Context) []Check
	Metrics    http.Handler
	AdminToken string
	Log        *slog.Logger
	Now        func() time.Time
	// RequestTimeout bounds every handler's context (0 or less: 10 s).
	RequestTimeout time.Duration
	// Alerts acknowledges, resolves and annotates alerts (nil: those
	// routes answer 503).
	Alerts AlertDesk
	// Zone is the civil zone of months and days (nil: Asia/Shanghai).
	Zone *time.Location
}

type server struct{ Deps }

// New builds the Fiber app serving the API.
func New(d Deps) *fiber.App {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = 10 * time.Second
	}
	s := &server{d}
	app := fiber.New(fiber.Config{
		AppName:               "carebed",
		DisableStartupMessage: true,
		ErrorHandler:          s.problem,
		BodyLimit:             1 << 20,
		ReadTimeout:           15 * time.Second,
		IdleTimeout:           60 * time.Second,
		// No WriteTimeout: it would cut long-lived streams.
	})
	app.Use(recover.New())
	app.Use(s.deadline)
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/readyz", s.readyz)
	if d.Metrics != nil {
		app.Get("/metrics", adaptor.HTTPHandler(d.Metrics))
	}
	v1 := app.Group("/api/v1", s.auth)
	v1.Post("/agencies", s.createAgency)
	v1.Get("/agencies", s.listAgencies)
	v1.Get("/agencies/:id", s.getAgency)
	v1.Put("/agencies/:id", s.updateAgency)
	v1.Delete("/agencies/:id", s.deleteAgency)
	v1.Post("/beds", s.createBed)
	v1.Get("/beds", s.listBeds)
	v1.Get("/beds/:id", s.getBed)
	v1.Put("/beds/:id", s.updateBed)
	v1.Delete("/beds/:id", s.deleteBed)
	v1.Get("/beds/:id/telemetry", s.telemetry)
	s.routesBedRules(v1)
	v1.Get("/devices/unknown", s.listUnknown)
	s.routesDiscovery(v1)
	v1.Post("/devices", s.createDevice)
	v1.Get("/devices", s.listDevices)
	v1.Get("/devices/:id", s.getDevice)
	v1.Put("/devices/:id", s.updateDevice)
	v1.Delete("/devices/:id", s.deleteDevice)
	v1.Get("/deadletters", s.listDeadLetters)
	s.routesAlerts(v1)
	// No catch-all handler: Fiber's own "not found" and "method not
	// allowed" (with its Allow header) reach the error handler, which
	// turns them into problem details.
	return app
}

// deadline gives every handler a context with a deadline.
func (s *server) deadline(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.RequestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

// auth lets a request through when it carries the admin token as a bearer
// token (RFC 6750). The scheme is case-insensitive (RFC 9110 section 11.1).
func (s *server) auth(c *fiber.Ctx) error {
	h := c.Get(fiber.HeaderAuthorization)
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="carebed"`)
		return &Problem{Status: fiber.StatusUnauthorized, Code: codeUnauthorized, Detail: "a bearer token is required"}
	}
	if !tokenOK(token, s.AdminToken) {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="carebed", error="invalid_token"`)
		return &Problem{Status: fiber.StatusUnauthorized, Code: codeUnauthorized, Detail: "the bearer token is not valid"}
	}
	return c.Next()
}

// tokenOK compares a presented token with the configured one in constant
// time. Both are hashed first, so that neither the comparison nor its
// timing depends on their lengths. An empty configured token matches
// nothing.
func tokenOK(got, want string) bool {
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// readyz answers 200 when every readiness check passes, 503 otherwise.
// Without a Ready function there is nothing to wait for.
func (s *server) readyz(c *fiber.Ctx) error {
	checks := []Check{}
	if s.Ready != nil {
		checks = nonNil(s.Ready(c.UserContext()))
	}
	status := fiber.StatusOK
	for _, ch := range checks {
		if !ch.OK {
			status = fiber.StatusServiceUnavailable
		}
	}
	return c.Status(status).JSON(fiber.Map{"ready": status == fiber.StatusOK, "checks": checks})
}
