-- +goose Up
-- Since when an endpoint's send reservations have had to wait behind
-- earlier ones (its rate limit holds deliveries back); NULL when the last
-- reservation did not wait. See Store.SendThrottle.
ALTER TABLE endpoint_send_slots ADD COLUMN throttled_since INTEGER;

-- +goose Down
ALTER TABLE endpoint_send_slots DROP COLUMN throttled_since;
