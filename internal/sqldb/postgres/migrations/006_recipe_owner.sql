-- Recipes users create are theirs: private to their owner (and admins) until
-- an admin publishes them into the shared catalogue. Recipes stored before
-- this migration stay in the catalogue: who created them was not recorded.
--
-- A deleted user's private recipes are deleted with them (DeleteUser does it
-- in its transaction; the CHECK below refuses to leave one ownerless). The
-- ones they published stay in the catalogue, without an owner.
ALTER TABLE recipes ADD COLUMN owner_id UUID REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE recipes ADD COLUMN published BOOLEAN NOT NULL DEFAULT TRUE;
-- Every insert says which it is.
ALTER TABLE recipes ALTER COLUMN published DROP DEFAULT;
ALTER TABLE recipes ADD CONSTRAINT recipes_private_has_owner CHECK (published OR owner_id IS NOT NULL);

-- A user's recipes: whether they own a private one (asked for every list
-- request that carries a token), their private list, and the owner's
-- deletion. Catalogue recipes without an owner, nearly all of them, are
-- left out of the index.
CREATE INDEX recipes_owner_idx ON recipes (owner_id, published) WHERE owner_id IS NOT NULL;
