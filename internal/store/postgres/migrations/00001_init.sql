-- The logical schema shared with store/sqlite, in PostgreSQL types: times
-- are timestamptz (microseconds), lists are text[], maps and structured
-- values jsonb, event type schemas json (kept as written), payloads bytea.
-- NULL means unset; an empty list is '{}'.
--
-- Keys that listings order and page by (IDs, event type names) use the "C"
-- collation: IDs sort by age in byte order, which a linguistic collation
-- such as en_US would not keep.

-- +goose Up
CREATE TABLE environments (
    id         text COLLATE "C" PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);

INSERT INTO environments (id, name, created_at) VALUES ('env_default', 'default', now());

CREATE TABLE applications (
    id         text COLLATE "C" PRIMARY KEY,
    env_id     text COLLATE "C" NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    uid        text,
    name       text NOT NULL,
    rate_limit integer,
    metadata   jsonb,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (env_id, uid)
);
CREATE INDEX applications_env ON applications (env_id, id);

-- A token is found by the SHA-256 of its text. Portal tokens (kind 'portal')
-- carry the one application they reach.
CREATE TABLE tokens (
    id         text COLLATE "C" PRIMARY KEY,
    env_id     text COLLATE "C" NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    kind       text NOT NULL,
    app_id     text COLLATE "C" REFERENCES applications (id) ON DELETE CASCADE,
    hash       bytea NOT NULL UNIQUE,
    expires_at timestamptz,
    created_at timestamptz NOT NULL
);
CREATE INDEX tokens_env_kind ON tokens (env_id, kind);
CREATE INDEX tokens_app ON tokens (app_id) WHERE app_id IS NOT NULL;

CREATE TABLE event_types (
    env_id       text COLLATE "C" NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name         text COLLATE "C" NOT NULL,
    description  text NOT NULL DEFAULT '',
    archived     boolean NOT NULL DEFAULT false,
    deprecated   boolean NOT NULL DEFAULT false,
    schemas      json,
    feature_flag text,
    group_name   text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (env_id, name)
);

-- options holds hookrelay's delivery settings (method, timeout, retry
-- schedule, in-flight cap) as one JSON object; rate_limit is per second.
CREATE TABLE endpoints (
    id           text COLLATE "C" PRIMARY KEY,
    app_id       text COLLATE "C" NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    uid          text,
    url          text NOT NULL,
    description  text NOT NULL DEFAULT '',
    version      integer NOT NULL DEFAULT 1,
    rate_limit   integer,
    filter_types text[],
    channels     text[],
    disabled     boolean NOT NULL DEFAULT false,
    metadata     jsonb,
    secret       text NOT NULL,
    old_secrets  jsonb,
    headers      jsonb,
    sensitive    text[],
    options      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    UNIQUE (app_id, uid)
);
CREATE INDEX endpoints_app ON endpoints (app_id, id);

-- payload is the published body byte for byte, NULL once expunged.
CREATE TABLE messages (
    id         text COLLATE "C" PRIMARY KEY,
    app_id     text COLLATE "C" NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    event_id   text,
    event_type text NOT NULL,
    payload    bytea,
    channels   text[],
    tags       text[],
    created_at timestamptz NOT NULL,
    UNIQUE (app_id, event_id)
);
CREATE INDEX messages_app ON messages (app_id, id);

-- The delivery queue: one row per message and endpoint. A row is due when
-- status = 1 (pending), next_attempt <= now and lease_until is NULL or past.
-- next_attempt is NULL once the row is terminal. app_id is denormalised for
-- scoping; deleting the application reaches these rows through messages.
-- Claims lock rows with FOR UPDATE SKIP LOCKED, so nodes sharing the
-- database never lease one row twice.
CREATE TABLE deliveries (
    id           text COLLATE "C" PRIMARY KEY,
    msg_id       text COLLATE "C" NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    endpoint_id  text COLLATE "C" NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    app_id       text COLLATE "C" NOT NULL,
    status       smallint NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    next_attempt timestamptz,
    manual       boolean NOT NULL DEFAULT false,
    lease_owner  text,
    lease_until  timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    UNIQUE (msg_id, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE status = 1;
-- Claims that exclude endpoints walk the pending rows endpoint by endpoint
-- when the head of the due index belongs to excluded endpoints.
CREATE INDEX deliveries_endpoint_due ON deliveries (endpoint_id, next_attempt) WHERE status = 1;
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, msg_id);
CREATE INDEX deliveries_lease ON deliveries (lease_owner) WHERE lease_owner IS NOT NULL;
-- Pending rows are rewritten on every claim and attempt: vacuum them early.
ALTER TABLE deliveries SET (autovacuum_vacuum_scale_factor = 0.05, fillfactor = 90);

-- The delivery log. msg_id, endpoint_id and app_id are copied from the
-- delivery; removing the delivery removes its attempts.
CREATE TABLE attempts (
    id                   text COLLATE "C" PRIMARY KEY,
    delivery_id          text COLLATE "C" NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    msg_id               text COLLATE "C" NOT NULL,
    endpoint_id          text COLLATE "C" NOT NULL,
    app_id               text COLLATE "C" NOT NULL,
    url                  text NOT NULL,
    status               smallint NOT NULL,
    response_status_code integer NOT NULL DEFAULT 0,
    response             text NOT NULL DEFAULT '',
    response_duration_ms bigint NOT NULL DEFAULT 0,
    trigger_type         smallint NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL
);
CREATE INDEX attempts_delivery ON attempts (delivery_id);
CREATE INDEX attempts_msg ON attempts (msg_id, id);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);

CREATE TABLE idempotency (
    scope       text NOT NULL,
    key         text NOT NULL,
    done        boolean NOT NULL DEFAULT false,
    status_code integer NOT NULL DEFAULT 0,
    body        bytea,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_expires ON idempotency (expires_at);

CREATE TABLE background_tasks (
    id         text COLLATE "C" PRIMARY KEY,
    env_id     text COLLATE "C" NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    task       text NOT NULL,
    status     text NOT NULL,
    data       jsonb,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
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
