-- +goose Up
-- One row per endpoint that has had an attempt: its latest attempt and its
-- run of failures against the receiver (store.EndpointStatus), kept by
-- CompleteAttempts. Times are microseconds since the epoch, UTC.
CREATE TABLE endpoint_status (
    endpoint_id TEXT PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
    last_attempt_at INTEGER NOT NULL,
    last_outcome INTEGER NOT NULL,
    last_status_code INTEGER NOT NULL,
    last_success_at INTEGER,
    failing_since INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- +goose Down
DROP TABLE endpoint_status;
