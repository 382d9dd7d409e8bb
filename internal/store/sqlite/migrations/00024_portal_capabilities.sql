-- +goose Up
-- What a portal token, and a portal session opened from it, may do:
-- Svix's AppPortalCapability names joined by commas, in Svix's order
-- (hookrelay.PortalCapabilities). Rows made before this migration knew
-- only read_only: read-only ones get ViewBase and ViewEndpointSecret, the
-- others every capability. read_only stays, written beside capabilities
-- for nodes of earlier versions (set for any set narrower than every
-- capability); a row such a node writes has capabilities NULL, which is
-- read from read_only the same way.
ALTER TABLE tokens ADD COLUMN capabilities TEXT;
UPDATE tokens SET capabilities = CASE WHEN read_only <> 0
    THEN 'ViewBase,ViewEndpointSecret'
    ELSE 'ViewBase,ViewEndpointSecret,ManageEndpointSecret,ManageTransformations,CreateAttempts,ManageEndpoint' END;
ALTER TABLE portal_sessions ADD COLUMN capabilities TEXT;
UPDATE portal_sessions SET capabilities = CASE WHEN read_only <> 0
    THEN 'ViewBase,ViewEndpointSecret'
    ELSE 'ViewBase,ViewEndpointSecret,ManageEndpointSecret,ManageTransformations,CreateAttempts,ManageEndpoint' END;

-- +goose Down
ALTER TABLE portal_sessions DROP COLUMN capabilities;
ALTER TABLE tokens DROP COLUMN capabilities;
