-- +goose NO TRANSACTION
-- +goose Up
-- Two B-trees less on the publish and completion of every delivery. Every
-- B-tree a group commit touches costs about three pages in the WAL, since
-- SQLite rebalances an index's last leaves as keys are appended; only rowid
-- tables get a cheap append.
--
-- messages: a message without an eventId no longer gets an entry in the
-- eventId index (a table constraint indexes NULLs too), so the constraint
-- becomes a partial unique index. Deliveries and attempts refer to
-- messages, so the table is rebuilt with foreign keys off, as SQLite's
-- ALTER TABLE documentation describes.
--
-- attempts: a rowid table with no index on the attempt ID alone; every
-- lookup by ID also names the message (attempts_msg), and the ID stays
-- unique by construction.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE messages_new (
    id         TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    event_id   TEXT,
    event_type TEXT NOT NULL,
    payload    BLOB,
    channels   TEXT,
    tags       TEXT,
    created_at INTEGER NOT NULL
);
INSERT INTO messages_new (id, app_id, event_id, event_type, payload, channels, tags, created_at)
SELECT id, app_id, event_id, event_type, payload, channels, tags, created_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE UNIQUE INDEX messages_event ON messages (app_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX messages_app ON messages (app_id, id);

CREATE TABLE attempts_new (
    id                   TEXT NOT NULL,
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
FROM attempts ORDER BY id;
DROP TABLE attempts;
ALTER TABLE attempts_new RENAME TO attempts;
CREATE INDEX attempts_msg ON attempts (msg_id, id);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE messages_old (
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
INSERT INTO messages_old (id, app_id, event_id, event_type, payload, channels, tags, created_at)
SELECT id, app_id, event_id, event_type, payload, channels, tags, created_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_old RENAME TO messages;
CREATE INDEX messages_app ON messages (app_id, id);

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
) WITHOUT ROWID;
INSERT INTO attempts_old SELECT id, delivery_id, msg_id, endpoint_id, app_id, url, status,
    response_status_code, response, response_duration_ms, trigger_type, created_at
FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_old RENAME TO attempts;
CREATE INDEX attempts_msg ON attempts (msg_id, id);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);
COMMIT;
PRAGMA foreign_keys = ON;
