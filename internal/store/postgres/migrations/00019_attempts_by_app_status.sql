-- +goose NO TRANSACTION
-- +goose Up
-- The application's attempts of one status, newest first, across its
-- endpoints (GET /api/v1/app/{app_id}/attempt and the portal's activity
-- log filtered by status alone): one index range per page. One more entry
-- per attempt recorded; see BENCHMARKS.md for what it costs delivery.
-- Built concurrently, so that nodes still running deliver meanwhile; a
-- build that failed leaves an invalid index, which a rerun drops first.
DROP INDEX CONCURRENTLY IF EXISTS attempts_app_status;
CREATE INDEX CONCURRENTLY attempts_app_status ON attempts (app_id, status, id);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS attempts_app_status;
