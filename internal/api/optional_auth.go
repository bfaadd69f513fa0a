package api

import "net/http"

// optionalUser serves public routes whose answer depends on who asks: with
// no Authorization header, h gets a nil user; with one, the token must be
// valid, exactly as for user (a bad or expired token is 401, so a client
// learns to refresh instead of silently seeing less).
func (s *Server) optionalUser(h authedHandler) http.Handler {
	authed := s.user(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			h(w, r, nil)
			return
		}
		authed.ServeHTTP(w, r)
	})
}
