// Package households is the business layer of households: who may do
// what, the shopping list's rules (order, merging a meal plan's list), how
// concurrent and retried operations resolve, and telling devices that a
// household changed.
//
// Conflict rules, in the order the server applies operations (each is one
// transaction under the household's lock, so the order is total):
//   - an edit writes only the fields it carries: edits of different fields
//     all survive; of the same field, the later one wins;
//   - a deleted item stays deleted: a later edit of it is refused (404),
//     never resurrects it;
//   - checking a checked item, or unchecking an unchecked one, changes
//     nothing (no new revision);
//   - an operation retried with the same operation id is applied once and
//     answered with its first result.
//
// It imports the domain and its own helpers, never net/http or an SQL
// driver.
package households

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/mealplan"
)

// InviteTTL is how long an invite code may be used (once).
const InviteTTL = 48 * time.Hour

// Service is the household logic.
type Service struct {
	store  mealsync.HouseholdStore
	plans  mealsync.MealPlanStore
	recips mealsync.RecipeStore
	now    mealsync.Clock
	// changed tells this instance's live connections that a household has
	// a new revision (other instances learn it from the database).
	changed func(householdID string, revision int64)
}

// New builds the service; changed may be nil.
func New(store mealsync.HouseholdStore, plans mealsync.MealPlanStore, recipes mealsync.RecipeStore,
	now mealsync.Clock, changed func(string, int64)) *Service {
	if changed == nil {
		changed = func(string, int64) {}
	}
	return &Service{store: store, plans: plans, recips: recipes, now: now, changed: changed}
}

var (
	errNoHousehold = mealsync.Errorf(mealsync.ENOTFOUND, "You are not in a household")
	errNotOwner    = mealsync.Errorf(mealsync.EFORBIDDEN, "Only the household's owner may do this")
)

func householdNotFound(id string) error {
	return mealsync.Errorf(mealsync.ENOTFOUND, "Household not found with id: %s", id)
}

func itemNotFound(id string) error {
	return mealsync.Errorf(mealsync.ENOTFOUND, "Shopping list item not found with id: %s", id)
}

// Create makes a household owned by u, who must not be in one.
func (s *Service) Create(ctx context.Context, u *mealsync.User, name string) (*mealsync.Snapshot, error) {
	now := s.now()
	h := &mealsync.Household{ID: uuid.NewString(), Name: strings.TrimSpace(name), OwnerID: u.ID, CreatedAt: now}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	err := s.store.CreateHousehold(ctx, h, mealsync.Member{UserID: u.ID, Name: u.Name, Role: mealsync.RoleOwner, JoinedAt: now})
	if mealsync.ErrorCode(err) == mealsync.ECONFLICT {
		return nil, mealsync.Errorf(mealsync.ECONFLICT, "You are in a household already: leave it first")
	}
	if err != nil {
		return nil, err
	}
	mealsync.AfterCommit(ctx, func() { s.changed(h.ID, h.Revision) })
	return s.Snapshot(ctx, u, h.ID)
}

// Mine returns u's household, whole.
func (s *Service) Mine(ctx context.Context, u *mealsync.User) (*mealsync.Snapshot, error) {
	h, err := s.store.HouseholdOf(ctx, u.ID)
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return nil, errNoHousehold
	}
	if err != nil {
		return nil, err
	}
	return s.Snapshot(ctx, u, h.ID)
}

// Snapshot returns household id whole, for a member of it.
func (s *Service) Snapshot(ctx context.Context, u *mealsync.User, id string) (*mealsync.Snapshot, error) {
	f, err := s.Feed(ctx, u, id, -1) // before any revision: always a snapshot
	if err != nil {
		return nil, err
	}
	return f.Snapshot, nil
}

// Feed returns the changes of household id after revision since (a
// snapshot when they are not all kept), for a member of it.
func (s *Service) Feed(ctx context.Context, u *mealsync.User, id string, since int64) (mealsync.Feed, error) {
	// The membership check is part of the feed's one statement: every
	// live connection reads this at each of its household's commits.
	f, err := s.store.ChangesSince(ctx, id, u.ID, since)
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return mealsync.Feed{}, householdNotFound(id)
	}
	return f, err
}

// MyFeed is Feed for u's own household, whichever it is.
func (s *Service) MyFeed(ctx context.Context, u *mealsync.User, since int64) (string, mealsync.Feed, error) {
	h, err := s.store.HouseholdOf(ctx, u.ID)
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return "", mealsync.Feed{}, errNoHousehold
	}
	if err != nil {
		return "", mealsync.Feed{}, err
	}
	f, err := s.store.ChangesSince(ctx, h.ID, u.ID, since)
	return h.ID, f, err
}

// member checks that u belongs to household id; to anyone else it does not
// exist (404), whether or not it does.
func (s *Service) member(ctx context.Context, u *mealsync.User, id string) error {
	h, err := s.store.HouseholdOf(ctx, u.ID)
	if err != nil && mealsync.ErrorCode(err) != mealsync.ENOTFOUND {
		return err
	}
	if err != nil || h.ID != id {
		return householdNotFound(id)
	}
	return nil
}

// Invite makes a single-use code that lets whoever has it join household
// id, valid for InviteTTL. Only its hash is stored.
func (s *Service) Invite(ctx context.Context, u *mealsync.User, id string) (code string, expires time.Time, err error) {
	if err := s.member(ctx, u, id); err != nil {
		return "", time.Time{}, err
	}
	code = rand.Text() // 26 base32 characters, 130 bits
	now := s.now()
	expires = now.Add(InviteTTL)
	if err := s.store.CreateInvite(ctx, id, hashCode(code), u.ID, expires, now); err != nil {
		return "", time.Time{}, err
	}
	return code, expires, nil
}

func hashCode(code string) string {
	sum := sha256.Sum256([]byte(strings.ToUpper(strings.TrimSpace(code))))
	return hex.EncodeToString(sum[:])
}

// Join uses an invite code up and makes u a member.
func (s *Service) Join(ctx context.Context, u *mealsync.User, code string) (*mealsync.Snapshot, error) {
	h, err := s.store.RedeemInvite(ctx, hashCode(code), mealsync.Member{UserID: u.ID, Name: u.Name, Role: mealsync.RoleMember, JoinedAt: s.now()}, s.now())
	switch mealsync.ErrorCode(err) {
	case "":
	case mealsync.ENOTFOUND:
		return nil, mealsync.Errorf(mealsync.ENOTFOUND, "This invite code is not valid: it is unknown, used or expired")
	case mealsync.ECONFLICT:
		var e *mealsync.Error
		if errors.As(err, &e) && strings.HasPrefix(e.Message, "The household is full") {
			return nil, err
		}
		return nil, mealsync.Errorf(mealsync.ECONFLICT, "You are in a household already: leave it first")
	default:
		return nil, err
	}
	mealsync.AfterCommit(ctx, func() { s.changed(h.ID, h.Revision) })
	return s.Snapshot(ctx, u, h.ID)
}

// apply runs an operation of u on household id with the store, after
// checking, under the household's lock, that u is a member; result is what
// the operation answers, kept for its retries. The household's live
// connections are told of a new revision.
func apply[T any](ctx context.Context, s *Service, u *mealsync.User, id, opID string, fn func(tx mealsync.HouseholdTx) (T, error)) (T, error) {
	var out T
	res, err := s.store.Apply(ctx, mealsync.Op{HouseholdID: id, UserID: u.ID, OpID: opID, At: s.now()},
		func(tx mealsync.HouseholdTx) (json.RawMessage, error) {
			members, err := tx.Members(ctx)
			if err != nil {
				return nil, err
			}
			if !slices.ContainsFunc(members, func(m mealsync.Member) bool { return m.UserID == u.ID }) {
				return nil, householdNotFound(id)
			}
			v, err := fn(tx)
			if err != nil {
				return nil, err
			}
			return json.Marshal(v)
		})
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND && strings.Contains(err.Error(), "lock household") {
		return out, householdNotFound(id)
	}
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(res.Body, &out); err != nil {
		return out, fmt.Errorf("household op result: %w", err)
	}
	if !res.Replayed {
		mealsync.AfterCommit(ctx, func() { s.changed(id, res.Revision) })
	}
	return out, nil
}

// AddItem adds it to the list's end. A client may choose the id (a UUID),
// so that an item added offline can be edited before it reached the server;
// an id once deleted stays deleted.
func (s *Service) AddItem(ctx context.Context, u *mealsync.User, id, opID string, it mealsync.ShoppingListItem) (mealsync.ShoppingListItem, error) {
	it.Name, it.Quantity, it.Unit = strings.TrimSpace(it.Name), strings.TrimSpace(it.Quantity), strings.TrimSpace(it.Unit)
	it.Category, it.Note = strings.TrimSpace(it.Category), strings.TrimSpace(it.Note)
	if err := it.Validate(); err != nil {
		return it, err
	}
	if it.ID == "" {
		it.ID = uuid.NewString()
	}
	return apply(ctx, s, u, id, opID, func(tx mealsync.HouseholdTx) (mealsync.ShoppingListItem, error) {
		if gone, err := tx.Deleted(ctx, it.ID); err != nil || gone {
			return it, cmpErr(err, itemNotFound(it.ID))
		}
		if old, err := tx.Item(ctx, it.ID); err == nil {
			return *old, nil // added before (a retry without an operation id)
		} else if mealsync.ErrorCode(err) != mealsync.ENOTFOUND {
			return it, err
		}
		items, err := tx.Items(ctx)
		if err != nil {
			return it, err
		}
		if len(items) >= mealsync.MaxListItems {
			return it, mealsync.Errorf(mealsync.ECONFLICT, "The list is full (%d items)", mealsync.MaxListItems)
		}
		now := s.now()
		it.Position, it.AddedBy, it.CreatedAt, it.UpdatedAt, it.Checked = nextPosition(items), u.ID, now, now, false
		return it, tx.PutItem(ctx, &it)
	})
}

// cmpErr returns err if there is one, else fallback.
func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

func nextPosition(items []mealsync.ShoppingListItem) int64 {
	var top int64
	for _, it := range items {
		top = max(top, it.Position)
	}
	return top + 1
}

// EditItem writes the fields p carries onto item itemID. Setting checked to
// what it is already changes nothing.
func (s *Service) EditItem(ctx context.Context, u *mealsync.User, id, opID, itemID string, p mealsync.ItemPatch) (mealsync.ShoppingListItem, error) {
	return apply(ctx, s, u, id, opID, func(tx mealsync.HouseholdTx) (mealsync.ShoppingListItem, error) {
		old, err := tx.Item(ctx, itemID)
		if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
			return mealsync.ShoppingListItem{}, itemNotFound(itemID) // deleted beats a concurrent edit
		}
		if err != nil {
			return mealsync.ShoppingListItem{}, err
		}
		it := *old
		p.Apply(&it)
		if err := it.Validate(); err != nil {
			return *old, err
		}
		if it == *old {
			return it, nil // nothing changes: no new revision
		}
		it.UpdatedAt = s.now()
		return it, tx.PutItem(ctx, &it)
	})
}

// DeleteItem removes item itemID. Deleting what is gone answers as the
// first delete did: nothing to report.
func (s *Service) DeleteItem(ctx context.Context, u *mealsync.User, id, opID, itemID string) error {
	_, err := apply(ctx, s, u, id, opID, func(tx mealsync.HouseholdTx) (struct{}, error) {
		if gone, err := tx.Deleted(ctx, itemID); err != nil || gone {
			return struct{}{}, err
		}
		err := tx.DeleteItem(ctx, itemID)
		if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
			return struct{}{}, itemNotFound(itemID)
		}
		return struct{}{}, err
	})
	return err
}

// Reorder puts the items ids names first, in that order, then the others
// in the order they had. Unknown ids are refused.
func (s *Service) Reorder(ctx context.Context, u *mealsync.User, id, opID string, ids []string) ([]mealsync.ShoppingListItem, error) {
	return apply(ctx, s, u, id, opID, func(tx mealsync.HouseholdTx) ([]mealsync.ShoppingListItem, error) {
		items, err := tx.Items(ctx)
		if err != nil {
			return nil, err
		}
		byID := make(map[string]int, len(items))
		for i, it := range items {
			byID[it.ID] = i
		}
		var order []int
		seen := map[int]bool{}
		for _, want := range ids {
			i, ok := byID[want]
			if !ok {
				return nil, itemNotFound(want)
			}
			if !seen[i] {
				seen[i] = true
				order = append(order, i)
			}
		}
		for i := range items {
			if !seen[i] {
				order = append(order, i)
			}
		}
		out := make([]mealsync.ShoppingListItem, 0, len(items))
		for pos, i := range order {
			it := items[i]
			if it.Position != int64(pos+1) {
				it.Position, it.UpdatedAt = int64(pos+1), s.now()
				if err := tx.PutItem(ctx, &it); err != nil {
					return nil, err
				}
			}
			out = append(out, it)
		}
		return out, nil
	})
}

// ClearChecked deletes every checked item and returns how many.
func (s *Service) ClearChecked(ctx context.Context, u *mealsync.User, id, opID string) (int, error) {
	return apply(ctx, s, u, id, opID, func(tx mealsync.HouseholdTx) (int, error) {
		items, err := tx.Items(ctx)
		if err != nil {
			return 0, err
		}
		n := 0
		for _, it := range items {
			if it.Checked {
				if err := tx.DeleteItem(ctx, it.ID); err != nil {
					return n, err
				}
				n++
			}
		}
		return n, nil
	})
}

// AddMealPlan adds the shopping list of meal plan planID (u's own, or the
// household's) to the
// household's list: a line whose name and unit match an unchecked item is
// summed into it, exactly, with the meal plans' own arithmetic
// (mealplan.ShoppingList); the others are added at the end.
func (s *Service) AddMealPlan(ctx context.Context, u *mealsync.User, id, opID, planID string) ([]mealsync.ShoppingListItem, error) {
	plan, err := s.plans.MealPlan(ctx, planID)
	if err == nil && !plan.UsableBy(u, id) {
		err = mealsync.ErrNotFound // another's plan does not exist for u
	}
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return nil, mealsync.Errorf(mealsync.ENOTFOUND, "Meal plan not found with id: %s", planID)
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range plan.Meals {
		if m.Recipe != nil {
			ids = append(ids, m.Recipe.ID)
		}
	}
	recipes, err := s.recips.RecipesByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*mealsync.Recipe, len(recipes))
	for _, r := range recipes {
		byID[r.ID] = r
	}
	for i, m := range plan.Meals {
		if m.Recipe != nil {
			plan.Meals[i].Recipe = byID[m.Recipe.ID]
		}
	}
	lines := mealplan.ShoppingList(plan.Meals)
	return apply(ctx, s, u, id, opID, func(tx mealsync.HouseholdTx) ([]mealsync.ShoppingListItem, error) {
		items, err := tx.Items(ctx)
		if err != nil {
			return nil, err
		}
		var out []mealsync.ShoppingListItem
		next := nextPosition(items)
		for _, l := range lines {
			i := slices.IndexFunc(items, func(it mealsync.ShoppingListItem) bool {
				return !it.Checked && mealplan.SameLine(it.Name, it.Unit, l.Name, l.Unit)
			})
			now := s.now()
			if i >= 0 {
				it := items[i]
				it.Quantity, it.Unit = mealplan.AddQuantities(it.Quantity, it.Unit, l.Quantity, l.Unit)
				it.UpdatedAt = now
				if err := tx.PutItem(ctx, &it); err != nil {
					return nil, err
				}
				items[i] = it
				out = append(out, it)
				continue
			}
			if len(items) >= mealsync.MaxListItems {
				return nil, mealsync.Errorf(mealsync.ECONFLICT, "The list is full (%d items)", mealsync.MaxListItems)
			}
			it := mealsync.ShoppingListItem{ID: uuid.NewString(), Name: l.Name, Quantity: l.Quantity, Unit: l.Unit,
				Position: next, AddedBy: u.ID, CreatedAt: now, UpdatedAt: now}
			next++
			if err := tx.PutItem(ctx, &it); err != nil {
				return nil, err
			}
			items = append(items, it)
			out = append(out, it)
		}
		return out, nil
	})
}

// Members returns the members of household id, longest-standing first,
// for a member of it.
func (s *Service) Members(ctx context.Context, u *mealsync.User, id string) ([]mealsync.Member, error) {
	if err := s.member(ctx, u, id); err != nil {
		return nil, err
	}
	return s.store.HouseholdMembers(ctx, id)
}

// AddPlan makes p, a plan composed for the household's members
// (kitchen.ComposePlan), a plan of household id, made by u: every member
// sees it, live. It returns the plan's id: p's, or the first attempt's for
// a retried operation.
func (s *Service) AddPlan(ctx context.Context, u *mealsync.User, id, opID string, p *mealsync.MealPlan) (string, error) {
	return apply(ctx, s, u, id, opID, func(tx mealsync.HouseholdTx) (string, error) {
		p.UserID = u.ID
		return p.ID, tx.PutMealPlan(ctx, p)
	})
}

// DeletePlan deletes plan planID of household id (any member).
func (s *Service) DeletePlan(ctx context.Context, u *mealsync.User, id, opID, planID string) error {
	_, err := apply(ctx, s, u, id, opID, func(tx mealsync.HouseholdTx) (struct{}, error) {
		err := tx.DeleteMealPlan(ctx, planID)
		if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
			err = mealsync.Errorf(mealsync.ENOTFOUND, "Meal plan not found with id: %s", planID)
		}
		return struct{}{}, err
	})
	return err
}

// SetMeal gives meal m (its day and meal type) of plan planID of household
// id the recipe m.Recipe (any member); every member sees the plan change,
// live. The caller chose the recipe for every member
// (kitchen.Service.ChooseMeal).
func (s *Service) SetMeal(ctx context.Context, u *mealsync.User, id, opID, planID string, m mealsync.PlannedMeal) error {
	_, err := apply(ctx, s, u, id, opID, func(tx mealsync.HouseholdTx) (struct{}, error) {
		err := tx.SetMeal(ctx, planID, m)
		if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
			err = mealsync.Errorf(mealsync.ENOTFOUND, "Meal plan not found with id: %s", planID)
		}
		return struct{}{}, err
	})
	return err
}

// Rename gives household id a new name (any member).
func (s *Service) Rename(ctx context.Context, u *mealsync.User, id, opID, name string) (mealsync.Household, error) {
	h := mealsync.Household{Name: strings.TrimSpace(name)}
	if err := h.Validate(); err != nil {
		return h, err
	}
	return apply(ctx, s, u, id, opID, func(tx mealsync.HouseholdTx) (mealsync.Household, error) {
		cur, err := tx.Household(ctx)
		if err != nil || cur.Name == h.Name {
			return derefOr(cur), err
		}
		cur.Name = h.Name
		return *cur, tx.PutHousehold(ctx, cur)
	})
}

func derefOr(h *mealsync.Household) mealsync.Household {
	if h == nil {
		return mealsync.Household{}
	}
	return *h
}

// Leave takes u out of household id. The owner hands ownership over first,
// unless they are the last member: then the household, its list and its
// feed are deleted. Whatever u added stays with the household: the meal
// plans u made are the owner's to answer for from then on (AdoptMealPlans),
// so that deleting u's account later cannot take them along.
func (s *Service) Leave(ctx context.Context, u *mealsync.User, id string) error {
	last := false
	_, err := apply(ctx, s, u, id, "", func(tx mealsync.HouseholdTx) (struct{}, error) {
		members, err := tx.Members(ctx)
		if err != nil {
			return struct{}{}, err
		}
		h, err := tx.Household(ctx)
		if err != nil {
			return struct{}{}, err
		}
		if len(members) == 1 {
			last = true
			return struct{}{}, nil
		}
		if h.OwnerID == u.ID {
			return struct{}{}, mealsync.Errorf(mealsync.ECONFLICT, "Hand ownership over to another member before you leave")
		}
		if err := tx.AdoptMealPlans(ctx, u.ID, h.OwnerID); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, tx.DeleteMember(ctx, u.ID)
	})
	if err != nil || !last {
		return err
	}
	return s.store.DeleteHousehold(ctx, id)
}

// RemoveAccount takes the user whose account is being deleted out of their
// household, as its members see it: a member leaves; an owner hands
// ownership to the longest-standing other member first; the last member's
// household is deleted. The meal plans they made stay with the household.
// It is meant to run in the transaction that deletes the account
// (mealsync.Transactor), which would otherwise remove the membership with
// no change in the feed.
func (s *Service) RemoveAccount(ctx context.Context, u *mealsync.User) error {
	h, err := s.store.HouseholdOf(ctx, u.ID)
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	last := false
	_, err = apply(ctx, s, u, h.ID, "", func(tx mealsync.HouseholdTx) (struct{}, error) {
		members, err := tx.Members(ctx)
		if err != nil {
			return struct{}{}, err
		}
		cur, err := tx.Household(ctx)
		if err != nil {
			return struct{}{}, err
		}
		i := slices.IndexFunc(members, func(m mealsync.Member) bool { return m.UserID != u.ID })
		if i < 0 {
			last = true
			return struct{}{}, nil
		}
		heir := members[i] // longest-standing other member
		if cur.OwnerID == u.ID {
			heir.Role = mealsync.RoleOwner
			if err := tx.PutMember(ctx, heir); err != nil {
				return struct{}{}, err
			}
			cur.OwnerID = heir.UserID
			if err := tx.PutHousehold(ctx, cur); err != nil {
				return struct{}{}, err
			}
		}
		if err := tx.AdoptMealPlans(ctx, u.ID, cur.OwnerID); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, tx.DeleteMember(ctx, u.ID)
	})
	if err != nil || !last {
		return err
	}
	return s.store.DeleteHousehold(ctx, h.ID)
}

// RemoveMember takes memberID out of household id (the owner only).
func (s *Service) RemoveMember(ctx context.Context, u *mealsync.User, id, memberID string) error {
	_, err := apply(ctx, s, u, id, "", func(tx mealsync.HouseholdTx) (struct{}, error) {
		h, err := tx.Household(ctx)
		if err != nil {
			return struct{}{}, err
		}
		if h.OwnerID != u.ID {
			return struct{}{}, errNotOwner
		}
		if memberID == u.ID {
			return struct{}{}, mealsync.Errorf(mealsync.ECONFLICT, "The owner leaves, after handing ownership over; it does not remove itself")
		}
		err = tx.DeleteMember(ctx, memberID)
		if err == nil {
			err = tx.AdoptMealPlans(ctx, memberID, u.ID)
		}
		if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
			return struct{}{}, mealsync.Errorf(mealsync.ENOTFOUND, "Member not found with id: %s", memberID)
		}
		return struct{}{}, err
	})
	return err
}

// HandOver makes memberID the owner of household id (the owner only).
func (s *Service) HandOver(ctx context.Context, u *mealsync.User, id, memberID string) (mealsync.Household, error) {
	return apply(ctx, s, u, id, "", func(tx mealsync.HouseholdTx) (mealsync.Household, error) {
		h, err := tx.Household(ctx)
		if err != nil {
			return mealsync.Household{}, err
		}
		if h.OwnerID != u.ID {
			return *h, errNotOwner
		}
		members, err := tx.Members(ctx)
		if err != nil {
			return *h, err
		}
		i := slices.IndexFunc(members, func(m mealsync.Member) bool { return m.UserID == memberID })
		if i < 0 {
			return *h, mealsync.Errorf(mealsync.ENOTFOUND, "Member not found with id: %s", memberID)
		}
		if memberID == u.ID {
			return *h, nil
		}
		for _, m := range members {
			switch m.UserID {
			case u.ID:
				m.Role = mealsync.RoleMember
			case memberID:
				m.Role = mealsync.RoleOwner
			default:
				continue
			}
			if err := tx.PutMember(ctx, m); err != nil {
				return *h, err
			}
		}
		h.OwnerID = memberID
		return *h, tx.PutHousehold(ctx, h)
	})
}
