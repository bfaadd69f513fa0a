package ranking

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
)

func cuisines(rs []*mealsync.Recipe) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Cuisine
	}
	return out
}

func ids(rs []*mealsync.Recipe) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func TestRecommendFavouriteCuisinesFirst(t *testing.T) {
	catalogue := loadCatalog(t)
	p := mealsync.Preferences{FavoriteCuisines: []string{"korean", "Eastern"}, DietaryRestrictions: []string{"vegetarian"}}
	got := Recommend(catalogue, p, nil, nil, 0)

	// Exact favourites (30) first, then partial ones (20: "Eastern" is in
	// "Middle Eastern"), then the rest (5).
	rank := func(c string) int {
		switch c {
		case "Korean":
			return 0
		case "Middle Eastern":
			return 1
		}
		return 2
	}
	if !slices.IsSortedFunc(got, func(a, b *mealsync.Recipe) int { return rank(a.Cuisine) - rank(b.Cuisine) }) {
		t.Errorf("cuisines not in favourite order: %v", cuisines(got))
	}
	if len(got) == 0 || got[0].Cuisine != "Korean" {
		t.Fatalf("first recommendation is not Korean: %v", cuisines(got))
	}
	for _, r := range got {
		if !Allowed(r, p) {
			t.Errorf("recommended %q, which breaks the preferences", r.Name)
		}
	}
	want := 0
	for _, r := range catalogue {
		if Allowed(r, p) {
			want++
		}
	}
	if len(got) != want {
		t.Errorf("got %d recommendations, want every allowed recipe (%d)", len(got), want)
	}
}

func TestRecommendSavedCuisineBreaksTies(t *testing.T) {
	catalogue := loadCatalog(t)
	got := Recommend(catalogue, mealsync.Preferences{}, nil, map[string]bool{"Greek": true}, 5)
	if len(got) != 5 {
		t.Fatalf("got %d, want 5", len(got))
	}
	for _, r := range got {
		if r.Cuisine != "Greek" {
			t.Errorf("without favourites, a saved cuisine should come first; got %v", cuisines(got))
			break
		}
	}
}

func TestRecommendExcludesSavedAndDisallowed(t *testing.T) {
	catalogue := loadCatalog(t)
	saved := map[string]bool{catalogue[0].ID: true, catalogue[1].ID: true}
	p := mealsync.Preferences{DislikedIngredients: []string{"garlic"}, DietaryRestrictions: []string{"gluten-free"}}
	got := Recommend(catalogue, p, saved, nil, 0)
	if len(got) == 0 {
		t.Fatal("nothing recommended")
	}
	if all := Recommend(catalogue, mealsync.Preferences{}, saved, nil, 0); len(all) != len(catalogue)-len(saved) {
		t.Errorf("without preferences, got %d recommendations, want all but the %d saved", len(all), len(saved))
	}
	for _, r := range got {
		if saved[r.ID] {
			t.Errorf("recommended saved recipe %q", r.Name)
		}
		if !Allowed(r, p) {
			t.Errorf("recommended %q, which breaks the preferences", r.Name)
		}
	}
}

func TestRecommendDeterministicOrder(t *testing.T) {
	catalogue := loadCatalog(t)
	reversed := slices.Clone(catalogue)
	slices.Reverse(reversed)
	p := mealsync.Preferences{FavoriteCuisines: []string{"Italian"}}
	a := Recommend(catalogue, p, nil, nil, 20)
	b := Recommend(reversed, p, nil, nil, 20)
	if !slices.Equal(ids(a), ids(b)) {
		t.Errorf("order depends on the input order:\n%v\n%v", ids(a), ids(b))
	}
	// Italian first; equal scores by name.
	if !slices.IsSortedFunc(a, func(x, y *mealsync.Recipe) int {
		if xi, yi := x.Cuisine == "Italian", y.Cuisine == "Italian"; xi != yi {
			if xi {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name))
	}) {
		t.Errorf("equal scores not ordered by name: %v", ids(a))
	}
}

func TestRecommendTieOnNameGoesByID(t *testing.T) {
	a := &mealsync.Recipe{ID: "b", Name: "Soup", Cuisine: "French"}
	b := &mealsync.Recipe{ID: "a", Name: "soup", Cuisine: "French"}
	got := Recommend([]*mealsync.Recipe{a, b, a}, mealsync.Preferences{}, nil, nil, 10)
	if !slices.Equal(ids(got), []string{"a", "b"}) {
		t.Errorf("got %v, want [a b] (by id, duplicates dropped)", ids(got))
	}
}

func TestRecommendLimit(t *testing.T) {
	catalogue := loadCatalog(t)
	if got := Recommend(catalogue, mealsync.Preferences{}, nil, nil, 6); len(got) != 6 {
		t.Errorf("limit 6: got %d", len(got))
	}
	if got := Recommend(catalogue, mealsync.Preferences{}, nil, nil, 0); len(got) != len(catalogue) {
		t.Errorf("limit 0: got %d, want all %d", len(got), len(catalogue))
	}
}

func TestTodayPicks(t *testing.T) {
	catalogue := loadCatalog(t)
	ranked := Recommend(catalogue, mealsync.Preferences{}, nil, nil, 0)
	day := time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC)
	const n = 2

	first := TodayPicks(ranked, "user-1", day, n)
	if len(first) != n {
		t.Fatalf("got %d picks, want %d", len(first), n)
	}
	// The same user, later the same day: the same picks.
	again := TodayPicks(ranked, "user-1", day.Add(10*time.Hour), n)
	if !slices.Equal(ids(first), ids(again)) {
		t.Errorf("picks changed within the day: %v then %v", ids(first), ids(again))
	}
	// Picks come from the top of the ranking, in ranking order.
	pool := ids(ranked[:n*picksPoolFactor])
	last := -1
	for _, r := range first {
		i := slices.Index(pool, r.ID)
		if i < 0 {
			t.Errorf("pick %s is not in the top %d", r.ID, len(pool))
		}
		if i <= last {
			t.Errorf("picks not in ranking order: %v", ids(first))
		}
		last = i
	}

	// Over a month, and over users, the picks vary.
	byDay := map[string]bool{}
	byUser := map[string]bool{}
	for d := range 30 {
		byDay[strings.Join(ids(TodayPicks(ranked, "user-1", day.AddDate(0, 0, d), n)), ",")] = true
		byUser[strings.Join(ids(TodayPicks(ranked, "user-"+string(rune('a'+d)), day, n)), ",")] = true
	}
	if len(byDay) < 3 {
		t.Errorf("only %d different pick sets in 30 days", len(byDay))
	}
	if len(byUser) < 3 {
		t.Errorf("only %d different pick sets for 30 users", len(byUser))
	}
}

func TestTodayPicksShortRanking(t *testing.T) {
	catalogue := loadCatalog(t)
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	if got := TodayPicks(catalogue[:1], "u", day, 2); len(got) != 1 {
		t.Errorf("one candidate: got %d picks", len(got))
	}
	if got := TodayPicks(nil, "u", day, 2); len(got) != 0 {
		t.Errorf("no candidates: got %d picks", len(got))
	}
	if got := TodayPicks(catalogue, "u", day, 0); len(got) != 0 {
		t.Errorf("n = 0: got %d picks", len(got))
	}
}

// BenchmarkRecommend is one recommendation as an instance makes it: the
// ~600 candidates of a user's two catalogue reads, ranked for a user with a
// favourite cuisine, a dislike and a diet (the common case scores every
// candidate against each of them).
//
//	go test -run '^$' -bench Recommend -benchmem ./internal/ranking
func BenchmarkRecommend(b *testing.B) {
	base := loadCatalog(b)
	candidates := make([]*mealsync.Recipe, 600)
	for i := range candidates {
		r := *base[i%len(base)]
		r.ID = fmt.Sprintf("c%04d", i)
		candidates[i] = &r
	}
	p := mealsync.Preferences{FavoriteCuisines: []string{"Italian"}, DislikedIngredients: []string{"mushrooms"},
		DietaryRestrictions: []string{"vegetarian"}}
	saved := map[string]bool{"c0001": true}
	b.ReportAllocs()
	for b.Loop() {
		if len(Recommend(candidates, p, saved, map[string]bool{"Mexican": true}, 30)) == 0 {
			b.Fatal("nothing recommended")
		}
	}
}
