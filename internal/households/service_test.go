package households_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/households"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/testdb"
)

type env struct {
	db      *sqldb.DB
	svc     *households.Service
	clock   *clock
	mu      sync.Mutex
	told    map[string]int64 // the last revision the service announced, by household
	ana, bo *mealsync.User
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newEnv(t *testing.T, db *sqldb.DB) *env {
	t.Helper()
	e := &env{db: db, clock: &clock{t: time.Now().UTC().Truncate(time.Microsecond)}, told: map[string]int64{}}
	e.svc = households.New(db, db, db, e.clock.now, func(id string, rev int64) {
		e.mu.Lock()
		e.told[id] = rev
		e.mu.Unlock()
	})
	e.ana, e.bo = e.user(t, "Ana"), e.user(t, "Bo")
	return e
}

func (e *env) user(t *testing.T, name string) *mealsync.User {
	t.Helper()
	now := e.clock.now()
	u := &mealsync.User{ID: uuid.NewString(), Email: uuid.NewString() + "@example.com", Name: name, Role: mealsync.RoleUser,
		Status: mealsync.StatusActive, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	if err := e.db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// shared makes Ana's household and has Bo join it with an invite.
func (e *env) shared(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	s, err := e.svc.Create(ctx, e.ana, "Home")
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := e.svc.Invite(ctx, e.ana, s.Household.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Join(ctx, e.bo, code); err != nil {
		t.Fatal(err)
	}
	return s.Household.ID
}

func forEachStore(t *testing.T, test func(t *testing.T, e *env)) {
	for _, s := range testdb.Stores {
		t.Run(s.Name, func(t *testing.T) { test(t, newEnv(t, s.Open(t))) })
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if mealsync.ErrorCode(err) != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

func names(items []mealsync.ShoppingListItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Name
	}
	return out
}

func TestHouseholdMembership(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.shared(t)
		mine, err := e.svc.Mine(ctx, e.bo)
		if err != nil || mine.Household.ID != id || len(mine.Members) != 2 {
			t.Fatalf("Bo's household: %+v, %v", mine, err)
		}
		// One household at a time.
		_, err = e.svc.Create(ctx, e.bo, "Another")
		wantCode(t, err, mealsync.ECONFLICT)
		// An outsider sees nothing and changes nothing.
		eve := e.user(t, "Eve")
		for _, err := range []error{
			func() error { _, err := e.svc.Snapshot(ctx, eve, id); return err }(),
			func() error { _, err := e.svc.Feed(ctx, eve, id, 0); return err }(),
			func() error { _, _, err := e.svc.Invite(ctx, eve, id); return err }(),
			func() error {
				_, err := e.svc.AddItem(ctx, eve, id, "", mealsync.ShoppingListItem{Name: "eggs"})
				return err
			}(),
			func() error { return e.svc.DeleteItem(ctx, eve, id, "", uuid.NewString()) }(),
			func() error { _, err := e.svc.ClearChecked(ctx, eve, id, ""); return err }(),
			func() error { return e.svc.RemoveMember(ctx, eve, id, e.bo.ID) }(),
			func() error { _, err := e.svc.Mine(ctx, eve); return err }(),
		} {
			wantCode(t, err, mealsync.ENOTFOUND)
		}
		// Codes: single use, and they expire.
		code, _, err := e.svc.Invite(ctx, e.ana, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Join(ctx, eve, code); err != nil {
			t.Fatal(err)
		}
		zoe := e.user(t, "Zoe")
		_, err = e.svc.Join(ctx, zoe, code)
		wantCode(t, err, mealsync.ENOTFOUND)
		late, _, err := e.svc.Invite(ctx, e.ana, id)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.advance(households.InviteTTL)
		_, err = e.svc.Join(ctx, zoe, late)
		wantCode(t, err, mealsync.ENOTFOUND)
		// Only the owner removes members and hands over; the owner hands over before leaving.
		wantCode(t, e.svc.RemoveMember(ctx, e.bo, id, eve.ID), mealsync.EFORBIDDEN)
		wantCode(t, e.svc.Leave(ctx, e.ana, id), mealsync.ECONFLICT)
		if err := e.svc.RemoveMember(ctx, e.ana, id, eve.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Snapshot(ctx, eve, id); mealsync.ErrorCode(err) != mealsync.ENOTFOUND {
			t.Fatalf("a removed member still sees the household: %v", err)
		}
		if _, err := e.svc.HandOver(ctx, e.ana, id, e.bo.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Leave(ctx, e.ana, id); err != nil {
			t.Fatal(err)
		}
		s, err := e.svc.Mine(ctx, e.bo)
		if err != nil || s.Household.OwnerID != e.bo.ID || len(s.Members) != 1 || s.Members[0].Role != mealsync.RoleOwner {
			t.Fatalf("after the handover and Ana's leaving: %+v, %v", s, err)
		}
		// The last member leaving deletes the household.
		if err := e.svc.Leave(ctx, e.bo, id); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Mine(ctx, e.bo)
		wantCode(t, err, mealsync.ENOTFOUND)
	})
}

func TestShoppingListOperations(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.shared(t)
		add := func(u *mealsync.User, name string) mealsync.ShoppingListItem {
			it, err := e.svc.AddItem(ctx, u, id, "", mealsync.ShoppingListItem{Name: name, Quantity: "1"})
			if err != nil {
				t.Fatal(err)
			}
			return it
		}
		milk, eggs, bread := add(e.ana, "milk"), add(e.bo, "eggs"), add(e.ana, "bread")
		if eggs.AddedBy != e.bo.ID || milk.Position >= eggs.Position || eggs.Position >= bread.Position {
			t.Fatalf("added items: %+v %+v %+v", milk, eggs, bread)
		}
		yes, no := true, false
		rev := e.told[id]
		if _, err := e.svc.EditItem(ctx, e.bo, id, "", eggs.ID, mealsync.ItemPatch{Checked: &yes}); err != nil {
			t.Fatal(err)
		}
		checkedAt := e.told[id]
		if checkedAt != rev+1 {
			t.Fatalf("a check moved the revision from %d to %d, want one", rev, checkedAt)
		}
		// Checking again is no change: no new revision.
		if _, err := e.svc.EditItem(ctx, e.ana, id, "", eggs.ID, mealsync.ItemPatch{Checked: &yes}); err != nil {
			t.Fatal(err)
		}
		if f, _ := e.svc.Feed(ctx, e.ana, id, checkedAt); len(f.Changes) != 0 || f.Revision != checkedAt {
			t.Fatalf("a second check recorded %d changes at revision %d", len(f.Changes), f.Revision)
		}
		got, err := e.svc.Reorder(ctx, e.ana, id, "", []string{bread.ID, milk.ID})
		if err != nil || !slices.Equal(names(got), []string{"bread", "milk", "eggs"}) {
			t.Fatalf("reorder: %v, %v", names(got), err)
		}
		_, err = e.svc.Reorder(ctx, e.ana, id, "", []string{uuid.NewString()})
		wantCode(t, err, mealsync.ENOTFOUND)
		n, err := e.svc.ClearChecked(ctx, e.bo, id, "")
		if err != nil || n != 1 {
			t.Fatalf("clear checked: %d, %v", n, err)
		}
		// Deleted beats a later edit: refused, not resurrected.
		_, err = e.svc.EditItem(ctx, e.ana, id, "", eggs.ID, mealsync.ItemPatch{Checked: &no})
		wantCode(t, err, mealsync.ENOTFOUND)
		_, err = e.svc.AddItem(ctx, e.ana, id, "", mealsync.ShoppingListItem{ID: eggs.ID, Name: "eggs again"})
		wantCode(t, err, mealsync.ENOTFOUND)
		// Deleting what is gone answers as the first delete did.
		if err := e.svc.DeleteItem(ctx, e.ana, id, "", eggs.ID); err != nil {
			t.Fatalf("deleting a deleted item: %v", err)
		}
		s, _ := e.svc.Snapshot(ctx, e.bo, id)
		if !slices.Equal(names(s.Items), []string{"bread", "milk"}) {
			t.Fatalf("list: %v", names(s.Items))
		}
		bad := mealsync.ShoppingListItem{Name: "x\x00"}
		_, err = e.svc.AddItem(ctx, e.ana, id, "", bad)
		wantCode(t, err, mealsync.EINVALID)
	})
}

// The same operation id twice is one operation: the second gets the
// first's answer and changes nothing; the feed names the operation.
func TestRetriedOperationsApplyOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.shared(t)
		op := uuid.NewString()
		first, err := e.svc.AddItem(ctx, e.ana, id, op, mealsync.ShoppingListItem{Name: "rice"})
		if err != nil {
			t.Fatal(err)
		}
		rev := e.told[id]
		e.clock.advance(time.Minute)
		again, err := e.svc.AddItem(ctx, e.ana, id, op, mealsync.ShoppingListItem{Name: "rice"})
		if err != nil || again != first {
			t.Fatalf("the retry answered %+v, %v; want the first answer %+v", again, err, first)
		}
		s, _ := e.svc.Snapshot(ctx, e.ana, id)
		if len(s.Items) != 1 || s.Household.Revision != rev {
			t.Fatalf("after the retry: %d items at revision %d, want 1 at %d", len(s.Items), s.Household.Revision, rev)
		}
		f, _ := e.svc.Feed(ctx, e.bo, id, rev-1)
		if len(f.Changes) != 1 || f.Changes[0].OpID != op || f.Changes[0].AuthorID != e.ana.ID {
			t.Fatalf("the feed: %+v", f.Changes)
		}
		// Concurrent duplicates: one applies, all answer alike.
		op2 := uuid.NewString()
		var wg sync.WaitGroup
		answers := make([]mealsync.ShoppingListItem, 8)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				it, err := e.svc.AddItem(ctx, e.bo, id, op2, mealsync.ShoppingListItem{Name: "beans"})
				if err != nil {
					t.Error(err)
				}
				answers[i] = it
			}()
		}
		wg.Wait()
		for _, a := range answers[1:] {
			if a != answers[0] {
				t.Fatalf("concurrent duplicates answered differently: %+v vs %+v", a, answers[0])
			}
		}
		if s, _ := e.svc.Snapshot(ctx, e.ana, id); len(s.Items) != 2 {
			t.Fatalf("%d items after 8 concurrent duplicates, want 2", len(s.Items))
		}
	})
}

// Edits of different fields at once all survive; of one field, the last in
// server order wins; a concurrent delete wins over edits after it.
func TestConcurrentEdits(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.shared(t)
		it, err := e.svc.AddItem(ctx, e.ana, id, "", mealsync.ShoppingListItem{Name: "flour"})
		if err != nil {
			t.Fatal(err)
		}
		qty, unit, note, cat := "2", "kg", "the good one", "baking"
		yes := true
		patches := []mealsync.ItemPatch{{Quantity: &qty}, {Unit: &unit}, {Note: &note}, {Category: &cat}, {Checked: &yes}}
		var wg sync.WaitGroup
		for i, p := range patches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := e.ana
				if i%2 == 1 {
					u = e.bo
				}
				if _, err := e.svc.EditItem(ctx, u, id, "", it.ID, p); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		s, _ := e.svc.Snapshot(ctx, e.ana, id)
		got := s.Items[0]
		if got.Quantity != qty || got.Unit != unit || got.Note != note || got.Category != cat || !got.Checked {
			t.Fatalf("after concurrent edits of five fields: %+v", got)
		}
	})
}

func TestFeedAndResync(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.shared(t)
		start, _ := e.svc.Feed(ctx, e.ana, id, 0)
		var created []mealsync.ShoppingListItem
		for _, n := range []string{"a", "b", "c"} {
			it, err := e.svc.AddItem(ctx, e.ana, id, "", mealsync.ShoppingListItem{Name: n})
			if err != nil {
				t.Fatal(err)
			}
			created = append(created, it)
		}
		if err := e.svc.DeleteItem(ctx, e.bo, id, "", created[1].ID); err != nil {
			t.Fatal(err)
		}
		f, err := e.svc.Feed(ctx, e.bo, id, start.Revision)
		if err != nil || f.Resync || len(f.Changes) != 4 || f.Revision != start.Revision+4 {
			t.Fatalf("feed: %+v, %v", f, err)
		}
		last := f.Changes[3]
		if !last.Deleted || last.ID != created[1].ID || last.Item != nil || f.Changes[0].Item == nil || f.Changes[0].Item.Name != "a" {
			t.Fatalf("changes: %+v", f.Changes)
		}
		for i := 1; i < len(f.Changes); i++ {
			if f.Changes[i].Revision <= f.Changes[i-1].Revision {
				t.Fatal("the feed is not in revision order")
			}
		}
		// Pruned: a device asking from before the floor gets a snapshot.
		e.clock.advance(time.Hour)
		if err := e.db.PruneHouseholdFeeds(ctx, e.clock.now()); err != nil {
			t.Fatal(err)
		}
		f, err = e.svc.Feed(ctx, e.bo, id, start.Revision)
		if err != nil || !f.Resync || f.Snapshot == nil || len(f.Snapshot.Items) != 2 || f.Snapshot.Household.Revision != f.Revision {
			t.Fatalf("feed after pruning: %+v, %v", f, err)
		}
		// An up-to-date device needs no snapshot.
		if f, _ := e.svc.Feed(ctx, e.bo, id, f.Revision); f.Resync || len(f.Changes) != 0 {
			t.Fatalf("an up-to-date device: %+v", f)
		}
		// A device ahead of the server (a restored database) resyncs.
		if f, _ := e.svc.Feed(ctx, e.bo, id, f.Revision+10); !f.Resync {
			t.Fatal("a device ahead of the server was not told to resync")
		}
	})
}

func TestAddMealPlanMergesExactly(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.shared(t)
		now := e.clock.now()
		recipe := func(ings ...mealsync.Ingredient) *mealsync.Recipe {
			return &mealsync.Recipe{ID: uuid.NewString(), Name: "R " + uuid.NewString()[:6], Description: "d", Cuisine: "x",
				Difficulty: "EASY", Ingredients: ings, Instructions: []string{"x"}, Servings: 1, Source: "catalog", Published: true, CreatedAt: now}
		}
		r1 := recipe(mealsync.Ingredient{Name: "Flour", Quantity: "1/2", Unit: "kg"}, mealsync.Ingredient{Name: "eggs", Quantity: "2"})
		r2 := recipe(mealsync.Ingredient{Name: "flour", Quantity: "250", Unit: "g"}, mealsync.Ingredient{Name: "salt", Quantity: "to taste"})
		if err := e.db.CreateRecipes(ctx, r1, r2); err != nil {
			t.Fatal(err)
		}
		plan := &mealsync.MealPlan{ID: uuid.NewString(), UserID: e.ana.ID, StartDate: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
			Days: 1, MealsPerDay: 2, CreatedAt: now, Meals: []mealsync.PlannedMeal{
				{Day: 0, MealType: mealsync.Lunch, Recipe: r1}, {Day: 0, MealType: mealsync.Dinner, Recipe: r2}}}
		if err := e.db.CreateMealPlan(ctx, plan); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddItem(ctx, e.bo, id, "", mealsync.ShoppingListItem{Name: "FLOUR", Quantity: "1", Unit: "kilograms"}); err != nil {
			t.Fatal(err)
		}
		checked, _ := e.svc.AddItem(ctx, e.bo, id, "", mealsync.ShoppingListItem{Name: "eggs", Quantity: "6"})
		yes := true
		if _, err := e.svc.EditItem(ctx, e.bo, id, "", checked.ID, mealsync.ItemPatch{Checked: &yes}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddMealPlan(ctx, e.ana, id, "", plan.ID); err != nil {
			t.Fatal(err)
		}
		s, _ := e.svc.Snapshot(ctx, e.ana, id)
		got := map[string]string{}
		for _, it := range s.Items {
			got[it.Name+"|"+it.Unit+"|"+map[bool]string{true: "checked"}[it.Checked]] = it.Quantity
		}
		want := map[string]string{
			"FLOUR|g|":      "1750",             // 1 kg + 1/2 kg + 250 g, summed exactly, in grams
			"eggs||checked": "6", "eggs||": "2", // a bought line is not added to: a new one is
			"salt||": "to taste",
		}
		if len(got) != len(want) {
			t.Fatalf("list %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("list %v, want %v", got, want)
			}
		}
		// Another user's plan is not theirs to add.
		_, err := e.svc.AddMealPlan(ctx, e.bo, id, "", plan.ID)
		wantCode(t, err, mealsync.ENOTFOUND)
	})
}
