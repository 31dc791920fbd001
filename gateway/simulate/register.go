package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// Registration settings.
const (
	registerConcurrency = 8
	registerTimeout     = 15 * time.Second
	maxProblemBody      = 64 << 10
)

// Register creates the agency, beds and devices of Fleet(opts) through the
// HTTP API at apiURL (the server's base URL; a trailing /api/v1 is
// accepted): POST /api/v1/agencies, then /api/v1/beds, then
// /api/v1/devices, with token as a bearer token. A 409 Conflict means the
// resource exists already and is not an error, so Register can be run
// before every simulation. Any other status outside 2xx stops it with an
// error that names the resource, the status and the problem's detail
// (RFC 9457). At most 8 requests are in flight.
func Register(ctx context.Context, apiURL, token string, opts Options) error {
	base := strings.TrimSuffix(strings.TrimSuffix(apiURL, "/"), "/api/v1")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return fmt.Errorf("register: API URL %q: want http://host:port", apiURL)
	}
	agency, beds, devs := Fleet(opts)
	if len(beds) == 0 {
		return fmt.Errorf("register: Beds is %d, want at least 1", opts.Beds)
	}
	r := registrar{client: &http.Client{Timeout: registerTimeout}, base: base + "/api/v1", token: token}
	if err := r.create(ctx, "agencies", "agency", agency.ID, agency); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(registerConcurrency)
	for _, b := range beds {
		g.Go(func() error { return r.create(gctx, "beds", "bed", b.ID, b) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(registerConcurrency)
	for _, d := range devs {
		g.Go(func() error { return r.create(gctx, "devices", "device", d.ID, d) })
	}
	return g.Wait()
}

type registrar struct {
	client *http.Client
	base   string // .../api/v1
	token  string
}

// create posts v to the collection. what and id name the resource in
// errors; the body (personal data) never appears in one.
func (r registrar) create(ctx context.Context, collection, what, id string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("register %s %q: %w", what, id, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/"+collection, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("register %s %q: %w", what, id, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, application/problem+json")
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("register %s %q: %w", what, id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusConflict {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProblemBody))
		return nil
	}
	return fmt.Errorf("register %s %q: POST %s: %s%s", what, id, req.URL.Path, resp.Status, problemDetail(resp.Body))
}

// problemDetail returns ": <detail>" from an RFC 9457 problem body (or its
// title when it has no detail), or "" when the body says nothing usable.
func problemDetail(body io.Reader) string {
	b, err := io.ReadAll(io.LimitReader(body, maxProblemBody))
	if err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(b, &p) != nil {
		return ""
	}
	switch {
	case p.Detail != "":
		return ": " + p.Detail
	case p.Title != "":
		return ": " + p.Title
	}
	return ""
}
