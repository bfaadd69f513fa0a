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
	base, err := catalog.Recipes(time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	var rs []*mealsync.Recipe
	for i := 0; len(rs) < 10_000; i++ {
		r := *base[i%len(base)]
		r.ID, r.Name, r.Published = fmt.Sprintf("r%05d", i), fmt.Sprintf("%s %d", r.Name, i), true
		rs = append(rs, &r)
	}
	s := build(rs, 1)
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
	base, err := catalog.Recipes(time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	var rs []*mealsync.Recipe
	for i := 0; len(rs) < 10_000; i++ {
		r := *base[i%len(base)]
		r.ID, r.Name, r.Published = fmt.Sprintf("r%05d", i), fmt.Sprintf("%s %d", r.Name, i), true
		rs = append(rs, &r)
	}
	b.ReportAllocs()
	for b.Loop() {
		build(rs, 1)
	}
}
