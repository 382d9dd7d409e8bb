-- +goose Up
-- Retention (see Store.PurgeBatch). payload_expires_at is when the cleaner
-- may drop a message's payload and its attempts' response bodies (NULL:
-- kept until the row itself goes); the partial index walks the payloads
-- still kept in expiry order, and loses its entry when the payload goes.
ALTER TABLE messages ADD COLUMN payload_expires_at timestamptz;
CREATE INDEX messages_payload_expiry ON messages (payload_expires_at, id)
    WHERE payload IS NOT NULL AND payload_expires_at IS NOT NULL;

-- The cleaner runs on one node at a time: the node named in the one row
-- of cleaner_lease, until lease_until. Every batch takes or renews the
-- lease in its own transaction, and holds the row's lock until it commits.
CREATE TABLE cleaner_lease (
    id          integer PRIMARY KEY CHECK (id = 1),
    owner       text NOT NULL,
    lease_until timestamptz NOT NULL
);

-- +goose Down
DROP TABLE cleaner_lease;
DROP INDEX messages_payload_expiry;
ALTER TABLE messages DROP COLUMN payload_expires_at;
