-- +goose Up
-- A portal token may be read-only (app-portal-access with readOnly: true);
-- tokens made before this migration are not.
ALTER TABLE tokens ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE tokens DROP COLUMN read_only;
