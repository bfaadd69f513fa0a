package loadtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Action is one thing a user does in the app after thinking; it sends one
// or a few requests.
type Action string

// The actions, in the order the report lists them.
const (
	ActBrowse      Action = "browse"      // the catalogue with filters (cuisines, tags, time, difficulty, page)
	ActSearch      Action = "search"      // a free-text name search, sometimes with a filter
	ActOpen        Action = "open"        // a recipe the user has seen
	ActRecommended Action = "recommended" // the home screen's recommendations
	ActToday       Action = "today"       // today's two picks
	ActSave        Action = "save"        // save a seen recipe, or unsave a saved one
	ActSaved       Action = "saved"       // the saved list
	ActRecent      Action = "recent"      // recipes generated for the user
	ActPlan        Action = "plan"        // create a meal plan, then its shopping list (and drop the oldest of 4)
	ActPlans       Action = "plans"       // list the meal plans, then open one
	ActGenerate    Action = "generate"    // recipes from ingredients at hand
	ActLogin       Action = "login"       // sign in again (a new device, a reinstall)
)

// Actions lists every action.
var Actions = []Action{ActBrowse, ActSearch, ActOpen, ActRecommended, ActToday, ActSave, ActSaved,
	ActRecent, ActPlan, ActPlans, ActGenerate, ActLogin}

// Mix weighs the actions: each is drawn with probability weight / sum.
type Mix map[Action]float64

// DefaultMix mirrors the app: most taps browse, search and open recipes; a
// few save or plan; generation and sign-ins are rare. Token refreshes are
// not in the mix: users refresh when their access token is about to expire.
func DefaultMix() Mix {
	return Mix{
		ActBrowse: 30, ActSearch: 12, ActOpen: 22, ActRecommended: 8, ActToday: 6, ActSave: 6,
		ActSaved: 4, ActRecent: 3, ActPlan: 2, ActPlans: 4, ActGenerate: 2, ActLogin: 1,
	}
}

// ParseMix reads "browse=30,open=20,login=0": the named weights replace the
// default ones, the others keep theirs (0 turns an action off).
func ParseMix(s string) (Mix, error) {
	m := DefaultMix()
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%q: expected action=weight", item)
		}
		a := Action(strings.TrimSpace(name))
		if !slices.Contains(Actions, a) {
			return nil, fmt.Errorf("%q: unknown action (known: %s)", name, actionList())
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || w < 0 || w > 1e6 {
			return nil, fmt.Errorf("%q: the weight must be a number from 0 to 1000000", item)
		}
		m[a] = w
	}
	return m, m.validate()
}

func actionList() string {
	names := make([]string, len(Actions))
	for i, a := range Actions {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

func (m Mix) validate() error {
	sum := 0.0
	for a, w := range m {
		if !slices.Contains(Actions, a) {
			return fmt.Errorf("unknown action %q", a)
		}
		if w < 0 {
			return fmt.Errorf("%s: negative weight", a)
		}
		sum += w
	}
	if sum <= 0 {
		return errors.New("every weight is 0: nothing to do")
	}
	return nil
}

// String is the mix as ParseMix reads it, in Actions' order.
func (m Mix) String() string {
	var parts []string
	for _, a := range Actions {
		parts = append(parts, fmt.Sprintf("%s=%g", a, m[a]))
	}
	return strings.Join(parts, ",")
}

// chooser draws actions with the mix's probabilities.
type chooser struct {
	acts []Action
	cum  []float64 // cumulative weights
}

func newChooser(m Mix) chooser {
	var c chooser
	sum := 0.0
	for _, a := range Actions {
		if w := m[a]; w > 0 {
			sum += w
			c.acts = append(c.acts, a)
			c.cum = append(c.cum, sum)
		}
	}
	return c
}

func (c chooser) draw(r *rand.Rand) Action {
	x := r.Float64() * c.cum[len(c.cum)-1]
	// An action's share is [previous cumulative weight, its own).
	i := sort.Search(len(c.cum), func(i int) bool { return c.cum[i] > x })
	if i == len(c.acts) { // only by rounding
		i--
	}
	return c.acts[i]
}
