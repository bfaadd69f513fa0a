package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/mealsync/mealsync"
)

// Body limits: JSON bodies (decode) and image uploads (readImage).
const (
	MaxBodyBytes   = 1 << 20
	MaxUploadBytes = 10 << 20
)

// envelope is the reference's wire shape for every JSON response.
type envelope struct {
	Data   any         `json:"data"`
	Errors []errorItem `json:"errors"`
}

type errorItem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// unexpected is the body of every internal error: nothing about it
// reaches the client.
var unexpected = envelope{Errors: []errorItem{{Field: "Unknown", Message: "An unexpected error occurred"}}}

// encodeJSON is the one place response bodies are encoded (one line of
// JSON, as json.Encoder writes it). The list cache keeps what it returns.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	err := json.NewEncoder(&b).Encode(v)
	return b.Bytes(), err
}

// writeJSON encodes body and writes it. What it writes is never cacheable,
// even when the handler had chosen otherwise before failing: an error must
// not be kept under the list's ETag. A body that cannot be encoded (a bug)
// is answered as an internal error.
func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := encodeJSON(body)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = encodeJSON(unexpected)
	}
	writeEncoded(w, status, defaultCacheControl, b)
}

// writeEncoded is the one place JSON responses are written: headers before
// WriteHeader (the security headers are already set, by secureHeaders),
// then the encoded body in one Write of its Content-Length, which lets the
// server send the answer in one piece (cmd/mealsync's wholeAnswers).
func writeEncoded(w http.ResponseWriter, status int, cacheControl string, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", cacheControl)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	// A failed write means the client went away; there is no one to tell.
	_, _ = w.Write(body)
}

// statusClientClosedRequest is nginx's status for a request whose client
// closed the connection before the answer.
const statusClientClosedRequest = 499

// respond writes data in the success envelope.
func respond(w http.ResponseWriter, status int, data any) {
	writeJSON(w, status, envelope{Data: data})
}

// errorStatus maps domain codes to HTTP, and names the reference's "field"
// for errors that are not about one input field.
var errorStatus = map[string]struct {
	status int
	field  string
}{
	mealsync.EINVALID:      {http.StatusBadRequest, "Bad Request"},
	mealsync.ECONFLICT:     {http.StatusBadRequest, "Bad Request"}, // the reference answers 400 for a taken email
	mealsync.EUNAUTHORIZED: {http.StatusUnauthorized, "Unauthorized"},
	mealsync.EFORBIDDEN:    {http.StatusForbidden, "Forbidden"},
	mealsync.ENOTFOUND:     {http.StatusNotFound, "Resource"},
	mealsync.ETOOMANY:      {http.StatusTooManyRequests, "Too Many Requests"},
	mealsync.ETOOLARGE:     {http.StatusRequestEntityTooLarge, "body"},
	mealsync.EUNSUPPORTED:  {http.StatusUnsupportedMediaType, "Content-Type"},
	mealsync.EUNAVAILABLE:  {http.StatusServiceUnavailable, "Unavailable"},
	mealsync.EUPSTREAM:     {http.StatusBadGateway, "Upstream"},
	mealsync.ETIMEOUT:      {http.StatusGatewayTimeout, "Upstream"},
	mealsync.EINPROGRESS:   {http.StatusConflict, idempotencyKeyHeader},
	mealsync.EKEYREUSED:    {http.StatusUnprocessableEntity, idempotencyKeyHeader},
}

// fail writes err in the error envelope. It is the one place errors become
// statuses; only internal errors are logged and counted, and their details
// never reach the client.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away mid-request: nothing failed here, and
		// nobody reads the answer. 499 is what nginx logs for it.
		w.WriteHeader(statusClientClosedRequest)
		return
	}
	var e *mealsync.Error
	m, known := errorStatus[mealsync.ErrorCode(err)]
	if !known || !errors.As(err, &e) {
		s.log.ErrorContext(r.Context(), "internal error", "err", err)
		s.metrics.internalErrors.Inc()
		writeJSON(w, http.StatusInternalServerError, unexpected)
		return
	}
	items := make([]errorItem, 0, max(1, len(e.Fields)))
	for _, f := range e.Fields {
		items = append(items, errorItem{f.Field, f.Message})
	}
	if len(items) == 0 {
		items = append(items, errorItem{m.field, e.Message})
	}
	switch m.status {
	case http.StatusUnauthorized:
		// RFC 7235: a 401 names the scheme. user() adds error="invalid_token"
		// when a token was sent (RFC 6750).
		if w.Header().Get("WWW-Authenticate") == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mealsync"`)
		}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusConflict:
		if e.RetryAfter > 0 || m.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
		}
	}
	writeJSON(w, m.status, envelope{Errors: items})
}

// validator is implemented by request types: it returns every problem at
// once.
type validator interface {
	Valid() mealsync.Validation
}

// decode reads a size-limited JSON body into a T and validates it. Unknown
// fields are ignored, as the old server did, so newer clients keep working.
// The body must be declared JSON (application/json, with any parameters, or
// a +json type): a missing or other Content-Type is 415, so a cross-site
// form post (text/plain, form-urlencoded) is never read as JSON.
func decode[T validator](r *http.Request) (T, error) {
	var v T
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil ||
		(mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return v, errNotJSON
	}
	if err := decodeJSON(http.MaxBytesReader(nil, r.Body, MaxBodyBytes), &v); err != nil {
		return v, err
	}
	if err := checkText(v); err != nil {
		return v, err
	}
	return v, v.Valid().Err()
}

var errNotJSON = mealsync.Errorf(mealsync.EUNSUPPORTED, "Content-Type must be application/json")

// decodeJSON turns the decoder's errors into field-level client errors.
func decodeJSON(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	err := dec.Decode(v)
	if err == nil {
		if dec.More() || dec.Decode(new(json.RawMessage)) != io.EOF {
			return fieldError("body", "Request body must hold a single JSON value")
		}
		return nil
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return fieldError("body", "Request body is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fieldError("body", "Request body is not complete JSON")
	case errors.As(err, &syntax):
		return fieldError("body", fmt.Sprintf("Malformed JSON at byte %d", syntax.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return fieldError("body", "Request body must be a JSON "+jsonKind(typ.Type))
		}
		return fieldError(field, "Must be "+article(jsonKind(typ.Type)))
	case errors.As(err, &tooBig):
		return mealsync.Errorf(mealsync.ETOOLARGE, "Request body exceeds %d bytes", tooBig.Limit)
	}
	return fieldError("body", "Request body is not valid JSON")
}

func fieldError(field, msg string) error {
	return &mealsync.Error{Code: mealsync.EINVALID, Message: msg, Fields: []mealsync.FieldError{{Field: field, Message: msg}}}
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	if t.Implements(reflect.TypeFor[json.Unmarshaler]()) || reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		if t.Kind() == reflect.Slice {
			return "array or comma-separated string"
		}
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
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "object"
}

func article(kind string) string {
	if strings.IndexByte("aeiou", kind[0]) >= 0 {
		return "an " + kind
	}
	return "a " + kind
}
