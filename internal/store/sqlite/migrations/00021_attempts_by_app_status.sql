-- +goose Up
-- The application's attempts of one status, newest first, across its
-- endpoints (GET /api/v1/app/{app_id}/attempt and the portal's activity
-- log filtered by status alone): one index range per page. One more B-tree
-- per attempt recorded; see BENCHMARKS.md for what it costs delivery.
-- The listings by endpoint and by message name their column with a unary
-- "+" on app_id, so that they keep their own index.
CREATE INDEX attempts_app_status ON attempts (app_id, status, id);

-- +goose Down
DROP INDEX attempts_app_status;
