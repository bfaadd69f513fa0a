package api

import (
	"net/http"

	"github.com/rs/cors"
)

// corsMaxAge is how long, in seconds, a browser may reuse a preflight's
// answer: short enough that a changed MEALSYNC_CORS_ORIGINS takes effect soon.
const corsMaxAge = 600

// withCORS lets the browser origins of MEALSYNC_CORS_ORIGINS (exact,
// validated by config) call the API, and no one else; with none, h is
// returned as it is and no CORS header is ever sent. The mobile clients are
// not browsers and need none of this.
//
// Preflights are answered here, before the API's middleware: 204 with the
// requested method and headers when the origin, method and headers are
// allowed, 204 without any Access-Control-Allow-* header otherwise (the
// browser then refuses). Credentials are not allowed: the API authenticates
// with a bearer token the page attaches itself, never a cookie or HTTP auth,
// so there is nothing a browser would send on its own behalf.
func withCORS(origins []string, h http.Handler) http.Handler {
	if len(origins) == 0 {
		return h
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete},
		AllowedHeaders: []string{"Authorization", "Content-Type", "X-Request-ID", "Idempotency-Key"},
		ExposedHeaders: []string{"X-Request-ID", "ETag", "Retry-After", replayedHeader},
		MaxAge:         corsMaxAge,
	}).Handler(h)
}
