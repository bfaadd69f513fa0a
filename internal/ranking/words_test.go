package ranking

import (
	"strconv"
	"testing"
)

func TestNormalizeIngredient(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Tomatoes", "tomato"},
		{"eggs", "egg"},
		{"Bay Leaves", "bay leaf"},
		{"Berries", "berry"},
		{"mixed berries", "mixed berry"},
		{"Potatoes", "potato"},
		{"Radishes", "radish"},
		{"peaches", "peach"},
		{"Peas", "pea"},
		{"chilies", "chili"},
		{"Anchovies", "anchovy"},
		{"cloves", "clove"},
		{"  Fresh Basil, chopped  ", "basil"},
		{"2 large Eggs", "egg"},
		{"Chopped Cilantro", "cilantro"},
		{"Basil Leaves (torn)", "basil leaf"},
		{"lean ground beef", "beef"},
		{"couscous", "couscous"},
		{"hummus", "hummus"},
		{"asparagus", "asparagus"},
		{"molasses", "molasses"},
		{"lemongrass", "lemongrass"},
		{"Crème Fraîche", "creme fraiche"},
		{"gluten-free flour", "gluten free flour"},
		{"goat's cheese", "goat cheese"},
		{"ground", "ground"},
		{"   ", ""},
	} {
		if got := NormalizeIngredient(tc.in); got != tc.want {
			t.Errorf("NormalizeIngredient(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// IngredientKey must equal the reference's key, or recipes stored by the two
// systems would not be recognised as duplicates.
func TestIngredientKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Spaghetti Carbonara", "spaghetti_carbonara"},
		{"  Pad Thai (Easy)  ", "pad_thai_easy"},
		{"Chicken & Rice", "chicken_rice"},
		{"Mac 'n' Cheese", "mac_n_cheese"},
		{"Crème Brûlée", "crme_brle"},
		{"Tab\tand\nnewline", "tab_and_newline"},
		{"Curry !", "curry_"},
		{"! Curry", "_curry"},
		{"Chicken Curry II", "chicken_curry_ii"},
		{"", ""},
	} {
		if got := IngredientKey(tc.in); got != tc.want {
			t.Errorf("IngredientKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCovers(t *testing.T) {
	for _, tc := range []struct {
		have, need string
		want       bool
	}{
		{"tomato", "cherry tomato", true},
		{"cherry tomato", "tomato", true},
		{"egg", "eggplant", false},
		{"egg", "egg yolk", true},
		{"chicken breast", "chicken thigh", false},
		{"bell pepper", "red bell pepper", true},
		{"chicken", "chicken thigh and drumstick", true},
		{"chicken thighs", "whole chicken", false},
		{"chicken thighs", "chicken", true},
		{"chicken stock", "chicken", false},
		{"chicken", "chicken stock", false},
		{"rice", "basmati rice", true},
		{"rice", "rice vinegar", false},
		{"rice", "rice noodles", false},
		{"lemon", "lemon juice", true},
		{"garlic", "garlic chives", false},
		{"", "tomato", false},
	} {
		if got := Covers(NormalizeIngredient(tc.have), NormalizeIngredient(tc.need)); got != tc.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tc.have, tc.need, got, tc.want)
		}
	}
}

// The memo answers as the function does, computes each argument once, and
// stops remembering at its bound instead of growing with hostile input.
func TestMemoRemembersUpToItsBound(t *testing.T) {
	var m memo[string]
	calls := map[string]int{}
	f := func(s string) string { calls[s]++; return s + "!" }
	for range 3 {
		if got := m.get("egg", f); got != "egg!" {
			t.Fatalf("get(egg) = %q", got)
		}
	}
	if calls["egg"] != 1 {
		t.Errorf("egg computed %d times, want once", calls["egg"])
	}
	for i := range maxRemembered + 10 {
		m.get(strconv.Itoa(i), f)
	}
	if n := m.n.Load(); n != maxRemembered {
		t.Errorf("remembers %d answers, want the bound %d", n, maxRemembered)
	}
	late := strconv.Itoa(maxRemembered + 5)
	if got := m.get(late, f); got != late+"!" || calls[late] != 2 {
		t.Errorf("past the bound: %q, computed %d times (want its answer, computed anew)", got, calls[late])
	}
}
