-- +goose Up
-- The application's failed attempts, newest first, across its endpoints
-- (GET /api/v1/app/{app_id}/attempt?status=2 and the portal's activity log
-- filtered by status alone): one index range per page. Partial on failures
-- (2 is hookrelay.StatusFail), so that recording a success, the common
-- case, writes no entry here; succeeded attempts across the application
-- are read endpoint by endpoint through attempts_endpoint instead. See
-- BENCHMARKS.md for what it costs delivery. The listings by endpoint and
-- by message name their column with a unary "+" on app_id, so that they
-- keep their own index.
CREATE INDEX attempts_app_failed ON attempts (app_id, id) WHERE status = 2;

-- +goose Down
DROP INDEX attempts_app_failed;
