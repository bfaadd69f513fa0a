package generate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
)

// failWithHeaders answers with an OpenAI error object and header.
func failWithHeaders(w http.ResponseWriter, status int, header map[string]string) {
	for k, v := range header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, `{"error":{"message":"failed","type":"server_error","param":null,"code":null}}`)
}

func TestOpenAIRetriesByStatus(t *testing.T) {
	for _, tc := range []struct {
		status  int
		header  map[string]string
		retried bool
	}{
		{http.StatusRequestTimeout, nil, true},
		{http.StatusConflict, nil, true},
		{http.StatusTooManyRequests, nil, true},
		{http.StatusInternalServerError, nil, true},
		{http.StatusBadGateway, nil, true},
		{http.StatusBadRequest, nil, false},
		{http.StatusNotFound, nil, false},
		{http.StatusUnprocessableEntity, nil, false},
		{http.StatusBadRequest, map[string]string{"x-should-retry": "true"}, true},
		{http.StatusServiceUnavailable, map[string]string{"x-should-retry": "false"}, false},
	} {
		t.Run(fmt.Sprint(tc.status, tc.header), func(t *testing.T) {
			o, fake, _ := newOpenAI(t, Config{MaxRetries: 1}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, call int) {
				if call == 1 {
					failWithHeaders(w, tc.status, tc.header)
					return
				}
				complete(w, recipesReply(aiRecipeJSON("Tomato Spaghetti", nil)))
			})
			o.retry.baseDelay = time.Millisecond
			_, err := o.Generate(context.Background(), tomatoRequest)
			wantCalls := map[bool]int32{true: 2, false: 1}[tc.retried]
			if n := fake.calls.Load(); n != wantCalls {
				t.Errorf("%d calls, want %d", n, wantCalls)
			}
			if tc.retried && err != nil {
				t.Errorf("err = %v after a retry that succeeded", err)
			}
			if !tc.retried {
				wantError(t, err, mealsync.EUPSTREAM, msgGenerateFailed)
			}
		})
	}
}

func TestOpenAIRetriesConnectionErrors(t *testing.T) {
	o, fake, _ := newOpenAI(t, Config{MaxRetries: 1}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, call int) {
		if call == 1 { // drop the connection without a reply
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Fatal(err)
			}
			conn.Close()
			return
		}
		complete(w, recipesReply(aiRecipeJSON("Tomato Spaghetti", nil)))
	})
	o.retry.baseDelay = time.Millisecond
	if got, err := o.Generate(context.Background(), tomatoRequest); err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	if n := fake.calls.Load(); n != 2 {
		t.Errorf("%d calls, want 2 (one retry)", n)
	}
}

func TestOpenAIDoesNotRetryTimeouts(t *testing.T) {
	release := make(chan struct{})
	o, fake, _ := newOpenAI(t, Config{Timeout: 50 * time.Millisecond, MaxRetries: 2}, func(w http.ResponseWriter, r *http.Request, _ chatRequest, _ int) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	o.retry.baseDelay = time.Millisecond
	_, err := o.Generate(context.Background(), tomatoRequest)
	wantError(t, err, mealsync.ETIMEOUT, msgTimeout)
	if n := fake.calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1: a timed-out attempt is not repeated", n)
	}
}

func TestOpenAIGivesUpOnLongRetryAfter(t *testing.T) {
	o, fake, _ := newOpenAI(t, Config{MaxRetries: 2}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) {
		failWithHeaders(w, http.StatusTooManyRequests, map[string]string{"Retry-After": "1"})
	})
	o.retry.maxRetryAfter = 100 * time.Millisecond // 2 minutes in production
	_, err := o.Generate(context.Background(), tomatoRequest)
	wantError(t, err, mealsync.EUPSTREAM, msgGenerateFailed)
	if n := fake.calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1: the server asked for a longer wait than we allow", n)
	}
}

func TestOpenAIGivesUpWhenTheWaitOutlastsTheContext(t *testing.T) {
	o, fake, _ := newOpenAI(t, Config{MaxRetries: 2}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) {
		failWithHeaders(w, http.StatusTooManyRequests, map[string]string{"Retry-After": "30"})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := o.Generate(ctx, tomatoRequest)
	// The 429 is reported at once, rather than a timeout after 10 s.
	wantError(t, err, mealsync.EUPSTREAM, msgGenerateFailed)
	if n := fake.calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestOpenAIStopsRetryingWhenTheCallerLeaves(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o, fake, _ := newOpenAI(t, Config{MaxRetries: 2}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) {
		failWithHeaders(w, http.StatusServiceUnavailable, map[string]string{"Retry-After": "60"})
		cancel() // the caller goes away during the reply or the wait after it
	})
	_, err := o.Generate(ctx, tomatoRequest)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := fake.calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestOpenAIRefusesRedirectsToAnotherOrigin(t *testing.T) {
	elsewhere := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		t.Errorf("the redirect was followed, Authorization %q", r.Header.Get("Authorization"))
	}))
	t.Cleanup(elsewhere.Close)
	o, fake, _ := newOpenAI(t, Config{MaxRetries: 2}, func(w http.ResponseWriter, r *http.Request, _ chatRequest, _ int) {
		http.Redirect(w, r, elsewhere.URL+"/v1/chat/completions", http.StatusTemporaryRedirect)
	})
	_, err := o.Generate(context.Background(), tomatoRequest)
	wantError(t, err, mealsync.EUPSTREAM, msgGenerateFailed)
	if n := fake.calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1 (a refused redirect is not retried)", n)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header map[string]string
		want   time.Duration
		ok     bool
	}{
		{nil, 0, false},
		{map[string]string{"Retry-After-Ms": "250"}, 250 * time.Millisecond, true},
		{map[string]string{"Retry-After-Ms": "1.5"}, 1500 * time.Microsecond, true},
		{map[string]string{"Retry-After": "3"}, 3 * time.Second, true},
		{map[string]string{"Retry-After-Ms": "20", "Retry-After": "3"}, 20 * time.Millisecond, true},
		{map[string]string{"Retry-After": "Sun, 01 Jun 2025 12:00:07 GMT"}, 7 * time.Second, true},
		{map[string]string{"Retry-After": "Sun, 01 Jun 2025 11:00:00 GMT"}, 0, true},
		{map[string]string{"Retry-After": "soon"}, 0, false},
		{map[string]string{"Retry-After": "-4"}, 0, false},
		{map[string]string{"Retry-After-Ms": "NaN"}, 0, false},
	} {
		h := http.Header{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		got, ok := retryAfter(h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%v: %v, %v; want %v, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	p := newRetryPolicy(5)
	now := time.Now()
	for retry, max := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second} {
		for range 50 {
			d, ok := p.delay(nil, retry, now)
			if !ok || d > max || d < max*3/4 {
				t.Fatalf("retry %d: %v, %v; want between %v and %v", retry, d, ok, max*3/4, max)
			}
		}
	}
	if d, ok := p.delay(http.Header{"Retry-After": {"90"}}, 0, now); !ok || d != 90*time.Second {
		t.Errorf("Retry-After 90: %v, %v", d, ok)
	}
	if _, ok := p.delay(http.Header{"Retry-After": {"121"}}, 0, now); ok {
		t.Error("Retry-After 121 s is honoured; the limit is 2 minutes")
	}
}
