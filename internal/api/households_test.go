package api_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// A household through the API: made, joined with an invite, its list
// edited by both members, the feed read by a device that was away.
func TestHouseholdJourney(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ana, bo := e.newUser("ana@example.com"), e.newUser("bo@example.com")
		e.expect(e.do("GET", "/api/v1/households/mine", ana.token, nil), 404)
		h := e.expect(e.do("POST", "/api/v1/households", ana.token, map[string]any{"name": " Home "}), 201).data()
		hh := h["household"].(map[string]any)
		id := hh["id"].(string)
		if hh["name"] != "Home" || hh["ownerId"] != ana.id || len(h["members"].([]any)) != 1 {
			t.Fatalf("created: %v", h)
		}
		inv := e.expect(e.do("POST", "/api/v1/households/"+id+"/invites", ana.token, nil), 201).data()
		code := inv["code"].(string)
		if !strings.HasSuffix(inv["link"].(string), "code="+code) {
			t.Fatalf("invite: %v", inv)
		}
		e.expect(e.do("POST", "/api/v1/households/join", bo.token, map[string]any{"code": code}), 200)
		e.expect(e.do("POST", "/api/v1/households/join", e.newUser("cy@example.com").token, map[string]any{"code": code}), 404)

		list := "/api/v1/households/" + id + "/shopping-list"
		since := e.expect(e.do("GET", "/api/v1/sync", bo.token, nil), 200).data()["revision"].(float64)
		milk := e.expect(e.do("POST", list+"/items", ana.token, map[string]any{"name": "milk", "quantity": "2", "unit": "l"}), 201).data()
		// A retried add (same operation id) is applied once, answered alike.
		add := map[string]any{"name": "eggs", "opId": "add-eggs-1"}
		eggs := e.expect(e.do("POST", list+"/items", bo.token, add), 201).data()
		again := e.expect(e.do("POST", list+"/items", bo.token, add), 201).data()
		if again["id"] != eggs["id"] {
			t.Fatalf("the retry made another item: %v vs %v", again, eggs)
		}
		e.expect(e.do("POST", list+"/items/"+eggs["id"].(string)+"/check", ana.token, nil), 200)
		edited := e.expect(e.do("PATCH", list+"/items/"+milk["id"].(string), bo.token, map[string]any{"note": "oat"}), 200).data()
		if edited["note"] != "oat" || edited["quantity"] != "2" {
			t.Fatalf("edit: %v", edited)
		}
		e.expect(e.do("POST", list+"/clear-checked", bo.token, map[string]any{}), 200)
		e.expect(e.do("PATCH", list+"/items/"+eggs["id"].(string), ana.token, map[string]any{"note": "late"}), 404)

		// The device that was away catches up: every change, deletions too.
		f := e.expect(e.do("GET", "/api/v1/sync?since="+ftoa(since), bo.token, nil), 200).data()
		var ops []string
		for _, c := range f["changes"].([]any) {
			m := c.(map[string]any)
			ops = append(ops, m["op"].(string)+" "+m["entity"].(string))
		}
		if want := []string{"upsert item", "upsert item", "upsert item", "upsert item", "delete item"}; !slices.Equal(ops, want) || f["resync"] != false {
			t.Fatalf("feed: %v (resync %v), want %v", ops, f["resync"], want)
		}
		got := e.expect(e.do("GET", list, ana.token, nil), 200).data()
		if items := got["items"].([]any); len(items) != 1 || got["revision"] != f["revision"] {
			t.Fatalf("list: %v", got)
		}
	})
}

// Every household endpoint is the members' only: to anyone else the
// household does not exist.
func TestHouseholdEndpointsAreMembersOnly(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ana, eve := e.newUser("ana@example.com"), e.newUser("eve@example.com")
		admin := e.newAdmin("root@example.com")
		h := e.expect(e.do("POST", "/api/v1/households", ana.token, map[string]any{"name": "Home"}), 201).data()
		id := h["household"].(map[string]any)["id"].(string)
		list := "/api/v1/households/" + id + "/shopping-list"
		item := e.expect(e.do("POST", list+"/items", ana.token, map[string]any{"name": "milk"}), 201).data()["id"].(string)
		for _, c := range []struct{ method, path string }{
			{"GET", "/api/v1/households/" + id},
			{"PUT", "/api/v1/households/" + id},
			{"POST", "/api/v1/households/" + id + "/invites"},
			{"POST", "/api/v1/households/" + id + "/leave"},
			{"PUT", "/api/v1/households/" + id + "/owner"},
			{"DELETE", "/api/v1/households/" + id + "/members/" + ana.id},
			{"GET", list},
			{"POST", list + "/items"},
			{"PATCH", list + "/items/" + item},
			{"DELETE", list + "/items/" + item},
			{"POST", list + "/items/" + item + "/check"},
			{"POST", list + "/items/" + item + "/uncheck"},
			{"POST", list + "/reorder"},
			{"POST", list + "/clear-checked"},
			{"POST", list + "/from-meal-plan"},
		} {
			body := map[string]any{"name": "x", "userId": eve.id, "itemIds": []string{item}, "mealPlanId": uuid.NewString()}
			for _, who := range []session{eve, admin} { // not even an admin
				if r := e.do(c.method, c.path, who.token, body); r.status != 404 {
					t.Errorf("%s %s by a non-member: %d %s", c.method, c.path, r.status, r.raw)
				}
			}
			if r := e.do(c.method, c.path, "", body); r.status != 401 {
				t.Errorf("%s %s anonymous: %d", c.method, c.path, r.status)
			}
		}
		// Nothing changed: the item is still there, unchecked, named milk.
		got := e.expect(e.do("GET", list, ana.token, nil), 200).data()["items"].([]any)
		if len(got) != 1 || got[0].(map[string]any)["name"] != "milk" || got[0].(map[string]any)["checked"] != false {
			t.Fatalf("after the outsiders: %v", got)
		}
		e.expect(e.do("GET", "/api/v1/sync", eve.token, nil), 404)
	})
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// join makes who a member of household id, invited by inviter.
func join(t *testing.T, e *env, inviter session, id string, who session) {
	t.Helper()
	code := e.expect(e.do("POST", "/api/v1/households/"+id+"/invites", inviter.token, nil), 201).data()["code"].(string)
	e.expect(e.do("POST", "/api/v1/households/join", who.token, map[string]any{"code": code}), 200)
}

// feedOps lists a feed's changes as "op entity id".
func feedOps(f map[string]any) []string {
	var ops []string
	for _, c := range f["changes"].([]any) {
		m := c.(map[string]any)
		ops = append(ops, m["op"].(string)+" "+m["entity"].(string)+" "+m["id"].(string))
	}
	return ops
}

// A household's meal plan: composed for every member (one is vegan, so is
// every meal), seen, used and deleted by any member and no one else, in the
// feed and in snapshots; it stays with the household when its maker leaves
// and when accounts are deleted, which the other members see in the feed.
func TestHouseholdMealPlans(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		seedCatalog(t, e)
		ana, bo, cy, eve := e.newUser("ana@example.com"), e.newUser("bo@example.com"), e.newUser("cy@example.com"), e.newUser("eve@example.com")
		admin := e.newAdmin("root@example.com")
		setPreferences(t, e, bo, map[string]any{"dietaryRestrictions": []string{"vegan"}})
		id := e.expect(e.do("POST", "/api/v1/households", ana.token, map[string]any{"name": "Home"}), 201).data()["household"].(map[string]any)["id"].(string)
		join(t, e, ana, id, bo)
		since := e.expect(e.do("GET", "/api/v1/sync", bo.token, nil), 200).data()["revision"].(float64)

		body := map[string]any{"startDate": "2026-12-07", "numberOfDays": 3, "mealsPerDay": 3, "householdId": id}
		plan := createPlan(t, e, ana.token, body).data()
		planID := plan["id"].(string)
		if plan["householdId"] != id {
			t.Fatalf("plan: %v", plan)
		}
		for _, m := range planMeals(t, plan) {
			if m.recipe == nil || !slices.Contains(strs(m.recipe["tags"]), "vegan") {
				t.Errorf("%s %s: %v is not for every member (one is vegan)", m.date, m.mealType, m.recipe)
			}
		}
		// The maker's personal plans do not list it; the household's do, for
		// every member.
		if mine := e.expect(e.do("GET", "/api/v1/meal-plans", ana.token, nil), 200); len(dataItems(t, mine)) != 0 {
			t.Errorf("a household's plan among the personal ones: %s", mine.raw)
		}
		listed := dataItems(t, e.expect(e.do("GET", "/api/v1/meal-plans?householdId="+id, bo.token, nil), 200))
		if len(listed) != 1 || listed[0]["id"] != planID {
			t.Fatalf("household plans: %v", listed)
		}
		e.expect(e.do("GET", "/api/v1/meal-plans/"+planID, bo.token, nil), 200)
		e.expect(e.do("GET", "/api/v1/meal-plans/"+planID+"/shopping-list", bo.token, nil), 200)
		e.expect(e.do("POST", "/api/v1/households/"+id+"/shopping-list/from-meal-plan", bo.token, map[string]any{"mealPlanId": planID}), 200)

		// No one else: not an outsider, not an admin.
		for _, who := range []session{eve, admin} {
			for _, c := range []struct{ method, path string }{
				{"GET", "/api/v1/meal-plans/" + planID}, {"GET", "/api/v1/meal-plans/" + planID + "/shopping-list"},
				{"DELETE", "/api/v1/meal-plans/" + planID}, {"GET", "/api/v1/meal-plans?householdId=" + id},
			} {
				if r := e.do(c.method, c.path, who.token, nil); r.status != 404 {
					t.Errorf("%s %s by a non-member: %d %s", c.method, c.path, r.status, r.raw)
				}
			}
			if r := e.do("POST", "/api/v1/meal-plans", who.token, body); r.status != 404 {
				t.Errorf("a non-member made a plan in the household: %d %s", r.status, r.raw)
			}
		}
		e.expect(e.do("POST", "/api/v1/meal-plans", ana.token, map[string]any{"startDate": "2026-12-07", "numberOfDays": 1,
			"mealsPerDay": 1, "householdId": "not-a-uuid"}), 400)

		// The feed carries the plan, its meals by recipe id; so does a snapshot.
		f := e.expect(e.do("GET", "/api/v1/sync?since="+ftoa(since), bo.token, nil), 200).data()
		if ops := feedOps(f); !slices.Contains(ops, "upsert mealPlan "+planID) {
			t.Fatalf("feed %v lacks the plan", ops)
		}
		snap := e.expect(e.do("GET", "/api/v1/households/"+id, bo.token, nil), 200).data()
		plans := snap["mealPlans"].([]any)
		if len(plans) != 1 || plans[0].(map[string]any)["id"] != planID {
			t.Fatalf("snapshot plans: %v", plans)
		}
		firstMeal := plans[0].(map[string]any)["days"].([]any)[0].(map[string]any)["meals"].([]any)[0].(map[string]any)
		if firstMeal["recipeId"] != planMeals(t, plan)[0].recipe["id"] {
			t.Errorf("snapshot's first meal %v, the plan's %v", firstMeal, planMeals(t, plan)[0].recipe["id"])
		}

		// Its maker hands over and leaves: the plan stays, and so it does when
		// the maker's account is deleted.
		e.expect(e.do("PUT", "/api/v1/households/"+id+"/owner", ana.token, map[string]any{"userId": bo.id}), 200)
		e.expect(e.do("POST", "/api/v1/households/"+id+"/leave", ana.token, nil), 204)
		e.expect(e.do("GET", "/api/v1/meal-plans/"+planID, ana.token, nil), 404)
		e.expect(e.do("DELETE", "/api/v1/users/"+ana.id, admin.token, nil), 204)
		e.expect(e.do("GET", "/api/v1/meal-plans/"+planID, bo.token, nil), 200)

		// Deleting the owner's account hands the household (and the plan) to
		// the next member, in the feed; deleting the last member's ends it.
		join(t, e, bo, id, cy)
		since = e.expect(e.do("GET", "/api/v1/sync", cy.token, nil), 200).data()["revision"].(float64)
		e.expect(e.do("DELETE", "/api/v1/users/"+bo.id, admin.token, nil), 204)
		f = e.expect(e.do("GET", "/api/v1/sync?since="+ftoa(since), cy.token, nil), 200).data()
		// One revision; its changes come in the order of entity and id.
		want := []string{"upsert household " + id, "delete member " + bo.id, "upsert member " + cy.id}
		if ops := feedOps(f); !slices.Equal(slices.Sorted(slices.Values(ops)), slices.Sorted(slices.Values(want))) {
			t.Errorf("feed after the owner's account was deleted: %v", ops)
		}
		if h := e.expect(e.do("GET", "/api/v1/households/"+id, cy.token, nil), 200).data()["household"].(map[string]any); h["ownerId"] != cy.id {
			t.Errorf("owner after the owner's account was deleted: %v", h)
		}
		e.expect(e.do("GET", "/api/v1/meal-plans/"+planID, cy.token, nil), 200)

		// Any member deletes it; the feed says so.
		since = f["revision"].(float64)
		e.expect(e.do("DELETE", "/api/v1/meal-plans/"+planID, cy.token, nil), 204)
		e.expect(e.do("GET", "/api/v1/meal-plans/"+planID, cy.token, nil), 404)
		f = e.expect(e.do("GET", "/api/v1/sync?since="+ftoa(since), cy.token, nil), 200).data()
		if ops := feedOps(f); !slices.Equal(ops, []string{"delete mealPlan " + planID}) {
			t.Errorf("feed after the delete: %v", ops)
		}
		e.expect(e.do("DELETE", "/api/v1/users/"+cy.id, admin.token, nil), 204)
		e.expect(e.do("GET", "/api/v1/households/mine", eve.token, nil), 404)
	})
}
