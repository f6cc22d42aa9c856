-- Team invitations and organization API keys (SPEC §3.1, §11.3, §14.1).
--
-- Both tables keep only hashes of their secrets: an invite token or an API key
-- secret is shown once and can afterwards only be checked, never read back.
-- References to users go through the composite (id, org_id) key, so an invite
-- or a key can never name a user of another organization.

-- +goose Up
CREATE TABLE invites (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    email       TEXT NOT NULL COLLATE NOCASE CHECK (length(email) BETWEEN 3 AND 254),
    full_name   TEXT NOT NULL CHECK (length(full_name) BETWEEN 1 AND 100),
    role        TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    token_hash  TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    invited_by  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    accepted_at TEXT,
    revoked_at  TEXT,
    created_at  TEXT NOT NULL,
    UNIQUE (id, org_id),
    FOREIGN KEY (invited_by, org_id) REFERENCES users (id, org_id)
);

CREATE INDEX invites_org_email ON invites (org_id, email);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    key_id       TEXT NOT NULL UNIQUE CHECK (length(key_id) BETWEEN 8 AND 32),
    secret_hash  TEXT NOT NULL CHECK (length(secret_hash) = 64),
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT,
    UNIQUE (id, org_id),
    FOREIGN KEY (created_by, org_id) REFERENCES users (id, org_id)
);

CREATE INDEX api_keys_org ON api_keys (org_id, created_at);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE invites;
