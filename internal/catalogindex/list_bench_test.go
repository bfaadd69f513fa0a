package catalogindex

import (
	"fmt"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/catalog"
)

// BenchmarkListByIngredient is the generator's candidate read (recipes
// with an ingredient containing one of the given names, 500 at most) over
// the starter catalogue repeated to 10,000 recipes.
//
//	go test -run '^$' -bench ListByIngredient -benchmem ./internal/catalogindex
func BenchmarkListByIngredient(b *testing.B) {
	s := build(catalogue(b, 10_000), 1)
	for _, names := range [][]string{{"chicken"}, {"chicken", "garlic", "onion", "tomato"}, {"tofu"}} {
		b.Run(fmt.Sprint(names), func(b *testing.B) {
			f := mealsync.RecipeFilter{Ingredients: names, Limit: 500}
			for b.Loop() {
				if p := s.list(f); len(p.Items) == 0 {
					b.Fatal("nothing found")
				}
			}
		})
	}
}

// BenchmarkBuild is the index built over 10,000 recipes (at start, and
// again for every catalogue change).
func BenchmarkBuild(b *testing.B) {
	rs := catalogue(b, 10_000)
	b.ReportAllocs()
	for b.Loop() {
		build(rs, 1)
	}
}

// catalogue is the starter catalogue repeated to n published recipes, each
// with an id and name of its own.
func catalogue(b *testing.B, n int) []*mealsync.Recipe {
	b.Helper()
	base, err := catalog.Recipes(time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	rs := make([]*mealsync.Recipe, 0, n)
	for i := range n {
		r := *base[i%len(base)]
		r.ID, r.Name, r.Published = fmt.Sprintf("r%05d", i), fmt.Sprintf("%s %d", r.Name, i), true
		rs = append(rs, &r)
	}
	return rs
}
