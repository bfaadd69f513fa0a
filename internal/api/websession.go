package api

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/auth"
)

// The web app's session (docs/API.md, "Browser sessions"). A browser keeps
// its access token in memory only; its refresh token lives in a cookie that
// scripts cannot read (HttpOnly), that travels only over HTTPS or to a
// loopback address (Secure), never with a request another site starts
// (SameSite=Strict), and only to these endpoints (Path). Because a browser
// sends the cookie on its own, each endpoint also refuses a request that is
// not the app's own: it must carry the X-MealSync-CSRF header, which a page
// of another origin cannot add without a CORS permission it never gets, and
// an Origin (and Sec-Fetch-Site, when sent) naming this very host.
const (
	webSessionPath   = "/api/v1/web/session"
	refreshCookie    = "__Secure-mealsync-refresh"
	csrfHeader       = "X-MealSync-CSRF"
	errCrossSiteText = "Cross-site request refused"
)

type webSessionDTO struct {
	Token    string         `json:"token"`
	User     userDTO        `json:"user"`
	Features webFeaturesDTO `json:"features"`
}

// webFeaturesDTO tells the web app what this server's configuration offers,
// so that it shows only what works.
type webFeaturesDTO struct {
	// PhotoIngredients: the detect-ingredients endpoints read photos (the
	// openai provider); with the catalogue they answer 503.
	PhotoIngredients bool `json:"photoIngredients"`
}

// POST /api/v1/web/session {email, password}: sign in; sets the cookie.
func (s *Server) handleWebSignIn(w http.ResponseWriter, r *http.Request) {
	sess, err := s.login(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.startWebSession(w, sess)
}

// POST /api/v1/web/session/refresh: a new access token for the cookie's
// session, and the cookie's token rotated. Without a cookie, or with a spent
// one, 401 (and the cookie is cleared).
func (s *Server) handleWebRefresh(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(refreshCookie)
	if err != nil || c.Value == "" {
		s.fail(w, r, mealsync.Errorf(mealsync.EUNAUTHORIZED, "No session"))
		return
	}
	sess, err := s.auth.Refresh(r.Context(), c.Value)
	var e *mealsync.Error
	if errors.As(err, &e) && e.Code == mealsync.EINVALID {
		// Unknown, expired or revoked: the browser has no session left.
		clearWebCookie(w)
		err = mealsync.Errorf(mealsync.EUNAUTHORIZED, "%s", e.Message)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.startWebSession(w, sess)
}

// POST /api/v1/web/session/logout: ends the cookie's session (its refresh
// token family; the user's other devices stay signed in) and clears the
// cookie. 204 also without a cookie: the browser is signed out either way.
func (s *Server) handleWebSignOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(refreshCookie); err == nil {
		if err := s.auth.SignOut(r.Context(), c.Value); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	clearWebCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) startWebSession(w http.ResponseWriter, sess *auth.Session) {
	http.SetCookie(w, &http.Cookie{
		Name: refreshCookie, Value: sess.RefreshToken, Path: webSessionPath,
		MaxAge:   int(sess.RefreshExpiry.Sub(s.now()).Round(time.Second).Seconds()),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
	respond(w, http.StatusOK, webSessionDTO{Token: sess.AccessToken, User: toUserDTO(sess.User),
		Features: webFeaturesDTO{PhotoIngredients: s.kitchen.ReadsPhotos()}})
}

func clearWebCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: refreshCookie, Value: "", Path: webSessionPath, MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
}

// sameOriginOnly serves only requests sameOrigin lets through: routes wrap
// each cookie endpoint in it.
func (s *Server) sameOriginOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := sameOrigin(r); err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r)
	}
}

// sameOrigin is the CSRF check of the cookie endpoints: the app's header,
// and an Origin on this host. A browser always sends Origin with a POST
// from a page; a client without one is not the web app.
func sameOrigin(r *http.Request) error {
	if r.Header.Get(csrfHeader) != "1" {
		return mealsync.Errorf(mealsync.EFORBIDDEN, "%s: the %s header is required", errCrossSiteText, csrfHeader)
	}
	o, err := url.Parse(r.Header.Get("Origin"))
	if err != nil || o.Host == "" || !sameHost(o, r.Host) {
		return mealsync.Errorf(mealsync.EFORBIDDEN, "%s: Origin must be this site", errCrossSiteText)
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return mealsync.Errorf(mealsync.EFORBIDDEN, "%s: Origin must be this site", errCrossSiteText)
	}
	return nil
}

// sameHost compares the Origin with the request's Host. A Host without a
// port is a proxy's that passes the name only (nginx's $host): then the
// names are compared.
func sameHost(origin *url.URL, host string) bool {
	if _, _, err := net.SplitHostPort(host); err != nil {
		return strings.EqualFold(origin.Hostname(), strings.Trim(host, "[]"))
	}
	return strings.EqualFold(origin.Host, host)
}
