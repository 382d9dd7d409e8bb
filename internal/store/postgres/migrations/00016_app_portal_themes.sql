-- +goose Up
-- The portal theme an application overrides the server's with (JSON).
CREATE TABLE app_portal_themes (
    app_id text COLLATE "C" PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    theme  text NOT NULL
);

-- +goose Down
DROP TABLE app_portal_themes;
