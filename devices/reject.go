package devices

import (
	"errors"
	"fmt"
)

// Reason says why a message could not be used. Reasons are a stable
// catalogue: they label metrics and dead letters.
type Reason string

// Rejection reasons.
const (
	ReasonMalformed     Reason = "malformed_json"
	ReasonWrongType     Reason = "wrong_type"
	ReasonOutOfRange    Reason = "out_of_range"
	ReasonOversized     Reason = "oversized"
	ReasonFutureTime    Reason = "future_timestamp"
	ReasonUnknownTopic  Reason = "unknown_topic"
	ReasonUnknownStream Reason = "unknown_stream"
	ReasonUnknownDevice Reason = "unknown_device"
	ReasonEmpty         Reason = "empty_payload"
	ReasonInvalidValue  Reason = "invalid_value"
	// ReasonStoreRejected: the time-series store refused the observation
	// for good (e.g. a field type conflict); it is kept, not retried.
	ReasonStoreRejected Reason = "store_rejected"
)

// Reasons lists every rejection reason.
var Reasons = []Reason{ReasonMalformed, ReasonWrongType, ReasonOutOfRange, ReasonOversized, ReasonFutureTime,
	ReasonUnknownTopic, ReasonUnknownStream, ReasonUnknownDevice, ReasonEmpty, ReasonInvalidValue, ReasonStoreRejected}

// RejectError is returned for a message that cannot be used.
type RejectError struct {
	Reason Reason
	Field  string // the payload field at fault, when there is one
	Detail string // a short human explanation; never personal data
}

func (e *RejectError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: field %q: %s", e.Reason, e.Field, e.Detail)
	}
	return fmt.Sprintf("%s: %s", e.Reason, e.Detail)
}

// Reject builds a RejectError.
func Reject(reason Reason, field, format string, args ...any) *RejectError {
	return &RejectError{Reason: reason, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the rejection reason of err, or "" when err is not a rejection.
func ReasonOf(err error) Reason {
	var re *RejectError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}
