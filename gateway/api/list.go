package api

import (
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"carebed/devices"
	"carebed/store"
)

// list is the shape of every list response. Next, when set, is the cursor
// of the following page (pass it as after, or before for dead letters); it
// is left out on the last page.
type list[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// page reads the limit and after query parameters. after is only used
// while the handler runs, so it is not copied.
func page(c *fiber.Ctx) (store.Page, error) {
	p := store.Page{Limit: store.DefaultLimit, After: c.Query("after")}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxLimit {
			return p, errBadRequest(fmt.Sprintf("limit must be 1..%d", store.MaxLimit))
		}
		p.Limit = n
	}
	return p, nil
}

// listOf builds a list response. A full page gets a Next cursor only when
// more asks for and finds at least one item after its last: a cursor on
// every full page would send clients to an empty page whenever the total
// is a multiple of the limit.
func listOf[T any](items []T, limit int, cursor func(T) string, more func(last T) ([]T, error)) (list[T], error) {
	l := list[T]{Items: nonNil(items)}
	if len(items) == 0 || len(items) < limit {
		return l, nil
	}
	last := items[len(items)-1]
	rest, err := more(last)
	if err != nil {
		return list[T]{}, err
	}
	if len(rest) > 0 {
		l.Next = cursor(last)
	}
	return l, nil
}

// The cursor of each kind of list item.
func agencyID(a devices.Agency) string        { return a.ID }
func bedID(b devices.Bed) string              { return b.ID }
func deviceID(d devices.Device) string        { return d.ID }
func unknownKey(u store.UnknownDevice) string { return u.Key }
func deadLetterID(l store.DeadLetter) string  { return strconv.FormatInt(l.ID, 10) }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
