package ranking

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mealsync/mealsync"
)

// recipe builds a test recipe from ingredient names.
func recipe(tags []string, ingredients ...string) *mealsync.Recipe {
	r := &mealsync.Recipe{ID: "x", Name: "Test", Cuisine: "Test", Tags: tags, Carbohydrates: 10}
	for _, n := range ingredients {
		r.Ingredients = append(r.Ingredients, mealsync.Ingredient{Name: n, Quantity: "1"})
	}
	return r
}

func TestAllowedDisliked(t *testing.T) {
	for _, tc := range []struct {
		disliked   string
		ingredient string
		want       bool
	}{
		{"egg", "eggplant", true},
		{"egg", "egg yolk", false},
		{"Eggs", "egg", false},
		{"nut", "ground nutmeg", true},
		{"nut", "coconut milk", true},
		{"nuts", "pine nut", false},
		{"nuts", "flaked almond", false}, // "nuts" is a family of foods
		{"peanut", "peanut butter", false},
		{"peanut", "pine nut", true},
		{"tomatoes", "cherry tomato", false},
		{"tomato", "tomatillo", true},
		{"Mushrooms", "shiitake mushroom", false},
		{"fish", "salmon fillet", false},
		{"fish", "raw prawn", true},
		{"seafood", "raw prawn", false},
		{"cilantro", "chopped cilantro", false},
		{"fresh cilantro", "cilantro", false},
		{"ham", "graham cracker", true},
		{"ham", "parma ham", false},
		{"dairy", "coconut milk", true},
		{"dairy", "whole milk", false},
		{"  ", "anything", true},
	} {
		p := mealsync.Preferences{DislikedIngredients: []string{tc.disliked}}
		if got := Allowed(recipe(nil, "salt", tc.ingredient), p); got != tc.want {
			t.Errorf("disliking %q, ingredient %q: Allowed = %v, want %v", tc.disliked, tc.ingredient, got, tc.want)
		}
	}
}

func TestAllowedRestrictions(t *testing.T) {
	for _, tc := range []struct {
		restriction string
		ingredient  string
		want        bool
	}{
		{"vegetarian", "eggplant", true},
		{"vegetarian", "egg", true},
		{"vegetarian", "fish sauce", false},
		{"vegetarian", "chicken stock", false},
		{"vegetarian", "gelatin sheet", false},
		{"vegetarian", "oyster mushroom", true},
		{"vegetarian", "oyster sauce", false},
		{"vegetarian", "green curry paste", false},
		{"vegetarian", "vegan red curry paste", true},
		{"vegetarian", "vegetarian refried bean", true},
		{"vegetarian", "chickpeas", true},
		{"vegetarian", "blood orange", true},
		{"vegetarian", "goat's cheese", true},
		{"vegan", "coconut milk", true},
		{"vegan", "honey", false},
		{"vegan", "whole milk", false},
		{"vegan", "eggs", false},
		{"vegan", "japanese mayonnaise", false},
		{"vegan", "peanut butter", true},
		{"vegan", "butter beans", true},
		{"vegan", "goat cheese", false},
		{"vegan", "vegan butter", true},
		{"dairy-free", "almond milk", true},
		{"dairy-free", "oat milk", true},
		{"dairy-free", "peanut butter", true},
		{"dairy-free", "unsalted butter", false},
		{"dairy-free", "heavy cream", false},
		{"dairy-free", "greek yogurt", false},
		{"dairy-free", "feta", false},
		{"dairy-free", "egg", true},
		{"Lactose intolerant", "parmesan cheese", false},
		{"nut-free", "almond milk", false},
		{"nut-free", "ground nutmeg", true},
		{"nut-free", "coconut", true},
		{"nut-free", "butternut squash", true},
		{"nut-free", "pine nuts", false},
		{"nut allergy", "roasted peanuts", false},
		{"nut allergy", "basil pesto", false},
		{"gluten-free", "buckwheat", true},
		{"gluten-free", "buckwheat flour", true},
		{"gluten-free", "rice noodles", true},
		{"gluten-free", "flat rice noodle", true},
		{"gluten-free", "tamari", true},
		{"gluten-free", "corn tortilla", true},
		{"gluten-free", "rice flour", true},
		{"gluten-free", "chickpea flour", true},
		{"gluten-free", "almond flour", true},
		{"gluten-free", "gluten-free soy sauce", true},
		{"gluten-free", "soy sauce", false},
		{"gluten-free", "large flour tortilla", false},
		{"gluten-free", "plain flour", false},
		{"gluten-free", "couscous", false},
		{"gluten-free", "fine bulgur wheat", false},
		{"gluten-free", "breadcrumbs", false},
		{"gluten-free", "udon noodle", false},
		{"Gluten Free", "barley", false},
		{"pescatarian", "salmon fillet", true},
		{"pescatarian", "tuna steak", true},
		{"pescatarian", "smoked bacon", false},
		{"halal", "pork belly", false},
		{"halal", "dry white wine", false},
		{"halal", "mirin", false},
		{"halal", "red wine vinegar", true},
		{"halal", "chicken thigh", true},
		{"halal", "chicken sausage", true},
		{"keto", "russet potato", false},
		{"low-carb", "cauliflower rice", true},
		{"paleo", "sugar", true}, // unknown restrictions are not enforced
	} {
		p := mealsync.Preferences{DietaryRestrictions: []string{tc.restriction}}
		if got := Allowed(recipe(nil, "salt", tc.ingredient), p); got != tc.want {
			t.Errorf("%s with %q: Allowed = %v, want %v", tc.restriction, tc.ingredient, got, tc.want)
		}
	}
}

func TestAllowedTrustsTags(t *testing.T) {
	for _, tc := range []struct {
		restriction string
		tags        []string
		ingredient  string
		want        bool
	}{
		// Worcestershire sauce holds anchovies, but a catalogue tag is trusted.
		{"vegetarian", []string{"vegetarian"}, "worcestershire sauce", true},
		{"vegetarian", nil, "worcestershire sauce", false},
		{"vegetarian", []string{"vegan"}, "worcestershire sauce", true},
		{"dairy-free", []string{"Vegan"}, "butter", true},
		{"pescatarian", []string{"vegetarian"}, "bacon", true},
		{"nut-free", []string{"vegan"}, "peanut", false}, // vegan says nothing about nuts
		{"keto", []string{"low-carb"}, "potato", true},
		{"gluten free", []string{"Gluten Free"}, "soy sauce", true},
	} {
		p := mealsync.Preferences{DietaryRestrictions: []string{tc.restriction}}
		if got := Allowed(recipe(tc.tags, tc.ingredient), p); got != tc.want {
			t.Errorf("%s, tags %v, %q: Allowed = %v, want %v", tc.restriction, tc.tags, tc.ingredient, got, tc.want)
		}
	}
}

func TestAllowedKetoCapsCarbohydrates(t *testing.T) {
	r := recipe(nil, "chicken thigh", "broccoli")
	p := mealsync.Preferences{DietaryRestrictions: []string{"keto"}}
	r.Carbohydrates = 12
	if !Allowed(r, p) {
		t.Error("12 g of carbohydrates per serving should be keto")
	}
	r.Carbohydrates = 45
	if Allowed(r, p) {
		t.Error("45 g of carbohydrates per serving should not be keto")
	}
}

func TestAllowedNilRecipe(t *testing.T) {
	if Allowed(nil, mealsync.Preferences{}) {
		t.Error("a nil recipe is allowed")
	}
}

func TestUnknownRestrictions(t *testing.T) {
	p := mealsync.Preferences{DietaryRestrictions: []string{
		"Vegan", "paleo", "None", "", "Egg allergy", "lactose-intolerant", "Gluten_free", "Low Carb", "nut allergy", "HALAL", "Pescetarian",
	}}
	got := UnknownRestrictions(p)
	if want := []string{"paleo", "Egg allergy"}; !slices.Equal(got, want) {
		t.Errorf("UnknownRestrictions = %q, want %q", got, want)
	}
}

func TestContradictedTags(t *testing.T) {
	r := recipe([]string{"vegan", "Gluten-Free", "quick", "nut-free", "low-carb"}, "tofu", "honey", "soy sauce", "broccoli")
	r.Carbohydrates = 35
	got := ContradictedTags(r)
	if want := []string{"vegan", "Gluten-Free", "low-carb"}; !slices.Equal(got, want) {
		t.Errorf("ContradictedTags = %q, want %q", got, want)
	}
}

// forbiddenForTest are independent of the package's lists: a regular
// expression per restriction, written from what the diets mean, and phrases
// to blank out first because they are fine.
var forbiddenForTest = map[string]struct {
	bad  *regexp.Regexp
	okay []string
}{
	"vegetarian": {regexp.MustCompile(`\b(meat|chicken|beef|pork|lamb|veal|bacon|ham|guanciale|sausage|chorizo|turkey|duck|fish|anchov\w*|salmon|tuna|cod|haddock|catfish|shrimp|prawns?|clams?|mussels?|squid|oyster|gelatin|dashi|bonito)\b`), []string{"oyster mushroom"}},
	"vegan":      {regexp.MustCompile(`\b(meat|chicken|beef|pork|lamb|bacon|ham|fish|anchov\w*|shrimp|prawns?|gelatin|egg|eggs|egg yolk|honey|milk|buttermilk|cheese|butter|cream|yogurt|ghee|mayonnaise|paneer)\b`), []string{"coconut milk", "oat milk", "peanut butter", "coconut cream", "cream of tartar"}},
	"gluten-free": {regexp.MustCompile(`\b(wheat|flour|bread|breadcrumbs?|pasta|spaghetti|noodles?|soy sauce|couscous|barley|semolina|bulgur|tortilla|pita|baguette|biscuit|pastry|beer|ale|udon|ramen|panko|lasagne)\b`),
		[]string{"rice flour", "chickpea flour", "corn tortilla", "rice noodle", "glass noodle", "rice vermicelli", "gluten-free"}},
	"dairy-free": {regexp.MustCompile(`\b(milk|buttermilk|cheese|butter|cream|yogurt|ghee|paneer)\b`), []string{"coconut milk", "oat milk", "almond milk", "peanut butter", "coconut cream"}},
	"nut-free":   {regexp.MustCompile(`\b(nuts?|almonds?|peanuts?|cashews?|walnuts?|pecans?|pistachios?|hazelnuts?|pine nuts?|peanut butter)\b`), nil},
}

func violates(r *mealsync.Recipe, restriction string) string {
	f := forbiddenForTest[restriction]
	for _, ing := range r.Ingredients {
		name := strings.ToLower(ing.Name)
		for _, ok := range f.okay {
			name = strings.ReplaceAll(name, ok, "")
		}
		if m := f.bad.FindString(name); m != "" {
			return ing.Name
		}
	}
	return ""
}

// Every restriction, on the real catalogue: no allowed recipe breaks it by an
// independent check, every recipe the catalogue tags for it is allowed, and
// the rule does exclude something.
func TestAllowedOnCatalogue(t *testing.T) {
	catalogue := loadCatalog(t)
	for restriction := range forbiddenForTest {
		t.Run(restriction, func(t *testing.T) {
			p := mealsync.Preferences{DietaryRestrictions: []string{restriction}}
			allowed := 0
			for _, r := range catalogue {
				if !Allowed(r, p) {
					if slices.Contains(r.Tags, restriction) {
						t.Errorf("%q is tagged %s but not allowed", r.Name, restriction)
					}
					continue
				}
				allowed++
				if bad := violates(r, restriction); bad != "" {
					t.Errorf("%q is allowed for %s but has %q", r.Name, restriction, bad)
				}
			}
			if allowed == 0 || allowed == len(catalogue) {
				t.Errorf("%d of %d recipes allowed: the rule filters nothing or everything", allowed, len(catalogue))
			}
		})
	}
}

func TestAllowedDislikedOnCatalogue(t *testing.T) {
	catalogue := loadCatalog(t)
	p := mealsync.Preferences{DislikedIngredients: []string{"Eggs", "garlic"}}
	egg := regexp.MustCompile(`\beggs?\b`)
	allowed, eggplant := 0, 0
	for _, r := range catalogue {
		if !Allowed(r, p) {
			continue
		}
		allowed++
		for _, ing := range r.Ingredients {
			name := strings.ToLower(ing.Name)
			if egg.MatchString(name) || strings.Contains(name, "garlic") {
				t.Errorf("%q is allowed but has %q", r.Name, ing.Name)
			}
			if strings.Contains(name, "eggplant") {
				eggplant++
			}
		}
	}
	if allowed == 0 || allowed == len(catalogue) {
		t.Errorf("%d of %d recipes allowed", allowed, len(catalogue))
	}
	if eggplant == 0 {
		t.Error("disliking eggs removed every eggplant recipe")
	}
}
