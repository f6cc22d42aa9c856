-- Routing rules (SPEC §3.1, §7.1): each sends the pages that meet all of its
-- conditions to one pool of the same organization.
--
-- conditions is the JSON array of routing.Condition objects, already
-- validated by internal/routing; the schema checks only its shape. The pool
-- is referenced through the composite (id, org_id) key, so a rule can never
-- point into another organization, and deleting a pool deletes its rules.
-- Triggers keep rules off the catch-all pool and keep that pool itself from
-- being deleted; the store checks both first and answers with ErrCatchAll.

-- +goose Up
CREATE TABLE routing_rules (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    pool_id    TEXT NOT NULL,
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    conditions TEXT NOT NULL
        CHECK (json_valid(conditions) AND json_type(conditions) = 'array'
            AND json_array_length(conditions) BETWEEN 1 AND 10),
    priority   INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL,
    UNIQUE (id, org_id),
    FOREIGN KEY (pool_id, org_id) REFERENCES pools (id, org_id) ON DELETE CASCADE
);

-- The order in which rules are tried; also serves the org-scoped lookups.
CREATE INDEX routing_rules_order ON routing_rules (org_id, priority DESC, created_at, id);
-- Lets a pool's deletion find its rules without a scan.
CREATE INDEX routing_rules_pool ON routing_rules (pool_id, org_id);

-- +goose StatementBegin
CREATE TRIGGER routing_rules_not_on_catch_all_insert
BEFORE INSERT ON routing_rules
WHEN (SELECT is_catch_all FROM pools WHERE id = NEW.pool_id) = 1
BEGIN
    SELECT RAISE(ABORT, 'routing rules cannot be on the catch-all pool');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER routing_rules_not_on_catch_all_update
BEFORE UPDATE OF pool_id ON routing_rules
WHEN (SELECT is_catch_all FROM pools WHERE id = NEW.pool_id) = 1
BEGIN
    SELECT RAISE(ABORT, 'routing rules cannot be on the catch-all pool');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER pools_keep_catch_all
BEFORE DELETE ON pools
WHEN OLD.is_catch_all = 1
BEGIN
    SELECT RAISE(ABORT, 'the catch-all pool cannot be deleted');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER pools_keep_catch_all;
DROP TRIGGER routing_rules_not_on_catch_all_update;
DROP TRIGGER routing_rules_not_on_catch_all_insert;
DROP TABLE routing_rules;
