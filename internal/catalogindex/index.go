// Package catalogindex keeps the recipe catalogue in memory, indexed, so
// that listing and searching it — the most frequent requests, with filters
// as diverse as the people asking — costs no database work. The catalogue is
// small (thousands to a hundred thousand recipes), read-mostly, and
// versioned: the database records which recipes each catalogue version
// changed (mealsync.CatalogueFeed), and the index patches those at most once
// per interval, so a change made on any instance shows within the interval,
// and at once on the instance that made it.
//
// Its answers are those of the SQL path (internal/sqldb's ListRecipes) for
// every filter, which a differential test checks on PostgreSQL: names
// folded as Go folds them (PostgreSQL's lower() does alike), listed by name
// in code-point order, then id.
//
// It imports the domain only.
package catalogindex

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/mealsync/mealsync"
)

// Index is a mealsync.RecipeStore whose catalogue lists come from memory;
// everything else, and lists that may hold a viewer's private recipes, go
// to the store it wraps.
type Index struct {
	mealsync.RecipeStore
	feed     mealsync.CatalogueFeed
	interval time.Duration
	now      func() time.Time

	snap       atomic.Pointer[snapshot]
	hasPrivate *lru.Cache[string, privateEntry] // by user id

	// Which users' private recipes changed, and when: an answer of
	// hasPrivate read at an older catalogue version is stale. Private
	// recipes move the catalogue version too (the feed names them), but
	// only their owners' answers go stale with them.
	pmu            sync.Mutex
	privateChanged map[string]int64 // owner id → catalogue version
	privateFloor   int64            // answers read before this version are stale

	mu      sync.Mutex    // one refresh at a time
	checked atomic.Int64  // when the feed was last asked (Unix ns); 0: before the next answer
	writes  atomic.Uint64 // moves on with every write through this index

	hits, misses atomic.Uint64 // reads answered from memory, by the store
}

var _ mealsync.RecipeStore = (*Index)(nil)

// New returns an index over store, asking feed what changed at most once
// per interval.
func New(store mealsync.RecipeStore, feed mealsync.CatalogueFeed, interval time.Duration, now func() time.Time) *Index {
	hp, _ := lru.New[string, privateEntry](10_000) // a positive size cannot fail
	return &Index{RecipeStore: store, feed: feed, interval: interval, now: now, hasPrivate: hp,
		privateChanged: map[string]int64{}}
}

// privateEntry is whether a user owned a private recipe, as the store
// said when the index was at catalogue version version.
type privateEntry struct {
	has     bool
	version int64
}

// maxPrivateChanged bounds privateChanged: past it, every answer is asked
// again rather than remembered per owner.
const maxPrivateChanged = 100_000

// ListRecipes answers from memory when f asks for the catalogue only, or
// its viewer owns no private recipe. A viewer's list with private recipes
// merges the catalogue's matches from memory with the viewer's private
// ones from the store (a few rows, on recipes_owner_idx), in the order the
// SQL path lists them. Lists of private recipes only, and lists while
// this instance's own catalogue change is being read in, are the store's.
func (x *Index) ListRecipes(ctx context.Context, f mealsync.RecipeFilter) (mealsync.Page[*mealsync.Recipe], error) {
	s, err := x.current(ctx)
	if err != nil {
		return mealsync.Page[*mealsync.Recipe]{}, err
	}
	switch {
	case s == nil: // being refreshed after a change made here
		x.misses.Add(1)
		return x.RecipeStore.ListRecipes(ctx, f)
	case f.Published != nil && *f.Published:
	case f.Published != nil: // private recipes only
		x.misses.Add(1)
		return x.RecipeStore.ListRecipes(ctx, f)
	case f.Viewer.UserID != "":
		has, err := x.ownsPrivate(ctx, s, f.Viewer.UserID)
		if err != nil {
			return mealsync.Page[*mealsync.Recipe]{}, err
		}
		if has {
			x.misses.Add(1)
			return x.withPrivate(ctx, s, f)
		}
	}
	x.hits.Add(1)
	return s.list(f), nil
}

// withPrivate answers f, a list that may hold the viewer's private
// recipes: the first Offset+Limit matches of the catalogue and of the
// viewer's private recipes, merged, then the page cut from them.
func (x *Index) withPrivate(ctx context.Context, s *snapshot, f mealsync.RecipeFilter) (mealsync.Page[*mealsync.Recipe], error) {
	first := f.Offset + f.Limit
	if first < f.Offset { // overflow: every match
		first = f.Offset
	}
	yes, no := true, false
	mine := f
	mine.Published, mine.Offset, mine.Limit = &no, 0, first
	mine.Viewer = mealsync.Viewer{UserID: f.Viewer.UserID} // an admin's private list would hold everyone's
	private, err := x.RecipeStore.ListRecipes(ctx, mine)
	if err != nil {
		return mealsync.Page[*mealsync.Recipe]{}, err
	}
	cat := f
	cat.Published, cat.Offset, cat.Limit = &yes, 0, first
	public := s.list(cat)
	merged := make([]*mealsync.Recipe, 0, len(public.Items)+len(private.Items))
	a, b := public.Items, private.Items
	for len(a) > 0 || len(b) > 0 {
		if len(b) == 0 || len(a) > 0 && listOrder(a[0], b[0]) <= 0 {
			merged, a = append(merged, a[0]), a[1:]
		} else {
			merged, b = append(merged, b[0]), b[1:]
		}
	}
	page := mealsync.Page[*mealsync.Recipe]{Items: []*mealsync.Recipe{}, Offset: f.Offset, Limit: f.Limit,
		Total: public.Total + private.Total}
	if f.Offset < len(merged) {
		page.Items = merged[f.Offset:min(len(merged), f.Offset+f.Limit)]
	}
	return page, nil
}

// listOrder is the lists' order: by name in code-point order, then id.
func listOrder(a, b *mealsync.Recipe) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// ownsPrivate reports whether user owns a private recipe: remembered, until
// one of the user's private recipes changes (or the catalogue is read
// whole).
func (x *Index) ownsPrivate(ctx context.Context, s *snapshot, user string) (bool, error) {
	if e, ok := x.hasPrivate.Get(user); ok && x.stillTrue(user, e.version) {
		return e.has, nil
	}
	has, err := x.RecipeStore.HasPrivateRecipes(ctx, user)
	if err != nil {
		return false, err
	}
	x.hasPrivate.Add(user, privateEntry{has: has, version: s.version})
	return has, nil
}

// stillTrue reports whether an answer about user's private recipes read at
// catalogue version v is still true.
func (x *Index) stillTrue(user string, v int64) bool {
	x.pmu.Lock()
	defer x.pmu.Unlock()
	return v >= x.privateFloor && v >= x.privateChanged[user]
}

// privateMoved marks owners' answers read before version stale.
func (x *Index) privateMoved(owners []string, version int64) {
	if len(owners) == 0 {
		return
	}
	x.pmu.Lock()
	defer x.pmu.Unlock()
	if len(x.privateChanged)+len(owners) > maxPrivateChanged {
		x.markAllStale(version)
		return
	}
	for _, o := range owners {
		x.privateChanged[o] = max(x.privateChanged[o], version)
	}
}

// everyonesPrivateMoved marks every answer read before version stale.
func (x *Index) everyonesPrivateMoved(version int64) {
	x.pmu.Lock()
	defer x.pmu.Unlock()
	x.markAllStale(version)
}

func (x *Index) markAllStale(version int64) { // with pmu held
	x.privateFloor = max(x.privateFloor, version)
	clear(x.privateChanged)
}

// privateOwners returns the owners of rs's private recipes, and whether
// all of rs are private (true for none).
func privateOwners(rs []*mealsync.Recipe) (owners []string, allPrivate bool) {
	allPrivate = true
	for _, r := range rs {
		if r.Published || r.OwnerID == "" {
			allPrivate = false
			continue
		}
		owners = append(owners, r.OwnerID)
	}
	return owners, allPrivate
}

// Warm reads the catalogue, so that the first request does not.
func (x *Index) Warm(ctx context.Context) error {
	_, err := x.current(ctx)
	return err
}

// RecipeByID answers a published recipe from memory (no older than the
// interval, as the lists); a private or unknown one from the store.
func (x *Index) RecipeByID(ctx context.Context, id string) (*mealsync.Recipe, error) {
	s, err := x.current(ctx)
	if err != nil {
		return nil, err
	}
	if s == nil { // being refreshed after a change made here
		x.misses.Add(1)
		return x.RecipeStore.RecipeByID(ctx, id)
	}
	if p, ok := s.byID[id]; ok {
		x.hits.Add(1)
		r := *s.recipes[p]
		return &r, nil
	}
	x.misses.Add(1)
	return x.RecipeStore.RecipeByID(ctx, id)
}

// RecipesByIDs answers from memory when every id is a published recipe's,
// from the store otherwise (a meal plan with a private recipe, or one
// deleted since).
func (x *Index) RecipesByIDs(ctx context.Context, ids []string) ([]*mealsync.Recipe, error) {
	s, err := x.current(ctx)
	if err != nil {
		return nil, err
	}
	if s == nil { // being refreshed after a change made here
		x.misses.Add(1)
		return x.RecipeStore.RecipesByIDs(ctx, ids)
	}
	out := make([]*mealsync.Recipe, 0, len(ids))
	for _, id := range ids {
		p, ok := s.byID[id]
		if !ok {
			x.misses.Add(1)
			return x.RecipeStore.RecipesByIDs(ctx, ids)
		}
		r := *s.recipes[p]
		out = append(out, &r)
	}
	x.hits.Add(1)
	return out, nil
}

// Lookups returns how many reads (a list, a recipe, a set of recipes) were
// answered from memory (hits) and how many the store answered (misses:
// lists that may hold a viewer's private recipes, private or unknown ids),
// since the index was made. Keeping it up to date (the feed, the changed
// recipes) is not counted.
func (x *Index) Lookups() (hits, misses uint64) {
	return x.hits.Load(), x.misses.Load()
}

// current returns a snapshot no older than the interval, asking the feed
// for what changed (and patching it in) when it is due.
func (x *Index) current(ctx context.Context) (*snapshot, error) {
	if s := x.snap.Load(); s != nil && x.fresh() {
		return s, nil
	}
	// One request refreshes at a time, and no other waits for it (it may be
	// waiting for a database connection one of them holds, in an open
	// transaction: with the pool full none would move). Meanwhile the
	// others answer from the last snapshot — or, when this instance has
	// just changed the catalogue (checked is zero) and the snapshot may
	// miss that change, from the store (nil: the callers ask it). Only
	// the first load is waited for.
	if !x.mu.TryLock() {
		switch s := x.snap.Load(); {
		case s != nil && x.checked.Load() != 0:
			return s, nil
		case s != nil:
			return nil, nil
		}
		x.mu.Lock()
	}
	defer x.mu.Unlock()
	s := x.snap.Load()
	if s != nil && x.fresh() { // another request refreshed it meanwhile
		return s, nil
	}
	asked, writes := x.now(), x.writes.Load()
	next, err := x.refresh(ctx, s)
	if err != nil {
		return nil, err
	}
	x.snap.Store(next)
	if x.writes.Load() == writes { // else a write here may have missed this read: ask again next time
		x.checked.Store(asked.UnixNano())
	}
	return next, nil
}

// fresh reports whether the feed was asked less than an interval ago.
func (x *Index) fresh() bool {
	at := x.checked.Load()
	return at != 0 && x.now().Sub(time.Unix(0, at)) < x.interval
}

// refresh returns s brought up to the feed's latest version: patched with
// the recipes that changed, or read whole when there is nothing to patch.
func (x *Index) refresh(ctx context.Context, s *snapshot) (*snapshot, error) {
	if s != nil {
		ids, latest, complete, err := x.feed.RecipeChangesSince(ctx, s.version)
		if err != nil {
			return nil, err
		}
		if complete {
			if len(ids) == 0 {
				return s, nil
			}
			changed, err := x.RecipeStore.RecipesByIDs(ctx, ids)
			if err != nil {
				return nil, err
			}
			owners, _ := privateOwners(changed)
			x.privateMoved(owners, latest)
			return s.patched(ids, changed, latest), nil
		}
	}
	all, version, err := x.feed.Catalogue(ctx)
	if err != nil {
		return nil, err
	}
	x.everyonesPrivateMoved(version)
	return build(all, version), nil
}

// changed makes the next list ask the feed: this instance has just changed
// the catalogue.
func (x *Index) changed() {
	x.writes.Add(1)
	x.checked.Store(0)
}

// The writes go through, then the next list sees them: asked at once, and
// again once they are committed (a request sent with an Idempotency-Key
// commits its writes at its end).

func (x *Index) wrote(ctx context.Context) {
	x.changed()
	mealsync.AfterCommit(ctx, func() {
		if w, ok := x.feed.(writeAwareFeed); ok {
			w.Wrote(context.WithoutCancel(ctx))
		}
		x.changed()
	})
}

// writeAwareFeed is a feed that must hear of this instance's catalogue
// writes once they are committed, before the index asks it again: one read
// from replicas answers from the primary until a replica has the write
// (internal/sqldb/postgres's CatalogueFeed).
type writeAwareFeed interface {
	Wrote(ctx context.Context)
}

// wrotePrivate follows a write of owner's private recipes only: the
// catalogue is as it was, but the owner's remembered answer is not,
// whatever version the index reads next (until it has read past the
// write, its snapshot's version is older).
func (x *Index) wrotePrivate(ctx context.Context, owners ...string) {
	stale := func() {
		if s := x.snap.Load(); s != nil { // else nothing is remembered yet
			x.privateMoved(owners, s.version+1)
		}
	}
	stale()
	mealsync.AfterCommit(ctx, stale)
}

// wroteRecipes follows a write of rs: a catalogue change, unless all of
// them are private (or there are none).
func (x *Index) wroteRecipes(ctx context.Context, rs ...*mealsync.Recipe) {
	if owners, private := privateOwners(rs); private {
		x.wrotePrivate(ctx, owners...)
	} else {
		x.wrote(ctx)
	}
}

func (x *Index) CreateRecipes(ctx context.Context, rs ...*mealsync.Recipe) error {
	defer x.wroteRecipes(ctx, rs...)
	return x.RecipeStore.CreateRecipes(ctx, rs...)
}

// UpdateRecipe writes r, which must still be as published as it was (the
// store checks): a private recipe's edit leaves the catalogue as it was.
func (x *Index) UpdateRecipe(ctx context.Context, r *mealsync.Recipe) error {
	defer x.wroteRecipes(ctx, r)
	return x.RecipeStore.UpdateRecipe(ctx, r)
}

func (x *Index) DeleteRecipe(ctx context.Context, id string) error {
	defer x.wrote(ctx)
	return x.RecipeStore.DeleteRecipe(ctx, id)
}

// DeletePrivateRecipe deletes a recipe only while it is ownerID's private
// one: the catalogue is as it was.
func (x *Index) DeletePrivateRecipe(ctx context.Context, id, ownerID string) error {
	defer x.wrotePrivate(ctx, ownerID)
	return x.RecipeStore.DeletePrivateRecipe(ctx, id, ownerID)
}

func (x *Index) PublishRecipe(ctx context.Context, id string) (*mealsync.Recipe, error) {
	defer x.wrote(ctx)
	return x.RecipeStore.PublishRecipe(ctx, id)
}

// snapshot is the catalogue at one version: its published recipes in list
// order, and postings — for each cuisine, difficulty, tag and name trigram,
// the positions of the recipes that have it, ascending.
type snapshot struct {
	version    int64
	recipes    []*mealsync.Recipe
	byID       map[string]int32 // id, as the store spells it → position
	lowerNames []string
	// Per recipe, side by side, what a filter compares: a list that
	// narrows nothing (a time limit alone) walks these, not the recipes.
	lowerCuisines, lowerDifficulties []string
	totalTimes, servings             []int
	tagTerms                         [][]string // per recipe: mealsync.SearchTerms of its tags
	ingTerms                         [][]string // per recipe: of its ingredient names
	cuisine                          map[string][]int32
	difficulty                       map[string][]int32
	tag                              map[string][]int32
	trigram                          map[[3]byte][]int32 // of lower-case names
	// ingTrigram holds, per byte trigram, the recipes with an ingredient
	// term that has it: an ingredient filter term can only be in a recipe
	// that has every one of its trigrams.
	ingTrigram map[[3]byte][]int32
}

// build indexes rs, which must all be published.
func build(rs []*mealsync.Recipe, version int64) *snapshot {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, listOrder)
	s := &snapshot{version: version, recipes: rs, byID: make(map[string]int32, len(rs)), lowerNames: make([]string, len(rs)),
		lowerCuisines: make([]string, len(rs)), lowerDifficulties: make([]string, len(rs)),
		totalTimes: make([]int, len(rs)), servings: make([]int, len(rs)),
		tagTerms: make([][]string, len(rs)), ingTerms: make([][]string, len(rs)),
		cuisine: map[string][]int32{}, difficulty: map[string][]int32{}, tag: map[string][]int32{},
		trigram: map[[3]byte][]int32{}, ingTrigram: map[[3]byte][]int32{}}
	for i, r := range rs {
		p := int32(i)
		s.byID[r.ID] = p
		name := strings.ToLower(r.Name)
		s.lowerNames[i] = name
		cuisine, difficulty := strings.ToLower(r.Cuisine), strings.ToLower(r.Difficulty)
		s.lowerCuisines[i], s.lowerDifficulties[i] = cuisine, difficulty
		s.totalTimes[i], s.servings[i] = r.TotalTime, r.Servings
		s.cuisine[cuisine] = append(s.cuisine[cuisine], p)
		s.difficulty[difficulty] = append(s.difficulty[difficulty], p)
		s.tagTerms[i] = mealsync.SearchTerms(r.Tags)
		for _, t := range s.tagTerms[i] {
			s.tag[t] = append(s.tag[t], p)
		}
		names := make([]string, len(r.Ingredients))
		for j, in := range r.Ingredients {
			names[j] = in.Name
		}
		s.ingTerms[i] = mealsync.SearchTerms(names)
		for _, g := range trigrams(strings.Join(s.ingTerms[i], "\x00")) {
			if g[0] != 0 && g[1] != 0 && g[2] != 0 { // within one term
				s.ingTrigram[g] = append(s.ingTrigram[g], p)
			}
		}
		for _, g := range trigrams(name) {
			if l := s.trigram[g]; len(l) == 0 || l[len(l)-1] != p {
				s.trigram[g] = append(l, p)
			}
		}
	}
	return s
}

// touchedBy reports whether changes to the recipes ids names, now as
// changed has them, change the catalogue: one of them is in it, or is
// published now. Most are not: a generated recipe, saved private, moves
// the catalogue version too.
func (s *snapshot) touchedBy(ids []string, changed []*mealsync.Recipe) bool {
	for _, r := range changed {
		if r.Published {
			return true
		}
	}
	for _, id := range ids {
		if _, ok := s.byID[id]; ok {
			return true
		}
		if _, ok := s.byID[strings.ToLower(id)]; ok {
			return true
		}
	}
	return false
}

// patched returns a snapshot at version: s without the recipes ids names,
// with those of changed that are published.
func (s *snapshot) patched(ids []string, changed []*mealsync.Recipe, version int64) *snapshot {
	if !s.touchedBy(ids, changed) { // private recipes only: the same catalogue at a new version
		same := *s
		same.version = version
		return &same
	}
	gone := make(map[string]bool, len(ids))
	for _, id := range ids {
		gone[strings.ToLower(id)] = true
	}
	rs := make([]*mealsync.Recipe, 0, len(s.recipes)+len(changed))
	for _, r := range s.recipes {
		if !gone[strings.ToLower(r.ID)] {
			rs = append(rs, r)
		}
	}
	for _, r := range changed {
		if r.Published {
			rs = append(rs, r)
		}
	}
	return build(rs, version)
}

// trigrams returns the distinct byte trigrams of s: a string contains t only
// if it has every trigram of t.
func trigrams(s string) [][3]byte {
	if len(s) < 3 {
		return nil
	}
	out := make([][3]byte, 0, len(s)-2)
	for i := 0; i+3 <= len(s); i++ {
		out = append(out, [3]byte{s[i], s[i+1], s[i+2]})
	}
	slices.SortFunc(out, func(a, b [3]byte) int { return bytes.Compare(a[:], b[:]) }) // no string per compare
	return slices.Compact(out)
}

// query is a filter as the index evaluates it: normalised as the SQL path
// normalises it.
type query struct {
	name       string
	cuisines   map[string]bool
	difficulty string
	tags       []string
	ings       []string
	maxTime    *int
	minServ    *int
}

func newQuery(f mealsync.RecipeFilter) query {
	f = f.Normalized()
	q := query{name: f.Name, difficulty: strings.ToLower(f.Difficulty),
		tags: f.Tags, ings: f.Ingredients, maxTime: f.MaxTotalTime, minServ: f.MinServings}
	for _, c := range f.Cuisines {
		if q.cuisines == nil {
			q.cuisines = map[string]bool{}
		}
		q.cuisines[c] = true
	}
	return q
}

// list answers one page of f from the snapshot.
func (s *snapshot) list(f mealsync.RecipeFilter) mealsync.Page[*mealsync.Recipe] {
	q := newQuery(f)
	page := mealsync.Page[*mealsync.Recipe]{Items: []*mealsync.Recipe{}, Offset: f.Offset, Limit: f.Limit}
	visit := func(p int32) {
		if !s.matches(p, q) {
			return
		}
		if page.Total >= f.Offset && len(page.Items) < f.Limit {
			r := *s.recipes[p] // a copy: what the caller does with it stays its own
			page.Items = append(page.Items, &r)
		}
		page.Total++
	}
	candidates, narrowed := s.candidates(q)
	if !narrowed {
		for p := range s.recipes {
			visit(int32(p))
		}
		return page
	}
	for _, p := range candidates {
		visit(p)
	}
	return page
}

// candidates returns the positions that can match q, ascending, from the
// postings of its cuisines, difficulty, tags and name trigrams; narrowed is
// false when q has none of those and every recipe must be looked at.
func (s *snapshot) candidates(q query) ([]int32, bool) {
	var sets [][]int32
	if len(q.cuisines) > 0 {
		var lists [][]int32
		for c := range q.cuisines {
			lists = append(lists, s.cuisine[c])
		}
		sets = append(sets, union(lists))
	}
	if q.difficulty != "" {
		sets = append(sets, s.difficulty[q.difficulty])
	}
	if len(q.tags) > 0 {
		lists := make([][]int32, len(q.tags))
		for i, t := range q.tags {
			lists[i] = s.tag[t]
		}
		sets = append(sets, union(lists))
	}
	for _, g := range trigrams(q.name) {
		sets = append(sets, s.trigram[g])
	}
	if set, ok := s.ingredientCandidates(q.ings); ok {
		sets = append(sets, set)
	}
	if len(sets) == 0 {
		return nil, false
	}
	slices.SortFunc(sets, func(a, b []int32) int { return len(a) - len(b) })
	out := sets[0]
	for _, set := range sets[1:] {
		if len(out) == 0 {
			break
		}
		out = intersect(out, set)
	}
	return out, true
}

// ingredientCandidates returns the recipes that can have an ingredient
// term containing one of terms: for each term, those with all its
// trigrams. ok is false when a term is too short to have a trigram (or
// there are no terms): nothing can be ruled out.
func (s *snapshot) ingredientCandidates(terms []string) ([]int32, bool) {
	if len(terms) == 0 {
		return nil, false
	}
	lists := make([][]int32, 0, len(terms))
	for _, t := range terms {
		grams := trigrams(t)
		if len(grams) == 0 {
			return nil, false
		}
		have := s.ingTrigram[grams[0]]
		for _, g := range grams[1:] {
			if len(have) == 0 {
				break
			}
			have = intersect(have, s.ingTrigram[g])
		}
		lists = append(lists, have)
	}
	return union(lists), true
}

// matches checks every condition of q on the recipe at p.
func (s *snapshot) matches(p int32, q query) bool {
	switch {
	case q.maxTime != nil && s.totalTimes[p] > *q.maxTime:
		return false
	case q.minServ != nil && s.servings[p] < *q.minServ:
		return false
	case q.difficulty != "" && s.lowerDifficulties[p] != q.difficulty:
		return false
	case q.cuisines != nil && !q.cuisines[s.lowerCuisines[p]]:
		return false
	case q.name != "" && !strings.Contains(s.lowerNames[p], q.name):
		return false
	case len(q.tags) > 0 && !anyIn(s.tagTerms[p], q.tags):
		return false
	case len(q.ings) > 0 && !anyContains(s.ingTerms[p], q.ings):
		return false
	}
	return true
}

func anyIn(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

func anyContains(names, terms []string) bool {
	for _, n := range names {
		for _, t := range terms {
			if strings.Contains(n, t) {
				return true
			}
		}
	}
	return false
}

// union merges ascending lists into one, without repeats.
func union(lists [][]int32) []int32 {
	var out []int32
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// intersect keeps what two ascending lists share.
func intersect(a, b []int32) []int32 {
	out := make([]int32, 0, min(len(a), len(b)))
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}
