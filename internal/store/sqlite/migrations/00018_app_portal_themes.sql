-- +goose Up
-- The portal theme an application overrides the server's with (JSON).
CREATE TABLE app_portal_themes (
    app_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    theme  TEXT NOT NULL
);

-- +goose Down
DROP TABLE app_portal_themes;
