-- +goose Up
-- Why and when an endpoint was disabled (store.EncodeDisabled): set by the
-- write that disables it, NULL while it is enabled. Endpoints disabled
-- before this migration keep NULL: their reason is unknown. Times are
-- microseconds since the epoch, UTC; the reason is JSON.
ALTER TABLE endpoints ADD COLUMN disabled_at INTEGER;
ALTER TABLE endpoints ADD COLUMN disabled_reason TEXT;

-- +goose Down
ALTER TABLE endpoints DROP COLUMN disabled_reason;
ALTER TABLE endpoints DROP COLUMN disabled_at;
