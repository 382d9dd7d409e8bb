-- +goose Up
-- Health rollups: per endpoint, per minute, hour and day (width in
-- seconds; bucket is the span's start in Unix microseconds, UTC), the
-- attempts by outcome kind, and the response times of the answered ones
-- (sum, maximum, and a histogram over hookrelay.LatencyBounds: h0 is the
-- first bucket). CompleteAttempts adds every attempt it records to the
-- three rows that hold its time, so a chart reads these rows and never
-- the attempts; they outlive the attempts and go with their endpoint.
CREATE TABLE endpoint_health (
    endpoint_id     TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    width           INTEGER NOT NULL,
    bucket          INTEGER NOT NULL,
    app_id          TEXT NOT NULL,
    success         INTEGER NOT NULL DEFAULT 0,
    rejected        INTEGER NOT NULL DEFAULT 0,
    unanswered      INTEGER NOT NULL DEFAULT 0,
    refused         INTEGER NOT NULL DEFAULT 0,
    internal        INTEGER NOT NULL DEFAULT 0,
    response_ms_sum INTEGER NOT NULL DEFAULT 0,
    response_ms_max INTEGER NOT NULL DEFAULT 0,
    h0 INTEGER NOT NULL DEFAULT 0, h1 INTEGER NOT NULL DEFAULT 0, h2 INTEGER NOT NULL DEFAULT 0, h3 INTEGER NOT NULL DEFAULT 0, h4 INTEGER NOT NULL DEFAULT 0, h5 INTEGER NOT NULL DEFAULT 0, h6 INTEGER NOT NULL DEFAULT 0, h7 INTEGER NOT NULL DEFAULT 0, h8 INTEGER NOT NULL DEFAULT 0, h9 INTEGER NOT NULL DEFAULT 0, h10 INTEGER NOT NULL DEFAULT 0, h11 INTEGER NOT NULL DEFAULT 0, h12 INTEGER NOT NULL DEFAULT 0, h13 INTEGER NOT NULL DEFAULT 0, h14 INTEGER NOT NULL DEFAULT 0, h15 INTEGER NOT NULL DEFAULT 0, h16 INTEGER NOT NULL DEFAULT 0, h17 INTEGER NOT NULL DEFAULT 0, h18 INTEGER NOT NULL DEFAULT 0, h19 INTEGER NOT NULL DEFAULT 0, h20 INTEGER NOT NULL DEFAULT 0, h21 INTEGER NOT NULL DEFAULT 0, h22 INTEGER NOT NULL DEFAULT 0, h23 INTEGER NOT NULL DEFAULT 0, h24 INTEGER NOT NULL DEFAULT 0, h25 INTEGER NOT NULL DEFAULT 0, h26 INTEGER NOT NULL DEFAULT 0, h27 INTEGER NOT NULL DEFAULT 0, h28 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (endpoint_id, width, bucket)
) WITHOUT ROWID;
CREATE INDEX endpoint_health_app ON endpoint_health (app_id, width, bucket);

-- +goose Down
DROP TABLE endpoint_health;
