-- Pageviews (SPEC §10.3): one row per visitor page load that lasted the
-- trigger delay, with the agent greeting it then, or none (a missed
-- opportunity). Coverage is computed from these rows.

-- +goose Up
CREATE TABLE pageviews (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    site_id    TEXT NOT NULL,
    pool_id    TEXT NOT NULL,
    visitor_id TEXT NOT NULL,
    agent_id   TEXT,
    page_url   TEXT NOT NULL,
    at         TEXT NOT NULL
);

CREATE INDEX pageviews_org_at ON pageviews (org_id, at);

-- +goose Down
DROP TABLE pageviews;
