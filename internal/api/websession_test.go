package api_test

import (
	"image/color"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/mealsync/mealsync/internal/api"
	"github.com/mealsync/mealsync/internal/blob"
	"github.com/mealsync/mealsync/internal/kitchen"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/testdb"
)

// webHeaders are what the web app sends to its session endpoints, from the
// page at e's own origin.
func webHeaders(e *env, extra ...string) []string {
	return append([]string{"X-MealSync-CSRF", "1", "Origin", e.srv.URL}, extra...)
}

// refreshCookieOf returns the refresh cookie an answer sets.
func refreshCookieOf(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "__Secure-mealsync-refresh" {
			return c
		}
	}
	t.Fatalf("no refresh cookie in %v", r.header["Set-Cookie"])
	return nil
}

// TestWebSessionCookie: signing in through the web endpoint answers an
// access token in the body and the refresh token only in an HttpOnly,
// Secure, SameSite=Strict cookie scoped to the session endpoints; refresh
// rotates it; a spent one is refused and cleared; sign-out ends that
// session alone.
func TestWebSessionCookie(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		e.register("web@example.com")
		r := e.expect(e.do("POST", "/api/v1/web/session", "", map[string]any{"email": "web@example.com", "password": "correct horse 1"}, webHeaders(e)...), 200)
		token, _ := r.data()["token"].(string)
		if token == "" || strings.Contains(string(r.raw), "refreshToken\":\"") {
			t.Fatalf("sign-in body: %s", r.raw)
		}
		if u, _ := r.data()["user"].(map[string]any); u["email"] != "web@example.com" {
			t.Fatalf("sign-in user: %s", r.raw)
		}
		c := refreshCookieOf(t, r)
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/api/v1/web/session" || c.MaxAge < 6*24*3600 {
			t.Fatalf("cookie: %+v", c)
		}
		e.expect(e.do("GET", "/api/v1/recipes/saved", token, nil), 200)

		// Refresh with the cookie: a new token, the cookie rotated.
		cookie := "__Secure-mealsync-refresh=" + c.Value
		r = e.expect(e.do("POST", "/api/v1/web/session/refresh", "", nil, webHeaders(e, "Cookie", cookie)...), 200)
		next := refreshCookieOf(t, r)
		if next.Value == c.Value || r.data()["token"] == "" {
			t.Fatalf("refresh did not rotate: %+v %s", next, r.raw)
		}
		// The spent cookie is a reuse: refused, cleared, and its family ends
		// (the rotated one too).
		r = e.expect(e.do("POST", "/api/v1/web/session/refresh", "", nil, webHeaders(e, "Cookie", cookie)...), 401)
		if cl := refreshCookieOf(t, r); cl.MaxAge >= 0 || cl.Value != "" {
			t.Fatalf("a refused refresh should clear the cookie: %+v", cl)
		}
		e.expect(e.do("POST", "/api/v1/web/session/refresh", "", nil, webHeaders(e, "Cookie", "__Secure-mealsync-refresh="+next.Value)...), 401)
		e.expect(e.do("POST", "/api/v1/web/session/refresh", "", nil, webHeaders(e)...), 401) // no cookie

		// Sign-out ends this browser's session, not the user's others.
		mobile := e.login("web@example.com")
		r = e.expect(e.do("POST", "/api/v1/web/session", "", map[string]any{"email": "web@example.com", "password": "correct horse 1"}, webHeaders(e)...), 200)
		c = refreshCookieOf(t, r)
		r = e.expect(e.do("POST", "/api/v1/web/session/logout", "", nil, webHeaders(e, "Cookie", "__Secure-mealsync-refresh="+c.Value)...), 204)
		if cl := refreshCookieOf(t, r); cl.MaxAge >= 0 {
			t.Fatalf("sign-out should clear the cookie: %+v", cl)
		}
		e.expect(e.do("POST", "/api/v1/web/session/refresh", "", nil, webHeaders(e, "Cookie", "__Secure-mealsync-refresh="+c.Value)...), 401)
		e.expect(e.do("GET", "/api/v1/recipes/saved", mobile.token, nil), 200)
		e.expect(e.do("POST", "/api/v1/users/refresh", "", map[string]any{"refreshToken": mobile.refresh}), 200)
		e.expect(e.do("POST", "/api/v1/web/session/logout", "", nil, webHeaders(e)...), 204) // no cookie: still signed out
	})
}

// TestWebSessionRefusesCrossSiteRequests: the cookie endpoints answer only
// the app's own page: the custom header and an Origin on this host are
// required, and a browser's Sec-Fetch-Site must say same-origin. A refused
// request neither uses nor clears the cookie.
func TestWebSessionRefusesCrossSiteRequests(t *testing.T) {
	e := sqliteEnv(t)
	e.register("csrf@example.com")
	r := e.expect(e.do("POST", "/api/v1/web/session", "", map[string]any{"email": "csrf@example.com", "password": "correct horse 1"}, webHeaders(e)...), 200)
	cookie := "__Secure-mealsync-refresh=" + refreshCookieOf(t, r).Value
	login := map[string]any{"email": "csrf@example.com", "password": "correct horse 1"}
	cases := []struct {
		name string
		hdr  []string
	}{
		{"no header", []string{"Origin", e.srv.URL}},
		{"header not 1", []string{"X-MealSync-CSRF", "yes", "Origin", e.srv.URL}},
		{"no Origin", []string{"X-MealSync-CSRF", "1"}},
		{"another origin", []string{"X-MealSync-CSRF", "1", "Origin", "https://evil.example"}},
		{"null origin", []string{"X-MealSync-CSRF", "1", "Origin", "null"}},
		{"same host, another port", []string{"X-MealSync-CSRF", "1", "Origin", "http://127.0.0.1:1"}},
		{"cross-site fetch", webHeaders(e, "Sec-Fetch-Site", "cross-site")},
		{"same-site fetch", webHeaders(e, "Sec-Fetch-Site", "same-site")},
	}
	for _, c := range cases {
		for _, path := range []string{"", "/refresh", "/logout"} {
			var body any
			if path == "" {
				body = login
			}
			r := e.expect(e.do("POST", "/api/v1/web/session"+path, "", body, append(c.hdr, "Cookie", cookie)...), 403)
			if len(r.header["Set-Cookie"]) != 0 || !strings.Contains(string(r.raw), "Cross-site request refused") {
				t.Errorf("%s %s: %v %s", c.name, path, r.header["Set-Cookie"], r.raw)
			}
		}
	}
	// Behind a proxy that passes the host name without its port (nginx's
	// $host), the name is compared.
	for origin, want := range map[string]int{"https://meals.example:8443": 401, "https://evil.example:8443": 403} {
		req, err := http.NewRequest("POST", e.srv.URL+"/api/v1/web/session/refresh", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "meals.example"
		req.Header.Set("X-MealSync-CSRF", "1")
		req.Header.Set("Origin", origin)
		e.expect(e.send(e.srv, req), want) // 401: no cookie, but past the check
	}
	// The cookie still works for the app itself.
	e.expect(e.do("POST", "/api/v1/web/session/refresh", "", nil, webHeaders(e, "Cookie", cookie, "Sec-Fetch-Site", "same-origin")...), 200)
	// Sign-in still needs a JSON body, like every POST.
	e.expect(e.do("POST", "/api/v1/web/session", "", "email=a", webHeaders(e, "Content-Type", "application/x-www-form-urlencoded")...), 415)
}

// TestWebSessionTellsPhotoSupport: the session answers (sign-in and
// refresh) tell the web app whether the detect-ingredients endpoints read
// photos, and they agree with what those endpoints do: 503 with the
// catalogue, an answer with a provider that reads photos.
func TestWebSessionTellsPhotoSupport(t *testing.T) {
	for _, c := range []struct {
		name  string
		opts  []func(*api.Deps)
		reads bool
	}{
		{"catalog", nil, false},
		{"a provider that reads photos", []func(*api.Deps){func(d *api.Deps) {
			db := d.DB.(*sqldb.DB)
			d.Kitchen = kitchen.New(db, db, db, fixedAnswers{}, blob.Images{Store: d.Images}, nil, d.Now, d.Log)
		}}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, testdb.SQLite(t), c.opts...)
			e.register("photo@example.com")
			r := e.expect(e.do("POST", "/api/v1/web/session", "", map[string]any{"email": "photo@example.com", "password": "correct horse 1"}, webHeaders(e)...), 200)
			if got := r.data()["features"]; !reflect.DeepEqual(got, map[string]any{"photoIngredients": c.reads}) {
				t.Fatalf("sign-in features %v, want photoIngredients %v", got, c.reads)
			}
			cookie := "__Secure-mealsync-refresh=" + refreshCookieOf(t, r).Value
			refreshed := e.expect(e.do("POST", "/api/v1/web/session/refresh", "", nil, webHeaders(e, "Cookie", cookie)...), 200)
			if got := refreshed.data()["features"]; !reflect.DeepEqual(got, map[string]any{"photoIngredients": c.reads}) {
				t.Fatalf("refresh features %v, want photoIngredients %v", got, c.reads)
			}
			want := 503
			if c.reads {
				want = 200
			}
			e.expect(upload(t, e, "/api/v1/recipes/detect-ingredients", r.data()["token"].(string), "fridge.png", "image/png",
				pngImage(t, 4, 4, color.White)), want)
		})
	}
}
