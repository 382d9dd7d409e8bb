-- +goose Up
-- Sessions of the portal and the operator console. A row starts as the
-- one-time code of a magic link (code_hash) and becomes a session when the
-- code is redeemed (hash). Only SHA-256 digests of secrets are stored.
CREATE TABLE portal_sessions (
    id              text COLLATE "C" PRIMARY KEY,
    env_id          text COLLATE "C" NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    app_id          text COLLATE "C" REFERENCES applications (id) ON DELETE CASCADE,
    operator        boolean NOT NULL DEFAULT false,
    read_only       boolean NOT NULL DEFAULT false,
    token_id        text COLLATE "C" REFERENCES tokens (id) ON DELETE CASCADE,
    code_hash       bytea UNIQUE,
    code_expires_at timestamptz,
    hash            bytea UNIQUE,
    theme           text NOT NULL DEFAULT '',
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    redeemed_at     timestamptz
);
CREATE INDEX portal_sessions_app ON portal_sessions (app_id) WHERE app_id IS NOT NULL;
CREATE INDEX portal_sessions_token ON portal_sessions (token_id) WHERE token_id IS NOT NULL;
CREATE INDEX portal_sessions_expires ON portal_sessions (expires_at);

-- +goose Down
DROP TABLE portal_sessions;
