package telemetry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"carebed/devices"
)

// Store keeps observations as time series.
type Store interface {
	// Write stores the batch. It returns nil when every point is stored or
	// was definitively dropped (each dropped observation is reported to the
	// store's DropFunc with a reason); it returns an error wrapping ErrRetry
	// when the whole batch should be retried later. Writes are idempotent:
	// the same observation always makes the same point.
	Write(ctx context.Context, obs []devices.Observation) error
	// Query returns the points of one field of one bed (see Query).
	Query(ctx context.Context, q Query) ([]Point, error)
	// Ping reports whether the store can be reached.
	Ping(ctx context.Context) error
	Close() error
}

// Query asks for one field of one bed over [From, To).
type Query struct {
	BedID string
	Field string
	From  time.Time
	To    time.Time // zero means now
	// Every is the length of the windows to average over; zero asks for
	// the raw points.
	Every time.Duration
}

// Point is one value of a series.
type Point struct {
	Time  time.Time
	Value float64
}

// ErrRetry is wrapped by errors after which the whole batch should be
// written again later.
var ErrRetry = errors.New("telemetry: retry later")

// ErrInvalidQuery is wrapped by errors about a Query that cannot be run.
var ErrInvalidQuery = errors.New("telemetry: invalid query")

// DropFunc is told about each observation that was dropped for good, and why.
// The reason never contains personal data.
type DropFunc func(o devices.Observation, reason string)

// RetryError says that a batch should be written again later, and after how
// long when the server said so. errors.Is(err, ErrRetry) holds for it.
type RetryError struct {
	After time.Duration // the server's Retry-After; zero when it gave none
	Err   error
}

func (e *RetryError) Error() string {
	if e.After > 0 {
		return fmt.Sprintf("%v (retry after %v): %v", ErrRetry, e.After, e.Err)
	}
	return fmt.Sprintf("%v: %v", ErrRetry, e.Err)
}

// Is makes errors.Is(err, ErrRetry) true.
func (e *RetryError) Is(target error) bool { return target == ErrRetry }

func (e *RetryError) Unwrap() error { return e.Err }

func retry(err error) error { return &RetryError{Err: err} }

// knownStream reports whether s is one of the streams the schema has a
// measurement for.
func knownStream(s devices.Stream) bool {
	for _, x := range devices.Streams {
		if x == s {
			return true
		}
	}
	return false
}

// Bounds of a nanosecond timestamp that InfluxDB accepts.
var (
	minTime = time.Unix(0, math.MinInt64+2)
	maxTime = time.Unix(0, math.MaxInt64-1)
)

// pointTime returns the time of o's point: its time, or its receive time
// when it has none.
func pointTime(o *devices.Observation) time.Time {
	if !o.Time.IsZero() {
		return o.Time
	}
	return o.Received
}

// invalid returns why o cannot become a point, or "" when it can.
func invalid(o *devices.Observation) string {
	if !knownStream(o.Stream) {
		return fmt.Sprintf("unknown stream %q", o.Stream)
	}
	ts := pointTime(o)
	if ts.IsZero() {
		return "no timestamp"
	}
	if ts.Before(minTime) || ts.After(maxTime) {
		return fmt.Sprintf("timestamp %s out of range", ts.UTC().Format(time.RFC3339))
	}
	for _, tag := range [...]struct{ key, v string }{{"agency", o.AgencyID}, {"bed", o.BedID}, {"device", o.DeviceID}, {"kind", string(o.Kind)}} {
		if r := badName(tag.v); r != "" && tag.v != "" {
			return fmt.Sprintf("tag %s: %s", tag.key, r)
		}
	}
	for i := range o.Fields {
		f := &o.Fields[i]
		if f.Name == "" {
			return "empty field name"
		}
		if r := badName(f.Name); r != "" {
			return fmt.Sprintf("field name %q: %s", f.Name, r)
		}
		if f.Name == "time" {
			// InfluxDB refuses a field named time, and InfluxDB 1.8 drops it
			// silently when the point has other fields.
			return `field name "time" is reserved`
		}
		switch f.Type {
		case devices.Float:
			if math.IsNaN(f.F) || math.IsInf(f.F, 0) {
				return fmt.Sprintf("field %q: %v is not a finite number", f.Name, f.F)
			}
		case devices.Bool:
		case devices.String:
			if !utf8.ValidString(f.S) {
				return fmt.Sprintf("field %q: string is not valid UTF-8", f.Name)
			}
		default:
			return fmt.Sprintf("field %q: unknown type %d", f.Name, f.Type)
		}
	}
	return ""
}

// badName returns why s cannot be a tag value or key in line protocol, which
// has no escape for a line break and reads a trailing backslash as escaping
// the separator after it.
func badName(s string) string {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == '\n' || c == '\r' {
				return "contains a line break"
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return "not valid UTF-8"
		}
		i += size
	}
	if strings.HasSuffix(s, `\`) {
		return "ends with a backslash"
	}
	return ""
}

var fieldRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,63}$`)

// check validates q and returns its stop time.
func (q Query) check(now time.Time) (time.Time, error) {
	if !fieldRE.MatchString(q.Field) {
		return time.Time{}, fmt.Errorf("%w: field %q: want lower-case letters, digits and underscores", ErrInvalidQuery, q.Field)
	}
	if q.BedID == "" || len(q.BedID) > 128 || !utf8.ValidString(q.BedID) || strings.ContainsFunc(q.BedID, isControl) {
		return time.Time{}, fmt.Errorf("%w: bed id must be 1 to 128 printable characters", ErrInvalidQuery)
	}
	to := q.To
	if to.IsZero() {
		to = now
	}
	if q.From.IsZero() {
		return time.Time{}, fmt.Errorf("%w: from is required", ErrInvalidQuery)
	}
	if !q.From.Before(to) {
		return time.Time{}, fmt.Errorf("%w: from %s is not before to %s", ErrInvalidQuery, q.From.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if q.From.Before(minTime) || to.After(maxTime) {
		return time.Time{}, fmt.Errorf("%w: time range out of bounds", ErrInvalidQuery)
	}
	if q.Every < 0 || (q.Every > 0 && q.Every < time.Millisecond) {
		return time.Time{}, fmt.Errorf("%w: every %v: want 0 (raw points) or at least 1ms", ErrInvalidQuery, q.Every)
	}
	return to, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
