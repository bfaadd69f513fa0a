package ranking

import (
	"slices"
	"strings"

	"github.com/mealsync/mealsync"
)

// diet is one dietary restriction: the tags that vouch for a recipe, and the
// ingredient words that break it when no such tag is there.
type diet struct {
	// tags that satisfy the restriction outright (a vegan recipe is also
	// vegetarian and dairy-free). Catalogue tags are trustworthy.
	tags []string
	// forbidden phrases: an ingredient containing one breaks the diet…
	forbidden [][]string
	// …unless that occurrence lies inside one of these (coconut milk for
	// dairy-free, rice noodle for gluten-free)…
	except [][]string
	// …or the ingredient says it is made for the diet ("vegan butter",
	// "gluten-free soy sauce").
	qualifiers [][]string
	// maxCarbs, when > 0, also caps carbohydrates per serving (keto).
	maxCarbs float64
}

// Word lists. Phrases are written as people write them and go through
// words(), so plurals and hyphens need no second spelling.
var (
	landMeat = []string{
		"meat", "meatball", "meatloaf", "chicken", "beef", "pork", "lamb", "mutton", "veal",
		"venison", "goat", "rabbit", "duck", "goose", "turkey", "quail", "pheasant", "bacon", "ham",
		"hamburger", "prosciutto", "pancetta", "guanciale", "salami", "pepperoni", "chorizo",
		"sausage", "hot dog", "frankfurter", "black pudding", "liver", "foie gras", "oxtail",
		"tripe", "steak", "brisket", "sirloin", "ribeye", "bone broth", "bone marrow",
	}
	// Not meat although a word of it is: plants, goat's milk, eggs, and fish
	// steaks (for pescatarians).
	plantNamedLikeMeat = []string{"oyster mushroom", "cauliflower steak", "mushroom steak"}
	landMeatExceptions = join(plantNamedLikeMeat, []string{
		"goat cheese", "goat milk", "goat yogurt", "duck egg", "quail egg", "goose egg", "tuna steak", "salmon steak", "swordfish steak",
		"fish steak",
	})
	animalFat = []string{"lard", "suet", "tallow", "gelatin", "gelatine", "rennet"}
	fish      = []string{
		"fish", "anchovy", "sardine", "mackerel", "cod", "haddock", "salmon", "tuna", "trout",
		"tilapia", "catfish", "halibut", "snapper", "sea bass", "herring", "pollock", "swordfish",
		"eel", "roe", "caviar", "bonito", "katsuobushi", "dashi", "worcestershire",
	}
	shellfish = []string{
		"seafood", "shellfish", "shrimp", "prawn", "crab", "lobster", "crayfish", "langoustine",
		"clam", "mussel", "oyster", "scallop", "squid", "octopus", "calamari", "cuttlefish",
		// Thai curry pastes are made with shrimp paste.
		"red curry paste", "green curry paste", "yellow curry paste", "massaman curry paste",
		"panang curry paste", "thai curry paste",
	}
	seafoodExceptions = []string{"oyster mushroom", "kombu dashi", "shiitake dashi"}
	dairy             = []string{
		"dairy", "milk", "buttermilk", "cheese", "cheesecake", "paneer", "ricotta", "mozzarella",
		"parmesan", "parmigiano", "pecorino", "feta", "halloumi", "mascarpone", "gruyere",
		"cheddar", "brie", "camembert", "gouda", "emmental", "gorgonzola", "queso", "butter",
		"ghee", "cream", "creme fraiche", "yogurt", "yoghurt", "curd", "whey", "casein", "lactose",
		"kefir", "custard",
	}
	dairyExceptions = []string{
		"coconut milk", "oat milk", "almond milk", "soy milk", "soya milk", "rice milk",
		"cashew milk", "hemp milk", "pea milk", "coconut cream", "cashew cream", "cream of tartar",
		"coconut yogurt", "soy yogurt", "oat yogurt", "bean curd", "butter bean", "butter lettuce",
		"peanut butter", "almond butter", "cashew butter", "nut butter", "cocoa butter",
		"shea butter", "apple butter", "sunflower butter", "seed butter",
	}
	eggAndHoney = []string{
		"egg", "mayonnaise", "mayo", "aioli", "meringue", "brioche", "ladyfinger", "honey",
		"bee pollen",
	}
	gluten = []string{
		"wheat", "gluten", "flour", "bread", "breadcrumb", "shortbread", "flatbread", "crouton",
		"panko", "pasta", "spaghetti", "macaroni", "penne", "linguine", "fettuccine",
		"tagliatelle", "lasagne", "lasagna", "ditalini", "orzo", "rigatoni", "fusilli",
		"farfalle", "gnocchi", "ravioli", "tortellini", "vermicelli", "noodle", "udon", "ramen",
		"soba", "couscous", "bulgur", "barley", "rye", "spelt", "farro", "semolina", "seitan",
		"freekeh", "kamut", "durum", "soy sauce", "hoisin", "malt", "beer", "ale", "lager",
		"stout", "tortilla", "pita", "naan", "chapati", "roti", "paratha", "baguette",
		"ciabatta", "brioche", "sourdough", "focaccia", "bagel", "croissant", "muffin", "bun",
		"cracker", "biscuit", "cookie", "cake", "pastry", "filo", "phyllo", "pie crust", "dough",
		"wonton", "breadstick", "pretzel", "roux",
	}
	glutenExceptions = []string{
		"rice flour", "corn flour", "chickpea flour", "gram flour", "almond flour",
		"coconut flour", "buckwheat flour", "tapioca flour", "potato flour", "cassava flour",
		"sorghum flour", "teff flour", "millet flour", "quinoa flour", "arrowroot flour",
		"rice noodle", "glass noodle", "cellophane noodle", "mung bean noodle",
		"kelp noodle", "shirataki noodle", "sweet potato noodle", "rice vermicelli",
		"rice pasta", "chickpea pasta", "lentil pasta", "corn pasta", "corn tortilla",
		"rice cake", "rice cracker", "rice paper", "ginger ale",
	}
	nuts = []string{
		"nut", "almond", "peanut", "groundnut", "cashew", "walnut", "pecan", "pistachio",
		"hazelnut", "macadamia", "pignoli", "praline", "marzipan", "frangipane", "nougat",
		"nutella", "gianduja", "satay", "pesto", "amaretto", "amaretti",
	}
	alcohol = []string{
		"alcohol", "wine", "beer", "ale", "lager", "stout", "cider", "rum", "brandy", "cognac",
		"vodka", "gin", "whisky", "whiskey", "bourbon", "tequila", "mezcal", "sake", "mirin",
		"soju", "sherry", "marsala", "vermouth", "liqueur", "kirsch", "amaretto", "champagne",
		"prosecco", "calvados", "armagnac", "schnapps", "mead", "triple sec", "grand marnier",
		"kahlua",
	}
	alcoholExceptions = []string{
		"wine vinegar", "cider vinegar", "sherry vinegar", "champagne vinegar", "ginger ale",
	}
	pork = []string{
		"pork", "bacon", "ham", "hamburger", "prosciutto", "pancetta", "guanciale", "salami",
		"pepperoni", "chorizo", "sausage", "black pudding", "lard", "gelatin", "gelatine",
	}
	porkExceptions = []string{
		"chicken sausage", "beef sausage", "lamb sausage", "turkey sausage",
		"vegetarian sausage", "vegan sausage",
	}
	starches = []string{
		"rice", "pasta", "spaghetti", "noodle", "bread", "potato", "flour", "tortilla",
		"couscous", "oat", "quinoa",
	}
	starchExceptions = []string{
		"almond flour", "coconut flour", "cauliflower rice", "shirataki noodle", "rice vinegar",
		"rice wine",
	}
)

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var meatFreeQualifiers = phrases("vegetarian", "vegan", "veggie", "meatless", "meat free", "plant based")

// diets, keyed by canonical name (the tag that vouches for it).
var diets = map[string]*diet{
	"vegetarian": {
		tags:       []string{"vegetarian", "vegan"},
		forbidden:  phrases(join(landMeat, animalFat, fish, shellfish)...),
		except:     phrases(join(landMeatExceptions, seafoodExceptions)...),
		qualifiers: meatFreeQualifiers,
	},
	"vegan": {
		tags:       []string{"vegan"},
		forbidden:  phrases(join(landMeat, animalFat, fish, shellfish, dairy, eggAndHoney)...),
		except:     phrases(join(plantNamedLikeMeat, seafoodExceptions, dairyExceptions)...),
		qualifiers: phrases("vegan", "plant based"),
	},
	"pescatarian": {
		tags:       []string{"pescatarian", "vegetarian", "vegan"},
		forbidden:  phrases(join(landMeat, animalFat)...),
		except:     phrases(landMeatExceptions...),
		qualifiers: meatFreeQualifiers,
	},
	"gluten-free": {
		tags:       []string{"gluten-free"},
		forbidden:  phrases(gluten...),
		except:     phrases(glutenExceptions...),
		qualifiers: phrases("gluten free"),
	},
	"dairy-free": {
		tags:       []string{"dairy-free", "vegan"},
		forbidden:  phrases(dairy...),
		except:     phrases(dairyExceptions...),
		qualifiers: phrases("dairy free", "lactose free", "non dairy", "vegan", "plant based"),
	},
	"nut-free": {
		tags:       []string{"nut-free"},
		forbidden:  phrases(nuts...),
		qualifiers: phrases("nut free"),
	},
	"keto": {
		tags:       []string{"keto", "low-carb"},
		forbidden:  phrases(starches...),
		except:     phrases(starchExceptions...),
		qualifiers: phrases("keto", "low carb"),
		maxCarbs:   20,
	},
	"halal": {
		tags:       []string{"halal"},
		forbidden:  phrases(join(pork, alcohol)...),
		except:     phrases(join(porkExceptions, alcoholExceptions)...),
		qualifiers: phrases("halal", "alcohol free", "non alcoholic"),
	},
}

// restrictionNames maps how people write a restriction (after words() and
// joining with spaces) to the canonical diet.
var restrictionNames = map[string]string{
	"vegetarian": "vegetarian", "veggie": "vegetarian", "ovo lacto vegetarian": "vegetarian",
	"lacto ovo vegetarian": "vegetarian", "no meat": "vegetarian",
	"vegan": "vegan", "plant based": "vegan",
	"pescatarian": "pescatarian", "pescetarian": "pescatarian",
	"gluten free": "gluten-free", "no gluten": "gluten-free", "gluten intolerant": "gluten-free",
	"gluten intolerance": "gluten-free", "celiac": "gluten-free", "coeliac": "gluten-free",
	"dairy free": "dairy-free", "no dairy": "dairy-free", "lactose free": "dairy-free",
	"lactose intolerant": "dairy-free", "lactose intolerance": "dairy-free",
	"dairy allergy": "dairy-free", "milk allergy": "dairy-free", "non dairy": "dairy-free",
	"nut free": "nut-free", "nut allergy": "nut-free", "no nut": "nut-free",
	"tree nut allergy": "nut-free", "peanut allergy": "nut-free", "peanut free": "nut-free",
	"keto": "keto", "ketogenic": "keto", "low carb": "keto",
	"halal": "halal",
}

// noRestriction are entries that mean "nothing": dropped, never reported.
var noRestriction = map[string]bool{"": true, "none": true, "no": true, "n a": true, "na": true, "nothing": true}

// lookupDiet returns the diet a restriction string names, or nil.
func lookupDiet(s string) *diet {
	return diets[restrictionNames[strings.Join(words(s), " ")]]
}

// UnknownRestrictions returns the restrictions in p that no rule knows, as
// written, so the API can warn that they are not enforced. Blank entries and
// "None" are not reported.
func UnknownRestrictions(p mealsync.Preferences) []string {
	var out []string
	for _, s := range p.DietaryRestrictions {
		if lookupDiet(s) == nil && !noRestriction[strings.Join(words(s), " ")] {
			out = append(out, s)
		}
	}
	return out
}

// Allowed reports whether a user with preferences p may be offered r: no
// ingredient is one the user dislikes, and r satisfies every known dietary
// restriction. Unknown restrictions are ignored (see UnknownRestrictions).
//
// A restriction is satisfied when r carries a tag that vouches for it (tags
// of catalogue recipes are trustworthy; see ContradictedTags for recipes whose
// tags are only claims) or, lacking one, when no ingredient contains a
// forbidden word. To check many recipes for one user, make a Filter once.
func Allowed(r *mealsync.Recipe, p mealsync.Preferences) bool {
	return NewFilter(p).Allows(r)
}

// A Filter is Allowed for one user's preferences, with their dislikes and
// diets looked up once rather than for every recipe: recommendations,
// today's picks, plans and generation check hundreds of recipes a request
// (a tenth of an instance's CPU under the load test's mix, docs/BENCHMARKS.md).
type Filter struct {
	dislikes []dislike
	diets    []*diet
}

type dislike struct {
	words    []string
	category *diet // a family of foods ("nuts"), or nil
}

// NewFilter prepares p's dislikes and known dietary restrictions.
func NewFilter(p mealsync.Preferences) *Filter {
	f := &Filter{}
	for _, d := range p.DislikedIngredients {
		w := words(NormalizeIngredient(d))
		if len(w) > 0 {
			f.dislikes = append(f.dislikes, dislike{words: w, category: dislikeCategories[strings.Join(w, " ")]})
		}
	}
	for _, s := range p.DietaryRestrictions {
		if d := lookupDiet(s); d != nil {
			f.diets = append(f.diets, d)
		}
	}
	return f
}

// Allows is Allowed(r, p) for the preferences f was made from.
func (f *Filter) Allows(r *mealsync.Recipe) bool {
	if r == nil {
		return false
	}
	if len(f.dislikes) == 0 && len(f.diets) == 0 {
		return true
	}
	// The diets r's tags do not vouch for must find no forbidden
	// ingredient (nor too many carbohydrates).
	var buf [8]*diet
	unvouched := buf[:0]
	for _, d := range f.diets {
		if d.vouchedBy(r.Tags) {
			continue
		}
		if d.maxCarbs > 0 && r.Carbohydrates > d.maxCarbs {
			return false
		}
		unvouched = append(unvouched, d)
	}
	for _, in := range r.Ingredients {
		ing := words(in.Name)
		for _, d := range f.dislikes {
			if containsPhrase(ing, d.words) || d.category != nil && d.category.breaksIngredient(ing) {
				return false
			}
		}
		for _, d := range unvouched {
			if d.breaksIngredient(ing) {
				return false
			}
		}
	}
	return true
}

// ContradictedTags returns r's diet tags that its own ingredients break: a
// "vegan" tag on a recipe with honey. Tags written by a model or a user are
// claims; callers drop these before storing, so that Allowed can trust the
// tags that remain.
func ContradictedTags(r *mealsync.Recipe) []string {
	ings := ingredientWords(r)
	var out []string
	for _, t := range r.Tags {
		if d := lookupDiet(t); d != nil && d.brokenBy(r, ings) {
			out = append(out, t)
		}
	}
	return out
}

// vouchedBy reports whether one of tags, in canonical form ("Gluten Free"
// → "gluten-free"), is one of d's.
func (d *diet) vouchedBy(tags []string) bool {
	for _, t := range tags {
		if slices.Contains(d.tags, canonicalTag(t)) {
			return true
		}
	}
	return false
}

// canonicalTag is a tag's words joined by hyphens, remembered.
func canonicalTag(t string) string {
	return canonicalTags.get(t, func(t string) string { return strings.Join(words(t), "-") })
}

var canonicalTags memo[string]

// brokenBy reports whether r's ingredients (or its carbohydrates) break d.
func (d *diet) brokenBy(r *mealsync.Recipe, ings [][]string) bool {
	if d.maxCarbs > 0 && r.Carbohydrates > d.maxCarbs {
		return true
	}
	for _, ing := range ings {
		if d.breaksIngredient(ing) {
			return true
		}
	}
	return false
}

func (d *diet) breaksIngredient(ing []string) bool {
	for _, q := range d.qualifiers {
		if containsPhrase(ing, q) {
			return false
		}
	}
	// Mask the words that sit inside an allowed phrase, then look for a
	// forbidden phrase that touches no masked word.
	var buf [32]bool
	masked := buf[:0]
	if len(ing) <= len(buf) {
		masked = buf[:len(ing)]
	} else {
		masked = make([]bool, len(ing))
	}
	for _, e := range d.except {
		for i := phraseAt(ing, e, 0); i >= 0; i = phraseAt(ing, e, i+1) {
			for j := range e {
				masked[i+j] = true
			}
		}
	}
	for _, f := range d.forbidden {
	occurrence:
		for i := phraseAt(ing, f, 0); i >= 0; i = phraseAt(ing, f, i+1) {
			for j := range f {
				if masked[i+j] {
					continue occurrence
				}
			}
			return true
		}
	}
	return false
}

// dislikeCategories widen a disliked word that names a family of foods: a
// user who dislikes "nuts" dislikes almonds too; one who dislikes "fish"
// dislikes salmon. Other dislikes match as whole words (and their plurals).
var dislikeCategories = map[string]*diet{
	"nut":       {forbidden: phrases(nuts...)},
	"fish":      {forbidden: phrases(fish...), except: phrases(seafoodExceptions...)},
	"shellfish": {forbidden: phrases(shellfish...), except: phrases(seafoodExceptions...)},
	"seafood":   {forbidden: phrases(join(fish, shellfish)...), except: phrases(seafoodExceptions...)},
	"meat":      {forbidden: phrases(landMeat...), except: phrases(landMeatExceptions...)},
	"dairy":     {forbidden: phrases(dairy...), except: phrases(dairyExceptions...)},
	"alcohol":   {forbidden: phrases(alcohol...), except: phrases(alcoholExceptions...)},
}

func ingredientWords(r *mealsync.Recipe) [][]string {
	out := make([][]string, len(r.Ingredients))
	for i, ing := range r.Ingredients {
		out[i] = words(ing.Name)
	}
	return out
}
