-- +goose Up
-- One row per endpoint that has had an attempt: its latest attempt and its
-- run of failures against the receiver (store.EndpointStatus), kept by
-- CompleteAttempts.
CREATE TABLE endpoint_status (
    endpoint_id text PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
    last_attempt_at timestamptz NOT NULL,
    last_outcome smallint NOT NULL,
    last_status_code int NOT NULL,
    last_success_at timestamptz,
    failing_since timestamptz,
    consecutive_failures int NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE endpoint_status;
