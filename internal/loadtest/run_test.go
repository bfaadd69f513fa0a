package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// quick are options for a short run against srv: everything fast.
func quick(srv string) Options {
	return Options{Target: srv, Users: 5, Think: 40 * time.Millisecond, RampUp: 200 * time.Millisecond,
		Duration: 1500 * time.Millisecond, Timeout: 5 * time.Second}
}

func byName(p PhaseReport, name string) ActionReport {
	for _, a := range p.ByRequest {
		if a.Name == name {
			return a
		}
	}
	return ActionReport{}
}

func TestRunPlaysEveryActionAndKeysEveryWrite(t *testing.T) {
	f, srv := newFakeAPI(t)
	o := quick(srv.URL)
	o.Duration = 3 * time.Second
	o.Mix = Mix{ActBrowse: 1, ActSearch: 1, ActOpen: 1, ActRecommended: 1, ActToday: 1, ActSave: 3, ActSaved: 1,
		ActRecent: 1, ActPlan: 2, ActPlans: 1, ActGenerate: 1, ActLogin: 1}
	rep, err := Run(context.Background(), o, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != OutcomeCompleted || rep.Steady.Errors != 0 || rep.Setup.Registered != 5 || rep.Setup.SignedIn != 5 {
		t.Fatalf("outcome %s, %d errors, setup %+v", rep.Outcome, rep.Steady.Errors, rep.Setup)
	}
	for _, name := range []string{reqBrowse, reqSearch, reqRecipe, reqRecommended, reqTodayPicks, reqSave, reqUnsave,
		reqSaved, reqRecent, reqPlanCreate, reqShoppingList, reqPlanDelete, reqPlans, reqPlanView, reqGenerate, reqLogin} {
		if n := byName(rep.Steady, name).Requests + byName(rep.RampUp, name).Requests; n == 0 {
			t.Errorf("no %s request in the run", name)
		}
	}
	// The server saw exactly what the report counts (plus the setup).
	setup := int64(0)
	for _, a := range rep.Setup.Requests {
		setup += a.Requests
	}
	if got, want := f.requests.Load(), setup+rep.RampUp.Requests+rep.Steady.Requests; got != want {
		t.Errorf("the server got %d requests, the report counts %d", got, want)
	}
	if len(f.missing) > 0 {
		t.Errorf("writes without an Idempotency-Key: %v", f.missing)
	}
	if rep.Timeline.WindowSeconds != 1 || len(rep.Timeline.Windows) < 3 {
		t.Errorf("timeline: %v s windows, %d of them", rep.Timeline.WindowSeconds, len(rep.Timeline.Windows))
	}
}

// A server that stalls for a second must be charged for the whole stall on
// every action users meant to start during it — not once per user, which
// is all a generator that waits for answers before scheduling the next
// request would see (coordinated omission).
func TestLatencyCountsFromTheIntendedStart(t *testing.T) {
	f, srv := newFakeAPI(t)
	const stall = time.Second
	var once sync.Once
	release := make(chan struct{})
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/v1/recipes" {
			return false
		}
		once.Do(func() { time.AfterFunc(stall, func() { close(release) }) })
		<-release
		return false
	})
	o := quick(srv.URL)
	o.RampUp, o.Duration = 0, 3*time.Second
	o.Think = 50 * time.Millisecond
	o.Mix = Mix{ActBrowse: 1}
	rep, err := Run(context.Background(), o, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	// 5 users, one action per 50 ms each: ~100 actions fall in the stall,
	// their latencies spread from 0 to 1 s, ~50 over half of it: at least a
	// sixth of all ~300 samples. A generator with coordinated omission
	// would record 5 slow samples (1.7 %), and a p95 of a few ms.
	st := rep.Steady
	if st.Latency.P95 < 300 {
		t.Errorf("p95 %.1f ms over %d requests: the stall was not charged to the actions it delayed", st.Latency.P95, st.Requests)
	}
	if st.Latency.Max < 0.9*float64(stall.Milliseconds()) {
		t.Errorf("max %.1f ms, the stall was %s", st.Latency.Max, stall)
	}
	if rep.SendLag.Max < 0.5*float64(stall.Milliseconds()) {
		t.Errorf("send lag max %.1f ms: users did not fall behind their schedule during the stall", rep.SendLag.Max)
	}
}

func TestMaxRequestsStopsTheRun(t *testing.T) {
	f, srv := newFakeAPI(t)
	o := quick(srv.URL)
	o.Duration = time.Minute
	o.MaxRequests = 60
	start := time.Now()
	rep, err := Run(context.Background(), o, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != OutcomeMaxRequests {
		t.Fatalf("outcome %s, want %s", rep.Outcome, OutcomeMaxRequests)
	}
	if n := rep.RampUp.Requests + rep.Steady.Requests; n > 60 || n < 50 {
		t.Errorf("%d requests, want at most 60 (and not far fewer)", n)
	}
	if got := f.requests.Load() - 15; got > 60 { // 5 sign-ups, sign-ins and preferences before
		t.Errorf("the server got %d requests after the setup", got)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("took %s to stop", time.Since(start))
	}
}

func TestErrorRatioAbortsTheRun(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v1/recipes" {
			http.Error(w, `{"data":null,"errors":[{"field":"Unknown","message":"boom"}]}`, http.StatusInternalServerError)
			return true
		}
		return false
	})
	o := quick(srv.URL)
	o.Duration = time.Minute
	o.MaxErrors = 0.2
	o.Mix = Mix{ActBrowse: 1, ActRecommended: 1}
	rep, err := Run(context.Background(), o, Hooks{})
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("err %v, want ErrAborted", err)
	}
	if rep.Outcome != OutcomeMaxErrors || !strings.Contains(rep.Detail, "--max-errors 20.0 %") {
		t.Fatalf("outcome %s (%s)", rep.Outcome, rep.Detail)
	}
	all := rep.RampUp.Errors + rep.Steady.Errors
	if all == 0 || byName(rep.Steady, reqBrowse).ErrorsBy.Status["500"]+byName(rep.RampUp, reqBrowse).ErrorsBy.Status["500"] != all {
		t.Errorf("errors %d, not all counted as browse 500s: %+v", all, rep.Steady.ErrorsBy)
	}
	if rep.Ended.Sub(rep.Started) > 20*time.Second {
		t.Errorf("ran %s before aborting", rep.Ended.Sub(rep.Started))
	}
}

func TestInterruptGivesAPartialReport(t *testing.T) {
	f, srv := newFakeAPI(t)
	block := make(chan struct{})
	defer close(block)
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v1/recipes/recommended" {
			<-block // never answers: Ctrl-C must not wait for it
		}
		return false
	})
	o := quick(srv.URL)
	o.Duration, o.Timeout = time.Minute, time.Minute
	o.Mix = Mix{ActBrowse: 20, ActRecommended: 1}
	ctx, cancel := context.WithCancel(context.Background())
	var stopped time.Time
	rep, err := Run(ctx, o, Hooks{OnTick: func(t Tick) {
		if t.Phase == "steady" && t.Completed > 10 && f.count("GET /api/v1/recipes/recommended") > 0 && stopped.IsZero() {
			stopped = time.Now()
			cancel()
		}
	}})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err %v, want ErrInterrupted", err)
	}
	if rep.Outcome != OutcomeInterrupted || rep.Steady.Requests == 0 {
		t.Fatalf("outcome %s, %d steady requests", rep.Outcome, rep.Steady.Requests)
	}
	if rep.Cancelled == 0 {
		t.Errorf("no request counted as cancelled, though recommendations never answer")
	}
	if rep.Steady.Errors != 0 {
		t.Errorf("cancelled requests counted as errors: %+v", rep.Steady.ErrorsBy)
	}
	if d := time.Since(stopped); d > 5*time.Second {
		t.Errorf("took %s to stop after the interrupt", d)
	}
}

func TestSignUpThrottleIsExplained(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v1/users/register" && f.count("POST /api/v1/users/register") > 3 {
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"data":null,"errors":[{"field":"Too Many Requests","message":"Too many sign-ups"}]}`))
			return true
		}
		return false
	})
	o := quick(srv.URL)
	o.Users = 10
	rep, err := Run(context.Background(), o, Hooks{})
	if err == nil || rep == nil || rep.Outcome != OutcomeSetupFailed {
		t.Fatalf("err %v, report %+v", err, rep)
	}
	for _, want := range []string{"429", "MEALSYNC_REGISTER_MAX_PER_ADDRESS=0", "--prepare", "Too many sign-ups"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not mention %q: %v", want, err)
		}
	}
	if f.count("GET ") != 0 {
		t.Errorf("the run went on after the setup failed")
	}
}

func TestRefreshesBeforeTheTokenExpires(t *testing.T) {
	f, srv := newFakeAPI(t)
	o := quick(srv.URL)
	o.Users, o.Duration, o.TokenTTL = 2, 2500*time.Millisecond, time.Second
	o.Mix = Mix{ActBrowse: 1}
	rep, err := Run(context.Background(), o, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	// Refresh when a token is 0.9 s old: 2 users × ~2.7 s → 4 to 6 refreshes.
	got := f.count("POST /api/v1/users/refresh")
	if got < 3 || int64(got) != byName(rep.Steady, reqRefresh).Requests+byName(rep.RampUp, reqRefresh).Requests {
		t.Errorf("%d refreshes sent; the report counts %d", got, byName(rep.Steady, reqRefresh).Requests)
	}
}

// A refresh answered "busy" leaves the session standing: the user tries the
// refresh again later instead of typing the password (a sign-in is a
// password hash, which an overloaded server can least afford); a refresh
// refused as invalid sends the user to sign in.
func TestSignsInAgainOnlyWhenTheRefreshIsRefused(t *testing.T) {
	for _, tc := range []struct {
		status  int
		signIns bool
	}{{http.StatusTooManyRequests, false}, {http.StatusServiceUnavailable, false}, {http.StatusBadRequest, true}} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			f, srv := newFakeAPI(t)
			f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/api/v1/users/refresh" {
					return false
				}
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, `{"errors":[{"field":"x","message":"no"}]}`)
				return true
			})
			o := quick(srv.URL)
			o.Users, o.Duration, o.TokenTTL, o.MaxErrors = 2, 2500*time.Millisecond, time.Second, 1
			o.Mix = Mix{ActBrowse: 1}
			if _, err := Run(context.Background(), o, Hooks{}); err != nil {
				t.Fatal(err)
			}
			setup := 2 // each user signs in once in the setup phase
			refreshes, logins := f.count("POST /api/v1/users/refresh"), f.count("POST /api/v1/users/login")-setup
			if refreshes == 0 {
				t.Fatal("no refresh was sent")
			}
			if tc.signIns && logins == 0 {
				t.Errorf("%d refreshes refused with %d, and no sign-in after them", refreshes, tc.status)
			}
			if !tc.signIns && logins != 0 {
				t.Errorf("%d sign-ins after %d refreshes answered %d: a busy server is not a lost session", logins, refreshes, tc.status)
			}
		})
	}
}

// The same seed replays every user's choices; another seed makes others.
func TestSeedReplaysTheUsersChoices(t *testing.T) {
	runOnce := func(seed uint64) map[string][]string {
		f, srv := newFakeAPI(t)
		seq := map[string][]string{}
		var mu sync.Mutex
		f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/api/v1/users/register" && r.URL.Path != "/api/v1/users/login" {
				host, _, _ := net.SplitHostPort(r.RemoteAddr)
				mu.Lock()
				seq[host] = append(seq[host], r.Method+" "+r.URL.RequestURI())
				mu.Unlock()
			}
			return false
		})
		o := quick(srv.URL)
		o.Seed, o.Users = seed, 3
		if _, err := Run(context.Background(), o, Hooks{}); err != nil {
			t.Fatal(err)
		}
		return seq
	}
	a, b, c := runOnce(42), runOnce(42), runOnce(43)
	if len(a) != 3 {
		t.Fatalf("requests came from %d client addresses, want one per user: %v", len(a), a)
	}
	prefix := func(s []string) []string { return s[:min(len(s), 8)] }
	same, differ := true, false
	for host, s := range a {
		if len(s) < 8 || len(b[host]) < 8 {
			t.Fatalf("user %s sent only %d and %d requests", host, len(s), len(b[host]))
		}
		same = same && slices.Equal(prefix(s), prefix(b[host]))
		differ = differ || !slices.Equal(prefix(s), prefix(c[host]))
	}
	if !same {
		t.Errorf("seed 42 twice gave different requests:\n%v\n%v", a, b)
	}
	if !differ {
		t.Errorf("seeds 42 and 43 gave the same requests")
	}
}

func TestPreparedAccountsSignIn(t *testing.T) {
	f, srv := newFakeAPI(t)
	path := t.TempDir() + "/accounts"
	o := quick(srv.URL)
	n, err := Prepare(context.Background(), o, path)
	if err != nil || n != 5 {
		t.Fatalf("prepared %d: %v", n, err)
	}
	if _, err := Prepare(context.Background(), o, path); err == nil {
		t.Fatal("Prepare overwrote an accounts file")
	}
	accts, err := ReadAccountsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accts {
		if f.users[a.Email] != a.Password {
			t.Errorf("%s: the file's password is not the one signed up", a.Email)
		}
	}
	before := f.count("POST /api/v1/users/register")
	o.Accounts = accts
	rep, err := Run(context.Background(), o, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if f.count("POST /api/v1/users/register") != before || rep.Setup.FromFile != 5 || rep.Setup.SignedIn != 5 {
		t.Errorf("setup with prepared accounts: %+v, %d new sign-ups", rep.Setup, f.count("POST /api/v1/users/register")-before)
	}
}

// A second run with the same accounts resumes the sessions the first one
// left (no sign-in, so no password hash), and its users act with them.
func TestSessionsCarryOverBetweenRuns(t *testing.T) {
	f, srv := newFakeAPI(t)
	o := quick(srv.URL)
	if _, err := Prepare(context.Background(), o, t.TempDir()+"/accounts"); err != nil {
		t.Fatal(err)
	}
	var accts []Account
	for email, pw := range f.users {
		accts = append(accts, Account{Email: email, Password: pw})
	}
	o.Accounts = accts
	if _, err := Run(context.Background(), o, Hooks{}); err != nil {
		t.Fatal(err)
	}
	for _, a := range accts {
		if a.Session == nil || a.Session.AccessToken == "" || a.Session.RefreshToken == "" || a.Session.UserID == "" {
			t.Fatalf("%s: no session kept after the run: %+v", a.Email, a.Session)
		}
	}
	rep, err := Run(context.Background(), o, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rep.Setup.Requests {
		if a.Requests > 0 {
			t.Errorf("the second run's setup sent %d %s requests, want none (sessions resumed)", a.Requests, a.Name)
		}
	}
	if rep.Setup.Resumed != 5 || rep.Setup.SignedIn != 0 {
		t.Errorf("setup: %+v, want 5 resumed", rep.Setup)
	}
	if rep.Steady.Requests == 0 || rep.Steady.Errors != 0 {
		t.Errorf("steady phase with resumed sessions: %d requests, %d errors", rep.Steady.Requests, rep.Steady.Errors)
	}
}

func TestTargetsOutsidePrivateRangesAreRefused(t *testing.T) {
	// 203.0.113.0/24 is TEST-NET-3: never routed. Nothing is sent: the
	// check comes before any connection.
	_, err := Run(context.Background(), Options{Target: "http://203.0.113.7:8081", Duration: time.Second}, Hooks{})
	if !errors.Is(err, ErrTargetNotAllowed) || !strings.Contains(err.Error(), "--i-own-this-target") {
		t.Fatalf("err %v, want ErrTargetNotAllowed naming --i-own-this-target", err)
	}
}

// A meal plan refused because nothing fits the user's diets, or a
// generation from ingredients the user all dislikes, is the app's correct
// answer: counted apart as declined, not as an error, and no shopping list
// is asked for such a plan. Any other 400 stays an error.
func TestRefusalsOfTheUsersOwnDataAreDeclinedNotErrors(t *testing.T) {
	for _, c := range []struct {
		act      Action
		path     string
		req      string
		message  string
		declined bool
	}{
		{ActPlan, "/api/v1/meal-plans", reqPlanCreate, "No recipe in the catalogue fits your preferences", true},
		{ActPlan, "/api/v1/meal-plans", reqPlanCreate, "Only 1 recipe(s) in the catalogue fit your preferences: not enough for 3 different meals a day", true},
		{ActPlan, "/api/v1/meal-plans", reqPlanCreate, "startDate must be a date", false},
		{ActGenerate, "/api/v1/recipes/generate-recipes", reqGenerate, "Every ingredient given is on your disliked list", true},
		{ActGenerate, "/api/v1/recipes/generate-recipes", reqGenerate, "Give at least one ingredient", false},
	} {
		f, srv := newFakeAPI(t)
		f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodPost && r.URL.Path == c.path {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"data":null,"errors":[{"field":"Bad Request","message":%q}]}`, c.message)
				return true
			}
			return false
		})
		o := quick(srv.URL)
		o.Mix = Mix{c.act: 1}
		o.MaxErrors = 1
		rep, err := Run(context.Background(), o, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		got := byName(rep.Steady, c.req)
		if got.Requests == 0 {
			t.Fatalf("%q: no %s request was made", c.message, c.req)
		}
		if c.declined && (got.Declined != got.Requests || got.Errors != 0 || rep.Steady.Declined != got.Declined) {
			t.Errorf("%q: %d requests, %d declined (phase %d), %d errors; want all declined, none errors",
				c.message, got.Requests, got.Declined, rep.Steady.Declined, got.Errors)
		}
		if !c.declined && (got.Errors != got.Requests || got.Declined != 0) {
			t.Errorf("%q: %d requests, %d errors, %d declined; want all errors", c.message, got.Requests, got.Errors, got.Declined)
		}
		if n := f.count("GET /api/v1/meal-plans/"); n != 0 {
			t.Errorf("%q: %d shopping lists asked for plans that were not made", c.message, n)
		}
	}
}
