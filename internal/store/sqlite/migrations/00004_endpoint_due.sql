-- +goose Up
-- Each endpoint's pending deliveries in due order: claims that must skip an
-- endpoint (it is at its cap) walk endpoints through this index instead of
-- reading that endpoint's backlog row by row.
CREATE INDEX deliveries_endpoint_due ON deliveries (endpoint_id, next_attempt) WHERE status = 1;

-- +goose Down
DROP INDEX deliveries_endpoint_due;
