-- +goose Up
-- Dispatchers alive on this database (see Store.Heartbeat).
CREATE TABLE nodes (
    id           text PRIMARY KEY,
    heartbeat_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE nodes;
