-- +goose Up
-- Why and when an endpoint was disabled (store.EncodeDisabled): set by the
-- write that disables it, NULL while it is enabled. Endpoints disabled
-- before this migration keep NULL: their reason is unknown. Nullable
-- columns without a default are added without rewriting the table.
ALTER TABLE endpoints ADD COLUMN disabled_at timestamptz;
ALTER TABLE endpoints ADD COLUMN disabled_reason jsonb;

-- +goose Down
ALTER TABLE endpoints DROP COLUMN disabled_reason;
ALTER TABLE endpoints DROP COLUMN disabled_at;
