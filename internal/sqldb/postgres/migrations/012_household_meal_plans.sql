-- A meal plan may belong to a household (household_id set): its members
-- share it, and its changes go through the household's change feed. It goes
-- with the household; user_id is the member who made it, or the one who took
-- it over when that member left or their account was deleted: always a member.
ALTER TABLE meal_plans ADD COLUMN household_id UUID REFERENCES households (id) ON DELETE CASCADE;
-- A household's plans, newest first.
CREATE INDEX meal_plans_household_created_idx ON meal_plans (household_id, created_at DESC, id);
