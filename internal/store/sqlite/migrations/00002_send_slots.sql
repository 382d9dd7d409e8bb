-- +goose Up
-- The next free send time of each rate-limited endpoint, shared by every
-- dispatcher (see Store.ReserveSendSlots).
CREATE TABLE endpoint_send_slots (
    endpoint_id TEXT PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
    next_at     INTEGER NOT NULL
);

-- +goose Down
DROP TABLE endpoint_send_slots;
