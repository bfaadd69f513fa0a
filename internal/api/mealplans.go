package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/mealplan"
)

const dateLayout = "2006-01-02"

// mealPlanRequest is the body of POST /meal-plans.
type mealPlanRequest struct {
	StartDate    string `json:"startDate"` // YYYY-MM-DD
	NumberOfDays int    `json:"numberOfDays"`
	MealsPerDay  int    `json:"mealsPerDay"`
}

func (r mealPlanRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
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
	StartDate    string           `json:"startDate"`
	NumberOfDays int              `json:"numberOfDays"`
	MealsPerDay  int              `json:"mealsPerDay"`
	Days         []mealPlanDayDTO `json:"days"`
	CreatedAt    Instant          `json:"createdAt"`
}

func toMealPlanDTO(p *mealsync.MealPlan) mealPlanDTO {
	d := mealPlanDTO{ID: p.ID, StartDate: p.StartDate.Format(dateLayout), NumberOfDays: p.Days,
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
	p, err := s.kitchen.CreatePlan(r.Context(), me, start, req.NumberOfDays, req.MealsPerDay)
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

// GET /api/v1/meal-plans?offset=&limit= — the caller's plans, newest first.
func (s *Server) handleListMealPlans(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	q := query{q: r.URL.Query()}
	offset, limit := q.page(10)
	if err := q.v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.kitchen.Plans(r.Context(), me, offset, limit)
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
	if err := s.kitchen.DeletePlan(r.Context(), me, id); err != nil {
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
