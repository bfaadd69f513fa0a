-- Access tokens carry the session epoch of their user at issue; ending every
-- session of a user (a password, role or status change, a sign-out
-- everywhere, a stolen refresh token) moves it on, so older tokens stop
-- working at once instead of when they expire. Existing tokens carry none,
-- which reads as 0: the upgrade itself ends no session.
ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;
