package api

import "net/http"

// Headers every response of both listeners carries, so the app is safe
// without nginx in front: browsers never sniff a JSON answer into something
// executable, a response opened as a page loads and runs nothing and cannot
// be framed, and nothing is cached unless its handler says it may be.
const (
	contentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"
	defaultCacheControl   = "no-store"
)

// secureHeaders sets those headers before the handler runs, so they are on
// every answer: success, error, 404 and 405 from the fallback, 304, panics
// recovered into a 500. A handler whose answer may be kept sets its own
// Cache-Control (the public recipe list revalidates by ETag; images are
// immutable and carry a stricter policy of their own).
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Cache-Control", defaultCacheControl)
		next.ServeHTTP(w, r)
	})
}
