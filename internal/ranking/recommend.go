package ranking

import (
	"cmp"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/mealsync/mealsync"
)

// Score parts, from the reference's RecipeRecommendationService.
const (
	scoreCuisineExact   = 30 // the cuisine is one of the user's favourites
	scoreCuisinePartial = 20 // one contains the other ("Thai" and "Thai Fusion")
	scoreCuisineOther   = 5
	scoreNoFavourites   = 15 // the user named no favourite cuisine
	scoreDietOK         = 40 // passes the dietary rules (recipes that fail are excluded)
	scoreSavedCuisine   = 10 // the user saved a recipe of this cuisine before
	scoreNewCuisine     = 5
)

// Recommend ranks candidates for a user with preferences p and returns at
// most limit of them (all when limit ≤ 0), best first.
//
// Recipes the user may not have (Allowed is false) and recipes already
// saved (saved holds their ids) are left out. Each remaining recipe scores
// cuisine (30 favourite, 20 partial match, 5 other, 15 when the user has no
// favourites) + 40 for passing the diet rules + history (10 when savedCuisines
// holds its cuisine, else 5). With these weights a favourite cuisine always
// ranks above the others. Ties go by name, then id, so the order is stable.
// Map keys of savedCuisines are compared case-insensitively.
func Recommend(candidates []*mealsync.Recipe, p mealsync.Preferences, saved map[string]bool, savedCuisines map[string]bool, limit int) []*mealsync.Recipe {
	favourites := lowerAll(p.FavoriteCuisines)
	history := make(map[string]bool, len(savedCuisines))
	for c, ok := range savedCuisines {
		if ok {
			history[strings.ToLower(strings.TrimSpace(c))] = true
		}
	}

	type scored struct {
		r     *mealsync.Recipe
		score int
		name  string
	}
	allowed := NewFilter(p)
	seen := make(map[string]bool, len(candidates))
	var ranked []scored
	for _, r := range candidates {
		if r == nil || saved[r.ID] || r.ID != "" && seen[r.ID] || !allowed.Allows(r) {
			continue
		}
		seen[r.ID] = true
		cuisine := strings.ToLower(strings.TrimSpace(r.Cuisine))
		score := cuisineScore(cuisine, favourites) + scoreDietOK + scoreNewCuisine
		if history[cuisine] {
			score += scoreSavedCuisine - scoreNewCuisine
		}
		ranked = append(ranked, scored{r, score, strings.ToLower(r.Name)})
	}
	slices.SortFunc(ranked, func(a, b scored) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.name, b.name), cmp.Compare(a.r.ID, b.r.ID))
	})
	if limit > 0 && len(ranked) > limit {
		ranked = ranked[:limit]
	}
	out := make([]*mealsync.Recipe, len(ranked))
	for i, s := range ranked {
		out[i] = s.r
	}
	return out
}

// cuisineScore scores a lower-case cuisine against lower-case favourites.
func cuisineScore(cuisine string, favourites []string) int {
	if len(favourites) == 0 {
		return scoreNoFavourites
	}
	best := scoreCuisineOther
	for _, f := range favourites {
		switch {
		case f == cuisine:
			return scoreCuisineExact
		case cuisine != "" && (strings.Contains(f, cuisine) || strings.Contains(cuisine, f)):
			best = scoreCuisinePartial
		}
	}
	return best
}

// IsFavouriteCuisine reports whether cuisine equals or partly matches one of
// p's favourite cuisines, case-insensitively.
func IsFavouriteCuisine(cuisine string, p mealsync.Preferences) bool {
	favourites := lowerAll(p.FavoriteCuisines)
	return len(favourites) > 0 && cuisineScore(strings.ToLower(strings.TrimSpace(cuisine)), favourites) > scoreCuisineOther
}

func lowerAll(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// picksPoolFactor: today's picks come from the top n×3 of the ranking (the
// reference picked 2 of the 6 recommended), so they stay good but vary.
const picksPoolFactor = 3

// TodayPicks returns n recipes drawn from the top of ranked (a Recommend
// result), in ranking order. The draw is a hash of the user, the day's date
// (as day's own location has it) and each recipe's id: it changes from user
// to user and from day to day, but the same user sees the same picks all
// day, on every instance, without storing anything.
func TodayPicks(ranked []*mealsync.Recipe, userID string, day time.Time, n int) []*mealsync.Recipe {
	if n <= 0 {
		return nil
	}
	pool := ranked[:min(len(ranked), n*picksPoolFactor)]
	if len(pool) <= n {
		return slices.Clone(pool)
	}
	date := day.Format(time.DateOnly)
	draw := make([]uint64, len(pool))
	for i, r := range pool {
		h := fnv.New64a()
		h.Write([]byte(userID))
		h.Write([]byte{0})
		h.Write([]byte(date))
		h.Write([]byte{0})
		h.Write([]byte(cmp.Or(r.ID, r.Name)))
		draw[i] = mix64(h.Sum64())
	}
	order := make([]int, len(pool))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Or(cmp.Compare(draw[a], draw[b]), cmp.Compare(a, b)) })
	chosen := order[:n]
	slices.Sort(chosen) // back to ranking order
	out := make([]*mealsync.Recipe, n)
	for i, idx := range chosen {
		out[i] = pool[idx]
	}
	return out
}

// mix64 is splitmix64's finaliser: FNV alone mixes the last bytes weakly into
// the high bits that the sort looks at.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
