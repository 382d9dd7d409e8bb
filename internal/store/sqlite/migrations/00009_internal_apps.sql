-- +goose Up
-- An environment's internal application holds its operational webhook
-- endpoints: messages about the environment (endpoint.created, ...) are
-- published to it and delivered like any other. It is never listed nor
-- reachable through the application routes. At most one per environment.
ALTER TABLE applications ADD COLUMN internal INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX applications_internal ON applications (env_id) WHERE internal = 1;

-- +goose Down
DROP INDEX applications_internal;
ALTER TABLE applications DROP COLUMN internal;
