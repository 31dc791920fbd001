package api

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"carebed/devices"
	"carebed/gateway/telemetry"
	"carebed/store"
)

// parseTime reads an RFC 3339 time, Unix milliseconds, "now", or a
// duration before now ("-1h", "-90m"). An empty s gives def. Times come
// back in UTC.
func parseTime(s string, now time.Time, def time.Time) (time.Time, error) {
	switch {
	case s == "":
		return def, nil
	case s == "now":
		return now.UTC(), nil
	case strings.HasPrefix(s, "-") && !isDigits(s[1:]):
		d, err := time.ParseDuration(s[1:])
		if err != nil {
			return time.Time{}, err
		}
		if d < 0 {
			return time.Time{}, fmt.Errorf("relative time %q: want a positive duration after the minus", s)
		}
		return now.Add(-d).UTC(), nil
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func (s *server) telemetry(c *fiber.Ctx) error {
	bed := pathID(c)
	if _, err := s.Store.GetBed(c.UserContext(), bed); err != nil {
		return err
	}
	now := s.Now().UTC()
	q := telemetry.Query{BedID: bed, Field: string([]byte(c.Query("field")))}
	if q.Field == "" {
		return errBadRequest("field is required, e.g. field=heart_rate")
	}
	var err error
	if q.From, err = parseTime(c.Query("from"), now, now.Add(-time.Hour)); err != nil {
		return errBadRequest("from: use RFC 3339, Unix milliseconds or -1h")
	}
	if q.To, err = parseTime(c.Query("to"), now, now); err != nil {
		return errBadRequest("to: use RFC 3339, Unix milliseconds or now")
	}
	if !q.To.After(q.From) {
		return errBadRequest("to must be after from")
	}
	if e := c.Query("every"); e != "" {
		if q.Every, err = time.ParseDuration(e); err != nil || q.Every < time.Second {
			return errBadRequest("every: a duration of at least 1s, e.g. 1m")
		}
	}
	points, err := s.Telemetry.Query(c.UserContext(), q)
	if err != nil {
		return err
	}
	type point struct {
		Time  time.Time `json:"time"`
		Value float64   `json:"value"`
	}
	out := make([]point, len(points))
	for i, p := range points {
		out[i] = point{p.Time, p.Value}
	}
	return c.JSON(fiber.Map{"bed_id": bed, "field": q.Field, "from": q.From, "to": q.To, "every": c.Query("every"), "items": out})
}

func (s *server) listDeadLetters(c *fiber.Ctx) error {
	f := store.DeadLetterFilter{Reason: devices.Reason(string([]byte(c.Query("reason")))), Limit: store.DefaultLimit}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxLimit {
			return errBadRequest(fmt.Sprintf("limit must be 1..%d", store.MaxLimit))
		}
		f.Limit = n
	}
	if b := c.Query("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			return errBadRequest("before must be a dead letter id (the next of the previous page)")
		}
		f.Before = n
	}
	if since := c.Query("since"); since != "" {
		t, err := parseTime(since, s.Now(), time.Time{})
		if err != nil {
			return errBadRequest("since: use RFC 3339, Unix milliseconds or -1h")
		}
		f.Since = t
	}
	items, err := s.Store.ListDeadLetters(c.UserContext(), f)
	if errors.Is(err, store.ErrInvalid) {
		// Only the query can be at fault here (a since out of range).
		return errBadRequest(err.Error())
	}
	if err != nil {
		return err
	}
	out, err := listOf(items, f.Limit, deadLetterID, func(last store.DeadLetter) ([]store.DeadLetter, error) {
		more := f
		more.Limit, more.Before = 1, last.ID
		return s.Store.ListDeadLetters(c.UserContext(), more)
	})
	if err != nil {
		return err
	}
	return c.JSON(out)
}
