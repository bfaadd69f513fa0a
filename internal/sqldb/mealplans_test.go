package sqldb_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
)

// insertPlanRecipe stores a minimal catalogue recipe with plain SQL, so that
// these tests depend only on the recipes table, not on the recipe store.
func insertPlanRecipe(t *testing.T, db *sqldb.DB) string {
	t.Helper()
	id := uuid.NewString()
	_, err := db.SQL().ExecContext(t.Context(), `INSERT INTO recipes (id, name, description, cuisine,
		difficulty, ingredient_key, preparation_time, cooking_time, total_time, servings, calories,
		protein, carbohydrates, fat, source, ingredients, instructions, tags, created_at, published)
		VALUES ($1, $2, '', 'Italian', 'EASY', $2, 5, 10, 15, 2, 400, 20, 50, 10, 'catalog', '[]', '[]', '[]', $3, $4)`,
		id, "Recipe "+id, now(), true)
	if err != nil {
		t.Fatalf("insert recipe: %v", err)
	}
	return id
}

// deletePlanRecipe removes a recipe row with plain SQL.
func deletePlanRecipe(t *testing.T, db *sqldb.DB, id string) {
	t.Helper()
	if _, err := db.SQL().ExecContext(t.Context(), `DELETE FROM recipes WHERE id = $1`, id); err != nil {
		t.Fatalf("delete recipe: %v", err)
	}
}

// countRows counts rows of table matching where (with args), straight from
// the database.
func countPlanRows(t *testing.T, db *sqldb.DB, table, where string, args ...any) int {
	t.Helper()
	var n int
	err := db.SQL().QueryRowContext(t.Context(), `SELECT count(*) FROM `+table+` WHERE `+where, args...).Scan(&n)
	if err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func planDate(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func plannedMeal(day int, mealType, recipeID string) mealsync.PlannedMeal {
	m := mealsync.PlannedMeal{Day: day, MealType: mealType}
	if recipeID != "" {
		m.Recipe = &mealsync.Recipe{ID: recipeID}
	}
	return m
}

// newPlan returns an unsaved two-day plan of userID with one dinner a day.
func newPlan(userID, recipeID string, at time.Time) *mealsync.MealPlan {
	return &mealsync.MealPlan{
		ID: uuid.NewString(), UserID: userID, StartDate: planDate(2025, time.March, 3),
		Days: 2, MealsPerDay: 1, CreatedAt: at,
		Meals: []mealsync.PlannedMeal{plannedMeal(0, mealsync.Dinner, recipeID), plannedMeal(1, mealsync.Dinner, recipeID)},
	}
}

func mustCreatePlan(t *testing.T, db *sqldb.DB, p *mealsync.MealPlan) *mealsync.MealPlan {
	t.Helper()
	if err := db.CreateMealPlan(t.Context(), p); err != nil {
		t.Fatalf("CreateMealPlan: %v", err)
	}
	return p
}

// samePlan fails t unless got matches want, meals in want's order.
func samePlan(t *testing.T, got, want *mealsync.MealPlan) {
	t.Helper()
	if got == nil {
		t.Fatal("got no plan")
	}
	if got.ID != want.ID || got.UserID != want.UserID || got.Days != want.Days || got.MealsPerDay != want.MealsPerDay {
		t.Errorf("plan = {%s %s days %d meals %d}, want {%s %s days %d meals %d}",
			got.ID, got.UserID, got.Days, got.MealsPerDay, want.ID, want.UserID, want.Days, want.MealsPerDay)
	}
	if !got.StartDate.Equal(want.StartDate) || got.StartDate.Location() != time.UTC {
		t.Errorf("StartDate = %v, want %v in UTC", got.StartDate, want.StartDate)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", got.CreatedAt, want.CreatedAt)
	}
	if fmtMeals(got.Meals) != fmtMeals(want.Meals) {
		t.Errorf("meals =\n%s\nwant\n%s", fmtMeals(got.Meals), fmtMeals(want.Meals))
	}
}

// fmtMeals prints meals one a line; a meal's recipe shows as its ID only,
// and a loaded recipe with more than its ID shows as a mistake.
func fmtMeals(ms []mealsync.PlannedMeal) string {
	s := ""
	for _, m := range ms {
		r := "<nil>"
		if m.Recipe != nil {
			r = m.Recipe.ID
			if m.Recipe.Name != "" {
				r += " (loaded: " + m.Recipe.Name + ")"
			}
		}
		s += fmt.Sprintf("day %d %-9s %s\n", m.Day, m.MealType, r)
	}
	return s
}

func TestMealPlanRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		at := now()
		u := mustCreateUser(t, db, at, nil)
		r1, r2, r3 := insertPlanRecipe(t, db), insertPlanRecipe(t, db), insertPlanRecipe(t, db)
		p := &mealsync.MealPlan{
			ID: uuid.NewString(), UserID: u.ID, StartDate: planDate(2024, time.February, 28),
			Days: 2, MealsPerDay: 3, CreatedAt: at,
			// Stored out of order: reads must sort by day, then by the
			// order of a day (not alphabetically: LUNCH < DINNER there).
			Meals: []mealsync.PlannedMeal{
				plannedMeal(1, mealsync.Dinner, r1), plannedMeal(1, mealsync.Breakfast, r2), plannedMeal(0, mealsync.Lunch, r3),
				plannedMeal(0, mealsync.Dinner, r2), plannedMeal(0, mealsync.Breakfast, r1), plannedMeal(1, mealsync.Lunch, ""),
			},
		}
		mustCreatePlan(t, db, p)
		want := *p
		want.Meals = []mealsync.PlannedMeal{
			plannedMeal(0, mealsync.Breakfast, r1), plannedMeal(0, mealsync.Lunch, r3), plannedMeal(0, mealsync.Dinner, r2),
			plannedMeal(1, mealsync.Breakfast, r2), plannedMeal(1, mealsync.Lunch, ""), plannedMeal(1, mealsync.Dinner, r1),
		}
		got, err := db.MealPlan(t.Context(), p.ID)
		if err != nil {
			t.Fatalf("MealPlan: %v", err)
		}
		samePlan(t, got, &want)

		page, err := db.MealPlans(t.Context(), u.ID, 0, 10)
		if err != nil {
			t.Fatalf("MealPlans: %v", err)
		}
		if len(page.Items) != 1 {
			t.Fatalf("MealPlans returned %d plans, want 1", len(page.Items))
		}
		samePlan(t, page.Items[0], &want)
	})
}

func TestMealPlanWithoutMeals(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		u := mustCreateUser(t, db, now(), nil)
		p := mustCreatePlan(t, db, &mealsync.MealPlan{ID: uuid.NewString(), UserID: u.ID,
			StartDate: planDate(2025, time.January, 1), Days: 1, MealsPerDay: 1, CreatedAt: now()})
		got, err := db.MealPlan(t.Context(), p.ID)
		if err != nil {
			t.Fatalf("MealPlan: %v", err)
		}
		if got.Meals == nil || len(got.Meals) != 0 {
			t.Errorf("Meals = %#v, want an empty, non-nil list", got.Meals)
		}
	})
}

// TestMealPlanStartDate checks that a start date comes back as the same
// calendar date, at midnight UTC, on both drivers, and that the database
// compares it as a date.
func TestMealPlanStartDate(t *testing.T) {
	kiritimati := time.FixedZone("LINT", 14*60*60)
	honolulu := time.FixedZone("HST", -10*60*60)
	tests := []struct {
		name  string
		start time.Time
		want  time.Time
	}{
		{"midnight UTC", planDate(2025, time.June, 15), planDate(2025, time.June, 15)},
		{"leap day", planDate(2024, time.February, 29), planDate(2024, time.February, 29)},
		{"new year's eve", planDate(2023, time.December, 31), planDate(2023, time.December, 31)},
		{"far past", planDate(1970, time.January, 1), planDate(1970, time.January, 1)},
		{"far future", planDate(2199, time.December, 31), planDate(2199, time.December, 31)},
		// The date is the calendar date where the caller wrote it: an
		// instant that is still the 30th in UTC.
		{"midnight ahead of UTC", time.Date(2025, time.March, 31, 0, 0, 0, 0, kiritimati), planDate(2025, time.March, 31)},
		// …and one that is already the 1st in UTC.
		{"evening behind UTC", time.Date(2025, time.March, 31, 20, 0, 0, 0, honolulu), planDate(2025, time.March, 31)},
		{"time of day dropped", time.Date(2025, time.March, 31, 23, 59, 59, 999999999, time.UTC), planDate(2025, time.March, 31)},
	}
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		u := mustCreateUser(t, db, now(), nil)
		r := insertPlanRecipe(t, db)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				p := newPlan(u.ID, r, now())
				p.StartDate = tc.start
				mustCreatePlan(t, db, p)
				got, err := db.MealPlan(t.Context(), p.ID)
				if err != nil {
					t.Fatalf("MealPlan: %v", err)
				}
				if !got.StartDate.Equal(tc.want) || got.StartDate.Location() != time.UTC {
					t.Errorf("StartDate = %v, want %v", got.StartDate, tc.want)
				}
				if n := countPlanRows(t, db, "meal_plans", "id = $1 AND start_date = $2", p.ID, tc.want.Format("2006-01-02")); n != 1 {
					t.Errorf("start_date = '%s' matches %d rows, want 1", tc.want.Format("2006-01-02"), n)
				}
			})
		}
	})
}

func TestMealPlanNotFound(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		_, err := db.MealPlan(t.Context(), uuid.NewString())
		wantCode(t, err, mealsync.ENOTFOUND)
		wantCode(t, db.DeleteMealPlan(t.Context(), uuid.NewString()), mealsync.ENOTFOUND)
	})
}

// TestCreateMealPlanAllOrNothing checks that a plan whose meals cannot be
// stored leaves nothing behind.
func TestCreateMealPlanAllOrNothing(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *mealsync.MealPlan, r string)
		code   string
	}{
		{"unknown recipe", func(p *mealsync.MealPlan, r string) {
			p.Meals[1].Recipe = &mealsync.Recipe{ID: uuid.NewString()}
		}, mealsync.ENOTFOUND},
		{"two meals in one slot", func(p *mealsync.MealPlan, r string) {
			p.Meals[1].Day = p.Meals[0].Day
		}, mealsync.ECONFLICT},
		{"unknown user", func(p *mealsync.MealPlan, r string) { p.UserID = uuid.NewString() }, mealsync.ENOTFOUND},
	}
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		u := mustCreateUser(t, db, now(), nil)
		r := insertPlanRecipe(t, db)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				p := newPlan(u.ID, r, now())
				tc.change(p, r)
				wantCode(t, db.CreateMealPlan(t.Context(), p), tc.code)
				if n := countPlanRows(t, db, "meal_plans", "id = $1", p.ID); n != 0 {
					t.Errorf("%d meal_plans rows left behind", n)
				}
				if n := countPlanRows(t, db, "meal_plan_meals", "plan_id = $1", p.ID); n != 0 {
					t.Errorf("%d meal_plan_meals rows left behind", n)
				}
			})
		}
	})
}

// TestMealPlanSchemaChecks checks that the database itself refuses plans
// and meals outside the rules, whatever the caller validated.
func TestMealPlanSchemaChecks(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *mealsync.MealPlan)
	}{
		{"no days", func(p *mealsync.MealPlan) { p.Days = 0 }},
		{"29 days", func(p *mealsync.MealPlan) { p.Days = 29 }},
		{"no meals a day", func(p *mealsync.MealPlan) { p.MealsPerDay = 0 }},
		{"4 meals a day", func(p *mealsync.MealPlan) { p.MealsPerDay = 4 }},
		{"day before the start", func(p *mealsync.MealPlan) { p.Meals[0].Day = -1 }},
		{"day 28", func(p *mealsync.MealPlan) { p.Meals[0].Day = 28 }},
		{"unknown meal type", func(p *mealsync.MealPlan) { p.Meals[0].MealType = "SNACK" }},
		{"lower-case meal type", func(p *mealsync.MealPlan) { p.Meals[0].MealType = "dinner" }},
	}
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		u := mustCreateUser(t, db, now(), nil)
		r := insertPlanRecipe(t, db)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				p := newPlan(u.ID, r, now())
				tc.change(p)
				if err := db.CreateMealPlan(t.Context(), p); err == nil {
					t.Fatal("CreateMealPlan succeeded, want the schema to refuse it")
				}
				if n := countPlanRows(t, db, "meal_plans", "id = $1", p.ID); n != 0 {
					t.Errorf("%d meal_plans rows left behind", n)
				}
			})
		}
	})
}

func TestMealPlansPage(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		at := now()
		u := mustCreateUser(t, db, at, nil)
		other := mustCreateUser(t, db, at, nil)
		// Plans created an hour apart, stored out of order, each with its
		// own recipe so that meals mixed up between plans show.
		var plans []*mealsync.MealPlan // newest first
		for _, h := range []int{2, 4, 0, 3, 1} {
			p := newPlan(u.ID, insertPlanRecipe(t, db), at.Add(time.Duration(h)*time.Hour))
			mustCreatePlan(t, db, p)
			plans = append(plans, p)
		}
		plans = []*mealsync.MealPlan{plans[1], plans[3], plans[0], plans[4], plans[2]}
		mustCreatePlan(t, db, newPlan(other.ID, insertPlanRecipe(t, db), at.Add(10*time.Hour)))

		tests := []struct {
			offset, limit int
			want          []*mealsync.MealPlan
		}{
			{0, 2, plans[:2]},
			{2, 2, plans[2:4]},
			{4, 2, plans[4:]},
			{0, 10, plans},
			{5, 2, nil},
			{50, 2, nil},
		}
		for _, tc := range tests {
			t.Run(fmt.Sprintf("offset %d limit %d", tc.offset, tc.limit), func(t *testing.T) {
				page, err := db.MealPlans(t.Context(), u.ID, tc.offset, tc.limit)
				if err != nil {
					t.Fatalf("MealPlans: %v", err)
				}
				if page.Total != len(plans) || page.Offset != tc.offset || page.Limit != tc.limit {
					t.Errorf("page total %d offset %d limit %d, want %d %d %d",
						page.Total, page.Offset, page.Limit, len(plans), tc.offset, tc.limit)
				}
				if page.Items == nil {
					t.Error("Items is nil, want a list")
				}
				if len(page.Items) != len(tc.want) {
					t.Fatalf("got %d plans, want %d", len(page.Items), len(tc.want))
				}
				for i, p := range page.Items {
					samePlan(t, p, tc.want[i])
				}
			})
		}

		empty, err := db.MealPlans(t.Context(), uuid.NewString(), 0, 10)
		if err != nil {
			t.Fatalf("MealPlans of a user without plans: %v", err)
		}
		if empty.Total != 0 || empty.Items == nil || len(empty.Items) != 0 {
			t.Errorf("user without plans: total %d, items %#v; want 0 and an empty list", empty.Total, empty.Items)
		}
		for _, bad := range [][2]int{{0, 0}, {-1, 10}} {
			if _, err := db.MealPlans(t.Context(), u.ID, bad[0], bad[1]); err == nil {
				t.Errorf("MealPlans(offset %d, limit %d) succeeded, want an error", bad[0], bad[1])
			}
		}
	})
}

func TestDeleteMealPlan(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		u := mustCreateUser(t, db, now(), nil)
		r := insertPlanRecipe(t, db)
		gone := mustCreatePlan(t, db, newPlan(u.ID, r, now()))
		kept := mustCreatePlan(t, db, newPlan(u.ID, r, now()))
		if err := db.DeleteMealPlan(t.Context(), gone.ID); err != nil {
			t.Fatalf("DeleteMealPlan: %v", err)
		}
		_, err := db.MealPlan(t.Context(), gone.ID)
		wantCode(t, err, mealsync.ENOTFOUND)
		if n := countPlanRows(t, db, "meal_plan_meals", "plan_id = $1", gone.ID); n != 0 {
			t.Errorf("%d meals of the deleted plan left", n)
		}
		got, err := db.MealPlan(t.Context(), kept.ID)
		if err != nil {
			t.Fatalf("the other plan: %v", err)
		}
		samePlan(t, got, kept)
		wantCode(t, db.DeleteMealPlan(t.Context(), gone.ID), mealsync.ENOTFOUND)
	})
}

func TestMealPlanRecipeDeleted(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		u := mustCreateUser(t, db, now(), nil)
		gone, kept := insertPlanRecipe(t, db), insertPlanRecipe(t, db)
		p := newPlan(u.ID, kept, now())
		p.Meals[0].Recipe = &mealsync.Recipe{ID: gone}
		mustCreatePlan(t, db, p)
		deletePlanRecipe(t, db, gone)

		got, err := db.MealPlan(t.Context(), p.ID)
		if err != nil {
			t.Fatalf("MealPlan: %v", err)
		}
		want := *p
		want.Meals = []mealsync.PlannedMeal{plannedMeal(0, mealsync.Dinner, ""), plannedMeal(1, mealsync.Dinner, kept)}
		samePlan(t, got, &want)
	})
}

func TestMealPlansGoWithTheirUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		u := mustCreateUser(t, db, now(), nil)
		p := mustCreatePlan(t, db, newPlan(u.ID, insertPlanRecipe(t, db), now()))
		if err := db.DeleteUser(t.Context(), u.ID); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		_, err := db.MealPlan(t.Context(), p.ID)
		wantCode(t, err, mealsync.ENOTFOUND)
		if n := countPlanRows(t, db, "meal_plan_meals", "plan_id = $1", p.ID); n != 0 {
			t.Errorf("%d meals of the deleted user's plan left", n)
		}
	})
}

// SetMeal changes one meal of a personal plan and nothing else; a plan,
// day or meal type it does not have, and a recipe that does not exist,
// are ErrNotFound and change nothing.
func TestSetMeal(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		u := mustCreateUser(t, db, now(), nil)
		r, other := insertPlanRecipe(t, db), insertPlanRecipe(t, db)
		p := mustCreatePlan(t, db, newPlan(u.ID, r, now()))
		untouched := mustCreatePlan(t, db, newPlan(u.ID, r, now()))
		if err := db.SetMeal(t.Context(), p.ID, plannedMeal(1, mealsync.Dinner, other)); err != nil {
			t.Fatalf("SetMeal: %v", err)
		}
		p.Meals[1] = plannedMeal(1, mealsync.Dinner, other)
		got, err := db.MealPlan(t.Context(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		samePlan(t, got, p)
		for name, m := range map[string]mealsync.PlannedMeal{
			"a day after the plan":    plannedMeal(2, mealsync.Dinner, r),
			"a meal it does not have": plannedMeal(0, mealsync.Lunch, r),
			"an unknown recipe":       plannedMeal(0, mealsync.Dinner, uuid.NewString()),
		} {
			wantCode(t, db.SetMeal(t.Context(), p.ID, m), mealsync.ENOTFOUND)
			if got, _ := db.MealPlan(t.Context(), p.ID); fmtMeals(got.Meals) != fmtMeals(p.Meals) {
				t.Errorf("%s: the plan changed:\n%s", name, fmtMeals(got.Meals))
			}
		}
		wantCode(t, db.SetMeal(t.Context(), uuid.NewString(), plannedMeal(0, mealsync.Dinner, r)), mealsync.ENOTFOUND)
		got, err = db.MealPlan(t.Context(), untouched.ID)
		if err != nil {
			t.Fatal(err)
		}
		samePlan(t, got, untouched)
	})
}
