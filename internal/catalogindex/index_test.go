package catalogindex_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/catalogindex"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/testdb"
)

// Words recipes are made of. Accented letters are lower-case here: SQLite's
// lower() folds ASCII only, so upper-case non-ASCII letters are the one
// place the stores differ (PostgreSQL and the index fold them; the
// PostgreSQL-only case below checks that).
var (
	words     = []string{"tomato", "soup", "crème", "brûlée", "ramen", "kimchi", "stew", "salad", "pasta", "rice", "bowl", "tofu", "curry", "pie", "bread", "100%", "a_b", "x", "piña", "jalapeño"}
	cuisines  = []string{"Italian", "Thai", "Korean", "French", "Mexican", "Japanese", "indian"}
	tags      = []string{"vegan", "Vegetarian", "quick", "gluten-free", "Spicy", "dinner", "lunch"}
	ingreds   = []string{"Tomato", "rice", "tofu", "chili flakes", "olive oil", "garlic", "crème fraîche", "basil"}
	diffs     = []string{"EASY", "MEDIUM", "HARD"}
	upperOdds = 0.3
)

type fixture struct {
	db    *sqldb.DB
	index *catalogindex.Index
	clock *clock
	owner *mealsync.User
	all   []*mealsync.Recipe
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

const interval = time.Second

func pick[T any](r *rand.Rand, l []T) T { return l[r.IntN(len(l))] }

func shout(r *rand.Rand, s string, nonASCII bool) string {
	if r.Float64() >= upperOdds {
		return s
	}
	if nonASCII {
		return strings.ToUpper(s)
	}
	return strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' {
			return c - 'a' + 'A'
		}
		return c
	}, s)
}

// newFixture stores n recipes, a tenth of them private (most of them the
// owner's, the others another user's), and an index.
func newFixture(t *testing.T, db *sqldb.DB, n int, seed uint64, nonASCII bool) *fixture {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	now := time.Now().UTC().Truncate(time.Microsecond)
	owner := &mealsync.User{ID: uuid.NewString(), Email: uuid.NewString() + "@example.com", Name: "Owner",
		Role: mealsync.RoleUser, Status: mealsync.StatusActive, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	other := &mealsync.User{ID: uuid.NewString(), Email: uuid.NewString() + "@example.com", Name: "Other",
		Role: mealsync.RoleUser, Status: mealsync.StatusActive, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	for _, u := range []*mealsync.User{owner, other} {
		if err := db.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{db: db, clock: &clock{t: now}, owner: owner}
	for range n {
		var name []string
		for range 1 + r.IntN(4) {
			name = append(name, shout(r, pick(r, words), nonASCII))
		}
		rec := &mealsync.Recipe{ID: uuid.NewString(), Name: strings.Join(name, " "), Description: "d",
			Cuisine: shout(r, pick(r, cuisines), nonASCII), Difficulty: pick(r, diffs),
			Instructions: []string{"cook"}, TotalTime: r.IntN(180), Servings: 1 + r.IntN(8),
			Source: "catalog", Published: r.IntN(10) > 0, CreatedAt: now}
		if !rec.Published {
			rec.OwnerID = owner.ID
			if r.IntN(3) == 0 {
				rec.OwnerID = other.ID // not the owner's: no list of the owner's may show it
			}
		}
		for range r.IntN(4) {
			rec.Tags = append(rec.Tags, shout(r, pick(r, tags), nonASCII))
		}
		for range 1 + r.IntN(4) {
			rec.Ingredients = append(rec.Ingredients, mealsync.Ingredient{Name: shout(r, pick(r, ingreds), nonASCII), Quantity: "1"})
		}
		f.all = append(f.all, rec)
	}
	// Two recipes with the same name: the id decides their order.
	f.all[1].Name = f.all[0].Name
	if err := db.CreateRecipes(t.Context(), f.all...); err != nil {
		t.Fatal(err)
	}
	f.index = catalogindex.New(db, db, interval, f.clock.now)
	return f
}

// randomFilter draws a filter as diverse as the realistic mix.
func randomFilter(r *rand.Rand, f *fixture, nonASCII bool) mealsync.RecipeFilter {
	var q mealsync.RecipeFilter
	if r.IntN(2) == 0 {
		name := pick(r, f.all).Name
		i := r.IntN(len(name))
		j := min(len(name), i+1+r.IntN(8))
		term := strings.ToValidUTF8(name[i:j], "")
		if r.IntN(5) == 0 {
			term = " " + pick(r, words) + " "
		}
		q.Name = shout(r, term, nonASCII)
	}
	for range r.IntN(3) {
		q.Cuisines = append(q.Cuisines, shout(r, pick(r, append(cuisines, "Martian", " thai ")), nonASCII))
	}
	for range r.IntN(3) {
		q.Tags = append(q.Tags, shout(r, pick(r, append(tags, "none-such")), nonASCII))
	}
	for range r.IntN(3) {
		g := pick(r, ingreds)
		q.Ingredients = append(q.Ingredients, shout(r, g[:1+r.IntN(len(g))], nonASCII))
	}
	if r.IntN(4) == 0 {
		q.Difficulty = shout(r, strings.ToLower(pick(r, diffs)), nonASCII)
	}
	if r.IntN(3) == 0 {
		v := r.IntN(200)
		q.MaxTotalTime = &v
	}
	if r.IntN(4) == 0 {
		v := 1 + r.IntN(8)
		q.MinServings = &v
	}
	q.Offset, q.Limit = r.IntN(60), 1+r.IntN(40)
	switch r.IntN(6) {
	case 0:
		q.Viewer = mealsync.Viewer{UserID: f.owner.ID} // has private recipes: the store answers
	case 1:
		q.Viewer = mealsync.Viewer{UserID: uuid.NewString()} // has none: the index answers
	case 2:
		yes := true
		q.Published = &yes
	case 3:
		q.Viewer = mealsync.Viewer{UserID: f.owner.ID, Admin: true} // lists only its own private recipes too
	}
	return q
}

func ids(p mealsync.Page[*mealsync.Recipe]) []string {
	out := make([]string, len(p.Items))
	for i, r := range p.Items {
		out[i] = r.ID
	}
	return out
}

// same fails t unless the index answers f as the SQL path does.
func same(t *testing.T, f *fixture, q mealsync.RecipeFilter) {
	t.Helper()
	want, err := f.db.ListRecipes(t.Context(), q)
	if err != nil {
		t.Fatalf("SQL: %v", err)
	}
	got, err := f.index.ListRecipes(t.Context(), q)
	if err != nil {
		t.Fatalf("index: %v", err)
	}
	if got.Total != want.Total || !slices.Equal(ids(got), ids(want)) {
		t.Fatalf("filter %+v:\nindex total %d %v\nSQL   total %d %v", q, got.Total, ids(got), want.Total, ids(want))
	}
	for i := range got.Items {
		if fmt.Sprint(*got.Items[i]) != fmt.Sprint(*want.Items[i]) {
			t.Fatalf("filter %+v: item %d differs:\nindex %+v\nSQL   %+v", q, i, *got.Items[i], *want.Items[i])
		}
	}
}

// The differential test: thousands of random filters, each answered by the
// index exactly as by SQL — the same page, in the same order, the same total.
func TestIndexAnswersAsSQL(t *testing.T) {
	for _, c := range []struct {
		store    string
		nonASCII bool
	}{{"sqlite", false}, {"postgres", false}, {"postgres", true}} {
		t.Run(fmt.Sprintf("%s/upper-case non-ASCII %v", c.store, c.nonASCII), func(t *testing.T) {
			var db *sqldb.DB
			if c.store == "sqlite" {
				db = testdb.SQLite(t)
			} else {
				db = testdb.Postgres(t)
			}
			f := newFixture(t, db, 1500, 7, c.nonASCII)
			r := rand.New(rand.NewPCG(42, 9))
			for range 2000 {
				same(t, f, randomFilter(r, f, c.nonASCII))
			}
			// And the edges: everything, past the end, one by one.
			same(t, f, mealsync.RecipeFilter{Limit: 2000})
			same(t, f, mealsync.RecipeFilter{Offset: 5000, Limit: 10})
			same(t, f, mealsync.RecipeFilter{Name: "   ", Limit: 5})
			same(t, f, mealsync.RecipeFilter{Name: "%", Limit: 50})
			same(t, f, mealsync.RecipeFilter{Name: "_", Limit: 50})
		})
	}
}

// A change made elsewhere shows after the interval; one made through the
// index at once; pruned history makes the index read everything again.
func TestIndexFollowsChanges(t *testing.T) {
	for _, s := range testdb.Stores {
		t.Run(s.Name, func(t *testing.T) {
			f := newFixture(t, s.Open(t), 50, 3, false)
			all := mealsync.RecipeFilter{Limit: 1000}
			same(t, f, all)

			// Elsewhere: straight in the database.
			extra := &mealsync.Recipe{ID: uuid.NewString(), Name: "Aaa first", Description: "d", Cuisine: "Thai",
				Difficulty: "EASY", Ingredients: []mealsync.Ingredient{{Name: "rice", Quantity: "1"}}, Instructions: []string{"x"},
				Servings: 1, Source: "catalog", Published: true, CreatedAt: f.clock.now()}
			if err := f.db.CreateRecipes(t.Context(), extra); err != nil {
				t.Fatal(err)
			}
			f.clock.advance(interval - time.Millisecond)
			if p, _ := f.index.ListRecipes(t.Context(), all); slices.Contains(ids(p), extra.ID) {
				t.Fatal("the premise: within the interval the index still answers from its copy")
			}
			f.clock.advance(time.Millisecond)
			same(t, f, all)

			// Here: through the index, published and then edited.
			mine := &mealsync.Recipe{ID: uuid.NewString(), Name: "Zzz mine", Description: "d", Cuisine: "Thai",
				Difficulty: "EASY", Ingredients: []mealsync.Ingredient{{Name: "rice", Quantity: "1"}}, Instructions: []string{"x"},
				Servings: 1, Source: "user", OwnerID: f.owner.ID, CreatedAt: f.clock.now()}
			if err := f.index.CreateRecipes(t.Context(), mine); err != nil {
				t.Fatal(err)
			}
			same(t, f, all) // private: not in the catalogue
			if _, err := f.index.PublishRecipe(t.Context(), mine.ID); err != nil {
				t.Fatal(err)
			}
			if p, _ := f.index.ListRecipes(t.Context(), all); !slices.Contains(ids(p), mine.ID) {
				t.Fatal("a recipe published here is not listed here at once")
			}
			mine.Name, mine.Published = "Aab renamed", true
			if err := f.index.UpdateRecipe(t.Context(), mine); err != nil {
				t.Fatal(err)
			}
			same(t, f, all)
			same(t, f, mealsync.RecipeFilter{Name: "renamed", Limit: 5})
			if err := f.index.DeleteRecipe(t.Context(), extra.ID); err != nil {
				t.Fatal(err)
			}
			same(t, f, all)

			// Pruned: the index reads the catalogue whole.
			if err := f.db.DeleteRecipe(t.Context(), f.all[5].ID); err != nil {
				t.Fatal(err)
			}
			if _, err := f.db.PruneRecipeChanges(t.Context(), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			f.clock.advance(interval)
			same(t, f, all)
		})
	}
}

// countingFeed counts the times the index asks what changed.
type countingFeed struct {
	*sqldb.DB
	asked atomic.Int64
}

func (c *countingFeed) RecipeChangesSince(ctx context.Context, after int64) ([]string, int64, bool, error) {
	c.asked.Add(1)
	return c.DB.RecipeChangesSince(ctx, after)
}

// A user's private recipes — a generated one saved, edited, deleted — show
// in that user's lists at once on the instance that wrote them, and within
// the interval on another; meanwhile the catalogue is answered from memory
// without asking the feed again, and other users' remembered answers stand.
func TestPrivateWritesLeaveTheCatalogueAlone(t *testing.T) {
	for _, s := range testdb.Stores {
		t.Run(s.Name, func(t *testing.T) {
			f := newFixture(t, s.Open(t), 60, 17, false)
			feed := &countingFeed{DB: f.db}
			here := catalogindex.New(f.db, feed, interval, f.clock.now)
			there := catalogindex.New(f.db, f.db, interval, f.clock.now)
			cook := &mealsync.User{ID: uuid.NewString(), Email: uuid.NewString() + "@example.com", Name: "Cook",
				Role: mealsync.RoleUser, Status: mealsync.StatusActive, PasswordHash: "x", CreatedAt: f.clock.now(), UpdatedAt: f.clock.now()}
			if err := f.db.CreateUser(t.Context(), cook); err != nil {
				t.Fatal(err)
			}
			mine := mealsync.RecipeFilter{Limit: 1000, Viewer: mealsync.Viewer{UserID: cook.ID}}
			owners := mealsync.RecipeFilter{Limit: 1000, Viewer: mealsync.Viewer{UserID: f.owner.ID}}
			list := func(x *catalogindex.Index, q mealsync.RecipeFilter) mealsync.Page[*mealsync.Recipe] {
				t.Helper()
				p, err := x.ListRecipes(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			sameAs := func(x *catalogindex.Index, q mealsync.RecipeFilter, what string) {
				t.Helper()
				want, err := f.db.ListRecipes(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				if got := list(x, q); got.Total != want.Total || !slices.Equal(ids(got), ids(want)) {
					t.Fatalf("%s: index total %d %v\nSQL total %d %v", what, got.Total, ids(got), want.Total, ids(want))
				}
			}
			for _, x := range []*catalogindex.Index{here, there} { // both remember: no private recipe
				list(x, mine)
				list(x, owners)
			}
			asked := feed.asked.Load()

			generated := &mealsync.Recipe{ID: uuid.NewString(), Name: "Aaa generated", Description: "d", Cuisine: "Thai",
				Difficulty: "EASY", Ingredients: []mealsync.Ingredient{{Name: "rice", Quantity: "1"}}, Instructions: []string{"x"},
				Servings: 1, Source: "ai", OwnerID: cook.ID, CreatedAt: f.clock.now()}
			if err := here.CreateRecipes(t.Context(), generated); err != nil {
				t.Fatal(err)
			}
			if p := list(here, mine); !slices.Contains(ids(p), generated.ID) {
				t.Fatal("a private recipe written here is not in its owner's list here at once")
			}
			sameAs(here, mine, "the owner's list here")
			if p := list(there, mine); slices.Contains(ids(p), generated.ID) {
				t.Fatal("the premise: within the interval another instance answers from what it remembers")
			}
			h0, m0 := here.Lookups()
			list(here, mealsync.RecipeFilter{Limit: 10, Published: &[]bool{true}[0]})
			list(here, owners) // another user with private recipes: merged, no new store question
			if h1, m1 := here.Lookups(); h1 != h0+1 || m1 != m0+1 {
				t.Errorf("after a private write: hits %d→%d, misses %d→%d; want the catalogue from memory", h0, h1, m0, m1)
			}
			if n := feed.asked.Load(); n != asked {
				t.Errorf("a private write made the index ask the feed %d times within the interval", n-asked)
			}

			f.clock.advance(interval)
			sameAs(here, mealsync.RecipeFilter{Limit: 1000, Published: &[]bool{true}[0]}, "the catalogue, read past the private write")
			sameAs(there, mine, "the owner's list on another instance after the interval")
			sameAs(here, mine, "the owner's list here after the interval")

			generated.Name = "Zzz renamed"
			if err := here.UpdateRecipe(t.Context(), generated); err != nil {
				t.Fatal(err)
			}
			sameAs(here, mine, "after an edit")
			if err := here.DeletePrivateRecipe(t.Context(), generated.ID, cook.ID); err != nil {
				t.Fatal(err)
			}
			sameAs(here, mine, "after a delete")
			f.clock.advance(interval)
			sameAs(there, mine, "another instance, after a delete and the interval")
			sameAs(there, owners, "another owner, on another instance")
		})
	}
}

// What a caller does to a listed recipe does not change the index.
func TestIndexAnswersCopies(t *testing.T) {
	f := newFixture(t, testdb.SQLite(t), 20, 5, false)
	q := mealsync.RecipeFilter{Limit: 100, Published: new(bool)}
	*q.Published = true
	p, err := f.index.ListRecipes(t.Context(), q)
	if err != nil || len(p.Items) == 0 {
		t.Fatal(err)
	}
	p.Items[0].Name = "Mallory"
	same(t, f, q)
}

// By id, the index answers as the store for every recipe, published or
// private, known or not, one at a time and in lists (whose order is the
// ids' order, repeats kept, unknown ids skipped).
func TestIndexByIDAnswersAsStore(t *testing.T) {
	for _, s := range testdb.Stores {
		t.Run(s.Name, func(t *testing.T) {
			f := newFixture(t, s.Open(t), 200, 11, false)
			unknown := uuid.NewString()
			for _, r := range append(slices.Clone(f.all), &mealsync.Recipe{ID: unknown}, &mealsync.Recipe{ID: strings.ToUpper(f.all[3].ID)}) {
				want, werr := f.db.RecipeByID(t.Context(), r.ID)
				got, gerr := f.index.RecipeByID(t.Context(), r.ID)
				if mealsync.ErrorCode(werr) != mealsync.ErrorCode(gerr) || (werr == nil && fmt.Sprint(*got) != fmt.Sprint(*want)) {
					t.Fatalf("RecipeByID(%s): index %v %v, store %v %v", r.ID, got, gerr, want, werr)
				}
			}
			var private string
			for _, r := range f.all {
				if !r.Published {
					private = r.ID
					break
				}
			}
			for _, list := range [][]string{
				{f.all[0].ID, f.all[1].ID, f.all[0].ID},
				{f.all[2].ID, unknown, f.all[3].ID},
				{private, f.all[4].ID},
				{},
			} {
				want, werr := f.db.RecipesByIDs(t.Context(), list)
				got, gerr := f.index.RecipesByIDs(t.Context(), list)
				if werr != nil || gerr != nil || show(got) != show(want) {
					t.Fatalf("RecipesByIDs(%v): index %v %v, store %v %v", list, got, gerr, want, werr)
				}
			}
		})
	}
}

func show(rs []*mealsync.Recipe) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%+v\n", *r)
	}
	return b.String()
}

// The index counts the reads it answered from memory and those it passed to
// the store, as the metrics report them.
func TestLookupsAreCounted(t *testing.T) {
	f := newFixture(t, testdb.SQLite(t), 50, 13, false)
	var published, private *mealsync.Recipe
	for _, r := range f.all {
		if r.Published && published == nil {
			published = r
		}
		if !r.Published && private == nil {
			private = r
		}
	}
	yes, no := true, false
	stranger := uuid.NewString()
	reads := []struct {
		what string
		read func() error
		hit  bool
	}{
		{"the catalogue", func() error {
			_, err := f.index.ListRecipes(t.Context(), mealsync.RecipeFilter{Limit: 10, Published: &yes})
			return err
		}, true},
		{"a viewer without private recipes", func() error {
			_, err := f.index.ListRecipes(t.Context(), mealsync.RecipeFilter{Limit: 10, Viewer: mealsync.Viewer{UserID: stranger}})
			return err
		}, true},
		{"a viewer with private recipes", func() error {
			_, err := f.index.ListRecipes(t.Context(), mealsync.RecipeFilter{Limit: 10, Viewer: mealsync.Viewer{UserID: f.owner.ID}})
			return err
		}, false},
		{"private recipes only", func() error {
			_, err := f.index.ListRecipes(t.Context(), mealsync.RecipeFilter{Limit: 10, Published: &no, Viewer: mealsync.Viewer{UserID: f.owner.ID}})
			return err
		}, false},
		{"a published recipe", func() error { _, err := f.index.RecipeByID(t.Context(), published.ID); return err }, true},
		{"a private recipe", func() error { _, err := f.index.RecipeByID(t.Context(), private.ID); return err }, false},
		{"published recipes", func() error {
			_, err := f.index.RecipesByIDs(t.Context(), []string{published.ID, published.ID})
			return err
		}, true},
		{"recipes with a private one", func() error {
			_, err := f.index.RecipesByIDs(t.Context(), []string{published.ID, private.ID})
			return err
		}, false},
	}
	for _, r := range reads {
		h0, m0 := f.index.Lookups()
		if err := r.read(); err != nil {
			t.Fatalf("%s: %v", r.what, err)
		}
		h1, m1 := f.index.Lookups()
		if r.hit && (h1 != h0+1 || m1 != m0) || !r.hit && (m1 != m0+1 || h1 != h0) {
			t.Errorf("%s: hits %d→%d, misses %d→%d; want one %s", r.what, h0, h1, m0, m1, map[bool]string{true: "hit", false: "miss"}[r.hit])
		}
	}
}

// heldFeed is the database's catalogue feed, held mid-answer when armed: a
// refresh that waits for a database connection.
type heldFeed struct {
	*sqldb.DB
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (h *heldFeed) RecipeChangesSince(ctx context.Context, after int64) ([]string, int64, bool, error) {
	if h.armed.Load() {
		h.entered <- struct{}{}
		<-h.release
	}
	return h.DB.RecipeChangesSince(ctx, after)
}

// While one request refreshes the index, the others answer from the last
// snapshot: none queues behind it (it may wait for a connection one of
// them holds).
func TestListsDoNotQueueBehindARefresh(t *testing.T) {
	for _, s := range testdb.Stores {
		t.Run(s.Name, func(t *testing.T) {
			f := newFixture(t, s.Open(t), 20, 5, false)
			feed := &heldFeed{DB: f.db, entered: make(chan struct{}), release: make(chan struct{})}
			index := catalogindex.New(f.db, feed, interval, f.clock.now)
			all := mealsync.RecipeFilter{Limit: 1000}
			want, err := index.ListRecipes(t.Context(), all) // loads the snapshot
			if err != nil {
				t.Fatal(err)
			}

			feed.armed.Store(true)
			f.clock.advance(2 * interval)
			refreshed := make(chan error, 1)
			go func() {
				_, err := index.ListRecipes(context.Background(), all)
				refreshed <- err
			}()
			select {
			case <-feed.entered:
			case <-time.After(10 * time.Second):
				t.Fatal("the refresh never reached the feed")
			}
			answered := make(chan int, 1)
			go func() {
				p, err := index.ListRecipes(context.Background(), all)
				if err != nil {
					t.Error(err)
				}
				answered <- len(p.Items)
			}()
			select {
			case n := <-answered:
				if n != len(want.Items) {
					t.Fatalf("answered %d recipes while the refresh waited, want the snapshot's %d", n, len(want.Items))
				}
			case <-time.After(10 * time.Second):
				t.Fatal("a list waited for another request's refresh")
			}
			close(feed.release)
			if err := <-refreshed; err != nil {
				t.Fatal(err)
			}

			// After a change made here, a list that cannot wait for the
			// refresh asks the store, and sees the change.
			feed.armed.Store(false)
			f.clock.advance(2 * interval)
			if _, err := index.ListRecipes(t.Context(), all); err != nil { // a refresh, not held
				t.Fatal(err)
			}
			added := &mealsync.Recipe{ID: uuid.NewString(), Name: "Aaa added here", Description: "d", Cuisine: "Thai",
				Difficulty: "EASY", Ingredients: []mealsync.Ingredient{{Name: "rice", Quantity: "1"}}, Instructions: []string{"x"},
				Servings: 1, Source: "catalog", Published: true, CreatedAt: f.clock.now()}
			if err := index.CreateRecipes(t.Context(), added); err != nil {
				t.Fatal(err)
			}
			feed.armed.Store(true)
			feed.release = make(chan struct{})
			go func() {
				_, err := index.ListRecipes(context.Background(), all)
				refreshed <- err
			}()
			select {
			case <-feed.entered:
			case <-time.After(10 * time.Second):
				t.Fatal("the refresh after the change never reached the feed")
			}
			listed := make(chan []string, 1)
			go func() {
				p, err := index.ListRecipes(context.Background(), all)
				if err != nil {
					t.Error(err)
				}
				listed <- ids(p)
			}()
			select {
			case got := <-listed:
				if !slices.Contains(got, added.ID) {
					t.Fatal("a list during the refresh after a change made here missed that change")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("a list waited for another request's refresh after a change made here")
			}
			close(feed.release)
			if err := <-refreshed; err != nil {
				t.Fatal(err)
			}
		})
	}
}
