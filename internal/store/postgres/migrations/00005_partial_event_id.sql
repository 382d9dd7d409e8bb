-- +goose Up
-- A message without an eventId no longer gets an entry in the eventId
-- index: the table constraint indexed NULLs too, so every publish wrote an
-- index entry that only messages with an eventId need. Publishing inserts
-- with ON CONFLICT DO NOTHING, which honours the partial index as it did
-- the constraint. Building the index locks messages against writes for as
-- long as it takes.
CREATE UNIQUE INDEX messages_event ON messages (app_id, event_id) WHERE event_id IS NOT NULL;
ALTER TABLE messages DROP CONSTRAINT messages_app_id_event_id_key;

-- +goose Down
ALTER TABLE messages ADD CONSTRAINT messages_app_id_event_id_key UNIQUE (app_id, event_id);
DROP INDEX messages_event;
