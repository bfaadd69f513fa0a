package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A request whose client went away is not an internal error: 499, nothing
// logged or counted as one.
func TestClientGoneIsNotAnInternalError(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler), metrics: newMetrics(prometheus.NewRegistry())}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("POST", "/api/v1/users/login", nil).WithContext(ctx)
	w := httptest.NewRecorder()
	s.fail(w, r, fmt.Errorf("clear login failures: %w", context.Canceled))
	if w.Code != statusClientClosedRequest {
		t.Errorf("status %d, want %d", w.Code, statusClientClosedRequest)
	}
	if n := testutil.ToFloat64(s.metrics.internalErrors); n != 0 {
		t.Errorf("counted %v internal errors", n)
	}

	// A cancellation while the client is still there is ours: a 500.
	r = httptest.NewRequest("POST", "/api/v1/users/login", nil)
	w = httptest.NewRecorder()
	s.fail(w, r, context.Canceled)
	if w.Code != http.StatusInternalServerError {
		t.Errorf("cancelled with the client still there: status %d, want 500", w.Code)
	}
}

// Every JSON answer is written in one Write of its declared
// Content-Length: what lets the server send it in one piece.
func TestJSONAnswersDeclareTheirLength(t *testing.T) {
	w := &countingWriter{ResponseRecorder: httptest.NewRecorder()}
	respond(w, http.StatusOK, map[string]string{"name": strings.Repeat("x", 10<<10)})
	if w.writes != 1 {
		t.Errorf("body written in %d Writes, want 1", w.writes)
	}
	if got, want := w.Header().Get("Content-Length"), strconv.Itoa(w.Body.Len()); got != want {
		t.Errorf("Content-Length %q for a body of %s bytes", got, want)
	}
}

type countingWriter struct {
	*httptest.ResponseRecorder
	writes int
}

func (w *countingWriter) Write(b []byte) (int, error) {
	w.writes++
	return w.ResponseRecorder.Write(b)
}
