package telemetry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// Query returns the points of one field of one bed; see the package comment.
func (s *Influx) Query(ctx context.Context, q Query) ([]Point, error) {
	to, err := q.check(time.Now())
	if err != nil {
		return nil, err
	}
	res, err := s.reader.Query(ctx, fluxQuery(s.bucket, q, to))
	if err != nil {
		return nil, queryError(q, err)
	}
	defer res.Close()
	var pts []Point
	for res.Next() {
		rec := res.Record()
		if v, ok := number(rec.Value()); ok {
			pts = append(pts, Point{Time: rec.Time(), Value: v})
		}
	}
	if err := res.Err(); err != nil {
		return nil, queryError(q, err)
	}
	// Raw points come one table per series; merge them in time order.
	slices.SortStableFunc(pts, func(a, b Point) int { return a.Time.Compare(b.Time) })
	return pts, nil
}

// fluxQuery builds the Flux for q over [q.From, to). Every value put into
// the text is either validated (the field) or escaped as a string literal
// (the bucket and the bed id); times and durations are formatted here.
//
//	from(bucket: "carebed/autogen")
//	  |> range(start: 2024-05-01T00:00:00Z, stop: 2024-05-02T00:00:00Z)
//	  |> filter(fn: (r) => r._field == "heart_rate" and r.bed == "b1" and r._time < 2024-05-02T00:00:00Z)
//	  |> toFloat()
//	  |> group()
//	  |> aggregateWindow(every: 60000000000ns, fn: mean, timeSrc: "_start", createEmpty: false)
func fluxQuery(bucket string, q Query, to time.Time) string {
	var b strings.Builder
	b.WriteString("from(bucket: ")
	b.WriteString(fluxString(bucket))
	b.WriteString(")\n  |> range(start: ")
	b.WriteString(q.From.UTC().Format(time.RFC3339Nano))
	b.WriteString(", stop: ")
	b.WriteString(to.UTC().Format(time.RFC3339Nano))
	b.WriteString(")\n  |> filter(fn: (r) => r._field == ")
	b.WriteString(fluxString(q.Field))
	b.WriteString(" and r.bed == ")
	b.WriteString(fluxString(q.BedID))
	// InfluxDB 1.8 includes a point at the stop time; range's stop is
	// exclusive everywhere else.
	b.WriteString(" and r._time < ")
	b.WriteString(to.UTC().Format(time.RFC3339Nano))
	b.WriteString(")\n")
	if q.Every > 0 {
		// Booleans become 0 and 1, so their mean is the share of true.
		b.WriteString("  |> toFloat()\n  |> group()\n  |> aggregateWindow(every: ")
		b.WriteString(strconv.FormatInt(int64(q.Every), 10))
		b.WriteString(`ns, fn: mean, timeSrc: "_start", createEmpty: false)`)
		b.WriteString("\n")
	}
	return b.String()
}

// fluxString quotes s as a Flux string literal. A backslash, a double quote
// and a dollar sign (which could open an interpolation "${") are escaped.
func fluxString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"', '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// number returns v as a float when it is a number or a boolean (1 or 0).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func queryError(q Query, err error) error {
	err = fmt.Errorf("query %s of bed %q from InfluxDB: %w", q.Field, q.BedID, err)
	var he *ihttp.Error
	if errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500 && he.StatusCode != 429 {
		return err
	}
	return retry(err)
}
