-- +goose Up
-- Health rollups: per endpoint, per minute, hour and day (width in
-- seconds; bucket is the span's start, UTC), the attempts by outcome kind,
-- and the response times of the answered ones (sum, maximum, and a
-- histogram over hookrelay.LatencyBounds: h0 is the first bucket).
-- CompleteAttempts adds every attempt it records to the three rows that
-- hold its time, so a chart reads these rows and never the attempts; they
-- outlive the attempts and go with their endpoint.
CREATE TABLE endpoint_health (
    endpoint_id     text COLLATE "C" NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    width           integer NOT NULL,
    bucket          timestamptz NOT NULL,
    app_id          text COLLATE "C" NOT NULL,
    success         bigint NOT NULL DEFAULT 0,
    rejected        bigint NOT NULL DEFAULT 0,
    unanswered      bigint NOT NULL DEFAULT 0,
    refused         bigint NOT NULL DEFAULT 0,
    internal        bigint NOT NULL DEFAULT 0,
    response_ms_sum bigint NOT NULL DEFAULT 0,
    response_ms_max bigint NOT NULL DEFAULT 0,
    h0 bigint NOT NULL DEFAULT 0, h1 bigint NOT NULL DEFAULT 0, h2 bigint NOT NULL DEFAULT 0, h3 bigint NOT NULL DEFAULT 0, h4 bigint NOT NULL DEFAULT 0, h5 bigint NOT NULL DEFAULT 0, h6 bigint NOT NULL DEFAULT 0, h7 bigint NOT NULL DEFAULT 0, h8 bigint NOT NULL DEFAULT 0, h9 bigint NOT NULL DEFAULT 0, h10 bigint NOT NULL DEFAULT 0, h11 bigint NOT NULL DEFAULT 0, h12 bigint NOT NULL DEFAULT 0, h13 bigint NOT NULL DEFAULT 0, h14 bigint NOT NULL DEFAULT 0, h15 bigint NOT NULL DEFAULT 0, h16 bigint NOT NULL DEFAULT 0, h17 bigint NOT NULL DEFAULT 0, h18 bigint NOT NULL DEFAULT 0, h19 bigint NOT NULL DEFAULT 0, h20 bigint NOT NULL DEFAULT 0, h21 bigint NOT NULL DEFAULT 0, h22 bigint NOT NULL DEFAULT 0, h23 bigint NOT NULL DEFAULT 0, h24 bigint NOT NULL DEFAULT 0, h25 bigint NOT NULL DEFAULT 0, h26 bigint NOT NULL DEFAULT 0, h27 bigint NOT NULL DEFAULT 0, h28 bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (endpoint_id, width, bucket)
);
CREATE INDEX endpoint_health_app ON endpoint_health (app_id, width, bucket);

-- +goose Down
DROP TABLE endpoint_health;
