-- Call continuity (SPEC §9): while a call is active its row holds the call's
-- id and the SHA-256 (hex) of each party's current reconnect token, so that a
-- restarted server can reload the call and let both parties resume it. The
-- hashes are cleared when the call completes; tokens themselves are never
-- stored.

-- +goose Up
ALTER TABLE call_logs ADD COLUMN call_id TEXT;
ALTER TABLE call_logs ADD COLUMN visitor_token_hash TEXT;
ALTER TABLE call_logs ADD COLUMN agent_token_hash TEXT;

-- +goose Down
ALTER TABLE call_logs DROP COLUMN agent_token_hash;
ALTER TABLE call_logs DROP COLUMN visitor_token_hash;
ALTER TABLE call_logs DROP COLUMN call_id;
