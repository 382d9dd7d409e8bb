-- +goose Up
-- deliver_at is a message's Svix deliverAt (micros), NULL when it was sent
-- at once; its deliveries were queued due at it.
ALTER TABLE messages ADD COLUMN deliver_at INTEGER;

-- +goose Down
ALTER TABLE messages DROP COLUMN deliver_at;
