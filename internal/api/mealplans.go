package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/mealplan"
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
	if _, err := time.Parse(dateLayout, r.StartDate); err != nil {
		v.Add("startDate", "Must be a date like 2026-01-31")
	}
	if r.NumberOfDays < 1 || r.NumberOfDays > mealplan.MaxDays {
		v.Add("numberOfDays", fmt.Sprintf("Must be between 1 and %d", mealplan.MaxDays))
	}
	if r.MealsPerDay < 1 || r.MealsPerDay > mealplan.MaxMealsPerDay {
		v.Add("mealsPerDay", fmt.Sprintf("Must be between 1 and %d", mealplan.MaxMealsPerDay))
	}
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
	members, err := s.households.Members(r.Context(), me, req.HouseholdID)
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
	p, err := s.kitchen.ComposePlan(r.Context(), me, start, req.NumberOfDays, req.MealsPerDay, others...)
	if err != nil {
		return nil, err
	}
	if p.ID, err = s.households.AddPlan(r.Context(), me, req.HouseholdID, op, p); err != nil {
		return nil, err
	}
	return p, nil
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
