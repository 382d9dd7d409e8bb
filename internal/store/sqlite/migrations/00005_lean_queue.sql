-- +goose Up
-- Fewer B-trees per delivery: every index here is written on the publish
-- and the completion of every delivery, in the one writer.
--
-- Lease extension finds a node's deliveries through deliveries_leased (every
-- held delivery has a lease time), so the index by owner goes.
DROP INDEX deliveries_lease;

-- Attempts hang off their message and endpoint rather than their delivery:
-- a delivery goes only with its message or endpoint, and nothing looks
-- attempts up by delivery, so the index kept only for that cascade goes.
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
);
INSERT INTO attempts_new (id, delivery_id, msg_id, endpoint_id, app_id, url, status,
    response_status_code, response, response_duration_ms, trigger_type, created_at)
SELECT id, delivery_id, msg_id, endpoint_id, app_id, url, status,
    response_status_code, response, response_duration_ms, trigger_type, created_at
FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_new RENAME TO attempts;
CREATE INDEX attempts_msg ON attempts (msg_id, id);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);

-- +goose Down
CREATE TABLE attempts_old (
    id                   TEXT PRIMARY KEY,
    delivery_id          TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    msg_id               TEXT NOT NULL,
    endpoint_id          TEXT NOT NULL,
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
FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries);
DROP TABLE attempts;
ALTER TABLE attempts_old RENAME TO attempts;
CREATE INDEX attempts_delivery ON attempts (delivery_id);
CREATE INDEX attempts_msg ON attempts (msg_id, id);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);
CREATE INDEX deliveries_lease ON deliveries (lease_owner) WHERE lease_owner IS NOT NULL;
