package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"carebed/devices"
)

// InfluxConfig says where the InfluxDB store writes.
type InfluxConfig struct {
	URL string // http://host:8086
	// Token is an API token; for InfluxDB 1.8 "user:password", or empty
	// when authentication is off.
	Token string
	Org   string // ignored by InfluxDB 1.8
	// Bucket is the bucket name; for InfluxDB 1.8 "database/retention-policy".
	Bucket string
	// Timeout bounds each HTTP request; 10s when zero.
	Timeout time.Duration
}

// Influx is a Store in InfluxDB, written with line protocol to the v2 write
// endpoint and read with Flux, through influxdb-client-go. It does not use
// the client's asynchronous writer, which drops refused points with only a
// log line and keeps its retries in memory.
type Influx struct {
	client   influxdb2.Client
	http     ihttp.Service
	writeURL string // the v2 write endpoint with org, bucket and precision
	reader   api.QueryAPI
	bucket   string
	timeout  time.Duration
	dropped  DropFunc
	// spare keeps one encoding buffer between writes. A sync.Pool would
	// be emptied by nearly every collection, which at full ingest comes
	// between two writes, and the buffer would grow again each time.
	spare chan *batch
}

var _ Store = (*Influx)(nil)

// NewInflux returns a store that writes to cfg.Bucket. It does not contact
// the server: see Ping. dropped, which may be nil, is told about each
// observation dropped for good.
func NewInflux(cfg InfluxConfig, dropped DropFunc) (*Influx, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("telemetry: influx URL %q: want http://host:port or https://host:port", cfg.URL)
	}
	if cfg.Bucket == "" {
		return nil, errors.New("telemetry: influx bucket is empty: set the bucket (database/retention-policy for InfluxDB 1.8)")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	opts := influxdb2.DefaultOptions().
		SetApplicationName("carebed").
		SetHTTPRequestTimeout(uint((cfg.Timeout + time.Second - 1) / time.Second))
	client := influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
	service := client.HTTPService()
	writeURL, err := url.Parse(service.ServerAPIURL())
	if err != nil {
		return nil, fmt.Errorf("telemetry: influx URL %q: %w", cfg.URL, err)
	}
	writeURL = writeURL.JoinPath("write")
	writeURL.RawQuery = url.Values{"org": {cfg.Org}, "bucket": {cfg.Bucket}, "precision": {"ns"}}.Encode()
	return &Influx{
		client:   client,
		http:     service,
		writeURL: writeURL.String(),
		reader:   client.QueryAPI(cfg.Org),
		bucket:   cfg.Bucket,
		timeout:  cfg.Timeout,
		dropped:  dropped,
		spare:    make(chan *batch, 1),
	}, nil
}

// Write stores obs; see Store.
//
// A batch that the server refuses as bad (400, 422) is split in halves until
// the offending points are found: each is reported to the DropFunc with the
// server's message and the rest is stored. Re-sending points that were
// already stored is safe because points are idempotent. A batch too large
// for the server (413) is split the same way.
func (s *Influx) Write(ctx context.Context, obs []devices.Observation) error {
	var b *batch
	select {
	case b = <-s.spare:
	default: // another Write has it
		b = new(batch)
	}
	defer func() {
		select {
		case s.spare <- b:
		default:
		}
	}()
	b.reset()
	b.encode(obs, s.dropped)
	if b.lines() == 0 {
		return nil
	}
	return s.writeLines(ctx, obs, b, 0, b.lines())
}

// writeLines writes lines [lo, hi) of b, bisecting on refused points.
func (s *Influx) writeLines(ctx context.Context, obs []devices.Observation, b *batch, lo, hi int) error {
	err := s.send(ctx, b.body(lo, hi))
	if err == nil {
		return nil
	}
	verdict, reason := classify(err)
	switch verdict {
	case splitBatch:
		if hi-lo == 1 {
			if s.dropped != nil {
				s.dropped(obs[b.obs[lo]], reason)
			}
			return nil
		}
		mid := lo + (hi-lo)/2
		if err := s.writeLines(ctx, obs, b, lo, mid); err != nil {
			return err
		}
		return s.writeLines(ctx, obs, b, mid, hi)
	case badConfig:
		return retry(fmt.Errorf("write to InfluxDB bucket %q refused (%s), check the InfluxDB URL, token, org and bucket: %w", s.bucket, reason, err))
	default:
		re := &RetryError{Err: fmt.Errorf("write %d points to InfluxDB bucket %q: %w", hi-lo, s.bucket, err)}
		var he *ihttp.Error
		if errors.As(err, &he) {
			re.After = time.Duration(he.RetryAfter) * time.Second
		}
		return re
	}
}

// send posts line protocol to the v2 write endpoint. It is what the
// client's blocking write API does (same URL, headers and error parsing),
// without copying the body into a string.
func (s *Influx) send(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	perr := s.http.DoPostRequest(ctx, s.writeURL, bytes.NewReader(body), func(req *http.Request) {
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}, func(resp *http.Response) error {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	})
	if perr != nil {
		return perr
	}
	return nil
}

// verdict says what a failed write means for the batch.
type verdict int

const (
	retryBatch verdict = iota // write it all again later
	splitBatch                // some points are refused, or the batch is too large
	badConfig                 // the token, org or bucket is wrong: keep the data
)

// classify sorts a write error. InfluxDB 1.8 answers a batch holding a bad
// point (a field type conflict, an invalid field name, a line it cannot
// parse) with 400 and "partial write: ...", having stored the other points;
// InfluxDB 2.x answers 422 or 400. The reason, for a refused point, is the
// server's message.
func classify(err error) (verdict, string) {
	var he *ihttp.Error
	if !errors.As(err, &he) || he.StatusCode == 0 {
		return retryBatch, "" // network error, timeout, cancelled
	}
	msg := he.Message
	if msg == "" {
		msg = he.Error()
	}
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	switch he.StatusCode {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return splitBatch, "refused by InfluxDB: " + msg
	case http.StatusRequestEntityTooLarge:
		return splitBatch, "point too large for InfluxDB: " + msg
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return badConfig, fmt.Sprintf("HTTP %d", he.StatusCode)
	}
	return retryBatch, msg // 429, 5xx, and anything unexpected: keep the data
}

// Ping checks that the server answers GET /ping (InfluxDB 1.8 and 2.x both
// serve it). It does not check the token or the bucket.
func (s *Influx) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if _, err := s.client.Ping(ctx); err != nil {
		return retry(fmt.Errorf("ping InfluxDB: %w", err))
	}
	return nil
}

// Close releases the client's connections.
func (s *Influx) Close() error {
	s.client.Close()
	return nil
}
