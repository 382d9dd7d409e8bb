-- +goose Up
-- Background tasks are worked in batches by any node: a task keeps its
-- input (params, JSON), where its next batch resumes (the key of the last
-- item looked at, '' before the first), and which node holds it until when.
-- A running task without a lease, or whose lease has lapsed, is claimed by
-- the next node that looks.
ALTER TABLE background_tasks ADD COLUMN params BLOB;
ALTER TABLE background_tasks ADD COLUMN resume_after TEXT NOT NULL DEFAULT '';
ALTER TABLE background_tasks ADD COLUMN lease_owner TEXT;
ALTER TABLE background_tasks ADD COLUMN lease_until INTEGER;
CREATE INDEX background_tasks_running ON background_tasks (created_at, id) WHERE status = 'running';

-- +goose Down
DROP INDEX background_tasks_running;
ALTER TABLE background_tasks DROP COLUMN lease_until;
ALTER TABLE background_tasks DROP COLUMN lease_owner;
ALTER TABLE background_tasks DROP COLUMN resume_after;
ALTER TABLE background_tasks DROP COLUMN params;
