-- +goose Up
-- Every write of an endpoint moves its revision, and an update is made
-- only over the revision it read (optimistic concurrency): two requests
-- that read the same endpoint cannot both write it back, so neither undoes
-- the other's change. Existing endpoints start at 1; a constant default
-- adds the column without rewriting the table.
ALTER TABLE endpoints ADD COLUMN revision bigint NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE endpoints DROP COLUMN revision;
