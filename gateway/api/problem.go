package api

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"carebed/alerts"
	"carebed/gateway/telemetry"
	"carebed/store"
)

// Problem is an RFC 9457 problem details body. Code is a stable,
// machine-readable error code from the catalogue below; Field, an extension
// member, names the input field at fault when there is one.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	Code     string `json:"code"`
	Field    string `json:"field,omitempty"`
}

func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// Error codes of the API.
const (
	codeBadRequest       = "bad_request"
	codeInvalid          = "invalid"
	codeNotFound         = "not_found"
	codeConflict         = "conflict"
	codeUnavailable      = "unavailable"
	codeInternal         = "internal"
	codeUnauthorized     = "unauthorized"
	codeMethodNotAllowed = "method_not_allowed"
	codeTooLarge         = "too_large"
	codeWrongState       = "wrong_state"   // the alert's state does not allow the action
	codeNoteRequired     = "note_required" // the action needs a note
)

// statusOf is the one table from error kinds to HTTP statuses. The first
// match wins.
var statusOf = []struct {
	err    error
	status int
	code   string
}{
	{store.ErrNotFound, fiber.StatusNotFound, codeNotFound},
	{store.ErrConflict, fiber.StatusConflict, codeConflict},
	{store.ErrInvalid, fiber.StatusUnprocessableEntity, codeInvalid},
	{alerts.ErrState, fiber.StatusConflict, codeWrongState},
	{alerts.ErrNoteRequired, fiber.StatusUnprocessableEntity, codeNoteRequired},
	{telemetry.ErrInvalidQuery, fiber.StatusBadRequest, codeBadRequest},
	{telemetry.ErrRetry, fiber.StatusServiceUnavailable, codeUnavailable},
	{context.DeadlineExceeded, fiber.StatusServiceUnavailable, codeUnavailable},
}

// codeOfStatus gives the code of errors that Fiber itself raises, which
// carry only a status.
var codeOfStatus = map[int]string{
	fiber.StatusBadRequest:            codeBadRequest,
	fiber.StatusUnauthorized:          codeUnauthorized,
	fiber.StatusNotFound:              codeNotFound,
	fiber.StatusMethodNotAllowed:      codeMethodNotAllowed,
	fiber.StatusRequestEntityTooLarge: codeTooLarge,
	fiber.StatusServiceUnavailable:    codeUnavailable,
}

func errBadRequest(detail string) error {
	return &Problem{Status: fiber.StatusBadRequest, Code: codeBadRequest, Detail: detail}
}

// problem is Fiber's error handler: every error leaves as problem details.
// Fiber calls it for errors that handlers return and for requests it could
// not read or route, so it must not assume a matched route.
func (s *server) problem(c *fiber.Ctx, err error) error {
	p := &Problem{}
	var fe *fiber.Error
	switch {
	case errors.As(err, &p):
	case errors.As(err, &fe):
		p = fiberProblem(fe)
	default:
		p = s.storeProblem(c, err)
	}
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = httpStatusText(p.Status)
	}
	p.Instance = utils.CopyString(c.Path()) // p is an error value: it may be kept
	return c.Status(p.Status).JSON(p, "application/problem+json")
}

// fiberProblem describes an error raised by Fiber or fasthttp. Their messages
// are not repeated for a 400: fasthttp's quote the raw request, headers and
// all, which may hold the bearer token or personal data.
func fiberProblem(fe *fiber.Error) *Problem {
	p := &Problem{Status: fe.Code, Code: codeOfStatus[fe.Code], Detail: fe.Message}
	if p.Code == "" {
		p.Code = codeBadRequest
		if fe.Code >= fiber.StatusInternalServerError {
			p.Code = codeInternal
		}
	}
	switch fe.Code {
	case fiber.StatusNotFound:
		p.Detail = "no such route"
	case fiber.StatusMethodNotAllowed:
		p.Detail = "the route does not take this method; see the Allow header"
	case fiber.StatusBadRequest:
		p.Detail = "the request could not be read"
	}
	return p
}

// storeProblem classifies an error through statusOf; anything it does not
// know is an internal error, logged and not described to the client.
func (s *server) storeProblem(c *fiber.Ctx, err error) *Problem {
	for _, m := range statusOf {
		if errors.Is(err, m.err) {
			p := &Problem{Status: m.status, Code: m.code, Detail: err.Error()}
			var ve *store.ValidationError
			if errors.As(err, &ve) {
				p.Field = ve.Field
			}
			if m.code == codeUnavailable {
				// The cause is ours to read in the log, not the client's.
				s.Log.Warn("request failed", "method", utils.CopyString(c.Method()), "route", utils.CopyString(c.Route().Path), "err", err)
				p.Detail = "a backing service is unavailable or too slow; try again later"
			}
			return p
		}
	}
	// Copied: a logger may keep the record after the request's buffers are
	// reused.
	s.Log.Error("request failed", "method", utils.CopyString(c.Method()), "route", utils.CopyString(c.Route().Path), "err", err)
	return &Problem{Status: fiber.StatusInternalServerError, Code: codeInternal, Detail: "internal error"}
}

func httpStatusText(code int) string {
	if t := utils.StatusMessage(code); t != "" {
		return t
	}
	return "Error"
}
