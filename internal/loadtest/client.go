package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// newUserClient is one user's HTTP client: a transport of its own holding
// at most one keep-alive connection, as one phone holds one connection to
// the API, dialled from the user's client address (when it has one). It
// never goes through a proxy from the environment. Compression is left on:
// the app accepts gzip, as the mobile HTTP clients do.
func newUserClient(src netip.Addr) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         d.DialContext,
			MaxIdleConns:        1,
			MaxIdleConnsPerHost: 1,
			MaxConnsPerHost:     1,
			// Longer than any think time worth keeping a connection for; the
			// server closes idle ones first (nginx after 65 s, the app 120 s),
			// as it would a phone's.
			IdleConnTimeout: 5 * time.Minute,
		},
		// The API never redirects; a redirect would be a misconfigured target.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// call is one request of an action.
type call struct {
	name   string // the report's name for it (reqBrowse, …)
	method string
	path   string // under the target, e.g. /api/v1/recipes?name=tofu
	body   any    // JSON-encoded when not nil
	out    any    // a 2xx answer's JSON is decoded into it when not nil
	token  string // the access token, if any
	// want lists the statuses that are not errors; nil means any 2xx.
	want []int
	// explain asks for the server's message of an error answer (setup
	// reports it; the run phases only count errors).
	explain bool
	// declined, when set, tells an error answer (status, message) that is
	// the app's correct refusal of what the user's own data asks: the
	// outcome is then ok and declined, not an error.
	declined func(status int, msg string) bool
}

// outcome is what happened to a call.
type outcome struct {
	status int
	kind   string // "" on success
	msg    string // the error answer's first message, when asked for
	retry  string // its Retry-After header
	// declined: an error status the call's declined accepted (see call).
	declined bool
	err      error
	sent     time.Time
	done     time.Time
}

// ok reports whether the call succeeded.
func (o outcome) ok() bool { return o.kind == "" }

// send performs c with the client within timeout, reads the whole answer,
// and classifies the result. Every POST, PUT and DELETE carries a fresh
// Idempotency-Key (the same on the transport's own retry of the request,
// which Go makes only for requests that are idempotent or carry the
// header), so a write retried after a lost answer is applied once.
func send(ctx context.Context, client *http.Client, base string, c call, timeout time.Duration, now func() time.Time) outcome {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if c.body != nil {
		data, err := json.Marshal(c.body)
		if err != nil {
			return outcome{kind: KindOther, err: err, sent: now(), done: now()}
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, base+c.path, body)
	if err != nil {
		return outcome{kind: KindOther, err: err, sent: now(), done: now()}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "mealsyncctl-loadtest")
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.method == http.MethodPost || c.method == http.MethodPut || c.method == http.MethodDelete {
		req.Header.Set("Idempotency-Key", idempotencyKey())
	}
	o := outcome{sent: now()}
	resp, err := client.Do(req)
	if err != nil {
		o.done = now()
		o.kind, o.err = classify(ctx, err), err
		return o
	}
	o.status = resp.StatusCode
	if (c.explain || c.declined != nil) && !o.wanted(c.want) {
		var e struct {
			Errors []struct{ Field, Message string } `json:"errors"`
		}
		if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e) == nil && len(e.Errors) > 0 {
			o.msg = e.Errors[0].Field + ": " + e.Errors[0].Message
		}
		o.retry = resp.Header.Get("Retry-After")
	}
	if o.wanted(c.want) && c.out != nil {
		err = json.NewDecoder(resp.Body).Decode(c.out)
		if err != nil && (errors.Is(err, io.ErrUnexpectedEOF) || isNetError(err)) {
			o.kind, o.err = classify(ctx, err), err
		} else if err != nil {
			o.kind, o.err = KindBody, err
		}
	}
	// Read to the end, so the connection can be reused and the time
	// includes the whole answer.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil && o.kind == "" {
		o.kind, o.err = classify(ctx, err), err
	}
	resp.Body.Close()
	o.done = now()
	if o.kind == "" && !o.wanted(c.want) {
		o.kind = KindStatus
		if c.declined != nil && c.declined(o.status, o.msg) {
			o.kind, o.declined = "", true
		}
	}
	return o
}

func (o outcome) wanted(want []int) bool {
	if want == nil {
		return o.status >= 200 && o.status <= 299
	}
	for _, s := range want {
		if o.status == s {
			return true
		}
	}
	return false
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// classify names a failed request's kind of error. ctx is the request's
// context: cancelled by the operator is not the server's fault.
func classify(ctx context.Context, err error) string {
	var op *net.OpError
	switch {
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		return kindCancelled
	case errors.As(err, &op) && op.Op == "dial":
		return KindConnect
	case errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		return KindConnect
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(err):
		return KindTimeout
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		return KindReset
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "server closed"):
		return KindClosed
	}
	return KindOther
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// idempotencyKey is 128 random bits in hex.
func idempotencyKey() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
