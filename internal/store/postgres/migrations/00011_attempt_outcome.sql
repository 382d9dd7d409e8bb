-- +goose Up
-- Each attempt records what became of it (hookrelay.OutcomeKind): 1
-- success, 2 rejected (an answer other than success), 3 unanswered, 4
-- refused by policy, 5 internal (hookrelay's own failure). Attempts made
-- before are given the kind their status and code say; among those that got
-- no response, the ones whose reason is one hookrelay writes when it sends
-- nothing are told apart: refusals (SSRF guard, https-only, a URL or header
-- it cannot send, a disabled endpoint) and its own failures (sealed secrets
-- it cannot open, a secret it cannot sign with). Every row is rewritten,
-- under the table's lock, for as long as that takes. An attempt a node of
-- the previous version records afterwards is stored with 0 (unknown) and
-- read with the kind its status and code say.
ALTER TABLE attempts ADD COLUMN outcome smallint NOT NULL DEFAULT 0;
UPDATE attempts SET outcome = CASE
    WHEN status = 0 THEN 1
    WHEN response_status_code <> 0 THEN 2
    WHEN response LIKE 'not sent: the server cannot decrypt%'::bytea
        OR response LIKE 'cannot sign: %'::bytea THEN 5
    WHEN response = 'endpoint disabled'::bytea
        OR response = 'https required'::bytea
        OR response LIKE 'invalid endpoint URL: %'::bytea
        OR response LIKE 'invalid header field %'::bytea
        OR response LIKE 'destination % refused: %'::bytea THEN 4
    ELSE 3
END;

-- +goose Down
ALTER TABLE attempts DROP COLUMN outcome;
