-- Greeter's first schema: the tenant root, the team, sites, pools and call logs.
--
-- Conventions: ids are TEXT (UUIDv7 for rows); timestamps are TEXT in UTC with a
-- fixed-width RFC 3339 form (2006-01-02T15:04:05.000000000Z) so that they sort as
-- text; booleans are INTEGER 0/1; JSON is TEXT checked with json_valid. A table
-- that refers to another row of the same organization does so through a
-- composite (id, org_id) key, so the schema itself refuses a cross-org link.

-- +goose Up
CREATE TABLE organizations (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    paused_at        TEXT,
    timezone         TEXT NOT NULL DEFAULT 'UTC',
    rna_seconds      INTEGER NOT NULL DEFAULT 15 CHECK (rna_seconds BETWEEN 10 AND 60),
    max_call_minutes INTEGER NOT NULL DEFAULT 120 CHECK (max_call_minutes BETWEEN 30 AND 240),
    widget_defaults  TEXT NOT NULL DEFAULT '{}'
        CHECK (json_valid(widget_defaults) AND json_type(widget_defaults) = 'object'),
    created_at       TEXT NOT NULL
);

CREATE INDEX organizations_name ON organizations (name);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id),
    email          TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
    full_name      TEXT NOT NULL CHECK (length(full_name) BETWEEN 1 AND 100),
    role           TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    password_hash  TEXT NOT NULL,
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    deactivated_at TEXT,
    deactivated_by TEXT REFERENCES users (id),
    created_at     TEXT NOT NULL,
    UNIQUE (id, org_id)
);

CREATE INDEX users_org ON users (org_id);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT
);

CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE agent_profiles (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL UNIQUE,
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    display_name    TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 60),
    avatar          TEXT NOT NULL DEFAULT '',
    wave_video      TEXT NOT NULL DEFAULT '',
    intro_video     TEXT NOT NULL DEFAULT '',
    loop_video      TEXT NOT NULL DEFAULT '',
    max_viewers     INTEGER NOT NULL DEFAULT 25 CHECK (max_viewers BETWEEN 1 AND 1000),
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    deactivated_at  TEXT,
    deactivated_by  TEXT REFERENCES users (id),
    presence_intent TEXT NOT NULL DEFAULT 'away' CHECK (presence_intent IN ('live', 'away')),
    created_at      TEXT NOT NULL,
    UNIQUE (id, org_id),
    FOREIGN KEY (user_id, org_id) REFERENCES users (id, org_id)
);

CREATE INDEX agent_profiles_org ON agent_profiles (org_id);

CREATE TABLE sites (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES organizations (id),
    name                  TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    site_key              TEXT NOT NULL UNIQUE,
    allowed_origins       TEXT NOT NULL DEFAULT '[]'
        CHECK (json_valid(allowed_origins) AND json_type(allowed_origins) = 'array'
            AND json_array_length(allowed_origins) <= 50),
    enabled               INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    widget_overrides      TEXT NOT NULL DEFAULT '{}'
        CHECK (json_valid(widget_overrides) AND json_type(widget_overrides) = 'object'),
    embed_verified_at     TEXT,
    embed_verified_origin TEXT,
    created_at            TEXT NOT NULL,
    UNIQUE (id, org_id)
);

CREATE INDEX sites_org ON sites (org_id);

CREATE TABLE pools (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES organizations (id),
    name                  TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    description           TEXT NOT NULL DEFAULT '',
    is_catch_all          INTEGER NOT NULL DEFAULT 0 CHECK (is_catch_all IN (0, 1)),
    overflow_to_catch_all INTEGER NOT NULL DEFAULT 0 CHECK (overflow_to_catch_all IN (0, 1)),
    created_at            TEXT NOT NULL,
    UNIQUE (org_id, name),
    UNIQUE (id, org_id)
);

-- Exactly one catch-all pool per organization.
CREATE UNIQUE INDEX pools_one_catch_all ON pools (org_id) WHERE is_catch_all = 1;

-- Members carry no org_id of their own: a member belongs to its pool's org, and
-- the store checks that the agent is of that org before adding it.
CREATE TABLE pool_members (
    pool_id       TEXT NOT NULL REFERENCES pools (id) ON DELETE CASCADE,
    agent_id      TEXT NOT NULL REFERENCES agent_profiles (id),
    priority_rank INTEGER NOT NULL DEFAULT 1 CHECK (priority_rank BETWEEN 1 AND 99),
    wave_video    TEXT NOT NULL DEFAULT '',
    intro_video   TEXT NOT NULL DEFAULT '',
    loop_video    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (pool_id, agent_id)
);

CREATE INDEX pool_members_agent ON pool_members (agent_id);

CREATE TABLE dispositions (
    id       TEXT PRIMARY KEY,
    org_id   TEXT NOT NULL REFERENCES organizations (id),
    name     TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    color    TEXT NOT NULL
        CHECK (length(color) = 7 AND substr(color, 1, 1) = '#'
            AND NOT lower(substr(color, 2)) GLOB '*[^0-9a-f]*'),
    value    REAL CHECK (value IS NULL OR value >= 0),
    position INTEGER NOT NULL DEFAULT 0,
    active   INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    UNIQUE (org_id, name),
    UNIQUE (id, org_id)
);

-- pool_id has no foreign key on purpose: pools may be deleted while their call
-- history stays, and a queued call-log write must never be refused because its
-- pool went away in the meantime.
CREATE TABLE call_logs (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations (id),
    request_id          TEXT NOT NULL,
    site_id             TEXT NOT NULL,
    pool_id             TEXT NOT NULL,
    agent_id            TEXT,
    visitor_id          TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN (
        'pending', 'accepted', 'completed', 'rejected', 'missed', 'cancelled', 'abandoned')),
    end_reason          TEXT,
    ended_by            TEXT CHECK (ended_by IS NULL
        OR ended_by IN ('agent', 'visitor', 'system', 'admin', 'api')),
    page_url            TEXT NOT NULL DEFAULT '',
    visitor_country     TEXT,
    visitor_region      TEXT,
    visitor_city        TEXT,
    ring_started_at     TEXT,
    answered_at         TEXT,
    answer_seconds      INTEGER CHECK (answer_seconds IS NULL OR answer_seconds >= 0),
    started_at          TEXT,
    ended_at            TEXT,
    duration_seconds    INTEGER CHECK (duration_seconds IS NULL OR duration_seconds >= 0),
    disposition_id      TEXT,
    disposition_at      TEXT,
    recording_id        TEXT,
    recording_status    TEXT,
    recording_notice_at TEXT,
    created_at          TEXT NOT NULL,
    FOREIGN KEY (site_id, org_id) REFERENCES sites (id, org_id),
    FOREIGN KEY (agent_id, org_id) REFERENCES agent_profiles (id, org_id),
    FOREIGN KEY (disposition_id, org_id) REFERENCES dispositions (id, org_id)
);

CREATE INDEX call_logs_org_created ON call_logs (org_id, created_at);
CREATE INDEX call_logs_agent_created ON call_logs (org_id, agent_id, created_at);
CREATE INDEX call_logs_request ON call_logs (request_id);

-- +goose Down
DROP TABLE call_logs;
DROP TABLE dispositions;
DROP TABLE pool_members;
DROP TABLE pools;
DROP TABLE sites;
DROP TABLE agent_profiles;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE organizations;
