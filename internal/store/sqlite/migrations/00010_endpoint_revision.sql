-- +goose Up
-- Every write of an endpoint moves its revision, and an update is made
-- only over the revision it read (optimistic concurrency): two requests
-- that read the same endpoint cannot both write it back, so neither undoes
-- the other's change. Existing endpoints start at 1.
ALTER TABLE endpoints ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE endpoints DROP COLUMN revision;
