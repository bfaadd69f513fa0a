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
