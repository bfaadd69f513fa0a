-- Recipes users create are theirs: private to their owner (and admins) until
-- an admin publishes them into the shared catalogue. Recipes stored before
-- this migration stay in the catalogue: who created them was not recorded.
--
-- A deleted user's private recipes are deleted with them (DeleteUser does it
-- in its transaction; the CHECK below refuses to leave one ownerless). The
-- ones they published stay in the catalogue, without an owner.
--
-- SQLite adds a column with its constraints but no table constraint, so the
-- rule that a private recipe has an owner is a CHECK on published. Its
-- DEFAULT is needed to add the column; every insert sets it.
ALTER TABLE recipes ADD COLUMN owner_id TEXT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE recipes ADD COLUMN published INTEGER NOT NULL DEFAULT 1
	CHECK (published IN (0, 1) AND (published = 1 OR owner_id IS NOT NULL));

CREATE INDEX recipes_owner_idx ON recipes (owner_id, published) WHERE owner_id IS NOT NULL;
