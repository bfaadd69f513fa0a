package api

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/mealsync/mealsync"
)

type ctxKey int

const requestInfoKey ctxKey = iota

// requestInfo travels in the context so the access log can name the user.
type requestInfo struct {
	id     string
	userID string
}

func info(ctx context.Context) *requestInfo {
	if ri, ok := ctx.Value(requestInfoKey).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// validRequestID accepts a caller's X-Request-ID only if it is short and
// printable, so it cannot forge log lines.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// observe gives every API request an ID, recovers panics, and writes one log line and one histogram sample per request. The route
// is the mux pattern, so metrics have bounded cardinality.
func (s *Server) observe(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{id: r.Header.Get("X-Request-ID")}
		if !validRequestID(ri.id) {
			ri.id = rand.Text()
		}
		w.Header().Set("X-Request-ID", ri.id)
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey, ri))
		r.Pattern = "" // the outer mux's "/" is not the route; the API mux sets it
		rec := &statusRecorder{ResponseWriter: w}
		s.metrics.inFlight.Inc()

		defer func() {
			s.metrics.inFlight.Dec()
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic", "request_id", ri.id, "panic", p, "stack", string(debug.Stack()))
				if !rec.wroteHeader {
					s.fail(rec, r, errors.New("panic"))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			s.metrics.requests.WithLabelValues(r.Method, route, strconv.Itoa(rec.status())).Observe(d.Seconds())
			s.log.InfoContext(r.Context(), "request",
				"request_id", ri.id, "method", r.Method, "route", route, "path", r.URL.Path,
				"status", rec.status(), "duration_ms", float64(d.Microseconds())/1000, "bytes", rec.bytes,
				"client_ip", s.clientIP(r), "user_id", ri.userID)
		}()

		if err := checkRequestText(r); err != nil {
			s.fail(rec, r, err)
			return
		}
		_, pattern := mux.Handler(r)
		if pattern == "" {
			s.unmatched(mux, rec, r)
			return
		}
		s.admit(rec, r, pattern, mux)
	})
}

// jsonFallback serves mux, answering what it has no route for in JSON
// (unmatched), as the API does.
func (s *Server) jsonFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			s.unmatched(mux, w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// unmatched answers an unknown path (404) or a known path with the wrong
// method (405, with Allow) in the JSON envelope, not the mux's plain text.
func (s *Server) unmatched(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	probe := &headerCapture{header: http.Header{}}
	h, _ := mux.Handler(r)
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		writeJSON(w, http.StatusMethodNotAllowed, envelope{Errors: []errorItem{
			{Field: "method", Message: "Method " + r.Method + " is not allowed here"},
		}})
		return
	}
	if probe.status >= 300 && probe.status < 400 { // path cleaning redirects
		w.Header().Set("Location", probe.header.Get("Location"))
		w.WriteHeader(probe.status)
		return
	}
	writeJSON(w, http.StatusNotFound, envelope{Errors: []errorItem{
		{Field: "Resource", Message: "No endpoint " + r.Method + " " + r.URL.Path},
	}})
}

// headerCapture records what the mux's built-in handlers would answer.
type headerCapture struct {
	header http.Header
	status int
}

func (c *headerCapture) Header() http.Header         { return c.header }
func (c *headerCapture) Write(b []byte) (int, error) { return len(b), nil }
func (c *headerCapture) WriteHeader(code int)        { c.status = code }

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	code        int
	bytes       int64
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *statusRecorder) status() int {
	if !r.wroteHeader {
		return http.StatusOK
	}
	return r.code
}

// Unwrap lets http.ResponseController reach Flush and deadlines (SSE,
// WebSocket upgrades).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// clientIP is the peer address, or, when the peer is a trusted proxy, the
// right-most address in X-Forwarded-For that is not itself a trusted proxy.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.isTrusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.isTrusted(a) {
			return a.Unmap().String()
		}
	}
	return peer.Unmap().String()
}

func (s *Server) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// authedHandler is a handler that needs the calling user.
type authedHandler func(w http.ResponseWriter, r *http.Request, me *mealsync.User)

// user requires a valid access token of an active user.
func (s *Server) user(h authedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		me, err := s.authenticate(r)
		if err != nil {
			if r.Header.Get("Authorization") != "" && mealsync.ErrorCode(err) == mealsync.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="mealsync", error="invalid_token"`)
			}
			s.fail(w, r, err)
			return
		}
		info(r.Context()).userID = me.ID
		h(w, r, me)
	})
}

// admin requires a valid access token of an active ADMIN.
func (s *Server) admin(h authedHandler) http.Handler {
	return s.user(func(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
		if me.Role != mealsync.RoleAdmin {
			s.fail(w, r, errAccessDenied)
			return
		}
		h(w, r, me)
	})
}

var errAccessDenied = mealsync.Errorf(mealsync.EFORBIDDEN, "Access Denied")

func (s *Server) authenticate(r *http.Request) (*mealsync.User, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" {
		return nil, authErrNoToken
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, authErrBadHeader
	}
	return s.auth.Authenticate(r.Context(), strings.TrimSpace(token))
}

var (
	authErrNoToken   = mealsync.Errorf(mealsync.EUNAUTHORIZED, "Authentication required")
	authErrBadHeader = mealsync.Errorf(mealsync.EUNAUTHORIZED, "Authorization header must be: Bearer <token>")
)
