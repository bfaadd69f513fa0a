-- Users, refresh tokens and login throttling.
CREATE TABLE users (
	id UUID PRIMARY KEY,
	email TEXT NOT NULL,
	name TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('USER', 'ADMIN')),
	status TEXT NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'INACTIVE', 'BANNED')),
	password_hash TEXT NOT NULL,
	dietary_restrictions TEXT NOT NULL DEFAULT '[]',
	favorite_cuisines TEXT NOT NULL DEFAULT '[]',
	disliked_ingredients TEXT NOT NULL DEFAULT '[]',
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
-- Login and registration look emails up case-insensitively.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
-- The admin list filters by role and status and orders by creation.
CREATE INDEX users_role_status_idx ON users (role, status, created_at);
CREATE INDEX users_created_idx ON users (created_at, id);

CREATE TABLE refresh_tokens (
	id UUID PRIMARY KEY,
	user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	family_id UUID NOT NULL,
	token_hash TEXT NOT NULL UNIQUE,
	expires_at TIMESTAMPTZ NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	rotated_at TIMESTAMPTZ,
	revoked_at TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

-- One row per key of each login attempt that failed or is being checked.
CREATE TABLE login_failures (
	attempt_id TEXT NOT NULL,
	key TEXT NOT NULL,
	failed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_key_idx ON login_failures (key, failed_at);
CREATE INDEX login_failures_failed_idx ON login_failures (failed_at);
CREATE INDEX login_failures_attempt_idx ON login_failures (attempt_id);
