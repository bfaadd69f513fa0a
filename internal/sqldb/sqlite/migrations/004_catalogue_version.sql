-- A counter bumped in the same transaction as every change to the recipe
-- catalogue. Instances cache catalogue pages against it, so a change made on
-- one instance invalidates every instance's cache.
CREATE TABLE catalogue_version (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	version BIGINT NOT NULL
);
INSERT INTO catalogue_version (id, version) VALUES (1, 0);
