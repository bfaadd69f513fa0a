package mealplan

import (
	"math/big"
	"regexp"
	"strings"
)

// vulgarFractions are the single-character fractions recipes use ("1½").
var vulgarFractions = map[rune]string{
	'½': "1/2", '⅓': "1/3", '⅔': "2/3", '¼': "1/4", '¾': "3/4",
	'⅕': "1/5", '⅖': "2/5", '⅗': "3/5", '⅘': "4/5", '⅙': "1/6", '⅚': "5/6",
	'⅛': "1/8", '⅜': "3/8", '⅝': "5/8", '⅞': "7/8",
}

var (
	wholeRe    = regexp.MustCompile(`^[0-9]+$`)
	decimalRe  = regexp.MustCompile(`^([0-9]+\.[0-9]*|\.[0-9]+)$`)
	fractionRe = regexp.MustCompile(`^([0-9]+)/([0-9]+)$`)
)

// parseQuantity reads the amounts recipes write: "2", "0.5", "1/2",
// "2 1/2", "1½", "1 ½". Anything else ("to taste", "2-3", "a pinch", "")
// does not parse: ok is false.
func parseQuantity(s string) (q *big.Rat, ok bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case vulgarFractions[r] != "":
			b.WriteString(" " + vulgarFractions[r])
		case r == '⁄': // the fraction slash
			b.WriteByte('/')
		default:
			b.WriteRune(r)
		}
	}
	parts := strings.Fields(b.String())
	switch len(parts) {
	case 1:
		return parseNumber(parts[0])
	case 2: // a whole number and a proper fraction
		whole, ok1 := parseNumber(parts[0])
		frac, ok2 := parseNumber(parts[1])
		if !ok1 || !ok2 || !wholeRe.MatchString(parts[0]) || !fractionRe.MatchString(parts[1]) ||
			frac.Cmp(big.NewRat(1, 1)) >= 0 {
			return nil, false
		}
		return whole.Add(whole, frac), true
	}
	return nil, false
}

// parseNumber reads one whole number, decimal or fraction, never negative.
func parseNumber(s string) (*big.Rat, bool) {
	if !wholeRe.MatchString(s) && !decimalRe.MatchString(s) {
		m := fractionRe.FindStringSubmatch(s)
		if m == nil || strings.Trim(m[2], "0") == "" { // no x/0
			return nil, false
		}
	}
	if strings.HasSuffix(s, ".") {
		s += "0" // big.Rat does not take "5."
	}
	return new(big.Rat).SetString(s)
}

// friendlyDenominators are the fractions people measure with: a half, a
// third, a quarter, an eighth.
var friendlyDenominators = map[int64]bool{2: true, 3: true, 4: true, 8: true}

// formatQuantity prints q as people write it: whole numbers plainly ("3");
// halves, thirds, quarters and eighths as mixed fractions ("2 1/2", "3/4"),
// except in metric units, which are weighed and read in decimals; any other
// amount as a decimal with at most two places ("0.2", "1.67").
func formatQuantity(q *big.Rat, metric bool) string {
	if q.IsInt() {
		return q.Num().String()
	}
	if !metric && q.Denom().IsInt64() && friendlyDenominators[q.Denom().Int64()] {
		whole, rest := new(big.Int).QuoRem(q.Num(), q.Denom(), new(big.Int))
		frac := rest.String() + "/" + q.Denom().String()
		if whole.Sign() == 0 {
			return frac
		}
		return whole.String() + " " + frac
	}
	// Two places, more only when two would print a positive amount as 0.
	for places := 2; ; places++ {
		s := strings.TrimRight(strings.TrimRight(q.FloatString(places), "0"), ".")
		if s != "0" || places >= 6 {
			return s
		}
	}
}
