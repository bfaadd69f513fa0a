package kitchen

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/mealplan"
	"github.com/mealsync/mealsync/internal/ranking"
)

// planCandidates bounds the recipes one plan chooses from.
const planCandidates = 1000

// CreatePlan plans days × mealsPerDay meals for u (ComposePlan) and stores
// the plan as u's own.
func (s *Service) CreatePlan(ctx context.Context, u *mealsync.User, start time.Time, days, mealsPerDay int) (*mealsync.MealPlan, error) {
	p, err := s.ComposePlan(ctx, u, start, days, mealsPerDay)
	if err != nil {
		return nil, err
	}
	if err := s.plans.CreateMealPlan(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// ComposePlan plans days × mealsPerDay meals for u from the catalogue and
// u's own private recipes, ranked by u's preferences, and returns the plan
// unstored. Every meal is one that u and each of others may eat (their
// diets, allergies and dislikes): a household's plan is composed for all
// its members.
func (s *Service) ComposePlan(ctx context.Context, u *mealsync.User, start time.Time, days, mealsPerDay int,
	others ...mealsync.Preferences) (*mealsync.MealPlan, error) {
	p := &mealsync.MealPlan{ID: uuid.NewString(), UserID: u.ID, StartDate: start, Days: days, MealsPerDay: mealsPerDay, CreatedAt: s.now()}
	req := mealplan.Request{StartDate: start, Days: days, MealsPerDay: mealsPerDay, Seed: p.ID,
		Allowed: allowedForAll(append([]mealsync.Preferences{u.Preferences}, others...))}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	candidates, err := s.recipes.ListRecipes(ctx, mealsync.RecipeFilter{Viewer: mealsync.ViewerOf(u), Limit: planCandidates})
	if err != nil {
		return nil, err
	}
	if p.Meals, err = mealplan.Plan(candidates.Items, u.Preferences, req); err != nil {
		return nil, err
	}
	return p, nil
}

// allowedForAll reports whether every one of eaters may eat a recipe:
// their diets, allergies and dislikes (ranking.Filter).
func allowedForAll(eaters []mealsync.Preferences) func(*mealsync.Recipe) bool {
	filters := make([]*ranking.Filter, len(eaters))
	for i, p := range eaters {
		filters[i] = ranking.NewFilter(p)
	}
	return func(r *mealsync.Recipe) bool {
		for _, f := range filters {
			if !f.Allows(r) {
				return false
			}
		}
		return true
	}
}

// ChooseMeal returns the recipe that meal (day, mealType) of plan p is to
// get, for viewer (whose recipes the plan may use: the plan's owner, or
// the household member changing it) and eaters (everyone the plan feeds,
// viewer's own preferences included). With recipeID, that recipe: one
// viewer may see and every eater may eat, else EINVALID. Without, the
// planner's choice of another recipe (mealplan.Replace), seed making it
// repeatable. A meal the plan does not have is EINVALID too.
func (s *Service) ChooseMeal(ctx context.Context, viewer *mealsync.User, eaters []mealsync.Preferences, p *mealsync.MealPlan,
	day int, mealType, recipeID, seed string) (*mealsync.Recipe, error) {
	var v mealsync.Validation
	if day < 0 || day >= p.Days {
		v.Add("date", fmt.Sprintf("Must be a day of the plan, %s to %s",
			p.StartDate.Format(time.DateOnly), p.StartDate.AddDate(0, 0, p.Days-1).Format(time.DateOnly)))
	}
	if !slices.Contains(mealplan.MealTypes(p.MealsPerDay), mealType) {
		v.Add("mealType", "Must be one of the plan's meals: "+strings.Join(mealplan.MealTypes(p.MealsPerDay), ", "))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	allowed := allowedForAll(eaters)
	if recipeID != "" {
		r, err := s.Recipe(ctx, viewer, recipeID)
		if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
			v.Add("recipeId", "No such recipe: "+recipeID)
			return nil, v.Err()
		}
		if err != nil {
			return nil, err
		}
		if !allowed(r) {
			v.Add("recipeId", "Not a recipe everyone this plan is for may eat (their diets, allergies and dislikes)")
			return nil, v.Err()
		}
		return r, nil
	}
	candidates, err := s.recipes.ListRecipes(ctx, mealsync.RecipeFilter{Viewer: mealsync.ViewerOf(viewer), Limit: planCandidates})
	if err != nil {
		return nil, err
	}
	prefs := viewer.Preferences
	if len(eaters) > 0 {
		prefs = eaters[0]
	}
	return mealplan.Replace(candidates.Items, prefs, p.Meals, day, mealType, mealplan.Request{Seed: seed, Allowed: allowed})
}

// SetMeal stores meal m in personal plan p, which u may use (Plan); a
// household's plan changes through the household (households.Service.SetMeal).
func (s *Service) SetMeal(ctx context.Context, p *mealsync.MealPlan, m mealsync.PlannedMeal) error {
	if p.HouseholdID != "" {
		return fmt.Errorf("set meal of plan %s: it is household %s's", p.ID, p.HouseholdID)
	}
	err := s.plans.SetMeal(ctx, p.ID, m)
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return mealsync.Errorf(mealsync.ENOTFOUND, "Meal plan not found with id: %s", p.ID)
	}
	return err
}

// Plan returns a plan u may use (MealPlan.UsableBy) with its recipes.
// Another's plan is not found: its existence is not u's business.
func (s *Service) Plan(ctx context.Context, u *mealsync.User, id string) (*mealsync.MealPlan, error) {
	p, err := s.plans.MealPlan(ctx, id)
	if err == nil {
		var memberOf string
		if memberOf, err = s.householdOf(ctx, u); err == nil && !p.UsableBy(u, memberOf) {
			err = mealsync.ErrNotFound
		}
	}
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return nil, mealsync.Errorf(mealsync.ENOTFOUND, "Meal plan not found with id: %s", id)
	}
	if err != nil {
		return nil, err
	}
	return p, s.hydrate(ctx, p)
}

// householdOf returns the household u belongs to, "" for none.
func (s *Service) householdOf(ctx context.Context, u *mealsync.User) (string, error) {
	h, err := s.households.HouseholdOf(ctx, u.ID)
	switch {
	case mealsync.ErrorCode(err) == mealsync.ENOTFOUND:
		return "", nil
	case err != nil:
		return "", err
	}
	return h.ID, nil
}

// Plans lists u's personal plans, newest first, with their recipes.
func (s *Service) Plans(ctx context.Context, u *mealsync.User, offset, limit int) (mealsync.Page[*mealsync.MealPlan], error) {
	page, err := s.plans.MealPlans(ctx, u.ID, offset, limit)
	if err != nil {
		return page, err
	}
	return page, s.hydrate(ctx, page.Items...)
}

// HouseholdPlans lists the plans of household id, newest first, with their
// recipes, for a member of it (to anyone else it does not exist).
func (s *Service) HouseholdPlans(ctx context.Context, u *mealsync.User, id string, offset, limit int) (mealsync.Page[*mealsync.MealPlan], error) {
	memberOf, err := s.householdOf(ctx, u)
	if err != nil {
		return mealsync.Page[*mealsync.MealPlan]{}, err
	}
	if memberOf != id {
		return mealsync.Page[*mealsync.MealPlan]{}, mealsync.Errorf(mealsync.ENOTFOUND, "Household not found with id: %s", id)
	}
	page, err := s.plans.HouseholdMealPlans(ctx, id, offset, limit)
	if err != nil {
		return page, err
	}
	return page, s.hydrate(ctx, page.Items...)
}

// DeletePlan deletes one of u's personal plans (a household's plan is
// deleted through the household: households.Service.DeletePlan).
func (s *Service) DeletePlan(ctx context.Context, u *mealsync.User, id string) error {
	p, err := s.Plan(ctx, u, id)
	if err != nil {
		return err
	}
	if p.HouseholdID != "" {
		return fmt.Errorf("delete meal plan %s: it is household %s's", id, p.HouseholdID)
	}
	return s.plans.DeleteMealPlan(ctx, id)
}

// ShoppingList sums the ingredients of a plan u may use.
func (s *Service) ShoppingList(ctx context.Context, u *mealsync.User, id string) (*mealsync.MealPlan, []mealsync.ShoppingItem, error) {
	p, err := s.Plan(ctx, u, id)
	if err != nil {
		return nil, nil, err
	}
	return p, mealplan.ShoppingList(p.Meals), nil
}

// hydrate replaces the id-only recipes of the plans' meals with the stored
// recipes, in one query.
func (s *Service) hydrate(ctx context.Context, plans ...*mealsync.MealPlan) error {
	var ids []string
	for _, p := range plans {
		for _, m := range p.Meals {
			if m.Recipe != nil {
				ids = append(ids, m.Recipe.ID)
			}
		}
	}
	rs, err := s.recipes.RecipesByIDs(ctx, ids)
	if err != nil {
		return err
	}
	byID := make(map[string]*mealsync.Recipe, len(rs))
	for _, r := range rs {
		byID[r.ID] = r
	}
	for _, p := range plans {
		for i, m := range p.Meals {
			if m.Recipe != nil {
				p.Meals[i].Recipe = byID[m.Recipe.ID] // nil if deleted meanwhile
			}
		}
	}
	return nil
}
