-- +goose Up
-- What a session ends with besides its expiry and its token. opened_by:
-- the operator session that opened this customer session (the console's
-- "open portal"); it is deleted with it (console logout, its admin token
-- deleted). admin_key: the SHA-256 of the configured admin token that
-- opened the session, directly or through its operator session; the
-- portal honours the session only while that token is still the
-- configured one. Both are NULL for every other session, and for rows
-- written by nodes of earlier versions.
ALTER TABLE portal_sessions ADD COLUMN opened_by TEXT REFERENCES portal_sessions (id) ON DELETE CASCADE;
ALTER TABLE portal_sessions ADD COLUMN admin_key BLOB;
CREATE INDEX portal_sessions_opened_by ON portal_sessions (opened_by) WHERE opened_by IS NOT NULL;

-- +goose Down
DROP INDEX portal_sessions_opened_by;
ALTER TABLE portal_sessions DROP COLUMN admin_key;
ALTER TABLE portal_sessions DROP COLUMN opened_by;
