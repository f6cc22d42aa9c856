-- Agent sessions and the status audit trail (SPEC §6.2, §10.2).
--
-- A session spans one connection lifetime of an agent (a reconnect within the
-- grace and a replacement continue it) and splits its time into away, idle,
-- broadcasting and in-call seconds. Every presence transition adds one
-- agent_status_changes row and rewrites its session's counters, both from the
-- durable write queue: the latest snapshot of a session wins. An open session
-- has neither ended_at nor ended_reason; an ended one has both.

-- +goose Up
CREATE TABLE agent_sessions (
    id                   TEXT PRIMARY KEY,
    org_id               TEXT NOT NULL REFERENCES organizations (id),
    agent_id             TEXT NOT NULL,
    started_at           TEXT NOT NULL,
    ended_at             TEXT,
    ended_reason         TEXT CHECK (ended_reason IS NULL OR ended_reason IN (
        'logout', 'disconnect', 'removed', 'replaced', 'server_restart')),
    away_seconds         INTEGER NOT NULL DEFAULT 0 CHECK (away_seconds >= 0),
    idle_seconds         INTEGER NOT NULL DEFAULT 0 CHECK (idle_seconds >= 0),
    broadcasting_seconds INTEGER NOT NULL DEFAULT 0 CHECK (broadcasting_seconds >= 0),
    in_call_seconds      INTEGER NOT NULL DEFAULT 0 CHECK (in_call_seconds >= 0),
    CHECK ((ended_at IS NULL) = (ended_reason IS NULL)),
    UNIQUE (id, org_id),
    FOREIGN KEY (agent_id, org_id) REFERENCES agent_profiles (id, org_id)
);

CREATE INDEX agent_sessions_agent_started ON agent_sessions (org_id, agent_id, started_at);
CREATE INDEX agent_sessions_org_started ON agent_sessions (org_id, started_at);
-- Start-up finds the sessions a crash left open.
CREATE INDEX agent_sessions_open ON agent_sessions (started_at) WHERE ended_at IS NULL;

CREATE TABLE agent_status_changes (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    agent_id    TEXT NOT NULL,
    from_status TEXT NOT NULL CHECK (from_status IN (
        'offline', 'away', 'idle', 'in_simulation', 'in_call')),
    to_status   TEXT NOT NULL CHECK (to_status IN (
        'offline', 'away', 'idle', 'in_simulation', 'in_call')),
    reason      TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 40),
    at          TEXT NOT NULL,
    CHECK (from_status <> to_status),
    FOREIGN KEY (session_id, org_id) REFERENCES agent_sessions (id, org_id),
    FOREIGN KEY (agent_id, org_id) REFERENCES agent_profiles (id, org_id)
);

CREATE INDEX agent_status_changes_agent_at ON agent_status_changes (org_id, agent_id, at);
CREATE INDEX agent_status_changes_org_at ON agent_status_changes (org_id, at);
CREATE INDEX agent_status_changes_session ON agent_status_changes (session_id, at);

-- +goose Down
DROP TABLE agent_status_changes;
DROP TABLE agent_sessions;
