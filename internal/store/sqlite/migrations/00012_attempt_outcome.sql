-- +goose Up
-- Each attempt records what became of it (hookrelay.OutcomeKind): 1
-- success, 2 rejected (an answer other than success), 3 unanswered, 4
-- refused by policy, 5 internal (hookrelay's own failure). Attempts made
-- before are given the kind their status and code say; among those that got
-- no response, the ones whose reason is one hookrelay writes when it sends
-- nothing are told apart: refusals (SSRF guard, https-only, a URL or header
-- it cannot send, a disabled endpoint) and its own failures (sealed secrets
-- it cannot open, a secret it cannot sign with).
ALTER TABLE attempts ADD COLUMN outcome INTEGER NOT NULL DEFAULT 0;
UPDATE attempts SET outcome = CASE
    WHEN status = 0 THEN 1
    WHEN response_status_code <> 0 THEN 2
    WHEN CAST(response AS TEXT) LIKE 'not sent: the server cannot decrypt%'
        OR CAST(response AS TEXT) LIKE 'cannot sign: %' THEN 5
    WHEN CAST(response AS TEXT) = 'endpoint disabled'
        OR CAST(response AS TEXT) = 'https required'
        OR CAST(response AS TEXT) LIKE 'invalid endpoint URL: %'
        OR CAST(response AS TEXT) LIKE 'invalid header field %'
        OR CAST(response AS TEXT) LIKE 'destination % refused: %' THEN 4
    ELSE 3
END;

-- +goose Down
ALTER TABLE attempts DROP COLUMN outcome;
