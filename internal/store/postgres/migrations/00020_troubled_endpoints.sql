-- +goose Up
-- The endpoints in trouble, for the operator console's applications list
-- (ListAppsTroubledFirst): disabled ones by application, and the statuses
-- in a run of failures. Both indexes hold only those rows, so finding the
-- troubled applications costs what there is of trouble, not the number of
-- applications; a status row that stays in or out of a run of failures is
-- still updated in place (HOT).
CREATE INDEX endpoints_disabled ON endpoints (app_id) WHERE disabled;
CREATE INDEX endpoint_status_failing ON endpoint_status (endpoint_id) WHERE failing_since IS NOT NULL;

-- +goose Down
DROP INDEX endpoint_status_failing;
DROP INDEX endpoints_disabled;
