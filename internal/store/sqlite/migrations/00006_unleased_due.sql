-- +goose Up
-- A pending delivery is in exactly one of two indexes: the due indexes while
-- nobody holds it, deliveries_leased while a node does. Work handed to a
-- dispatcher at publish (leased in the publishing transaction) and
-- delivered at once then never enters or leaves the due indexes: four
-- B-tree writes less per delivery. Claims take expired leases from
-- deliveries_leased.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE status = 1 AND lease_until IS NULL;
DROP INDEX deliveries_endpoint_due;
CREATE INDEX deliveries_endpoint_due ON deliveries (endpoint_id, next_attempt)
    WHERE status = 1 AND lease_until IS NULL;

-- Attempts keyed by their ID alone (WITHOUT ROWID): the two indexes already
-- end with the ID, so the separate index on it goes, one B-tree less per
-- attempt.
CREATE TABLE attempts_new (
    id                   TEXT PRIMARY KEY,
    delivery_id          TEXT NOT NULL,
    msg_id               TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    endpoint_id          TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    app_id               TEXT NOT NULL,
    url                  TEXT NOT NULL,
    status               INTEGER NOT NULL,
    response_status_code INTEGER NOT NULL DEFAULT 0,
    response             TEXT NOT NULL DEFAULT '',
    response_duration_ms INTEGER NOT NULL DEFAULT 0,
    trigger_type         INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO attempts_new SELECT id, delivery_id, msg_id, endpoint_id, app_id, url, status,
    response_status_code, response, response_duration_ms, trigger_type, created_at
FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_new RENAME TO attempts;
CREATE INDEX attempts_msg ON attempts (msg_id, id);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);

-- +goose Down
CREATE TABLE attempts_old (
    id                   TEXT PRIMARY KEY,
    delivery_id          TEXT NOT NULL,
    msg_id               TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    endpoint_id          TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    app_id               TEXT NOT NULL,
    url                  TEXT NOT NULL,
    status               INTEGER NOT NULL,
    response_status_code INTEGER NOT NULL DEFAULT 0,
    response             TEXT NOT NULL DEFAULT '',
    response_duration_ms INTEGER NOT NULL DEFAULT 0,
    trigger_type         INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL
);
INSERT INTO attempts_old SELECT id, delivery_id, msg_id, endpoint_id, app_id, url, status,
    response_status_code, response, response_duration_ms, trigger_type, created_at
FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_old RENAME TO attempts;
CREATE INDEX attempts_msg ON attempts (msg_id, id);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);
DROP INDEX deliveries_endpoint_due;
CREATE INDEX deliveries_endpoint_due ON deliveries (endpoint_id, next_attempt) WHERE status = 1;
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE status = 1;
