package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/idempotency"
)

// idempotencyKeyHeader names a write so that it can be retried safely
// (docs/API.md, "Retrying writes"); replayedHeader marks an answer given
// back from the record of an earlier attempt (Stripe's name).
const (
	idempotencyKeyHeader = "Idempotency-Key"
	replayedHeader       = "Idempotent-Replayed"
)

// idempotent lets a client retry h with an Idempotency-Key header: the
// first attempt runs h, and its writes and its answer are committed in one
// transaction; a retry gets that answer back, with Idempotent-Replayed:
// true, instead of running h again. Without the header h runs as it is.
//
// It sits inside the authentication of its route: a key belongs to the
// user who sent it.
func (s *Server) idempotent(h authedHandler) authedHandler {
	// The closure only calls a method: routes() inlines this function at
	// each of its lines, and a closure with the whole body in it would be
	// copied into the binary once per route.
	return func(w http.ResponseWriter, r *http.Request, me *mealsync.User) { s.serveIdempotent(w, r, me, h) }
}

// serveIdempotent is idempotent's handler, for a request to h.
func (s *Server) serveIdempotent(w http.ResponseWriter, r *http.Request, me *mealsync.User, h authedHandler) {
	key, ok, err := idempotencyKey(r.Header)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok {
		h(w, r, me)
		return
	}
	body, err := readWholeBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req := idempotency.Request{UserID: me.ID, Key: key, Fingerprint: fingerprint(r, body)}
	resp, replayed, err := s.idem.Do(r.Context(), req, func(ctx context.Context) (*mealsync.IdempotentResponse, bool) {
		buf := newResponseBuffer(w.Header())
		run := r.WithContext(ctx)
		run.Body = io.NopCloser(bytes.NewReader(body))
		h(buf, run, me)
		return buf.response(), keepAnswer(buf.status)
	})
	if err != nil {
		s.metrics.idempotent.WithLabelValues(idempotencyOutcome(err)).Inc()
		s.fail(w, r, err)
		return
	}
	outcome := "executed"
	if replayed {
		outcome = "replayed"
		w.Header().Set(replayedHeader, "true")
	}
	s.metrics.idempotent.WithLabelValues(outcome).Inc()
	// The write became visible when its unit committed, after the
	// handler had already invalidated the list cache.
	s.listCache.invalidate()
	maps.Copy(w.Header(), resp.Header)
	if len(resp.Body) > 0 {
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	}
	w.WriteHeader(resp.Status)
	w.Write(resp.Body) // a failed write means the client went away
}

// keepAnswer says which answers are kept and replayed: every answer but a
// server error (its writes are rolled back, so the retry runs again) and a
// throttled request (429: the retry after Retry-After must be judged anew).
func keepAnswer(status int) bool {
	return status < 500 && status != http.StatusTooManyRequests
}

func idempotencyOutcome(err error) string {
	switch mealsync.ErrorCode(err) {
	case mealsync.EINPROGRESS:
		return "in_progress"
	case mealsync.EKEYREUSED:
		return "key_reused"
	case mealsync.EINVALID:
		return "invalid"
	}
	return "failed"
}

var errIdempotencyKey = &mealsync.Error{Code: mealsync.EINVALID, Message: "validation failed",
	Fields: []mealsync.FieldError{{Field: idempotencyKeyHeader,
		Message: "Send one Idempotency-Key of 1 to 255 printable ASCII characters, bare or as a quoted string"}}}

// idempotencyKey reads the request's key: absent (false), or one header
// holding the key bare (Stripe's form) or as a structured-field string in
// double quotes (the IETF draft's form), which name the same key.
func idempotencyKey(h http.Header) (string, bool, error) {
	values := h.Values(idempotencyKeyHeader)
	if len(values) == 0 {
		return "", false, nil
	}
	if len(values) > 1 {
		return "", false, errIdempotencyKey
	}
	key := strings.TrimSpace(values[0])
	if strings.HasPrefix(key, `"`) { // the quoted form, and then only it
		if len(key) < 2 || !strings.HasSuffix(key, `"`) {
			return "", false, errIdempotencyKey
		}
		var ok bool
		if key, ok = unquoteSFString(key[1 : len(key)-1]); !ok {
			return "", false, errIdempotencyKey
		}
	}
	if !mealsync.ValidIdempotencyKey(key) {
		return "", false, errIdempotencyKey
	}
	return key, true, nil
}

// unquoteSFString undoes the escapes of an RFC 8941 string's content: \"
// and \\ only; a lone quote or another escape is malformed.
func unquoteSFString(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 == len(s) || (s[i+1] != '"' && s[i+1] != '\\') {
				return "", false
			}
			i++
			b.WriteByte(s[i])
		case '"':
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// readWholeBody reads the body, which the fingerprint covers, within the
// limit the route's handler would apply: an image upload's for multipart
// bodies, the JSON limit for the rest.
func readWholeBody(r *http.Request) ([]byte, error) {
	limit := int64(MaxBodyBytes)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); strings.HasPrefix(mt, "multipart/") {
		limit = MaxUploadBytes + 64<<10 // as readImage: room for the framing
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, mealsync.Errorf(mealsync.ETOOLARGE, "Request body exceeds %d bytes", tooBig.Limit)
	case err != nil:
		return nil, fieldError("body", "Request body could not be read")
	}
	return body, nil
}

// fingerprint identifies a request: its method, path and query, and body.
// A retry must send the same bytes; a key sent with anything else is
// refused (422), so a client bug that reuses keys cannot return one
// request's answer for another.
func fingerprint(r *http.Request, body []byte) string {
	h := sha256.New()
	io.WriteString(h, r.Method+" "+r.URL.RequestURI()+"\n")
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// responseBuffer holds a handler's answer until its writes are committed:
// an answer must not reach the client before what it reports is durable.
type responseBuffer struct {
	header  http.Header
	initial http.Header // what the middleware had set before the handler
	status  int
	body    bytes.Buffer
}

func newResponseBuffer(h http.Header) *responseBuffer {
	return &responseBuffer{header: h.Clone(), initial: h.Clone()}
}

func (b *responseBuffer) Header() http.Header { return b.header }

func (b *responseBuffer) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *responseBuffer) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// response is the answer as recorded: its status, the headers the handler
// set itself (the middleware's are set again on every answer), its body.
func (b *responseBuffer) response() *mealsync.IdempotentResponse {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	set := map[string][]string{}
	for k, v := range b.header {
		if !slices.Equal(v, b.initial[k]) {
			set[k] = v
		}
	}
	return &mealsync.IdempotentResponse{Status: b.status, Header: set, Body: b.body.Bytes()}
}
