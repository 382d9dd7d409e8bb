-- +goose Up
-- A portal token may be read-only (app-portal-access with readOnly: true);
-- tokens made before this migration are not. A column with a constant
-- default is added without rewriting the table.
ALTER TABLE tokens ADD COLUMN read_only boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE tokens DROP COLUMN read_only;
