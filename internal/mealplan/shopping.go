package mealplan

import (
	"cmp"
	"math/big"
	"slices"
	"strings"

	"github.com/mealsync/mealsync"
)

// unitAliases maps the ways recipes write a unit to one spelling.
var unitAliases = func() map[string]string {
	m := map[string]string{}
	for unit, aliases := range map[string][]string{
		"tbsp":  {"tbsp", "tbsps", "tbs", "tablespoon", "tablespoons"},
		"tsp":   {"tsp", "tsps", "teaspoon", "teaspoons"},
		"g":     {"g", "gr", "gram", "grams", "gramme", "grammes"},
		"kg":    {"kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "kilogramme", "kilogrammes"},
		"ml":    {"ml", "milliliter", "milliliters", "millilitre", "millilitres"},
		"l":     {"l", "liter", "liters", "litre", "litres"},
		"cup":   {"cup", "cups"},
		"clove": {"clove", "cloves"},
		"slice": {"slice", "slices"},
		"pinch": {"pinch", "pinches"},
		"sprig": {"sprig", "sprigs"},
		"sheet": {"sheet", "sheets"},
	} {
		for _, a := range aliases {
			m[a] = unit
		}
	}
	return m
}()

// baseUnits converts the larger metric units into the ones the catalogue
// uses, so that "1 kg" and "200 g" of flour make one line, "1200 g".
var baseUnits = map[string]struct {
	unit   string
	factor int64
}{"kg": {"g", 1000}, "l": {"ml", 1000}}

// metricUnits print as decimals, not fractions.
var metricUnits = map[string]bool{"g": true, "kg": true, "ml": true, "l": true}

// normalizeName is the name a shopping line is keyed and shown by: lower
// case, trimmed, inner spaces collapsed.
func normalizeName(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

// normalizeUnit returns one spelling per unit ("Tablespoons" → "tbsp");
// units it does not know stay as written, lower-cased and trimmed.
func normalizeUnit(s string) string {
	u := strings.TrimSuffix(normalizeName(s), ".")
	if a, ok := unitAliases[u]; ok {
		return a
	}
	return u
}

// ShoppingList sums the ingredients of meals into one line per name and
// unit, sorted by name, then unit. Names and units are normalised first, so
// "Olive Oil" in "tablespoons" and "olive oil" in "tbsp" are one line. Amounts
// add up exactly (fractions, not floats). kg and l are converted to g and ml,
// so each mass or volume has one line; spoons, cups and the rest are never
// converted, since recipes mean them as written. An amount that is not a
// number ("to taste") is kept as written, once, after the sum and joined with
// " + ". Recipes counts the meals that need the line, and a meal whose recipe
// was deleted (nil) is skipped.
func ShoppingList(meals []mealsync.PlannedMeal) []mealsync.ShoppingItem {
	type key struct{ name, unit string }
	type line struct {
		sum   *big.Rat // nil until a number is added
		texts []string // amounts that are not numbers, as first written
		seen  map[string]bool
		meals int
	}
	lines := map[key]*line{}
	for _, m := range meals {
		if m.Recipe == nil {
			continue
		}
		counted := map[key]bool{} // a recipe may list an ingredient twice
		for _, ing := range m.Recipe.Ingredients {
			name := normalizeName(ing.Name)
			if name == "" {
				continue
			}
			unit := normalizeUnit(ing.Unit)
			q, isNumber := parseQuantity(ing.Quantity)
			if b, ok := baseUnits[unit]; ok && isNumber {
				unit = b.unit
				q.Mul(q, big.NewRat(b.factor, 1))
			}
			k := key{name, unit}
			l := lines[k]
			if l == nil {
				l = &line{seen: map[string]bool{}}
				lines[k] = l
			}
			if !counted[k] {
				counted[k] = true
				l.meals++
			}
			switch text := strings.Join(strings.Fields(ing.Quantity), " "); {
			case isNumber && l.sum == nil:
				l.sum = q
			case isNumber:
				l.sum.Add(l.sum, q)
			case text != "" && !l.seen[strings.ToLower(text)]:
				l.seen[strings.ToLower(text)] = true
				l.texts = append(l.texts, text)
			}
		}
	}

	items := make([]mealsync.ShoppingItem, 0, len(lines))
	for k, l := range lines {
		parts := l.texts
		if l.sum != nil {
			parts = append([]string{formatQuantity(l.sum, metricUnits[k.unit])}, l.texts...)
		}
		items = append(items, mealsync.ShoppingItem{
			Name: k.name, Unit: k.unit, Quantity: strings.Join(parts, " + "), Recipes: l.meals,
		})
	}
	slices.SortFunc(items, func(a, b mealsync.ShoppingItem) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Unit, b.Unit))
	})
	return items
}

// lineUnit is the unit a line is summed in: normalised, kg and l as g and ml.
func lineUnit(unit string) string {
	u := normalizeUnit(unit)
	if b, ok := baseUnits[u]; ok {
		return b.unit
	}
	return u
}

// SameLine reports whether two shopping lines are one for ShoppingList: the
// same name and unit once normalised ("Olive Oil" in tablespoons and olive
// oil in tbsp; 1 kg and 200 g of flour).
func SameLine(nameA, unitA, nameB, unitB string) bool {
	return normalizeName(nameA) == normalizeName(nameB) && lineUnit(unitA) == lineUnit(unitB)
}

// AddQuantities sums two amounts of one line exactly, as ShoppingList sums
// a plan's ingredients, and returns the sum and the unit it is in ("1 kg"
// plus "200 g" is "1200" g).
func AddQuantities(a, unitA, b, unitB string) (quantity, unit string) {
	meal := func(q, u string) mealsync.PlannedMeal {
		return mealsync.PlannedMeal{Recipe: &mealsync.Recipe{Ingredients: []mealsync.Ingredient{{Name: "line", Quantity: q, Unit: u}}}}
	}
	lines := ShoppingList([]mealsync.PlannedMeal{meal(a, unitA), meal(b, unitB)})
	if len(lines) != 1 { // not one line: the caller should not have asked
		return strings.TrimSpace(a + " + " + b), unitA
	}
	return lines[0].Quantity, lines[0].Unit
}
