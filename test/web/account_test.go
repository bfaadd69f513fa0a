package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestAccountJourney: sign up, the session surviving a reload through its
// HttpOnly cookie alone, sign out, sign in, sign out everywhere.
func TestAccountJourney(t *testing.T) {
	t.Parallel()
	srv := server(t)
	tb := newTab(t, "ada", srv.URL)

	tb.open("/", "home")
	tb.audit("home-signed-out")
	tb.click(`a[href="/signup"].button`)
	tb.waitView("signUpView")
	tb.fill("input[name=name]", "Ada")
	tb.fill("input[name=email]", "ada@example.com")
	tb.fill("input[name=password]", "short")
	tb.allow("400 (Bad Request)")
	tb.click("form button[type=submit]")
	tb.waitFor("the password rule's error", `document.querySelector('[role=alert]')?.textContent.includes('10')`)
	tb.audit("signup-error")
	tb.fill("input[name=password]", "correct-horse-42")
	tb.click("form button[type=submit]")
	tb.waitView("settings")
	tb.waitFor("the welcome", `document.querySelector('h1').textContent === 'Welcome, Ada'`)

	// The refresh cookie: HttpOnly, Secure, SameSite=Strict, scoped to the
	// session endpoints, and invisible to the page.
	cookies, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL + "/api/v1/web/session/refresh"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies.Cookies) != 1 {
		t.Fatalf("cookies for the refresh endpoint: %+v", cookies.Cookies)
	}
	c := cookies.Cookies[0]
	if !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteStrict || c.Path != "/api/v1/web/session" {
		t.Errorf("refresh cookie %s: httpOnly=%v secure=%v sameSite=%s path=%s", c.Name, c.HTTPOnly, c.Secure, c.SameSite, c.Path)
	}
	if got := eval[string](tb, `document.cookie`); got != "" {
		t.Errorf("the page can read cookies: %q", got)
	}
	if got, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL + "/"}}); err != nil || len(got.Cookies) != 0 {
		t.Errorf("cookies sent to the pages: %+v (%v)", got.Cookies, err)
	}

	// A reload forgets the in-memory token; the cookie brings the session back.
	tb.open("/settings", "settings")
	tb.waitFor("the account", `document.querySelector('main').textContent.includes('Signed in as ada@example.com')`)
	tb.audit("settings")

	tb.click("#signout")
	tb.waitView("home")
	tb.waitFor("the signed-out home", `document.querySelector('a[href="/signin"]')`)
	tb.open("/settings", "signInView") // the cookie is gone: signed out
	if !strings.Contains(eval[string](tb, `location.search`), "next=%2Fsettings") {
		t.Errorf("a signed-out visit to /settings should go to /signin?next=/settings, went to %s", eval[string](tb, `location.href`))
	}
	tb.audit("signin")

	tb.fill("input[name=email]", "ada@example.com")
	tb.fill("input[name=password]", "wrong-password-1")
	tb.click("form button[type=submit]")
	tb.waitFor("the refusal", `document.querySelector('[role=alert]')?.textContent.includes('Invalid email or password')`)
	tb.fill("input[name=password]", "correct-horse-42")
	tb.click("form button[type=submit]")
	tb.waitView("settings") // back where the visit wanted to go

	// Sign out everywhere ends a second browser's session too.
	other := newTab(t, "ada-phone", srv.URL)
	other.signIn("ada@example.com")
	tb.click("#signout-everywhere")
	tb.waitView("home")
	other.open("/saved", "signInView")
}
