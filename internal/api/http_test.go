package api_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
)

func mealsyncFilter() mealsync.UserFilter { return mealsync.UserFilter{} }

func TestTokenProblemsAre401WithJSON(t *testing.T) {
	e := sqliteEnv(t)
	s := e.newUser("gus@example.com")
	path := "/api/v1/users/" + s.id
	parts := strings.Split(s.token, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString([]byte("not the signature"))
	cases := []struct {
		name, header, want string
		invalidToken       bool
	}{
		{"missing", "", "Unauthorized: Authentication required", false},
		{"wrong scheme", "Basic Zm9vOmJhcg==", "Unauthorized: Authorization header must be: Bearer <token>", true},
		{"garbage", "Bearer abc", "Unauthorized: Invalid or expired token", true},
		{"alg none", "Bearer " + none, "Unauthorized: Invalid or expired token", true},
		{"forged signature", "Bearer " + forged, "Unauthorized: Invalid or expired token", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r response
			if c.header == "" {
				r = e.do("GET", path, "", nil)
			} else {
				r = e.do("GET", path, "", nil, "Authorization", c.header)
			}
			e.expect(r, 401)
			if got := r.errors(); !slices.Equal(got, []string{c.want}) {
				t.Fatalf("errors %v, want %v", got, c.want)
			}
			if got := strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token"); got != c.invalidToken {
				t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	// Expired: past the 15-minute lifetime and the 30 s leeway.
	e.clock.advance(16 * time.Minute)
	e.expect(e.do("GET", path, s.token, nil), 401)
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	e := sqliteEnv(t)
	r := e.expect(e.do("GET", "/api/v1/nothing-here", "", nil), 404)
	if len(r.errors()) != 1 {
		t.Fatalf("404 body: %s", r.raw)
	}
	r = e.expect(e.do("PATCH", "/api/v1/users/register", "", nil), 405)
	if r.header.Get("Allow") == "" || len(r.errors()) != 1 {
		t.Fatalf("405: %v %s", r.header, r.raw)
	}
}

func TestRequestID(t *testing.T) {
	e := sqliteEnv(t)
	r := e.do("GET", "/api/v1/nothing", "", nil, "X-Request-ID", "abc-123")
	if got := r.header.Get("X-Request-ID"); got != "abc-123" {
		t.Fatalf("echoed %q", got)
	}
	r = e.do("GET", "/api/v1/nothing", "", nil, "X-Request-ID", "bad id\twith spaces")
	if got := r.header.Get("X-Request-ID"); got == "" || strings.ContainsAny(got, " \t") {
		t.Fatalf("invalid id must be replaced, got %q", got)
	}
	r = e.do("GET", "/api/v1/nothing", "", nil)
	if r.header.Get("X-Request-ID") == "" {
		t.Fatal("no request id made")
	}
}
