package mealsync

import (
	"context"
	"fmt"
	"time"
)

// Meal types, in the order of a day.
const (
	Breakfast = "BREAKFAST"
	Lunch     = "LUNCH"
	Dinner    = "DINNER"
)

// The days a meal plan may cover: years 1900 to 9999. Every store and date
// format handles them alike (PostgreSQL refuses year 0, a five-digit year
// is no longer YYYY-MM-DD), and no one plans meals outside them.
var (
	EarliestPlanDate = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	LatestPlanDate   = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// MealTypes lists the meal types in the order of a day.
var MealTypes = []string{Breakfast, Lunch, Dinner}

// MealPlan is a plan: for each day from StartDate, MealsPerDay meals. A
// personal plan is its user's alone; a household's plan (HouseholdID set)
// belongs to the household: every member sees and changes it, its changes
// go through the household's change feed, and it stays with the household
// when the member who made it leaves.
type MealPlan struct {
	ID          string
	UserID      string    // who made it: its owner, for a personal plan
	HouseholdID string    // "" for a personal plan
	StartDate   time.Time // a date (midnight UTC)
	Days        int
	MealsPerDay int
	Meals       []PlannedMeal // ordered by day, then meal type
	CreatedAt   time.Time
}

// PlannedMeal is one meal of a plan.
type PlannedMeal struct {
	Day      int    // 0-based day offset from StartDate
	MealType string // BREAKFAST, LUNCH or DINNER
	Recipe   *Recipe
}

// ShoppingItem is one line of a plan's shopping list: an ingredient summed
// across the plan by name and unit.
type ShoppingItem struct {
	Name     string
	Quantity string // the sum, e.g. "2 1/2"; non-numeric quantities joined with " + "
	Unit     string
	Recipes  int // how many planned meals need it
}

// UsableBy reports whether u may read and change p, u being a member of
// household memberOf ("" for none): a personal plan is its owner's (and an
// admin's, who looks after accounts); a household's plan is its members',
// and no one else's, admins included.
func (p *MealPlan) UsableBy(u *User, memberOf string) bool {
	if p.HouseholdID != "" {
		return p.HouseholdID == memberOf
	}
	return p.UserID == u.ID || u.Role == RoleAdmin
}

// MealPlanStore keeps meal plans. A household's plans are written through
// the household (HouseholdTx), so that its change feed records them.
type MealPlanStore interface {
	CreateMealPlan(ctx context.Context, p *MealPlan) error // a personal plan and its meals in one transaction
	MealPlan(ctx context.Context, id string) (*MealPlan, error)
	MealPlans(ctx context.Context, userID string, offset, limit int) (Page[*MealPlan], error) // personal ones, newest first
	HouseholdMealPlans(ctx context.Context, householdID string, offset, limit int) (Page[*MealPlan], error)
	DeleteMealPlan(ctx context.Context, id string) error // a personal plan
	// SetMeal gives meal m.Day/m.MealType of personal plan planID the
	// recipe m.Recipe (its ID), in one statement; ErrNotFound when the plan
	// is unknown or a household's, or has no such meal.
	SetMeal(ctx context.Context, planID string, m PlannedMeal) error
}

// Limits of a meal plan.
const (
	MaxPlanDays    = 28
	MaxMealsPerDay = 3 // len(MealTypes)
)

// Validate reports every problem with p's start and size at once
// (EINVALID, fields named as the API names them).
func (p *MealPlan) Validate() error {
	var v Validation
	if p.StartDate.IsZero() {
		v.Add("startDate", "Start date is required")
	} else if p.StartDate.Before(EarliestPlanDate) || p.StartDate.AddDate(0, 0, max(p.Days-1, 0)).After(LatestPlanDate) {
		v.Add("startDate", fmt.Sprintf("The plan must fall between %s and %s",
			EarliestPlanDate.Format(time.DateOnly), LatestPlanDate.Format(time.DateOnly)))
	}
	if p.Days < 1 || p.Days > MaxPlanDays {
		v.Add("numberOfDays", fmt.Sprintf("Must be between 1 and %d", MaxPlanDays))
	}
	if p.MealsPerDay < 1 || p.MealsPerDay > MaxMealsPerDay {
		v.Add("mealsPerDay", fmt.Sprintf("Must be between 1 and %d", MaxMealsPerDay))
	}
	return v.Err()
}
