-- +goose Up
-- An environment's internal application holds its operational webhook
-- endpoints: messages about the environment (endpoint.created, ...) are
-- published to it and delivered like any other. It is never listed nor
-- reachable through the application routes. At most one per environment.
-- A column with a constant default is added without rewriting the table.
ALTER TABLE applications ADD COLUMN internal boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX applications_internal ON applications (env_id) WHERE internal;

-- +goose Down
DROP INDEX applications_internal;
ALTER TABLE applications DROP COLUMN internal;
