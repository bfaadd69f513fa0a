-- The recipe catalogue and users' saved and generated recipes. SQLite has no
-- trigram index: its name and ingredient substring filters scan, which is
-- fine for the embedded single-server database.

-- Ingredients, instructions and tags are read whole with their recipe, so
-- they are stored with it as JSON; the side tables below exist to search.
CREATE TABLE recipes (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	description TEXT NOT NULL,
	cuisine TEXT NOT NULL,
	difficulty TEXT NOT NULL,
	ingredient_key TEXT NOT NULL,
	preparation_time INTEGER NOT NULL CHECK (preparation_time >= 0),
	cooking_time INTEGER NOT NULL CHECK (cooking_time >= 0),
	total_time INTEGER NOT NULL CHECK (total_time >= 0),
	servings INTEGER NOT NULL CHECK (servings >= 1),
	calories REAL NOT NULL CHECK (calories >= 0),
	protein REAL NOT NULL CHECK (protein >= 0),
	carbohydrates REAL NOT NULL CHECK (carbohydrates >= 0),
	fat REAL NOT NULL CHECK (fat >= 0),
	image_url TEXT,
	source TEXT NOT NULL,
	ingredients TEXT NOT NULL,
	instructions TEXT NOT NULL,
	tags TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP
);
CREATE INDEX recipes_name_id_idx ON recipes (name, id);
CREATE INDEX recipes_cuisine_idx ON recipes (lower(cuisine));
CREATE INDEX recipes_difficulty_idx ON recipes (lower(difficulty));
CREATE INDEX recipes_total_time_idx ON recipes (total_time);
CREATE INDEX recipes_servings_idx ON recipes (servings);
CREATE INDEX recipes_ingredient_key_idx ON recipes (ingredient_key);

CREATE TABLE recipe_tags (
	tag TEXT NOT NULL,
	recipe_id TEXT NOT NULL REFERENCES recipes (id) ON DELETE CASCADE,
	PRIMARY KEY (tag, recipe_id)
);
CREATE INDEX recipe_tags_recipe_idx ON recipe_tags (recipe_id);

CREATE TABLE recipe_ingredient_names (
	recipe_id TEXT NOT NULL REFERENCES recipes (id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	PRIMARY KEY (recipe_id, name)
);

CREATE TABLE user_recipes (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	recipe_id TEXT NOT NULL REFERENCES recipes (id) ON DELETE CASCADE,
	type TEXT NOT NULL CHECK (type IN ('SAVED', 'GENERATED')),
	saved_at TIMESTAMP NOT NULL,
	UNIQUE (user_id, type, recipe_id)
);
CREATE INDEX user_recipes_list_idx ON user_recipes (user_id, type, saved_at DESC, id);
CREATE INDEX user_recipes_recipe_idx ON user_recipes (recipe_id);
