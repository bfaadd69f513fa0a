package mealsync

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Household is people who plan and shop together: its members share a
// shopping list (and meal plans) that every device sees change live. A user
// belongs to at most one household at a time.
//
// Every change to a household's data is one transaction that moves the
// household's Revision on by one and records what changed under it (a
// Change), so any device can ask "what changed after revision N" and get
// everything, in order, deletions included.
type Household struct {
	ID        string
	Name      string
	OwnerID   string
	Revision  int64
	CreatedAt time.Time
}

// Household roles.
const (
	RoleOwner  = "OWNER"
	RoleMember = "MEMBER"
)

// Member is a user in a household.
type Member struct {
	UserID   string
	Name     string
	Role     string // OWNER or MEMBER
	JoinedAt time.Time
}

// ShoppingListItem is one line of a household's shopping list.
type ShoppingListItem struct {
	ID        string
	Name      string
	Quantity  string // text, as recipes write it ("1 1/2")
	Unit      string
	Category  string
	Note      string
	Checked   bool
	Position  int64 // the list's order: ascending
	AddedBy   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Limits of household data.
const (
	MaxHouseholdName = 100
	MaxItemName      = 100
	MaxItemQuantity  = 50
	MaxItemUnit      = 50
	MaxItemCategory  = 50
	MaxItemNote      = 500
	MaxListItems     = 1000
	MaxMembers       = 20
)

// Validate checks a household's fields.
func (h *Household) Validate() error {
	var v Validation
	checkText(&v, "name", h.Name, MaxHouseholdName, true)
	return v.Err()
}

// Validate checks an item's fields.
func (it *ShoppingListItem) Validate() error {
	var v Validation
	checkText(&v, "name", it.Name, MaxItemName, true)
	checkText(&v, "quantity", it.Quantity, MaxItemQuantity, false)
	checkText(&v, "unit", it.Unit, MaxItemUnit, false)
	checkText(&v, "category", it.Category, MaxItemCategory, false)
	checkText(&v, "note", it.Note, MaxItemNote, false)
	return v.Err()
}

// checkText records a problem with a required, over-long or unstorable
// text field.
func checkText(v *Validation, field, s string, limit int, required bool) {
	switch n := utf8.RuneCountInString(strings.TrimSpace(s)); {
	case !ValidText(s):
		v.Add(field, "Must be valid UTF-8 text without NUL characters")
	case required && n == 0:
		v.Add(field, fmt.Sprintf("%s cannot be blank", fieldName(field)))
	case n > limit:
		v.Add(field, fmt.Sprintf("%s cannot exceed %d characters", fieldName(field), limit))
	}
}

func fieldName(f string) string { return strings.ToUpper(f[:1]) + f[1:] }

// ItemPatch is an edit of some of an item's fields: the ones set are
// written, the others keep whatever they are by then. Concurrent edits of
// different fields all survive; of the same field, the later in server
// order wins.
type ItemPatch struct {
	Name, Quantity, Unit, Category, Note *string
	Checked                              *bool
}

// Apply writes the patch onto it.
func (p ItemPatch) Apply(it *ShoppingListItem) {
	for _, f := range []struct {
		dst *string
		src *string
	}{{&it.Name, p.Name}, {&it.Quantity, p.Quantity}, {&it.Unit, p.Unit}, {&it.Category, p.Category}, {&it.Note, p.Note}} {
		if f.src != nil {
			*f.dst = strings.TrimSpace(*f.src)
		}
	}
	if p.Checked != nil {
		it.Checked = *p.Checked
	}
}

// Entities a household Change is about.
const (
	EntityHousehold = "household"
	EntityMember    = "member"
	EntityItem      = "item"
	EntityMealPlan  = "mealPlan"
)

// Change is one entry of a household's change feed: an entity as it is
// after the change (an upsert), or a tombstone for a deleted one.
type Change struct {
	Revision int64
	Entity   string // household, member, item or mealPlan
	ID       string
	Deleted  bool
	// The entity after the change, the one Entity names; all nil for a
	// tombstone. A meal plan's meals carry only their recipes' IDs.
	Household *Household
	Member    *Member
	Item      *ShoppingListItem
	MealPlan  *MealPlan
	AuthorID  string
	OpID      string // the client's operation id, when it sent one
	At        time.Time
}

// Feed is what a device catching up gets: the changes after the revision it
// knew, and the current one. Resync means the changes it needs are no
// longer kept: Snapshot holds the whole state instead.
type Feed struct {
	Revision int64
	Changes  []Change
	Resync   bool
	Snapshot *Snapshot
}

// Snapshot is a household's whole state at Revision. Its meal plans'
// meals carry only their recipes' IDs.
type Snapshot struct {
	Household Household
	Members   []Member
	Items     []ShoppingListItem
	MealPlans []MealPlan // newest first
}

// Op is one operation on a household's data, as the store applies it.
// OpID makes it idempotent: an operation whose id was applied before is not
// applied again; its first result is returned.
type Op struct {
	HouseholdID string
	UserID      string // who does it (author of its changes)
	OpID        string // "" : no retry protection
	At          time.Time
}

// OpResult is what an operation answered, kept for its retries.
type OpResult struct {
	Revision int64
	Body     json.RawMessage // the operation's result, as it encoded it
	Replayed bool            // this is a retry: the operation was applied before
}

// HouseholdTx is what an operation may do inside its transaction. Every
// write records its change in the feed under the operation's revision.
type HouseholdTx interface {
	Revision() int64
	Household(ctx context.Context) (*Household, error)
	Members(ctx context.Context) ([]Member, error)
	Items(ctx context.Context) ([]ShoppingListItem, error)
	Item(ctx context.Context, id string) (*ShoppingListItem, error) // ErrNotFound when absent or deleted
	// Deleted reports whether the item once existed and was deleted (a
	// tombstone): an edit of it is refused, never resurrects it.
	Deleted(ctx context.Context, id string) (bool, error)
	PutItem(ctx context.Context, it *ShoppingListItem) error
	DeleteItem(ctx context.Context, id string) error
	PutHousehold(ctx context.Context, h *Household) error
	PutMember(ctx context.Context, m Member) error
	DeleteMember(ctx context.Context, userID string) error
	// MealPlan returns one of the household's plans (ErrNotFound);
	// PutMealPlan stores a new plan of the household (p.HouseholdID is set
	// to it) with its meals; DeleteMealPlan removes one (ErrNotFound).
	MealPlan(ctx context.Context, id string) (*MealPlan, error)
	PutMealPlan(ctx context.Context, p *MealPlan) error
	DeleteMealPlan(ctx context.Context, id string) error
	// SetMeal gives meal m.Day/m.MealType of the household's plan planID
	// the recipe m.Recipe (its ID) and records the whole plan as changed;
	// ErrNotFound when there is no such plan or meal.
	SetMeal(ctx context.Context, planID string, m PlannedMeal) error
	// AdoptMealPlans makes member to answer for the household's plans that
	// from made, when from leaves: the plans stay with the household, even
	// once from's account is deleted. Nothing a member sees changes.
	AdoptMealPlans(ctx context.Context, from, member string) error
}

// HouseholdStore keeps households, their members, invites, shopping lists
// and change feeds.
type HouseholdStore interface {
	// CreateHousehold makes h with owner as its only member; ErrConflict if
	// the owner is in a household already.
	CreateHousehold(ctx context.Context, h *Household, owner Member) error
	// HouseholdOf returns the household userID belongs to (ErrNotFound).
	HouseholdOf(ctx context.Context, userID string) (*Household, error)
	// HouseholdMembers returns a household's members, longest-standing first.
	HouseholdMembers(ctx context.Context, householdID string) ([]Member, error)
	// Apply runs fn in one transaction under the household's next revision,
	// records its changes and its result under op.OpID, and returns the
	// result — or, for an OpID applied before, its first result without
	// running fn. An fn that writes nothing leaves the revision where it was.
	Apply(ctx context.Context, op Op, fn func(tx HouseholdTx) (json.RawMessage, error)) (OpResult, error)
	// ChangesSince returns the feed after revision since, for memberID:
	// to anyone not in the household it does not exist (ENOTFOUND).
	ChangesSince(ctx context.Context, householdID, memberID string, since int64) (Feed, error)
	// CreateInvite stores an invite code's hash; RedeemInvite uses one up
	// for userID, atomically with joining (ErrNotFound for an unknown,
	// used or expired code, ErrConflict if userID is in a household).
	CreateInvite(ctx context.Context, householdID, codeHash, createdBy string, expires, at time.Time) error
	RedeemInvite(ctx context.Context, codeHash string, m Member, at time.Time) (*Household, error)
	// DeleteHousehold removes a household and all its data.
	DeleteHousehold(ctx context.Context, id string) error
}
