package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
)

const dateLayout = "2006-01-02"

// mealPlanRequest is the body of POST /meal-plans. With a householdId the
// plan is that household's (the caller must be a member), composed for
// all its members.
type mealPlanRequest struct {
	opRequest
	StartDate    string `json:"startDate"` // YYYY-MM-DD
	NumberOfDays int    `json:"numberOfDays"`
	MealsPerDay  int    `json:"mealsPerDay"`
	HouseholdID  string `json:"householdId"`
}

func (r mealPlanRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	r.check(&v)
	if r.HouseholdID != "" {
		if _, err := uuid.Parse(r.HouseholdID); err != nil {
			v.Add("householdId", "Must be a household's id (a UUID)")
		}
	}
	start, err := time.Parse(dateLayout, r.StartDate)
	if err != nil {
		v.Add("startDate", "Must be a date like 2026-01-31")
		start = mealsync.EarliestPlanDate // checked: the size is still
	}
	v.Include("", (&mealsync.MealPlan{StartDate: start, Days: r.NumberOfDays, MealsPerDay: r.MealsPerDay}).Validate())
	return v
}

type mealDTO struct {
	Type   string     `json:"type"`
	Recipe *recipeDTO `json:"recipe"` // null once the recipe was deleted
}

type mealPlanDayDTO struct {
	Date  string    `json:"date"`
	Meals []mealDTO `json:"meals"`
}

type mealPlanDTO struct {
	ID           string           `json:"id"`
	HouseholdID  string           `json:"householdId,omitempty"` // a household's plan
	StartDate    string           `json:"startDate"`
	NumberOfDays int              `json:"numberOfDays"`
	MealsPerDay  int              `json:"mealsPerDay"`
	Days         []mealPlanDayDTO `json:"days"`
	CreatedAt    Instant          `json:"createdAt"`
}

func toMealPlanDTO(p *mealsync.MealPlan) mealPlanDTO {
	d := mealPlanDTO{ID: p.ID, HouseholdID: p.HouseholdID, StartDate: p.StartDate.Format(dateLayout), NumberOfDays: p.Days,
		MealsPerDay: p.MealsPerDay, Days: make([]mealPlanDayDTO, p.Days), CreatedAt: Instant(p.CreatedAt)}
	for i := range d.Days {
		d.Days[i] = mealPlanDayDTO{Date: p.StartDate.AddDate(0, 0, i).Format(dateLayout), Meals: []mealDTO{}}
	}
	for _, m := range p.Meals {
		if m.Day < 0 || m.Day >= p.Days {
			continue
		}
		md := mealDTO{Type: m.MealType}
		if m.Recipe != nil {
			rd := toRecipeDTO(m.Recipe)
			md.Recipe = &rd
		}
		d.Days[m.Day].Meals = append(d.Days[m.Day].Meals, md)
	}
	return d
}

type shoppingItemDTO struct {
	Name     string `json:"name"`
	Quantity string `json:"quantity"`
	Unit     string `json:"unit"`
	Recipes  int    `json:"recipes"`
}

type shoppingListDTO struct {
	MealPlanID string            `json:"mealPlanId"`
	Items      []shoppingItemDTO `json:"items"`
}

// POST /api/v1/meal-plans
func (s *Server) handleCreateMealPlan(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	req, err := decode[mealPlanRequest](r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	start, _ := time.Parse(dateLayout, req.StartDate) // validated
	var p *mealsync.MealPlan
	if req.HouseholdID == "" {
		p, err = s.kitchen.CreatePlan(r.Context(), me, start, req.NumberOfDays, req.MealsPerDay)
	} else {
		p, err = s.createHouseholdPlan(r, me, req, start)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p, err = s.kitchen.Plan(r.Context(), me, p.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusCreated, toMealPlanDTO(p))
}

// createHouseholdPlan composes a plan every member of the household may eat
// from and stores it through the household's feed. A retried operation
// answers with the plan its first attempt made.
func (s *Server) createHouseholdPlan(r *http.Request, me *mealsync.User, req mealPlanRequest, start time.Time) (*mealsync.MealPlan, error) {
	op, err := opID(r, req.opRequest)
	if err != nil {
		return nil, err
	}
	others, err := s.otherMembersPreferences(r, me, req.HouseholdID)
	if err != nil {
		return nil, err
	}
	p, err := s.kitchen.ComposePlan(r.Context(), me, start, req.NumberOfDays, req.MealsPerDay, others...)
	if err != nil {
		return nil, err
	}
	if p.ID, err = s.households.AddPlan(r.Context(), me, req.HouseholdID, op, p); err != nil {
		return nil, err
	}
	return p, nil
}

// otherMembersPreferences returns the preferences of the members of
// household id but me, for a member of it.
func (s *Server) otherMembersPreferences(r *http.Request, me *mealsync.User, id string) ([]mealsync.Preferences, error) {
	members, err := s.households.Members(r.Context(), me, id)
	if err != nil {
		return nil, err
	}
	var others []mealsync.Preferences
	for _, m := range members {
		if m.UserID == me.ID {
			continue
		}
		u, err := s.users.UserByID(r.Context(), m.UserID)
		if err != nil {
			return nil, err
		}
		others = append(others, u.Preferences)
	}
	return others, nil
}

// swapMealRequest is the body of POST .../meals/{date}/{mealType}/swap:
// the recipe to serve, or none for the planner's choice.
type swapMealRequest struct {
	opRequest
	RecipeID string `json:"recipeId"`
}

func (r swapMealRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	r.check(&v)
	if r.RecipeID != "" {
		if _, err := uuid.Parse(r.RecipeID); err != nil {
			v.Add("recipeId", "Must be a recipe's id (a UUID)")
		}
	}
	return v
}

// POST /api/v1/meal-plans/{id}/meals/{date}/{mealType}/swap — gives one
// meal another recipe: the body's recipeId, or without one the planner's
// choice. Either way the recipe is one everyone the plan feeds may eat (a
// household's plan: every member). Answers the whole plan; its shopping
// list is derived from it. A household's plan changes through the
// household's feed, so every member's devices see it live.
func (s *Server) handleSwapMeal(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := decode[swapMealRequest](r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	date, err := time.Parse(dateLayout, r.PathValue("date"))
	if err != nil {
		var v mealsync.Validation
		v.Add("date", "Must be a date like 2026-01-31")
		s.fail(w, r, v.Err())
		return
	}
	p, err := s.kitchen.Plan(r.Context(), me, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Whose recipes the plan may use, and who eats it.
	viewer, eaters := me, []mealsync.Preferences{me.Preferences}
	switch {
	case p.HouseholdID != "":
		var others []mealsync.Preferences
		if others, err = s.otherMembersPreferences(r, me, p.HouseholdID); err == nil {
			eaters = append(eaters, others...)
		}
	case p.UserID != me.ID: // an admin looking after another's plan: the owner's
		if viewer, err = s.users.UserByID(r.Context(), p.UserID); err == nil {
			eaters = []mealsync.Preferences{viewer.Preferences}
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Both dates are midnight UTC; a date out of the Duration's range
	// saturates, and is out of the plan either way.
	day := int(date.Sub(p.StartDate) / (24 * time.Hour))
	if date.Before(p.StartDate) {
		day = -1
	}
	meal := mealsync.PlannedMeal{Day: day, MealType: strings.ToUpper(r.PathValue("mealType"))}
	meal.Recipe, err = s.kitchen.ChooseMeal(r.Context(), viewer, eaters, p, meal.Day, meal.MealType, req.RecipeID, uuid.NewString())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p.HouseholdID == "" {
		err = s.kitchen.SetMeal(r.Context(), p, meal)
	} else {
		var op string
		if op, err = opID(r, req.opRequest); err == nil {
			err = s.households.SetMeal(r.Context(), me, p.HouseholdID, op, p.ID, meal)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p, err = s.kitchen.Plan(r.Context(), me, id); err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toMealPlanDTO(p))
}

// GET /api/v1/meal-plans?offset=&limit=&householdId= — the caller's
// personal plans, or with householdId its household's, newest first.
func (s *Server) handleListMealPlans(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	q := query{q: r.URL.Query()}
	offset, limit := q.page(10)
	household := q.q.Get("householdId")
	if household != "" {
		if _, err := uuid.Parse(household); err != nil {
			q.v.Add("householdId", "Must be a household's id (a UUID)")
		}
	}
	if err := q.v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	var page mealsync.Page[*mealsync.MealPlan]
	var err error
	if household == "" {
		page, err = s.kitchen.Plans(r.Context(), me, offset, limit)
	} else {
		page, err = s.kitchen.HouseholdPlans(r.Context(), me, household, offset, limit)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toPageDTO(page, toMealPlanDTO))
}

// GET /api/v1/meal-plans/{id}
func (s *Server) handleGetMealPlan(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.kitchen.Plan(r.Context(), me, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toMealPlanDTO(p))
}

// DELETE /api/v1/meal-plans/{id}
func (s *Server) handleDeleteMealPlan(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.kitchen.Plan(r.Context(), me, id)
	switch {
	case err != nil:
	case p.HouseholdID != "": // through the household's feed, which every member follows
		var op string
		if op, err = opID(r, opRequest{}); err == nil {
			err = s.households.DeletePlan(r.Context(), me, p.HouseholdID, op, id)
		}
	default:
		err = s.kitchen.DeletePlan(r.Context(), me, id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// GET /api/v1/meal-plans/{id}/shopping-list
func (s *Server) handleShoppingList(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, items, err := s.kitchen.ShoppingList(r.Context(), me, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := shoppingListDTO{MealPlanID: p.ID, Items: make([]shoppingItemDTO, len(items))}
	for i, it := range items {
		out.Items[i] = shoppingItemDTO{it.Name, it.Quantity, it.Unit, it.Recipes}
	}
	respond(w, http.StatusOK, out)
}
