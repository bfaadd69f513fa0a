package sqldb_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/testdb"
)

// Vocabulary of the generated catalogue. Names are adjective + main +
// dish; mains and ingredients are drawn with a skew, so that some values are
// common ("garlic") and some rare ("saffron"), as in a real catalogue.
var (
	genCuisines = []string{"Italian", "Indian", "Chinese", "Japanese", "French", "Mexican", "Thai",
		"Greek", "Middle Eastern", "Spanish", "Vietnamese", "Korean", "Moroccan", "American", "British"}
	genAdjectives = []string{"Smoky", "Spicy", "Creamy", "Crispy", "Roasted", "Grilled", "Braised",
		"Zesty", "Hearty", "Golden", "Sticky", "Herby", "Garlicky", "Tangy", "Rustic", "Classic",
		"Quick", "Slow-Cooked", "Charred", "Honey", "Lemony", "Peppery", "Sweet", "Fiery", "Fresh",
		"Baked", "Pan-Fried", "Steamed", "Stuffed", "Glazed"}
	genMains = []string{"Chicken", "Beef", "Pork", "Lamb", "Tofu", "Lentil", "Chickpea", "Salmon",
		"Cod", "Prawn", "Mushroom", "Aubergine", "Cauliflower", "Sweet Potato", "Halloumi", "Duck",
		"Turkey", "Tuna", "Mackerel", "Squash", "Spinach", "Bean", "Egg", "Paneer", "Tempeh", "Crab",
		"Mussel", "Squid", "Venison", "Courgette", "Pepper", "Broccoli", "Kale", "Leek", "Potato",
		"Rice", "Noodle", "Barley", "Quinoa", "Seitan"}
	genDishes = []string{"Curry", "Soup", "Stew", "Salad", "Stir-Fry", "Pie", "Bake", "Skewers",
		"Tacos", "Risotto", "Pasta", "Burger", "Wraps", "Bowl", "Traybake", "Casserole", "Fritters",
		"Dumplings", "Noodles", "Tart", "Gratin", "Chowder", "Kebabs", "Hotpot", "Flatbread"}
	genTags = []string{"vegetarian", "vegan", "gluten-free", "dairy-free", "quick", "spicy",
		"comfort food", "healthy", "high-protein", "low-carb", "one-pot", "family", "budget",
		"meal prep", "weeknight", "party", "summer", "winter", "autumn", "spring", "bbq", "brunch",
		"lunchbox", "kid-friendly", "date night", "holiday", "freezer-friendly", "no-cook",
		"make-ahead", "picnic"}
	genCommon = []string{"salt", "black pepper", "olive oil", "garlic", "onion", "butter", "water",
		"lemon juice", "vegetable stock", "plain flour"}
	genIngredients = []string{"chicken thigh", "chicken breast", "beef mince", "pork shoulder",
		"lamb leg", "firm tofu", "red lentils", "chickpeas", "salmon fillet", "cod fillet",
		"king prawns", "chestnut mushrooms", "aubergine", "cauliflower", "sweet potato", "halloumi",
		"duck breast", "turkey mince", "tuna steak", "mackerel", "butternut squash", "baby spinach",
		"cannellini beans", "eggs", "paneer", "tempeh", "crab meat", "mussels", "squid", "venison",
		"courgette", "red pepper", "broccoli", "kale", "leek", "potatoes", "basmati rice",
		"egg noodles", "pearl barley", "quinoa", "tomatoes", "tinned tomatoes", "coconut milk",
		"double cream", "greek yoghurt", "parmesan", "feta", "mozzarella", "cheddar", "ginger",
		"red chilli", "green chilli", "fresh coriander", "flat-leaf parsley", "basil", "mint",
		"thyme", "rosemary", "bay leaf", "cumin", "ground coriander", "turmeric", "smoked paprika",
		"garam masala", "cinnamon", "cardamom", "star anise", "soy sauce", "fish sauce",
		"oyster sauce", "sesame oil", "rice vinegar", "honey", "maple syrup", "brown sugar",
		"lime", "lemon", "spring onions", "shallots", "carrots", "celery", "peas", "sweetcorn",
		"avocado", "cucumber", "lettuce", "rocket", "pine nuts", "cashews", "peanuts", "almonds",
		"tahini", "miso paste", "gochujang", "harissa", "capers", "olives", "anchovies",
		"white wine", "red wine", "saffron", "vanilla", "dark chocolate", "pomegranate"}
)

// skewed picks from l with low indexes more likely.
func skewed[T any](rng *rand.Rand, l []T) T {
	a, b := rng.IntN(len(l)), rng.IntN(len(l))
	return l[min(a, b)]
}

// generatedRecipes returns n varied recipes, the same ones for the same seed.
func generatedRecipes(n int, seed uint64, at time.Time) []*mealsync.Recipe {
	rng := rand.New(rand.NewPCG(seed, seed))
	rs := make([]*mealsync.Recipe, n)
	for i := range rs {
		main := skewed(rng, genMains)
		name := fmt.Sprintf("%s %s %s", genAdjectives[rng.IntN(len(genAdjectives))], main,
			genDishes[rng.IntN(len(genDishes))])
		var ings []mealsync.Ingredient
		for _, c := range genCommon {
			if rng.IntN(3) == 0 {
				ings = append(ings, mealsync.Ingredient{Name: c, Quantity: "1", Unit: "tbsp"})
			}
		}
		for range 4 + rng.IntN(8) {
			ings = append(ings, mealsync.Ingredient{
				Name: skewed(rng, genIngredients), Quantity: fmt.Sprint(1 + rng.IntN(500)), Unit: "g",
			})
		}
		var tags []string
		for range 1 + rng.IntN(4) {
			tags = append(tags, skewed(rng, genTags))
		}
		var steps []string
		for s := range 3 + rng.IntN(6) {
			steps = append(steps, fmt.Sprintf("Step %d: prepare the %s carefully, then cook it over a medium heat until it is done and smells wonderful.",
				s+1, ings[rng.IntN(len(ings))].Name))
		}
		difficulty := "EASY"
		switch d := rng.IntN(20); {
		case d >= 17:
			difficulty = "HARD"
		case d >= 10:
			difficulty = "MEDIUM"
		}
		prep, cook := 5+rng.IntN(56), rng.IntN(181)
		rs[i] = &mealsync.Recipe{
			ID:              uuid.NewString(),
			Name:            name,
			Description:     "A " + strings.ToLower(name) + " from the generated catalogue, good for testing query plans on realistic data.",
			Cuisine:         genCuisines[rng.IntN(len(genCuisines))],
			Difficulty:      difficulty,
			Ingredients:     ings,
			Instructions:    steps,
			Tags:            tags,
			IngredientKey:   strings.ToLower(name),
			PreparationTime: prep,
			CookingTime:     cook,
			TotalTime:       prep + cook,
			Servings:        1 + min(rng.IntN(12), rng.IntN(12)),
			Calories:        float64(100 + rng.IntN(900)),
			Protein:         float64(rng.IntN(60)),
			Carbohydrates:   float64(rng.IntN(120)),
			Fat:             float64(rng.IntN(60)),
			Source:          "catalog",
			Published:       true,
			CreatedAt:       at,
		}
	}
	return rs
}

// planNode is the part of PostgreSQL's EXPLAIN (FORMAT JSON) the test reads.
type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	Plans        []planNode `json:"Plans"`
}

// walk calls fn on n and every node below it.
func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

// explainListRecipes returns the plan of the exact statement ListRecipes
// runs for f, planned for f's values (a custom plan).
func explainListRecipes(t *testing.T, db *sqldb.DB, f mealsync.RecipeFilter) planNode {
	t.Helper()
	q, args := sqldb.ListRecipesQuery(f)
	var raw []byte
	if err := db.SQL().QueryRowContext(t.Context(), "EXPLAIN (FORMAT JSON) "+q, args...).Scan(&raw); err != nil {
		t.Fatalf("EXPLAIN: %v\n%s", err, q)
	}
	return parsePlan(t, raw)
}

// explainGenericListRecipes returns the generic plan of ListRecipes'
// statement for f: the driver prepares and caches statements, and after a
// few executions PostgreSQL may run one plan for any values.
func explainGenericListRecipes(t *testing.T, db *sqldb.DB, f mealsync.RecipeFilter) planNode {
	t.Helper()
	q, args := sqldb.ListRecipesQuery(f)
	conn, err := db.SQL().Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	literals := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			literals[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		case int:
			literals[i] = fmt.Sprint(v)
		default:
			t.Fatalf("argument $%d: no literal for %T", i+1, a)
		}
	}
	for _, s := range []string{"PREPARE list_recipes_plan AS " + q, "SET plan_cache_mode = force_generic_plan"} {
		if _, err := conn.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	defer func() {
		// The connection goes back to the pool: leave no session state.
		for _, s := range []string{"DEALLOCATE list_recipes_plan", "RESET plan_cache_mode"} {
			if _, err := conn.ExecContext(t.Context(), s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
	}()
	var raw []byte
	err = conn.QueryRowContext(t.Context(), "EXPLAIN (FORMAT JSON) EXECUTE list_recipes_plan ("+strings.Join(literals, ", ")+")").Scan(&raw)
	if err != nil {
		t.Fatalf("EXPLAIN EXECUTE: %v", err)
	}
	return parsePlan(t, raw)
}

func parsePlan(t *testing.T, raw []byte) planNode {
	t.Helper()
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal(raw, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("EXPLAIN output: %v\n%s", err, raw)
	}
	return plans[0].Plan
}

// recipeAccess summarises how a plan reads recipes: its scan nodes on the
// recipes table and the indexes they use.
func recipeAccess(p planNode) (seqScan bool, access []string) {
	p.walk(func(n planNode) {
		switch {
		case n.NodeType == "Seq Scan" && n.RelationName == "recipes":
			seqScan = true
			access = append(access, "Seq Scan on recipes")
		case n.IndexName != "":
			access = append(access, n.NodeType+" "+n.IndexName)
		case n.NodeType == "Seq Scan":
			access = append(access, "Seq Scan on "+n.RelationName)
		}
	})
	return seqScan, access
}

func intp(n int) *int { return &n }

// TestListRecipesPlansUseIndexes plans ListRecipes' statement on a
// 10,000-recipe catalogue and fails when a filter that should narrow the
// search through an index reads the whole recipes table instead. Filters
// that match a large part of the catalogue may rightly scan it; they are
// logged, not checked. Timings are logged for the record, not checked.
func TestListRecipesPlansUseIndexes(t *testing.T) {
	db := testdb.Postgres(t)
	rs := generatedRecipes(10_000, 42, now())
	// One user in a hundred keeps a few private recipes; one of them is
	// the viewer below.
	var owners []string
	for range 20 {
		owners = append(owners, mustCreateUser(t, db, now(), nil).ID)
	}
	for i := 0; i < len(rs); i += 50 {
		rs[i].OwnerID, rs[i].Published = owners[i%len(owners)], false
	}
	user := mealsync.Viewer{UserID: owners[0]}
	admin := mealsync.Viewer{UserID: uuid.NewString(), Admin: true}
	private := false
	start := time.Now()
	if err := db.CreateRecipes(t.Context(), rs...); err != nil {
		t.Fatalf("CreateRecipes: %v", err)
	}
	t.Logf("CreateRecipes: 10,000 recipes in %v", time.Since(start))
	if _, err := db.SQL().ExecContext(t.Context(), "ANALYZE"); err != nil {
		t.Fatal(err)
	}

	allFilters := mealsync.RecipeFilter{
		Name: "chicken", Cuisines: []string{"Thai", "italian", "Indian"}, Tags: []string{"Vegetarian", "quick"},
		Ingredients: []string{"garlic", "onion"}, Difficulty: "easy",
		MaxTotalTime: intp(120), MinServings: intp(2), Limit: 20,
	}
	tests := []struct {
		name   string
		filter mealsync.RecipeFilter
		// indexed: a Seq Scan on recipes fails the test.
		indexed bool
	}{
		{"all filters", allFilters, true},
		{"name", mealsync.RecipeFilter{Name: "salmon", Limit: 20}, true},
		{"cuisine", mealsync.RecipeFilter{Cuisines: []string{"korean"}, Limit: 20}, true},
		{"tag", mealsync.RecipeFilter{Tags: []string{"picnic"}, Limit: 20}, true},
		{"ingredient", mealsync.RecipeFilter{Ingredients: []string{"saffron"}, Limit: 20}, true},
		{"difficulty", mealsync.RecipeFilter{Difficulty: "HARD", Limit: 20}, true},
		{"max total time", mealsync.RecipeFilter{MaxTotalTime: intp(10), Limit: 20}, true},
		{"min servings", mealsync.RecipeFilter{MinServings: intp(11), Limit: 20}, true},
		{"name and cuisine", mealsync.RecipeFilter{Name: "chicken", Cuisines: []string{"Thai"}, Limit: 20}, true},
		{"cuisine and difficulty", mealsync.RecipeFilter{Cuisines: []string{"Greek"}, Difficulty: "medium", Limit: 20}, true},
		{"difficulty and max total time", mealsync.RecipeFilter{Difficulty: "easy", MaxTotalTime: intp(30), Limit: 20}, true},
		{"common tag", mealsync.RecipeFilter{Tags: []string{"vegetarian"}, Limit: 20}, false},
		{"common ingredient", mealsync.RecipeFilter{Ingredients: []string{"garlic"}, Limit: 20}, false},
		{"common difficulty", mealsync.RecipeFilter{Difficulty: "EASY", Limit: 20}, false},
		{"none", mealsync.RecipeFilter{Limit: 20}, false},
		{"none, deep page", mealsync.RecipeFilter{Offset: 9000, Limit: 20}, false},
		{"all filters, as a user", func() mealsync.RecipeFilter { f := allFilters; f.Viewer = user; return f }(), true},
		{"name, as a user", mealsync.RecipeFilter{Name: "salmon", Viewer: user, Limit: 20}, true},
		{"a user's private recipes", mealsync.RecipeFilter{Viewer: user, Published: &private, Limit: 20}, true},
		{"every private recipe, for an admin", mealsync.RecipeFilter{Viewer: admin, Published: &private, Limit: 20}, true},
		{"none, as a user", mealsync.RecipeFilter{Viewer: user, Limit: 20}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq, access := recipeAccess(explainListRecipes(t, db, tt.filter))
			t.Logf("plan: %s", strings.Join(access, "; "))
			if seq && tt.indexed {
				t.Errorf("the plan reads all of recipes: %s", strings.Join(access, "; "))
			}
			const runs = 200
			start := time.Now()
			var page mealsync.Page[*mealsync.Recipe]
			for range runs {
				var err error
				if page, err = db.ListRecipes(t.Context(), tt.filter); err != nil {
					t.Fatalf("ListRecipes: %v", err)
				}
			}
			t.Logf("%d of %d matches, %v per call", len(page.Items), page.Total, time.Since(start)/runs)
		})
	}
	for who, v := range map[string]mealsync.Viewer{"anonymous": {}, "a user": user} {
		t.Run("all filters, generic plan, "+who, func(t *testing.T) {
			f := allFilters
			f.Viewer = v
			seq, access := recipeAccess(explainGenericListRecipes(t, db, f))
			t.Logf("plan: %s", strings.Join(access, "; "))
			if seq {
				t.Errorf("the generic plan reads all of recipes: %s", strings.Join(access, "; "))
			}
		})
	}
}
