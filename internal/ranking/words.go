// Package ranking decides which recipes a user may see and in what order:
// the diet rules (Allowed), the recommendation score (Recommend), the daily
// picks (TodayPicks) and the ingredient normalisation that recipe generation
// matches with (NormalizeIngredient, IngredientKey).
//
// It is pure: no I/O, no clock, no randomness. It imports only the domain
// package and the standard library — never a storage or HTTP adapter.
package ranking

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
)

// accents folds the accented letters that appear in food words, so that
// "crème fraîche" and "creme fraiche" are the same words.
var accents = strings.NewReplacer(
	"à", "a", "á", "a", "â", "a", "ä", "a", "ã", "a", "å", "a",
	"ç", "c", "è", "e", "é", "e", "ê", "e", "ë", "e",
	"ì", "i", "í", "i", "î", "i", "ï", "i", "ñ", "n",
	"ò", "o", "ó", "o", "ô", "o", "ö", "o", "õ", "o",
	"ù", "u", "ú", "u", "û", "u", "ü", "u", "ÿ", "y", "œ", "oe", "æ", "ae",
	"'", "", "’", "", // "goat's" → "goats" → "goat"
)

// words splits s into lower-case, singular words: "Cherry Tomatoes" →
// [cherry tomato], "gluten-free" → [gluten free]. Matching on whole words is
// what keeps "egg" out of "eggplant" and "nut" out of "nutmeg". The slice is
// shared between callers: never modify it.
func words(s string) []string {
	return splitWords.get(s, splitIntoWords)
}

// Recipes' ingredient names and tags are split into words, and normalised,
// for every candidate of every generation and diet check: the catalogue
// names a few thousand ingredients between its recipes, so both answers
// are remembered (a generation costs a quarter of what it did).
var (
	splitWords memo[[]string]
	normalized memo[string]
)

// memo remembers a pure function's answers, for up to maxRemembered
// arguments; past that (a flood of names typed by users) it computes
// without remembering.
type memo[V any] struct {
	m sync.Map // string → V
	n atomic.Int64
}

const maxRemembered = 100_000

func (c *memo[V]) get(s string, f func(string) V) V {
	if v, ok := c.m.Load(s); ok {
		return v.(V)
	}
	v := f(s)
	if c.n.Load() < maxRemembered {
		if _, loaded := c.m.LoadOrStore(strings.Clone(s), v); !loaded {
			c.n.Add(1)
		}
	}
	return v
}

func splitIntoWords(s string) []string {
	s = accents.Replace(strings.ToLower(s))
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || unicode.IsLetter(r))
	})
	for i, w := range fields {
		fields[i] = singular(w)
	}
	return fields
}

// irregular plurals, and words that end in "s" but are not plurals.
var irregular = map[string]string{
	"leaves": "leaf", "loaves": "loaf", "halves": "half", "calves": "calf",
	"knives": "knife", "shelves": "shelf",
	"chilies": "chili", "chillies": "chilli", "cookies": "cookie", "brownies": "brownie",
	"pies": "pie", "smoothies": "smoothie", "veggies": "veggie", "oxen": "ox",
	"molasses": "molasses", "species": "species", "series": "series",
	"quiches": "quiche", "brioches": "brioche",
}

// singular turns the simple English plurals of food words into the singular:
// tomatoes → tomato, eggs → egg, berries → berry, radishes → radish. Words
// ending in "ss", "us" or "is" (glass, couscous, hummus) are left alone.
func singular(w string) string {
	if s, ok := irregular[w]; ok {
		return s
	}
	if len(w) <= 3 || !strings.HasSuffix(w, "s") {
		return w
	}
	switch {
	case strings.HasSuffix(w, "ss"), strings.HasSuffix(w, "us"), strings.HasSuffix(w, "is"):
		return w
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "oes"), strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"),
		strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "xes"), strings.HasSuffix(w, "zes"):
		return w[:len(w)-2]
	}
	return w[:len(w)-1]
}

// descriptors say how an ingredient is prepared or sold, not what it is.
var descriptors = set(
	"fresh", "freshly", "chopped", "finely", "roughly", "coarsely", "thinly", "diced", "minced",
	"sliced", "grated", "shredded", "crushed", "peeled", "cubed", "halved", "quartered", "trimmed",
	"rinsed", "drained", "large", "small", "medium", "ripe", "organic", "raw", "frozen", "canned",
	"tinned", "boneless", "skinless", "ground", "lean", "optional",
)

// NormalizeIngredient reduces an ingredient as people write it to the words
// that name it: lower case, singular, without preparation words, quantities
// or trailing notes. "Fresh Tomatoes, chopped" → "tomato"; "2 Eggs" → "egg";
// "Basil Leaves (torn)" → "basil leaf". It returns "" for a blank name.
func NormalizeIngredient(s string) string {
	return normalized.get(s, normalizeIngredient)
}

func normalizeIngredient(s string) string {
	if i := strings.IndexAny(s, ",(;"); i >= 0 {
		s = s[:i]
	}
	all := words(s)
	kept := make([]string, 0, len(all))
	for _, w := range all {
		if !descriptors[w] && !isNumber(w) {
			kept = append(kept, w)
		}
	}
	if len(kept) == 0 { // "ground" alone is still an ingredient someone typed
		for _, w := range all {
			if !isNumber(w) {
				kept = append(kept, w)
			}
		}
	}
	return strings.Join(kept, " ")
}

// IngredientKey is the reference's duplicate-spotting key for a recipe name:
// trimmed, lower-cased, every character other than [a-z0-9] and whitespace
// removed, each run of whitespace replaced by "_". "Pad Thai (Easy)" →
// "pad_thai_easy". Accented letters are removed, not folded, as the
// reference did, so keys stored by either system agree.
func IngredientKey(name string) string {
	name = strings.ToLower(strings.TrimFunc(name, func(r rune) bool { return r <= ' ' }))
	var b strings.Builder
	inSpace := false
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if inSpace {
				b.WriteByte('_')
				inSpace = false
			}
			b.WriteRune(r)
		case isJavaSpace(r):
			inSpace = true
		}
	}
	if inSpace {
		b.WriteByte('_')
	}
	return b.String()
}

// isJavaSpace is Java's regex \s, which the reference used: ASCII whitespace.
func isJavaSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r'
}

func isNumber(w string) bool {
	for _, r := range w {
		if r < '0' || r > '9' {
			return false
		}
	}
	return w != ""
}

// containsPhrase reports whether phrase occurs in ws as consecutive words.
func containsPhrase(ws, phrase []string) bool {
	return phraseAt(ws, phrase, 0) >= 0
}

// phraseAt returns the first index ≥ from where phrase occurs in ws, or -1.
func phraseAt(ws, phrase []string, from int) int {
	if len(phrase) == 0 {
		return -1
	}
next:
	for i := from; i+len(phrase) <= len(ws); i++ {
		for j, p := range phrase {
			if ws[i+j] != p {
				continue next
			}
		}
		return i
	}
	return -1
}

// phrases turns a list of written phrases into word lists, once.
func phrases(list ...string) [][]string {
	out := make([][]string, 0, len(list))
	for _, s := range list {
		out = append(out, words(s))
	}
	return out
}

func set(list ...string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

// Covers reports whether having the ingredient have supplies a recipe's need,
// both as NormalizeIngredient returns them. The words of one must occur, in
// order, in the other's, and the longer name must still name the same food:
// it ends with the same word ("tomato" and "cherry tomato") or with a part of
// it ("chicken" and "chicken thigh", "egg" and "egg yolk"). So "egg" does not
// cover "eggplant", "rice" does not cover "rice vinegar", and "chicken stock"
// does not cover "chicken".
func Covers(have, need string) bool {
	return CoversWords(strings.Fields(have), strings.Fields(need))
}

// CoversWords is Covers for names already split into words
// (strings.Fields), for callers that compare one name with many.
func CoversWords(h, n []string) bool {
	short, long := h, n
	if len(h) > len(n) {
		short, long = n, h
	}
	if len(short) == 0 || !containsPhrase(long, short) {
		return false
	}
	last := long[len(long)-1]
	return last == short[len(short)-1] || foodParts[last]
}

// foodParts are words that name a part or a cut of the food before them.
var foodParts = set(
	"thigh", "breast", "wing", "drumstick", "leg", "fillet", "loin", "tenderloin", "shoulder",
	"belly", "chop", "rib", "shank", "cheek", "mince", "yolk", "white", "clove", "leaf", "sprig",
	"stalk", "floret", "head", "juice", "zest", "wedge",
)
