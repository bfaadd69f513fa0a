package loadtest

import (
	"math/rand/v2"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/mealsync/mealsync/internal/catalog"
)

// Vocabulary is what users type and pick, weighted by how often it occurs in
// the starter catalogue: the cuisines, tags and ingredients of its recipes,
// and the words of their names. Drawn this way, queries are as diverse as
// real ones, not one query repeated into a cache: in the app's list cache
// (1,000 pages, LRU) they hit ~28 % of the time, near the ~22 % issue 11
// measured with another generator's realistic mix (TestQueriesAreDiverse).
type Vocabulary struct {
	Cuisines    weighted
	Tags        weighted
	NameTerms   weighted
	Ingredients weighted
}

// maxTimes are the choices of the app's "ready in" filter, in minutes.
var maxTimes = []int{15, 20, 30, 45, 60, 90, 120}

// nameStopWords are words of recipe names nobody searches for.
var nameStopWords = map[string]bool{
	"and": true, "with": true, "the": true, "alla": true, "con": true, "del": true, "della": true,
	"des": true, "aux": true, "la": true, "le": true, "de": true, "al": true, "in": true, "of": true,
}

// NewVocabulary builds the vocabulary from the starter catalogue.
func NewVocabulary() (*Vocabulary, error) {
	rs, err := catalog.Recipes(time.Time{})
	if err != nil {
		return nil, err
	}
	cuisines, tags, terms, ingredients := counter{}, counter{}, counter{}, counter{}
	for _, r := range rs {
		cuisines.add(r.Cuisine)
		for _, t := range r.Tags {
			tags.add(t)
		}
		for _, w := range strings.FieldsFunc(r.Name, func(c rune) bool { return !unicode.IsLetter(c) }) {
			w = strings.ToLower(w)
			if len([]rune(w)) >= 3 && !nameStopWords[w] {
				terms.add(w)
			}
		}
		for _, in := range r.Ingredients {
			ingredients.add(strings.ToLower(in.Name))
		}
	}
	return &Vocabulary{
		Cuisines: cuisines.weighted(), Tags: tags.weighted(),
		NameTerms: terms.weighted(), Ingredients: ingredients.weighted(),
	}, nil
}

// pageSize is the app's page: the API's default.
const pageSize = 20

// BrowseQuery is a catalogue page as the app's browse screen asks for it:
// each filter is set with the probability a user sets it (cuisines 60 %,
// tags 50 %, a maximum time 35 %, difficulty 15 %), values weighted by the
// catalogue, and a page that is the first half the time.
func (v *Vocabulary) BrowseQuery(r *rand.Rand) string {
	q := url.Values{}
	if r.Float64() < 0.6 {
		q.Set("cuisines", strings.Join(v.Cuisines.distinct(r, pick(r, 0.6, 0.3, 0.1)+1), ","))
	}
	if r.Float64() < 0.5 {
		q.Set("tags", strings.Join(v.Tags.distinct(r, pick(r, 0.7, 0.3)+1), ","))
	}
	if r.Float64() < 0.35 {
		q.Set("maxTotalTime", strconv.Itoa(maxTimes[r.IntN(len(maxTimes))]))
	}
	if r.Float64() < 0.15 {
		q.Set("difficulty", []string{"EASY", "MEDIUM", "HARD"}[pick(r, 0.6, 0.3, 0.1)])
	}
	q.Set("offset", strconv.Itoa(page(r, 0.5)*pageSize))
	q.Set("limit", strconv.Itoa(pageSize))
	return q.Encode()
}

// SearchQuery is a name search as typed: a word of a recipe name, cut short
// (at least 3 letters) 30 % of the time as a user still typing, capitalised
// 30 % of the time, narrowed to a cuisine 15 % of the time.
func (v *Vocabulary) SearchQuery(r *rand.Rand) string {
	term := []rune(v.NameTerms.draw(r))
	if len(term) > 3 && r.Float64() < 0.3 {
		term = term[:3+r.IntN(len(term)-3)]
	}
	if r.Float64() < 0.3 {
		term[0] = unicode.ToUpper(term[0])
	}
	q := url.Values{}
	q.Set("name", string(term))
	if r.Float64() < 0.15 {
		q.Set("cuisines", v.Cuisines.draw(r))
	}
	q.Set("offset", strconv.Itoa(page(r, 0.25)*pageSize))
	q.Set("limit", strconv.Itoa(pageSize))
	return q.Encode()
}

// GenerateIngredients are 2 to 6 ingredients at hand, common ones likelier.
func (v *Vocabulary) GenerateIngredients(r *rand.Rand) []string {
	return v.Ingredients.distinct(r, 2+r.IntN(5))
}

// diets are the restrictions the app offers, and how many users pick each.
var diets = []struct {
	name  string
	share float64
}{{"vegetarian", 0.15}, {"vegan", 0.05}, {"pescatarian", 0.04}, {"gluten-free", 0.08}, {"dairy-free", 0.06},
	{"nut-free", 0.05}, {"low-carb", 0.05}, {"halal", 0.04}}

// Preferences are a user's answers to the app's onboarding: 0 to 3
// favourite cuisines, the diets above at their shares, and 0 to 2 disliked
// ingredients (a third of users name some). They make recommendations,
// picks, plans and generation differ from user to user, as they do.
func (v *Vocabulary) Preferences(r *rand.Rand) map[string][]string {
	p := map[string][]string{
		"favoriteCuisines":    v.Cuisines.distinct(r, r.IntN(4)),
		"dietaryRestrictions": {},
		"dislikedIngredients": {},
	}
	for _, d := range diets {
		if r.Float64() < d.share {
			p["dietaryRestrictions"] = append(p["dietaryRestrictions"], d.name)
		}
	}
	if r.Float64() < 1.0/3 {
		p["dislikedIngredients"] = v.Ingredients.distinct(r, 1+r.IntN(2))
	}
	return p
}

// pick returns i with probability ps[i] (ps sums to 1).
func pick(r *rand.Rand, ps ...float64) int {
	x := r.Float64()
	for i, p := range ps {
		if x < p {
			return i
		}
		x -= p
	}
	return len(ps) - 1
}

// page is a page number: 0, then each further page with probability next,
// at most 10 (a user scrolling).
func page(r *rand.Rand, next float64) int {
	n := 0
	for n < 10 && r.Float64() < next {
		n++
	}
	return n
}

// counter counts occurrences.
type counter map[string]int

func (c counter) add(s string) {
	if s != "" {
		c[s]++
	}
}

// weighted returns the counted values, drawn in proportion to their counts.
func (c counter) weighted() weighted {
	var w weighted
	for v := range c {
		w.values = append(w.values, v)
	}
	sort.Strings(w.values) // a seed must draw the same values on every run
	total := 0
	for _, v := range w.values {
		total += c[v]
		w.cum = append(w.cum, total)
	}
	return w
}

// weighted is a set of values with integer weights.
type weighted struct {
	values []string
	cum    []int // cumulative weights
}

// Len is the number of distinct values.
func (w weighted) Len() int { return len(w.values) }

func (w weighted) draw(r *rand.Rand) string {
	x := r.IntN(w.cum[len(w.cum)-1])
	i := sort.Search(len(w.cum), func(i int) bool { return w.cum[i] > x })
	return w.values[i]
}

// distinct draws n different values (fewer if there are not so many).
func (w weighted) distinct(r *rand.Rand, n int) []string {
	n = min(n, len(w.values))
	out := make([]string, 0, n)
	for tries := 0; len(out) < n && tries < 20*n; tries++ {
		v := w.draw(r)
		dup := false
		for _, o := range out {
			dup = dup || o == v
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}
