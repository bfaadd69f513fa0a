package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/mealsync/mealsync"
)

var _ mealsync.MealPlanStore = (*DB)(nil)

const mealPlanColumns = `id, user_id, household_id, start_date, days, meals_per_day, created_at`

// mealOrder sorts a plan's meals by day, then in the order of a day. Meal
// types are stored by name, which does not sort that way.
const mealOrder = `day, CASE meal_type WHEN 'BREAKFAST' THEN 0 WHEN 'LUNCH' THEN 1 ELSE 2 END`

// dateLayout is how a plan's start date travels to the database. Both
// databases take the text for a DATE column (SQLite keeps it as it is,
// PostgreSQL parses it) and both drivers read it back as midnight UTC.
const dateLayout = "2006-01-02"

func scanMealPlan(row rowScanner) (*mealsync.MealPlan, error) {
	p := mealsync.MealPlan{Meals: []mealsync.PlannedMeal{}}
	var household sql.NullString
	// Both drivers read a DATE as midnight UTC (TestMealPlanStartDate).
	if err := row.Scan(&p.ID, &p.UserID, &household, &p.StartDate, &p.Days, &p.MealsPerDay, &p.CreatedAt); err != nil {
		return nil, err
	}
	p.HouseholdID = household.String
	p.CreatedAt = p.CreatedAt.UTC()
	return &p, nil
}

// CreateMealPlan stores p, a personal plan, and its meals in one
// transaction. p.ID and CreatedAt must be set. The calendar date of
// p.StartDate, read in its own location, is stored; a meal with a nil Recipe
// is stored without one. ErrNotFound when the user or a recipe does not
// exist, ErrConflict when two meals share a day and meal type.
func (db *DB) CreateMealPlan(ctx context.Context, p *mealsync.MealPlan) error {
	if p.HouseholdID != "" {
		return fmt.Errorf("create meal plan %s: a household's plan is written through the household", p.ID)
	}
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.insertMealPlan(ctx, tx, p) })
}

// insertMealPlan writes p and its meals with tx.
func (db *DB) insertMealPlan(ctx context.Context, tx *sql.Tx, p *mealsync.MealPlan) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("create meal plan %s: %w", p.ID, err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO meal_plans (`+mealPlanColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		p.ID, p.UserID, nullString(p.HouseholdID), p.StartDate.Format(dateLayout), p.Days, p.MealsPerDay, p.CreatedAt.UTC())
	if err != nil {
		return db.wrap("create meal plan", err)
	}
	if len(p.Meals) == 0 {
		return nil
	}
	// One statement for every meal: a plan has at most 28×3 of them,
	// far below either database's limit on parameters.
	var q strings.Builder
	q.WriteString(`INSERT INTO meal_plan_meals (plan_id, day, meal_type, recipe_id) VALUES `)
	args := make([]any, 0, 4*len(p.Meals))
	for i, m := range p.Meals {
		if i > 0 {
			q.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4)
		var recipeID any // NULL without a recipe
		if m.Recipe != nil {
			recipeID = m.Recipe.ID
		}
		args = append(args, p.ID, m.Day, m.MealType, recipeID)
	}
	_, err = tx.ExecContext(ctx, q.String(), args...)
	return db.wrap("create meal plan meals", err)
}

// MealPlan returns a plan with its meals, ErrNotFound for an unknown id.
// Each meal's Recipe carries only its ID (nil once the recipe was deleted):
// the caller loads recipes from the RecipeStore.
func (db *DB) MealPlan(ctx context.Context, id string) (*mealsync.MealPlan, error) {
	p, err := scanMealPlan(db.conn(ctx).QueryRowContext(ctx,
		`SELECT `+mealPlanColumns+` FROM meal_plans WHERE id = $1`, id))
	if err != nil {
		return nil, db.wrap("meal plan", err)
	}
	if err := db.loadMeals(ctx, db.conn(ctx), []*mealsync.MealPlan{p}); err != nil {
		return nil, err
	}
	return p, nil
}

// MealPlans returns a page of a user's personal plans, newest first (index
// meal_plans_user_created_idx), with their meals as MealPlan returns them.
// The meals of the whole page come in one query. limit must be positive.
func (db *DB) MealPlans(ctx context.Context, userID string, offset, limit int) (mealsync.Page[*mealsync.MealPlan], error) {
	return db.mealPlanPage(ctx, db.conn(ctx), `user_id = $1 AND household_id IS NULL`, userID, offset, limit)
}

// HouseholdMealPlans returns a page of a household's plans, newest first
// (index meal_plans_household_created_idx), as MealPlans does.
func (db *DB) HouseholdMealPlans(ctx context.Context, householdID string, offset, limit int) (mealsync.Page[*mealsync.MealPlan], error) {
	return db.mealPlanPage(ctx, db.conn(ctx), `household_id = $1`, householdID, offset, limit)
}

// mealPlanPage returns the page of plans where holds (of $1 = arg), newest
// first, read through x.
func (db *DB) mealPlanPage(ctx context.Context, x queryRower, where, arg string, offset, limit int) (mealsync.Page[*mealsync.MealPlan], error) {
	page := mealsync.Page[*mealsync.MealPlan]{Items: []*mealsync.MealPlan{}, Offset: offset, Limit: limit}
	if offset < 0 || limit < 1 {
		return page, fmt.Errorf("meal plans: offset %d, limit %d: want offset >= 0 and limit >= 1", offset, limit)
	}
	err := x.QueryRowContext(ctx, `SELECT count(*) FROM meal_plans WHERE `+where, arg).Scan(&page.Total)
	if err != nil {
		return page, db.wrap("count meal plans", err)
	}
	if offset >= page.Total {
		return page, nil
	}
	rows, err := x.QueryContext(ctx, `SELECT `+mealPlanColumns+` FROM meal_plans
		WHERE `+where+` ORDER BY created_at DESC, id LIMIT $2 OFFSET $3`, arg, limit, offset)
	if err != nil {
		return page, db.wrap("meal plans", err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanMealPlan(rows)
		if err != nil {
			return page, db.wrap("meal plans", err)
		}
		page.Items = append(page.Items, p)
	}
	if err := rows.Err(); err != nil {
		return page, db.wrap("meal plans", err)
	}
	return page, db.loadMeals(ctx, x, page.Items)
}

// loadMeals fills in the meals of plans, in one query through x.
func (db *DB) loadMeals(ctx context.Context, x queryer, plans []*mealsync.MealPlan) error {
	if len(plans) == 0 {
		return nil
	}
	byID := make(map[string]*mealsync.MealPlan, len(plans))
	placeholders := make([]string, len(plans))
	args := make([]any, len(plans))
	for i, p := range plans {
		byID[p.ID] = p
		placeholders[i] = fmt.Sprintf("$%d", i+1)
		args[i] = p.ID
	}
	rows, err := x.QueryContext(ctx, `SELECT plan_id, day, meal_type, recipe_id FROM meal_plan_meals
		WHERE plan_id IN (`+strings.Join(placeholders, ", ")+`) ORDER BY plan_id, `+mealOrder, args...)
	if err != nil {
		return db.wrap("meal plan meals", err)
	}
	defer rows.Close()
	for rows.Next() {
		var planID string
		var m mealsync.PlannedMeal
		var recipeID sql.NullString
		if err := rows.Scan(&planID, &m.Day, &m.MealType, &recipeID); err != nil {
			return db.wrap("meal plan meals", err)
		}
		if recipeID.Valid {
			m.Recipe = &mealsync.Recipe{ID: recipeID.String}
		}
		p, ok := byID[planID]
		if !ok {
			return fmt.Errorf("meal plan meals: row of plan %s, which was not asked for", planID)
		}
		p.Meals = append(p.Meals, m)
	}
	return db.wrap("meal plan meals", rows.Err())
}

// DeleteMealPlan removes a personal plan and its meals (ON DELETE
// CASCADE); ErrNotFound for an unknown id or a household's plan.
func (db *DB) DeleteMealPlan(ctx context.Context, id string) error {
	res, err := db.exec(ctx, `DELETE FROM meal_plans WHERE id = $1 AND household_id IS NULL`, id)
	return db.expectOne(res, err, "delete meal plan")
}

// SetMeal changes the recipe of one meal of a personal plan (see the
// interface). A recipe that does not exist is ErrNotFound too.
func (db *DB) SetMeal(ctx context.Context, planID string, m mealsync.PlannedMeal) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		return db.setMeal(ctx, tx, `household_id IS NULL`, planID, m)
	})
}

// setMeal updates meal m of plan planID, which must match where (no
// parameters of its own, or $5 as the household), with tx.
func (db *DB) setMeal(ctx context.Context, tx *sql.Tx, where, planID string, m mealsync.PlannedMeal, args ...any) error {
	var recipeID any // NULL without a recipe
	if m.Recipe != nil {
		recipeID = m.Recipe.ID
	}
	res, err := tx.ExecContext(ctx, `UPDATE meal_plan_meals SET recipe_id = $4
		WHERE plan_id = $1 AND day = $2 AND meal_type = $3
		AND plan_id IN (SELECT id FROM meal_plans WHERE `+where+`)`,
		append([]any{planID, m.Day, m.MealType, recipeID}, args...)...)
	return db.expectOne(res, err, "set meal plan meal")
}
