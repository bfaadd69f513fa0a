-- Which recipes each catalogue version changed, so that an instance keeping
-- the catalogue in memory patches what changed instead of reading it all
-- again. Written in the change's own transaction, under the version it takes
-- from catalogue_version. (SQLite orders names by their bytes already: code
-- point order, as PostgreSQL's COLLATE "C" and the in-memory index.)
CREATE TABLE recipe_changes (
	version BIGINT NOT NULL,
	recipe_id TEXT NOT NULL,
	changed_at TIMESTAMP NOT NULL,
	PRIMARY KEY (version, recipe_id)
);
CREATE INDEX recipe_changes_changed_idx ON recipe_changes (changed_at);
