-- The logical schema shared with store/postgres. Times are unix
-- microseconds (INTEGER). Lists and maps are JSON text, NULL when unset.
-- Booleans are 0/1.

-- +goose Up
CREATE TABLE environments (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

INSERT INTO environments (id, name, created_at)
VALUES ('env_default', 'default', CAST(unixepoch('subsec') * 1000000 AS INTEGER));

CREATE TABLE applications (
    id         TEXT PRIMARY KEY,
    env_id     TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    uid        TEXT,
    name       TEXT NOT NULL,
    rate_limit INTEGER,
    metadata   TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (env_id, uid)
);
CREATE INDEX applications_env ON applications (env_id, id);

-- A token is found by the SHA-256 of its text. Portal tokens (kind 'portal')
-- carry the one application they reach.
CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    env_id     TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    app_id     TEXT REFERENCES applications (id) ON DELETE CASCADE,
    hash       BLOB NOT NULL UNIQUE,
    expires_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX tokens_env_kind ON tokens (env_id, kind);
CREATE INDEX tokens_app ON tokens (app_id) WHERE app_id IS NOT NULL;

CREATE TABLE event_types (
    env_id       TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    archived     INTEGER NOT NULL DEFAULT 0,
    deprecated   INTEGER NOT NULL DEFAULT 0,
    schemas      TEXT,
    feature_flag TEXT,
    group_name   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (env_id, name)
);

-- options holds hookrelay's delivery settings (method, timeout, retry
-- schedule, in-flight cap) as one JSON object; rate_limit is per second.
CREATE TABLE endpoints (
    id           TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    uid          TEXT,
    url          TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    version      INTEGER NOT NULL DEFAULT 1,
    rate_limit   INTEGER,
    filter_types TEXT,
    channels     TEXT,
    disabled     INTEGER NOT NULL DEFAULT 0,
    metadata     TEXT,
    secret       TEXT NOT NULL,
    old_secrets  TEXT,
    headers      TEXT,
    sensitive    TEXT,
    options      TEXT NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (app_id, uid)
);
CREATE INDEX endpoints_app ON endpoints (app_id, id);

-- payload is the published body byte for byte, NULL once expunged.
CREATE TABLE messages (
    id         TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    event_id   TEXT,
    event_type TEXT NOT NULL,
    payload    BLOB,
    channels   TEXT,
    tags       TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (app_id, event_id)
);
CREATE INDEX messages_app ON messages (app_id, id);

-- The delivery queue: one row per message and endpoint. A row is due when
-- status = 1 (pending), next_attempt <= now and lease_until is NULL or past.
-- next_attempt is NULL once the row is terminal. app_id is denormalised for
-- scoping; deleting the application reaches these rows through messages.
CREATE TABLE deliveries (
    id           TEXT PRIMARY KEY,
    msg_id       TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    endpoint_id  TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    app_id       TEXT NOT NULL,
    status       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER,
    manual       INTEGER NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    lease_until  INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (msg_id, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE status = 1;
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, msg_id);
CREATE INDEX deliveries_lease ON deliveries (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE lease_until IS NOT NULL;

-- The delivery log. msg_id, endpoint_id and app_id are copied from the
-- delivery; removing the delivery removes its attempts.
CREATE TABLE attempts (
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
CREATE INDEX attempts_delivery ON attempts (delivery_id);
CREATE INDEX attempts_msg ON attempts (msg_id, id);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);

CREATE TABLE idempotency (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0,
    status_code INTEGER NOT NULL DEFAULT 0,
    body        BLOB,
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_expires ON idempotency (expires_at);

CREATE TABLE background_tasks (
    id         TEXT PRIMARY KEY,
    env_id     TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    task       TEXT NOT NULL,
    status     TEXT NOT NULL,
    data       TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX background_tasks_env ON background_tasks (env_id, id);

-- +goose Down
DROP TABLE background_tasks;
DROP TABLE idempotency;
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE messages;
DROP TABLE endpoints;
DROP TABLE event_types;
DROP TABLE tokens;
DROP TABLE applications;
DROP TABLE environments;
