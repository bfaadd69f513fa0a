-- A feed of changed users, so that instances may cache user rows (the
-- authentication of every request) and still see a ban, a password change or
-- a sign-out everywhere made on another instance within a second.
--
-- Every write to a user row takes the next version from user_version and
-- records the user under it, in the write's own transaction. The version row
-- is locked until that transaction ends, so versions commit in order: a reader
-- that sees version V has every change up to V.
CREATE TABLE user_version (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	version BIGINT NOT NULL
);
INSERT INTO user_version (id, version) VALUES (1, 0);

-- No foreign key: a deleted user's deletion is a change too.
CREATE TABLE user_changes (
	version BIGINT PRIMARY KEY,
	user_id TEXT NOT NULL,
	changed_at TIMESTAMP NOT NULL
);
CREATE INDEX user_changes_changed_idx ON user_changes (changed_at);
