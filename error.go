package mealsync

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Error codes. The HTTP layer maps each to one status in one place.
const (
	EINVALID      = "invalid"      // the request is malformed or breaks a rule
	ECONFLICT     = "conflict"     // it clashes with existing data (e.g. a taken email)
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	EFORBIDDEN    = "forbidden"    // authenticated, but not allowed
	ENOTFOUND     = "not_found"    // no such object
	ETOOMANY      = "too_many"     // throttled; see Error.RetryAfter
	EUNAVAILABLE  = "unavailable"  // a dependency is down or not configured
	ETOOLARGE     = "too_large"    // the request body is over the limit
	EUNSUPPORTED  = "unsupported"  // a media type the endpoint does not take
	EUPSTREAM     = "upstream"     // an upstream service failed (502)
	ETIMEOUT      = "timeout"      // an upstream service did not answer in time (504)
	EINPROGRESS   = "in_progress"  // the same request is being processed; see Error.RetryAfter
	EKEYREUSED    = "key_reused"   // an idempotency key sent with a different request
	EINTERNAL     = "internal"     // a bug or an unexpected failure
)

// FieldError is one problem with one input field.
type FieldError struct {
	Field   string
	Message string
}

// Error is the domain's error: a code for machines, a message for people.
// Messages are shown to clients, so they never carry internals.
type Error struct {
	Code       string
	Message    string
	Fields     []FieldError  // validation problems, one per field and rule
	RetryAfter time.Duration // for ETOOMANY and EINPROGRESS
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %s (%d field errors)", e.Code, e.Message, len(e.Fields))
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// Sentinels that storage adapters wrap driver errors into.
var (
	ErrNotFound = &Error{Code: ENOTFOUND, Message: "not found"}
	ErrConflict = &Error{Code: ECONFLICT, Message: "already exists"}
)

// Validation collects field problems and turns them into one EINVALID error.
type Validation []FieldError

// Add records a problem with field.
func (v *Validation) Add(field, message string) { *v = append(*v, FieldError{field, message}) }

// Err returns nil when nothing was recorded.
func (v Validation) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "validation failed", Fields: v}
}

// Include adds the field problems of err, an error a Validate method
// returned, naming each field with prefix ("userPreference."). An error
// without fields is recorded against prefix's field, or "body".
func (v *Validation) Include(prefix string, err error) {
	var e *Error
	switch {
	case err == nil:
	case errors.As(err, &e) && len(e.Fields) > 0:
		for _, f := range e.Fields {
			v.Add(prefix+f.Field, f.Message)
		}
	default:
		field := strings.TrimSuffix(prefix, ".")
		if field == "" {
			field = "body"
		}
		msg := "Invalid"
		if e != nil {
			msg = e.Message
		}
		v.Add(field, msg)
	}
}

// ValidText reports whether s may be stored: valid UTF-8 without NUL.
// PostgreSQL refuses both in text columns and SQLite would keep them, so
// every string is checked at the edge, before any store sees it, and both
// databases answer alike.
func ValidText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
