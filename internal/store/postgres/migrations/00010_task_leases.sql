-- +goose Up
-- Background tasks are worked in batches by any node: a task keeps its
-- input (params, JSON), where its next batch resumes (the key of the last
-- item looked at, '' before the first), and which node holds it until when.
-- A running task without a lease, or whose lease has lapsed, is claimed by
-- the next node that looks (FOR UPDATE SKIP LOCKED).
ALTER TABLE background_tasks
    ADD COLUMN params bytea,
    ADD COLUMN resume_after text COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN lease_owner text,
    ADD COLUMN lease_until timestamptz;
CREATE INDEX background_tasks_running ON background_tasks (created_at, id) WHERE status = 'running';

-- +goose Down
DROP INDEX background_tasks_running;
ALTER TABLE background_tasks
    DROP COLUMN lease_until,
    DROP COLUMN lease_owner,
    DROP COLUMN resume_after,
    DROP COLUMN params;
