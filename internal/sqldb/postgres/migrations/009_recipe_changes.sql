-- Which recipes each catalogue version changed, so that an instance keeping
-- the catalogue in memory patches what changed instead of reading it all
-- again. Written in the change's own transaction, under the version it takes
-- from catalogue_version (whose row lock makes versions commit in order).
CREATE TABLE recipe_changes (
	version BIGINT NOT NULL,
	recipe_id UUID NOT NULL,
	changed_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (version, recipe_id)
);
CREATE INDEX recipe_changes_changed_idx ON recipe_changes (changed_at);

-- Recipes are listed by name in code-point order (COLLATE "C"), whatever the
-- database's locale: the same order on PostgreSQL, on SQLite and in memory.
CREATE INDEX recipes_name_bytes_idx ON recipes ((name COLLATE "C"), id);
DROP INDEX recipes_name_id_idx;
