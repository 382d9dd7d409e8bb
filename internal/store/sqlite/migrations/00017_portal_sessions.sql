-- +goose Up
-- Sessions of the portal and the operator console. A row starts as the
-- one-time code of a magic link (code_hash) and becomes a session when the
-- code is redeemed (hash). Only SHA-256 digests of secrets are stored.
CREATE TABLE portal_sessions (
    id              TEXT PRIMARY KEY,
    env_id          TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    app_id          TEXT REFERENCES applications (id) ON DELETE CASCADE,
    operator        INTEGER NOT NULL DEFAULT 0,
    read_only       INTEGER NOT NULL DEFAULT 0,
    token_id        TEXT REFERENCES tokens (id) ON DELETE CASCADE,
    code_hash       BLOB UNIQUE,
    code_expires_at INTEGER,
    hash            BLOB UNIQUE,
    theme           TEXT NOT NULL DEFAULT '',
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    redeemed_at     INTEGER
);
CREATE INDEX portal_sessions_app ON portal_sessions (app_id) WHERE app_id IS NOT NULL;
CREATE INDEX portal_sessions_token ON portal_sessions (token_id) WHERE token_id IS NOT NULL;
CREATE INDEX portal_sessions_expires ON portal_sessions (expires_at);

-- +goose Down
DROP TABLE portal_sessions;
