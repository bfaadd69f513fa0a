-- The recipe catalogue and users' saved and generated recipes.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Ingredients, instructions and tags are read whole with their recipe, so
-- they are stored with it as JSON; the side tables below exist to search.
CREATE TABLE recipes (
	id UUID PRIMARY KEY,
	name TEXT NOT NULL,
	description TEXT NOT NULL,
	cuisine TEXT NOT NULL,
	difficulty TEXT NOT NULL,
	ingredient_key TEXT NOT NULL,
	preparation_time INTEGER NOT NULL CHECK (preparation_time >= 0),
	cooking_time INTEGER NOT NULL CHECK (cooking_time >= 0),
	total_time INTEGER NOT NULL CHECK (total_time >= 0),
	servings INTEGER NOT NULL CHECK (servings >= 1),
	calories DOUBLE PRECISION NOT NULL CHECK (calories >= 0),
	protein DOUBLE PRECISION NOT NULL CHECK (protein >= 0),
	carbohydrates DOUBLE PRECISION NOT NULL CHECK (carbohydrates >= 0),
	fat DOUBLE PRECISION NOT NULL CHECK (fat >= 0),
	image_url TEXT,
	source TEXT NOT NULL,
	ingredients TEXT NOT NULL,  -- JSON [{"name","quantity","unit"}]
	instructions TEXT NOT NULL, -- JSON [string], in order
	tags TEXT NOT NULL,         -- JSON [string]
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ
);
-- The list's stable order.
CREATE INDEX recipes_name_id_idx ON recipes (name, id);
-- name filter: case-insensitive substring, served by trigrams.
CREATE INDEX recipes_name_trgm_idx ON recipes USING gin (lower(name) gin_trgm_ops);
CREATE INDEX recipes_cuisine_idx ON recipes (lower(cuisine));
CREATE INDEX recipes_difficulty_idx ON recipes (lower(difficulty));
CREATE INDEX recipes_total_time_idx ON recipes (total_time);
CREATE INDEX recipes_servings_idx ON recipes (servings);
CREATE INDEX recipes_ingredient_key_idx ON recipes (ingredient_key);

-- tags filter: equality on the lower-cased tag.
CREATE TABLE recipe_tags (
	tag TEXT NOT NULL,
	recipe_id UUID NOT NULL REFERENCES recipes (id) ON DELETE CASCADE,
	PRIMARY KEY (tag, recipe_id)
);
CREATE INDEX recipe_tags_recipe_idx ON recipe_tags (recipe_id);

-- ingredients filter: substring of a lower-cased ingredient name.
CREATE TABLE recipe_ingredient_names (
	recipe_id UUID NOT NULL REFERENCES recipes (id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	PRIMARY KEY (recipe_id, name)
);
CREATE INDEX recipe_ingredient_names_trgm_idx ON recipe_ingredient_names USING gin (name gin_trgm_ops);

-- A user's saved (and generated) recipes: one record per user, kind and recipe.
CREATE TABLE user_recipes (
	id UUID PRIMARY KEY,
	user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	recipe_id UUID NOT NULL REFERENCES recipes (id) ON DELETE CASCADE,
	type TEXT NOT NULL CHECK (type IN ('SAVED', 'GENERATED')),
	saved_at TIMESTAMPTZ NOT NULL,
	UNIQUE (user_id, type, recipe_id)
);
CREATE INDEX user_recipes_list_idx ON user_recipes (user_id, type, saved_at DESC, id);
CREATE INDEX user_recipes_recipe_idx ON user_recipes (recipe_id);
