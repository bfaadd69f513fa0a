-- Single-use, short-lived tickets that let a browser open a live sync
-- connection (WebSocket or server-sent events), which cannot carry an
-- Authorization header, without putting a token in a URL that access logs
-- keep. Only a hash is stored; redeeming deletes the row.
CREATE TABLE live_tickets (
	ticket_hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	expires_at TIMESTAMP NOT NULL
);
CREATE INDEX live_tickets_expires_idx ON live_tickets (expires_at);
