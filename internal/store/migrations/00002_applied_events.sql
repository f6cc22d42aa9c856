-- The durable write queue (SPEC §10.4) records the id of every event it applies
-- in the same transaction as the event's effect, so that replaying the journal
-- after a crash applies each event exactly once. Ids older than the replay
-- window are pruned; applied_at is indexed for that.

-- +goose Up
CREATE TABLE applied_events (
    id         TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL
);

CREATE INDEX applied_events_applied_at ON applied_events (applied_at);

-- +goose Down
DROP TABLE applied_events;
