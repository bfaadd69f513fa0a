-- Users' meal plans and their meals.

-- start_date is a calendar date stored as 'YYYY-MM-DD' text (the CHECK keeps
-- it that way), so that date comparisons and date() work on it and the
-- driver reads it back as midnight UTC.
CREATE TABLE meal_plans (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	start_date DATE NOT NULL CHECK (date(start_date) IS start_date),
	days INTEGER NOT NULL CHECK (days BETWEEN 1 AND 28),
	meals_per_day INTEGER NOT NULL CHECK (meals_per_day BETWEEN 1 AND 3),
	created_at TIMESTAMP NOT NULL
);
-- A user's plans, newest first.
CREATE INDEX meal_plans_user_created_idx ON meal_plans (user_id, created_at DESC, id);

-- One row per meal of a plan. recipe_id turns NULL when the recipe is
-- deleted: the plan keeps its shape and shows the meal as gone.
CREATE TABLE meal_plan_meals (
	plan_id TEXT NOT NULL REFERENCES meal_plans (id) ON DELETE CASCADE,
	day INTEGER NOT NULL CHECK (day BETWEEN 0 AND 27),
	meal_type TEXT NOT NULL CHECK (meal_type IN ('BREAKFAST', 'LUNCH', 'DINNER')),
	recipe_id TEXT REFERENCES recipes (id) ON DELETE SET NULL,
	PRIMARY KEY (plan_id, day, meal_type)
);
-- Deleting a recipe finds its meals through this index.
CREATE INDEX meal_plan_meals_recipe_idx ON meal_plan_meals (recipe_id);
