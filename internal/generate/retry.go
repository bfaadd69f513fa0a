package generate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sashabaranov/go-openai"
)

// retryPolicy retries a call to the AI provider a bounded number of times.
// go-openai sends each request once, so the retrying is ours. The rules and
// numbers are those of the official SDK (openai-go) this replaced, except
// that a wait that would outlast ctx is not begun:
//   - retried: connection errors and the statuses 408, 409, 429 and 5xx,
//     unless the reply says otherwise in an x-should-retry header;
//   - not retried: anything else, including a timed-out attempt (waiting for
//     Config.Timeout again would keep the user waiting twice as long), an
//     ended ctx and a refused redirect;
//   - the wait is what Retry-After-Ms or Retry-After asks for, else an
//     exponential backoff with jitter; a server that asks for longer than
//     maxRetryAfter, or a wait that would outlast ctx, ends the retrying.
type retryPolicy struct {
	maxRetries    int           // extra attempts after the first
	baseDelay     time.Duration // first backoff, doubled for each later one
	maxDelay      time.Duration // longest backoff
	maxRetryAfter time.Duration // longest wait a server may ask for
}

// newRetryPolicy returns the policy for Config.MaxRetries.
func newRetryPolicy(maxRetries int) retryPolicy {
	return retryPolicy{maxRetries: maxRetries, baseDelay: 500 * time.Millisecond, maxDelay: 8 * time.Second, maxRetryAfter: 2 * time.Minute}
}

// do calls attempt until it succeeds, fails in a way not worth retrying, or
// has been retried maxRetries times, and returns its last error. attempt
// returns the reply's headers, nil when there was no reply.
func (p retryPolicy) do(ctx context.Context, attempt func() (http.Header, error)) error {
	for retry := 0; ; retry++ {
		header, err := attempt()
		if err != nil && ctx.Err() != nil {
			// The caller left (or ran out of time) while the attempt failed:
			// that, not the reply nobody will read, is the answer — whether
			// the cancellation landed before or after the reply arrived.
			return ctx.Err()
		}
		if err == nil || retry >= p.maxRetries || !retryable(ctx, header, err) {
			return err
		}
		wait, ok := p.delay(header, retry, time.Now())
		if !ok {
			return err
		}
		if deadline, has := ctx.Deadline(); has && time.Until(deadline) < wait {
			return err // the retry could not finish in time: report what failed
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// errRedirectRefused: the server redirected a call to another origin, where
// the API key must not go.
var errRedirectRefused = errors.New("redirect to another origin refused")

// retryable reports whether err, from an attempt whose reply carried header,
// may go away on a second try.
func retryable(ctx context.Context, header http.Header, err error) bool {
	if ctx.Err() != nil || errors.Is(err, errRedirectRefused) {
		return false
	}
	if status, _, _ := statusOf(err); status != 0 {
		switch header.Get("x-should-retry") {
		case "true":
			return true
		case "false":
			return false
		}
		return status == http.StatusRequestTimeout || status == http.StatusConflict ||
			status == http.StatusTooManyRequests || status >= http.StatusInternalServerError
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout() {
		return false
	}
	// http.Client.Do reports every failure to get a reply as a *url.Error;
	// other errors (a reply that is not JSON) would come back the same.
	var urlErr *url.Error
	return errors.As(err, &urlErr)
}

// statusOf returns the HTTP status of a reply go-openai turned into err, with
// the error's code and type when the body was an OpenAI error object; status
// is 0 when err did not come from a reply. Nothing the server wrote in its
// message is returned: upstream messages may echo the key.
func statusOf(err error) (status int, code, typ string) {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr):
		if apiErr.Code != nil {
			code = fmt.Sprint(apiErr.Code)
		}
		return apiErr.HTTPStatusCode, code, apiErr.Type
	case errors.As(err, &reqErr):
		return reqErr.HTTPStatusCode, "", ""
	}
	return 0, "", ""
}

// delay is how long to wait before retry number retry+1 (retry counts from
// 0); ok is false when the server asks for a wait longer than maxRetryAfter.
func (p retryPolicy) delay(header http.Header, retry int, now time.Time) (wait time.Duration, ok bool) {
	if wait, ok := retryAfter(header, now); ok {
		return wait, wait <= p.maxRetryAfter
	}
	wait = p.maxDelay
	if retry < 30 && p.baseDelay<<retry < p.maxDelay {
		wait = p.baseDelay << retry
	}
	if jitter := int64(wait / 4); jitter > 0 {
		wait -= time.Duration(rand.Int64N(jitter)) // spread clients that failed together
	}
	return wait, true
}

// retryAfter reads the wait a server asks for: Retry-After-Ms (OpenAI's,
// milliseconds) or else Retry-After (seconds or an HTTP date).
func retryAfter(header http.Header, now time.Time) (time.Duration, bool) {
	if ms, err := strconv.ParseFloat(header.Get("Retry-After-Ms"), 64); err == nil && ms >= 0 && ms < 1e12 {
		return time.Duration(ms * float64(time.Millisecond)), true
	}
	v := header.Get("Retry-After")
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && s < 1e9 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
