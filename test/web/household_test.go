package web_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// setOffline cuts the tab off the network (every request and connection
// fails, navigator.onLine is false and the page hears 'offline'), or
// restores it.
func (tb *tab) setOffline(offline bool) {
	tb.t.Helper()
	if _, err := chromedp.Call(tb.ctx, network.Enable, network.EnableParams{}); err != nil {
		tb.t.Fatal(err)
	}
	if _, err := chromedp.Call(tb.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}},
	}); err != nil {
		tb.t.Fatal(err)
	}
	if _, err := chromedp.Call(tb.ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
		Offline: offline, DownloadThroughput: -1, UploadThroughput: -1,
	}); err != nil {
		tb.t.Fatal(err)
	}
}

// item is the expression for the shopping list's row of an item.
func item(name string) string {
	return `document.querySelector('#shopping li[data-name="` + name + `"]')`
}

// TestHouseholdJourney: one person makes a household and invites another,
// who joins with the code; on the shared list each browser sees the other's
// adds, checks and deletes live; a browser that went offline catches up on
// everything when it is back; a household meal plan's shopping list lands
// on the list live too. One instance on SQLite.
func TestHouseholdJourney(t *testing.T) {
	t.Parallel()
	srv := server(t)
	householdJourney(t, srv.URL, srv.URL, nil)
}

// TestHouseholdJourneyAcrossInstances is the same journey as production
// runs it: two instances on PostgreSQL behind the repository's nginx, so the
// two browsers' live connections and writes land on either instance and
// reach each other through the database's notifications.
func TestHouseholdJourneyAcrossInstances(t *testing.T) {
	t.Parallel()
	chromium(t)
	testenv.RequireNginx(t)
	url := testdb.PostgresURL(t)
	bin := testenv.BuildMealsync(t)
	env := map[string]string{
		"MEALSYNC_MIGRATE_ON_START": "true",
		"MEALSYNC_JWT_SECRET":       "web-test-secret-shared-by-both-instances",
		"MEALSYNC_TRUSTED_PROXIES":  "127.0.0.1/32",
	}
	a := testenv.StartMealsync(t, testenv.Options{Binary: bin, DatabaseURL: url, Env: env})
	// PostgreSQL is not seeded on start, as a new SQLite file is.
	seed := exec.Command(bin, "seed")
	seed.Env = append(os.Environ(), "MEALSYNC_DATABASE_URL="+url, "MEALSYNC_ENV=development")
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("mealsync seed: %v\n%s", err, out)
	}
	b := testenv.StartMealsync(t, testenv.Options{Binary: bin, DatabaseURL: url, Env: env})
	nginx := testenv.StartNginx(t, "", []string{a.Addr, b.Addr})
	householdJourney(t, nginx.URL, a.URL, func() {
		// Each browser's live connection is on its own instance (nginx's
		// least_conn), so every change crosses between instances.
		for _, inst := range []*testenv.Instance{a, b} {
			testenv.WaitFor(t, 10*time.Second, "one live connection on "+inst.Addr, func() bool {
				return liveConnections(t, inst) == 1
			})
		}
	})
}

// liveConnections reads an instance's open WebSocket count from its metrics.
func liveConnections(t *testing.T, inst *testenv.Instance) int {
	resp, err := http.Get(inst.OpsURL + "/actuator/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, `mealsync_live_connections{kind="ws"} `); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

// householdJourney runs the journey in browsers on base; accounts are made
// on direct (an instance), outside nginx's sign-up and login limits. live,
// if set, runs once both browsers are on the live list.
func householdJourney(t *testing.T, base, direct string, live func()) {
	srv := struct{ URL string }{base}
	register(t, direct, "Ada", "ada@example.com")
	register(t, direct, "Bob", "bob@example.com")
	ada, bob := newTab(t, "ada", srv.URL), newTab(t, "bob", srv.URL)
	ada.signIn("ada@example.com")
	bob.signIn("bob@example.com")
	// Someone in no household asks for theirs and is answered 404.
	ada.allow("404 (Not Found)")
	bob.allow("404 (Not Found)")

	ada.click(`nav a[href="/household"]`)
	ada.waitView("household")
	ada.audit("household-none")
	ada.fill("#create-household input[name=name]", "Home")
	ada.click("#create-household button")
	ada.waitFor("the live list", `document.querySelector('#live-status')?.dataset.state === 'live'`)
	ada.click("#invite")
	ada.waitFor("an invite code", `document.querySelector('#invite-code .code')`)
	code := eval[string](ada, `document.querySelector('#invite-code .code').textContent`)

	bob.open("/household", "household")
	bob.fill("#join-household input[name=code]", code)
	bob.click("#join-household button")
	bob.waitFor("the live list", `document.querySelector('#live-status')?.dataset.state === 'live'`)
	bob.waitFor("the household's name", `document.querySelector('h1').textContent === 'Home'`)
	ada.waitFor("Bob among the members, live", `[...document.querySelectorAll('#members li')].some((li) => li.textContent === 'Bob')`)
	if live != nil {
		live()
	}

	// Adds, checks and deletes cross over live, both ways.
	crosses := func(from, to *tab, what string, act func(), cond string) {
		t.Helper()
		start := time.Now()
		act()
		to.waitFor(what, cond)
		t.Logf("%s: on %s's screen %s after %s's action", what, to.name, time.Since(start).Round(time.Millisecond), from.name)
	}
	addItem := func(tb *tab, name string) func() {
		return func() {
			tb.fill("#add-item input[name=name]", name)
			tb.click("#add-item button")
		}
	}
	crosses(ada, bob, "milk added", addItem(ada, "milk"), item("milk"))
	crosses(bob, ada, "bread added", addItem(bob, "bread"), item("bread"))
	crosses(bob, ada, "milk checked", func() { bob.click(`#shopping li[data-name="milk"] input`) },
		item("milk")+`?.dataset.checked === 'true'`)
	crosses(ada, bob, "bread deleted", func() { ada.click(`#shopping li[data-name="bread"] button`) }, `!`+item("bread"))
	ada.audit("household")
	bob.audit("household-member")

	// Bob goes offline; what Ada does meanwhile reaches him when he is back,
	// and what he does meanwhile reaches her.
	bob.setOffline(true)
	bob.waitFor("the offline notice", `document.querySelector('#live-status').dataset.state === 'offline'`)
	addItem(bob, "apples")()
	bob.waitFor("apples on Bob's list, waiting to be sent", item("apples")+` && document.querySelector('#live-status').dataset.pending === '1'`)
	for _, name := range []string{"eggs", "rice"} {
		addItem(ada, name)()
		ada.waitFor(name+" on Ada's list", item(name))
	}
	ada.click(`#shopping li[data-name="milk"] input`) // uncheck
	ada.waitFor("milk unchecked", item("milk")+`.dataset.checked === 'false'`)
	ada.click(`#shopping li[data-name="rice"] button`)
	ada.waitFor("rice deleted", `!`+item("rice"))
	if eval[bool](bob, item("eggs")+` !== null`) || eval[bool](bob, item("milk")+`.dataset.checked === 'false'`) {
		t.Fatal("Bob's offline tab received changes: the offline emulation did not cut it off")
	}
	if eval[bool](ada, item("apples")+` !== null`) {
		t.Fatal("Bob's offline add reached Ada: the offline emulation did not cut him off")
	}
	bob.screenshot("household-offline")
	bob.setOffline(false)
	bob.waitFor("live again", `document.querySelector('#live-status').dataset.state === 'live'`)
	bob.waitFor("the changes made while offline", item("eggs")+` && `+item("milk")+`.dataset.checked === 'false' && !`+item("rice"))
	bob.waitFor("his queue sent", `document.querySelector('#live-status').dataset.pending === '0'`)
	ada.waitFor("Bob's offline add", item("apples"))
	// Each tab's own writes echo back through the feed after they were
	// applied locally (an add, then its delete): wait for both to settle.
	for _, tb := range []*tab{ada, bob} {
		tb.waitFor("the list after catching up: apples, eggs and milk",
			`[...document.querySelectorAll('#shopping li')].map((li) => li.dataset.name).sort().join() === 'apples,eggs,milk'`)
	}

	// A week's plan for the household, its shopping list onto the shared list.
	ada.click(`nav a[href="/plans"]`)
	ada.waitView("plans")
	ada.audit("plans")
	ada.do(chromedp.SetValue(chromedp.CSS("select[name=mealsPerDay]"), "2"))
	ada.click("#for-household")
	ada.click("#new-plan button[type=submit]")
	ada.waitView("plan")
	if n := eval[int](ada, `document.querySelectorAll('#days > li').length`); n != 7 {
		t.Errorf("the plan shows %d days, want 7", n)
	}
	if n := eval[int](ada, `document.querySelectorAll('#days > li a[href^="/recipes/"]').length`); n != 14 {
		t.Errorf("the plan shows %d meals with a recipe, want 14", n)
	}
	lines := eval[int](ada, `document.querySelectorAll('#plan-shopping li').length`)
	if lines < 10 {
		t.Errorf("the plan's shopping list has %d lines", lines)
	}
	before := eval[int](bob, `document.querySelectorAll('#shopping li').length`)
	crosses(ada, bob, "the plan's shopping list", func() { ada.click("#to-household") },
		`document.querySelectorAll('#shopping li').length >= `+strconv.Itoa(before+lines-2))

	// Bob opens the plan too; Ada swaps a meal: her shopping list follows
	// the new plan, and Bob's page shows the new meal live.
	planPath := eval[string](ada, `location.pathname`)
	bob.open(planPath, "plan")
	bob.waitFor("the plan's live feed", `document.querySelector('#plan-status').dataset.state === 'live'`)
	const meal = `document.querySelector('#days li[data-type="DINNER"]')`
	oldRecipe := eval[string](ada, meal+`.querySelector('a').getAttribute('href')`)
	oldList := eval[string](ada, `document.querySelector('#plan-shopping').innerText`)
	crosses(ada, bob, "the swapped dinner", func() { ada.click(`#days li[data-type="DINNER"] .swap`) },
		meal+`.querySelector('a').getAttribute('href') !== '`+oldRecipe+`'`)
	ada.waitFor("the new dinner", meal+`.querySelector('a').getAttribute('href') !== '`+oldRecipe+`'`)
	ada.waitFor("the swap announced", `document.querySelector('#plan-status').textContent.includes('now ')`)
	newRecipe := eval[string](ada, meal+`.querySelector('a').getAttribute('href')`)
	if got := eval[string](bob, meal+`.querySelector('a').getAttribute('href')`); got != newRecipe {
		t.Errorf("Bob's plan shows %s for the swapped dinner, Ada's %s", got, newRecipe)
	}
	if eval[string](ada, `document.querySelector('#plan-shopping').innerText`) == oldList {
		t.Error("the plan's shopping list did not change with the swapped meal")
	}
	bob.waitFor("Bob's shopping list of the new plan", `document.querySelector('#plan-shopping').innerText === `+
		strconv.Quote(eval[string](ada, `document.querySelector('#plan-shopping').innerText`)))
	if focused := eval[bool](ada, `document.activeElement === `+meal+`.querySelector('.swap')`); !focused {
		t.Error("after a swap the keyboard focus is not on the meal's Swap button")
	}
	ada.waitFor("the toast gone", `document.querySelector('#toast').textContent === ''`) // it hides the plan in the screenshot
	ada.audit("plan")
}
