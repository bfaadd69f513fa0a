-- Idempotency keys: a client's name for one write, kept with that write's
-- answer for 24 hours so that a retry gets the answer instead of a second
-- write. A key belongs to the user who sent it and goes with their account.
--
-- While an attempt runs, response_status is NULL and attempt/lease_until say
-- who holds the key until when (a dead instance's attempt frees it when the
-- lease runs out). The answer is written in the same transaction as the
-- request's own writes. expires_at serves the pruning.
CREATE TABLE idempotency_keys (
	user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	idempotency_key TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	attempt TEXT NOT NULL,
	lease_until TIMESTAMPTZ NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL,
	response_status INTEGER,
	response_header TEXT,
	response_body BYTEA,
	PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
