package loadtest

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// user is one virtual user: an account, a connection, a random stream of
// its own (so a seed replays every user's choices), and what the app would
// remember: the recipes on screen lately, the saved ones, its meal plans.
type user struct {
	n      int
	acct   Account
	id     string // the account's user id
	access string // access token
	fresh  time.Time
	renew  string // refresh token
	client *http.Client
	rng    *rand.Rand

	seen   [16]string // recipe ids shown lately (a ring)
	nSeen  int
	saved  []string
	plans  []string // newest last
	failed bool     // the last sign-in failed: sign in again before acting
}

// session is the part of login and refresh answers a user keeps.
type session struct {
	Data struct {
		ID           string `json:"id"`
		Token        string `json:"token"`
		RefreshToken struct {
			Token string `json:"token"`
		} `json:"refreshToken"`
	} `json:"data"`
}

// idList reads the ids of a list of recipes or meal plans, enveloped or
// paginated (both put the list in "data").
type idList struct {
	Data []struct {
		ID string `json:"id"`
	} `json:"data"`
}

// savedList reads the recipe ids of GET /recipes/saved.
type savedList struct {
	Data []struct {
		Recipe struct {
			ID string `json:"id"`
		} `json:"recipe"`
	} `json:"data"`
}

// created reads the id of a created object.
type created struct {
	Data struct {
		ID string `json:"id"`
	} `json:"data"`
}

// step sends one request of an action. at is the request's intended start
// (the action's scheduled moment for its first request, the previous
// answer's arrival for the next ones) and moves to this answer's arrival.
func (e *engine) step(ctx context.Context, u *user, ph phase, at *time.Time, first bool, c call) outcome {
	if ph != phaseSetup && !e.takeRequest() {
		return outcome{kind: kindCancelled}
	}
	o := send(ctx, u.client, e.base, c, e.opts.Timeout, e.opts.Now)
	e.rec.record(sample{name: c.name, phase: ph, intended: *at, sent: o.sent, done: o.done,
		status: o.status, kind: o.kind, declined: o.declined, first: first})
	if o.status == http.StatusUnauthorized {
		u.fresh = time.Time{} // refresh before the next action
	}
	*at = o.done
	return o
}

func (e *engine) signIn(ctx context.Context, u *user, ph phase, at *time.Time, first bool) outcome {
	var s session
	o := e.step(ctx, u, ph, at, first, call{name: reqLogin, method: http.MethodPost, path: "/api/v1/users/login",
		body: map[string]string{"email": u.acct.Email, "password": u.acct.Password}, out: &s})
	u.failed = !o.ok()
	if o.ok() {
		u.id, u.access, u.renew, u.fresh = s.Data.ID, s.Data.Token, s.Data.RefreshToken.Token, o.done
	}
	return o
}

// act performs one action drawn from the mix, its first request intended
// at the given moment. A user whose token is about to expire refreshes it
// first, as the app does: it signs in again if the refresh token is refused,
// and gives the action up (to refresh at the next one) if the server was
// busy or did not answer.
func (e *engine) act(ctx context.Context, u *user, intended time.Time) {
	ph := e.phaseOf(intended)
	at, first := intended, true
	next := func() bool { f := first; first = false; return f }
	if u.failed {
		if !e.signIn(ctx, u, ph, &at, next()).ok() {
			return
		}
	} else if e.opts.Now().Sub(u.fresh) > e.opts.TokenTTL-e.refreshMargin {
		var s session
		o := e.step(ctx, u, ph, &at, next(), call{name: reqRefresh, method: http.MethodPost, path: "/api/v1/users/refresh",
			body: map[string]string{"refreshToken": u.renew}, out: &s})
		switch {
		case o.ok():
			u.access, u.renew, u.fresh = s.Data.Token, s.Data.RefreshToken.Token, o.done
		case o.kind == kindCancelled:
		case o.status == http.StatusBadRequest || o.status == http.StatusUnauthorized:
			// The refresh token was refused (expired, revoked): only a
			// password brings the session back.
			if !e.signIn(ctx, u, ph, &at, false).ok() {
				return
			}
		default:
			// Busy (429, 503), a timeout, a lost connection: the session
			// may well stand. An app tries the refresh again next time
			// rather than asking for the password.
			return
		}
	}
	if e.stopped() {
		return
	}
	get := func(name, path string, out any) outcome {
		return e.step(ctx, u, ph, &at, next(), call{name: name, method: http.MethodGet, path: path, out: out, token: u.access})
	}
	write := func(name, method, path string, body, out any) outcome {
		return e.step(ctx, u, ph, &at, next(), call{name: name, method: method, path: path, body: body, out: out, token: u.access,
			declined: declinedFor(name)})
	}
	a := e.mix.draw(u.rng)
	if (a == ActOpen || a == ActSave) && u.nSeen == 0 {
		a = ActBrowse // nothing on screen yet: the app shows the catalogue first
	}
	switch a {
	case ActBrowse, ActSearch:
		var l idList
		name, q := reqBrowse, e.vocab.BrowseQuery(u.rng)
		if a == ActSearch {
			name, q = reqSearch, e.vocab.SearchQuery(u.rng)
		}
		if get(name, "/api/v1/recipes?"+q, &l).ok() {
			u.see(l)
		}
	case ActOpen:
		get(reqRecipe, "/api/v1/recipes/"+url.PathEscape(u.pickSeen()), nil)
	case ActRecommended:
		var l idList
		if get(reqRecommended, "/api/v1/recipes/recommended?limit=6", &l).ok() {
			u.see(l)
		}
	case ActToday:
		var l idList
		if get(reqTodayPicks, "/api/v1/recipes/today-picks", &l).ok() {
			u.see(l)
		}
	case ActSave:
		id := u.pickSeen()
		body := map[string]string{"userId": u.id, "recipeId": id}
		if i := slices.Index(u.saved, id); i >= 0 {
			if write(reqUnsave, http.MethodDelete, "/api/v1/recipes/save", body, nil).ok() {
				u.saved = slices.Delete(u.saved, i, i+1)
			}
		} else if write(reqSave, http.MethodPost, "/api/v1/recipes/save", body, nil).ok() {
			u.saved = append(u.saved, id)
		}
	case ActSaved:
		var l savedList
		if get(reqSaved, "/api/v1/recipes/saved?offset=0&limit=20", &l).ok() {
			u.saved = u.saved[:0]
			for _, s := range l.Data {
				u.saved = append(u.saved, s.Recipe.ID)
			}
		}
	case ActRecent:
		get(reqRecent, "/api/v1/recipes/recent?offset=0&limit=20", nil)
	case ActPlan:
		e.plan(ctx, u, get, write)
	case ActPlans:
		var l idList
		if get(reqPlans, "/api/v1/meal-plans?offset=0&limit=10", &l).ok() && len(l.Data) > 0 && !e.stopped() {
			get(reqPlanView, "/api/v1/meal-plans/"+url.PathEscape(l.Data[u.rng.IntN(len(l.Data))].ID), nil)
		}
	case ActGenerate:
		var l idList
		body := map[string]any{"ingredients": e.vocab.GenerateIngredients(u.rng)}
		if write(reqGenerate, http.MethodPost, "/api/v1/recipes/generate-recipes", body, &l).ok() {
			u.see(l)
		}
	case ActLogin:
		e.signIn(ctx, u, ph, &at, next())
	}
}

// plan creates a meal plan from a day in the coming week (7 days most
// often), opens its shopping list, and deletes the oldest plan when the user
// has more than three, so plans do not pile up over a long run.
func (e *engine) plan(ctx context.Context, u *user, get func(string, string, any) outcome,
	write func(string, string, string, any, any) outcome) {
	start := e.opts.Now().UTC().AddDate(0, 0, u.rng.IntN(7)).Format("2006-01-02")
	days := []int{7, 3, 1}[pick(u.rng, 0.6, 0.2, 0.2)]
	meals := []int{3, 2, 1}[pick(u.rng, 0.5, 0.3, 0.2)]
	var p created
	body := map[string]any{"startDate": start, "numberOfDays": days, "mealsPerDay": meals}
	if o := write(reqPlanCreate, http.MethodPost, "/api/v1/meal-plans", body, &p); !o.ok() || o.declined || e.stopped() {
		return
	}
	u.plans = append(u.plans, p.Data.ID)
	get(reqShoppingList, "/api/v1/meal-plans/"+url.PathEscape(p.Data.ID)+"/shopping-list", nil)
	if len(u.plans) > 3 && !e.stopped() {
		if write(reqPlanDelete, http.MethodDelete, "/api/v1/meal-plans/"+url.PathEscape(u.plans[0]), nil, nil).ok() {
			u.plans = slices.Delete(u.plans, 0, 1)
		}
	}
}

// declinedFor returns, for the requests that have one, the test of an
// error answer that is the app's correct refusal of the user's own data
// rather than an error: a meal plan for diets that no recipe in the
// catalogue fits (the planner's 400; generated users draw diets at random,
// and a few draw combinations nothing satisfies), and a generation from
// ingredients the user all dislikes (they are drawn apart from the
// dislikes).
func declinedFor(name string) func(status int, msg string) bool {
	switch name {
	case reqPlanCreate: // no recipe fits the user's diets
		return func(status int, msg string) bool {
			return status == http.StatusBadRequest && strings.Contains(msg, "your preferences")
		}
	case reqGenerate: // every ingredient drawn is one the user dislikes
		return func(status int, msg string) bool {
			return status == http.StatusBadRequest && strings.Contains(msg, "disliked list")
		}
	}
	return nil
}

// see remembers recipes the app showed.
func (u *user) see(l idList) {
	for _, r := range l.Data {
		u.seen[u.nSeen%len(u.seen)] = r.ID
		u.nSeen++
	}
}

// pickSeen is a recipe shown lately (there is one: callers check nSeen).
func (u *user) pickSeen() string {
	return u.seen[u.rng.IntN(min(u.nSeen, len(u.seen)))]
}

// think is an exponential think time of the given mean.
func think(r *rand.Rand, mean time.Duration) time.Duration {
	return time.Duration(r.ExpFloat64() * float64(mean))
}

// emailFor is the address of a user signed up by a run.
func emailFor(run string, n int) string {
	return "loadtest-" + run + "-" + strconv.Itoa(n) + "@example.com"
}
