-- +goose Up
-- An attempt's response body is kept as the exact bytes received: a body
-- with a NUL byte or invalid UTF-8 (gzip, protobuf, an image) could not be
-- stored as text, and its attempt failed to record. Existing bodies are
-- text and become their UTF-8 bytes. The table is rewritten under an
-- exclusive lock, for as long as that takes.
ALTER TABLE attempts
    ALTER COLUMN response DROP DEFAULT,
    ALTER COLUMN response TYPE bytea USING convert_to(response, 'UTF8'),
    ALTER COLUMN response SET DEFAULT ''::bytea;

-- +goose Down
-- A body that is not valid UTF-8 text comes back escaped (encode's
-- "escape" format) instead of failing the migration.
-- +goose StatementBegin
CREATE FUNCTION pg_temp.response_text(b bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN convert_from(b, 'UTF8');
EXCEPTION WHEN others THEN
    RETURN encode(b, 'escape');
END
$$;
-- +goose StatementEnd
ALTER TABLE attempts
    ALTER COLUMN response DROP DEFAULT,
    ALTER COLUMN response TYPE text USING pg_temp.response_text(response),
    ALTER COLUMN response SET DEFAULT '';
