-- +goose Up
-- The next free send time of each rate-limited endpoint, shared by every
-- node (see Store.ReserveSendSlots).
CREATE TABLE endpoint_send_slots (
    endpoint_id text PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
    next_at     timestamptz NOT NULL
);

-- +goose Down
DROP TABLE endpoint_send_slots;
