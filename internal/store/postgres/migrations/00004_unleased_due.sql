-- +goose Up
-- A pending delivery is in exactly one of two sets of indexes: the due
-- indexes while nobody holds it, deliveries_leased while a node does. Work
-- handed to a dispatcher at publish (leased in the publishing transaction)
-- and delivered at once then never enters the due indexes: two index
-- entries less per delivery, and fewer dead ones for vacuum. Claims take
-- expired leases from deliveries_leased.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE status = 1 AND lease_until IS NULL;
DROP INDEX deliveries_endpoint_due;
CREATE INDEX deliveries_endpoint_due ON deliveries (endpoint_id, next_attempt)
    WHERE status = 1 AND lease_until IS NULL;
DROP INDEX deliveries_lease;
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE lease_until IS NOT NULL;

-- Attempts hang off their message and endpoint rather than their delivery
-- (a delivery goes only with one of them), so the index kept only for the
-- cascade from deliveries goes: one index entry less per attempt.
ALTER TABLE attempts DROP CONSTRAINT attempts_delivery_id_fkey;
DROP INDEX attempts_delivery;
ALTER TABLE attempts ADD CONSTRAINT attempts_msg_id_fkey
    FOREIGN KEY (msg_id) REFERENCES messages (id) ON DELETE CASCADE;
ALTER TABLE attempts ADD CONSTRAINT attempts_endpoint_id_fkey
    FOREIGN KEY (endpoint_id) REFERENCES endpoints (id) ON DELETE CASCADE;

-- +goose Down
ALTER TABLE attempts DROP CONSTRAINT attempts_endpoint_id_fkey;
ALTER TABLE attempts DROP CONSTRAINT attempts_msg_id_fkey;
DELETE FROM attempts a WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id);
CREATE INDEX attempts_delivery ON attempts (delivery_id);
ALTER TABLE attempts ADD CONSTRAINT attempts_delivery_id_fkey
    FOREIGN KEY (delivery_id) REFERENCES deliveries (id) ON DELETE CASCADE;
DROP INDEX deliveries_leased;
CREATE INDEX deliveries_lease ON deliveries (lease_owner) WHERE lease_owner IS NOT NULL;
DROP INDEX deliveries_endpoint_due;
CREATE INDEX deliveries_endpoint_due ON deliveries (endpoint_id, next_attempt) WHERE status = 1;
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE status = 1;
