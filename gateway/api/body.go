package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"github.com/gofiber/fiber/v2"
)

// decodeBody reads the JSON request body into v. Its error messages name
// the field at fault but never repeat a value: bodies carry personal data,
// and encoding/json's own messages quote numbers and Go type names.
func decodeBody(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return errBadRequest("the request body is empty; send a JSON object")
	}
	err := json.Unmarshal(body, v)
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te) && jsonPath(te.Field) != "":
		f := jsonPath(te.Field)
		return &Problem{Status: fiber.StatusBadRequest, Code: codeBadRequest, Field: f,
			Detail: fmt.Sprintf("field %s: want a JSON %s", f, jsonKind(te.Type))}
	case errors.As(err, &te):
		return errBadRequest("the request body must be a JSON object")
	case errors.As(err, &se):
		return errBadRequest(fmt.Sprintf("the request body is not valid JSON (error at byte %d)", se.Offset))
	default:
		return errBadRequest("the request body is not the expected JSON; times are RFC 3339, e.g. 2025-01-02T15:04:05+08:00")
	}
}

// jsonPath turns the path encoding/json reports into the JSON one: it
// names an embedded struct by its Go name ("Device.bed_id"), and every JSON
// name of this API is lower case.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	out := parts[:0]
	for _, p := range parts {
		if p != "" && !unicode.IsUpper(rune(p[0])) {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

// jsonKind names the JSON type that decodes into t.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	default:
		return "object"
	}
}
