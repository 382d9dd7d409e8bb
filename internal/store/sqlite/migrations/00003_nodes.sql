-- +goose Up
-- Dispatchers alive on this database (see Store.Heartbeat).
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    heartbeat_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE nodes;
