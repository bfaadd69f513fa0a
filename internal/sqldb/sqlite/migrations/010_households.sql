-- Households: people who share a shopping list, live on every device.
--
-- Every change to a household's data takes the next revision from its row
-- (the row lock orders the changes of one household) and records what
-- changed under it in household_changes, in the same transaction: a device
-- that knew revision N asks for the changes after N and gets every one, in
-- order, deletions as tombstones. floor_revision is the newest revision whose
-- changes were pruned: asking from before it means a full resync.
CREATE TABLE households (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	owner_id TEXT NOT NULL,
	revision BIGINT NOT NULL,
	floor_revision BIGINT NOT NULL DEFAULT 0,
	created_at TIMESTAMP NOT NULL
);

-- user_id is unique: a user belongs to at most one household.
CREATE TABLE household_members (
	household_id TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
	user_id TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
	role TEXT NOT NULL CHECK (role IN ('OWNER', 'MEMBER')),
	joined_at TIMESTAMP NOT NULL,
	PRIMARY KEY (household_id, user_id)
);

-- Only a hash of each invite code is kept: a leaked table joins no one.
CREATE TABLE household_invites (
	code_hash TEXT PRIMARY KEY,
	household_id TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
	created_by TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	expires_at TIMESTAMP NOT NULL,
	used_at TIMESTAMP,
	used_by TEXT
);
CREATE INDEX household_invites_household_idx ON household_invites (household_id);

CREATE TABLE shopping_items (
	id TEXT PRIMARY KEY,
	household_id TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	quantity TEXT NOT NULL,
	unit TEXT NOT NULL,
	category TEXT NOT NULL,
	note TEXT NOT NULL,
	checked BOOLEAN NOT NULL,
	position BIGINT NOT NULL,
	added_by TEXT,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL
);
CREATE INDEX shopping_items_household_idx ON shopping_items (household_id, position, id);

-- One row per entity an operation changed (several for "clear checked").
CREATE TABLE household_changes (
	household_id TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
	revision BIGINT NOT NULL,
	entity TEXT NOT NULL,
	entity_id TEXT NOT NULL,
	deleted BOOLEAN NOT NULL,
	data TEXT NOT NULL,
	author_id TEXT NOT NULL,
	op_id TEXT NOT NULL,
	changed_at TIMESTAMP NOT NULL,
	PRIMARY KEY (household_id, revision, entity, entity_id)
);
CREATE INDEX household_changes_changed_idx ON household_changes (changed_at);

-- What each client operation answered, so that its retry is answered the
-- same and applied once.
CREATE TABLE household_ops (
	household_id TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
	op_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	revision BIGINT NOT NULL,
	result TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (household_id, op_id)
);
CREATE INDEX household_ops_created_idx ON household_ops (created_at);
