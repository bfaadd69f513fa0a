package kitchen

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/mealplan"
	"github.com/mealsync/mealsync/internal/ranking"
)

// planCandidates bounds the recipes one plan chooses from.
const planCandidates = 1000

// CreatePlan plans days × mealsPerDay meals for u from the catalogue and
// u's own private recipes, by u's preferences, and stores the plan.
func (s *Service) CreatePlan(ctx context.Context, u *mealsync.User, start time.Time, days, mealsPerDay int) (*mealsync.MealPlan, error) {
	p := &mealsync.MealPlan{ID: uuid.NewString(), UserID: u.ID, StartDate: start, Days: days, MealsPerDay: mealsPerDay, CreatedAt: s.now()}
	req := mealplan.Request{StartDate: start, Days: days, MealsPerDay: mealsPerDay, Seed: p.ID,
		Allowed: func(r *mealsync.Recipe) bool { return ranking.Allowed(r, u.Preferences) }}
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
	if err := s.plans.CreateMealPlan(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Plan returns one of u's plans with its recipes. Another user's plan is
// not found: its existence is not u's business.
func (s *Service) Plan(ctx context.Context, u *mealsync.User, id string) (*mealsync.MealPlan, error) {
	p, err := s.plans.MealPlan(ctx, id)
	if err == nil && p.UserID != u.ID && u.Role != mealsync.RoleAdmin {
		err = mealsync.ErrNotFound
	}
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return nil, mealsync.Errorf(mealsync.ENOTFOUND, "Meal plan not found with id: %s", id)
	}
	if err != nil {
		return nil, err
	}
	return p, s.hydrate(ctx, p)
}

// Plans lists u's plans, newest first, with their recipes.
func (s *Service) Plans(ctx context.Context, u *mealsync.User, offset, limit int) (mealsync.Page[*mealsync.MealPlan], error) {
	page, err := s.plans.MealPlans(ctx, u.ID, offset, limit)
	if err != nil {
		return page, err
	}
	return page, s.hydrate(ctx, page.Items...)
}

// DeletePlan deletes one of u's plans.
func (s *Service) DeletePlan(ctx context.Context, u *mealsync.User, id string) error {
	if _, err := s.Plan(ctx, u, id); err != nil {
		return err
	}
	return s.plans.DeleteMealPlan(ctx, id)
}

// ShoppingList sums the ingredients of one of u's plans.
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
