package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// parkedOwner marks, in lease_owner, a pending delivery of a disabled
// endpoint that a claim set aside (lease_until stays NULL, so it is due
// again at its next_attempt). No node's owner name is ever this.
const parkedOwner = "(parked: endpoint disabled)"

// endpointStatusSQL merges store.StatusUpdates (one per endpoint, in
// endpoint ID order, so that concurrent completions lock status rows in
// the same order) into endpoint_status by store.MergeStatus's rules. An
// endpoint that no longer exists gets no row. The right-hand sides read
// the row as it was.
const endpointStatusSQL = `INSERT INTO endpoint_status AS s (endpoint_id, last_attempt_at, last_outcome,
		last_status_code, last_success_at, failing_since, consecutive_failures)
	SELECT u.endpoint_id, u.last_attempt_at, u.last_outcome, u.last_status_code, u.last_success_at,
		u.failing_since, u.consecutive_failures
	FROM unnest($1::text[], $2::timestamptz[], $3::smallint[], $4::int[], $5::timestamptz[],
		$6::timestamptz[], $7::int[]) WITH ORDINALITY
		AS u (endpoint_id, last_attempt_at, last_outcome, last_status_code, last_success_at, failing_since,
			consecutive_failures, n)
	WHERE EXISTS (SELECT 1 FROM endpoints e WHERE e.id = u.endpoint_id)
	ORDER BY u.n
	ON CONFLICT (endpoint_id) DO UPDATE SET
		last_attempt_at = greatest(s.last_attempt_at, excluded.last_attempt_at),
		last_outcome = CASE WHEN excluded.last_attempt_at >= s.last_attempt_at
			THEN excluded.last_outcome ELSE s.last_outcome END,
		last_status_code = CASE WHEN excluded.last_attempt_at >= s.last_attempt_at
			THEN excluded.last_status_code ELSE s.last_status_code END,
		last_success_at = greatest(s.last_success_at, excluded.last_success_at),
		failing_since = CASE WHEN excluded.last_success_at > coalesce(s.failing_since, '-infinity')
				THEN excluded.failing_since
			WHEN excluded.last_attempt_at <= s.last_success_at THEN s.failing_since
			ELSE least(s.failing_since, excluded.failing_since) END,
		consecutive_failures = CASE WHEN excluded.last_success_at > coalesce(s.failing_since, '-infinity')
				THEN excluded.consecutive_failures
			WHEN excluded.last_attempt_at <= s.last_success_at THEN s.consecutive_failures
			ELSE s.consecutive_failures + excluded.consecutive_failures END`

// queueStatus queues into b the merge of results into their endpoints'
// status rows, in endpoint ID order (the order rows are locked in).
func queueStatus(b *pgx.Batch, results []store.AttemptResult) {
	us := store.StatusUpdates(results)
	if len(us) == 0 {
		return
	}
	ids := make([]string, len(us))
	last := make([]time.Time, len(us))
	outcomes := make([]int, len(us))
	codes := make([]int, len(us))
	success := make([]*time.Time, len(us))
	failing := make([]*time.Time, len(us))
	failures := make([]int, len(us))
	for i, u := range us {
		ids[i], last[i], outcomes[i], codes[i] = u.EndpointID, u.LastAttemptAt, int(u.LastOutcome), u.LastStatusCode
		success[i], failing[i], failures[i] = u.LastSuccessAt, u.FailingSince, u.Failures
	}
	b.Queue(endpointStatusSQL, ids, last, outcomes, codes, success, failing, failures)
}

// endpointStatusOfSQL reads endpoint $1 of application $2 and its status
// row. endpoint_status.endpoint_id has the database's collation, where
// endpoints.id has "C": joined to e.id the comparison would take "C", which
// its primary key cannot serve, and every read would scan the table. $1
// takes the column's own collation.
const endpointStatusOfSQL = `SELECT e.id, s.last_attempt_at, s.last_outcome, s.last_status_code, s.last_success_at,
		s.failing_since, s.consecutive_failures
	FROM endpoints e LEFT JOIN endpoint_status s ON s.endpoint_id = $1
	WHERE e.id = $1 AND e.app_id = $2`

// GetEndpointStatus returns the endpoint's status row, zero before its
// first attempt.
func (s *Store) GetEndpointStatus(ctx context.Context, appID, endpointID string) (*store.EndpointStatus, error) {
	if !textKeys(appID, endpointID) {
		return nil, fmt.Errorf("get endpoint status: %w", hookrelay.ErrNotFound)
	}
	var st store.EndpointStatus
	dest, finish := statusDest(&st)
	err := s.pool.QueryRow(ctx, endpointStatusOfSQL, endpointID, appID).Scan(append([]any{&st.EndpointID}, dest...)...)
	if err != nil {
		return nil, fmt.Errorf("get endpoint status: %w", mapErr(err))
	}
	finish()
	return &st, nil
}

// statusDest returns scan destinations for the columns last_attempt_at,
// last_outcome, last_status_code, last_success_at, failing_since and
// consecutive_failures of endpoint_status, in that order and NULL when the
// endpoint has no row yet, and finish, which fills st from them once
// scanned.
func statusDest(st *store.EndpointStatus) ([]any, func()) {
	var outcome, code, failures *int
	dest := []any{&st.LastAttemptAt, &outcome, &code, &st.LastSuccessAt, &st.FailingSince, &failures}
	return dest, func() {
		if outcome != nil {
			st.LastOutcome = hookrelay.OutcomeKind(*outcome)
		}
		if code != nil {
			st.LastStatusCode = *code
		}
		if failures != nil {
			st.ConsecutiveFailures = *failures
		}
		for _, t := range []**time.Time{&st.LastAttemptAt, &st.LastSuccessAt, &st.FailingSince} {
			*t = normTimePtr(*t)
		}
	}
}

// DisableEndpoint sets disabled on the endpoint, with reason, unless it is
// set already.
// Of two concurrent calls the second waits for the first to commit and
// then finds the row disabled (READ COMMITTED checks the WHERE clause
// again on the new row version), so only one reports true.
func (s *Store) DisableEndpoint(ctx context.Context, appID, endpointID string, reason hookrelay.DisabledReason) (bool, error) {
	if !textKeys(appID, endpointID) {
		return false, fmt.Errorf("disable endpoint: %w", hookrelay.ErrNotFound)
	}
	reason.At = nowOr(reason.At)
	b, err := store.EncodeDisabledReason(reason)
	if err != nil {
		return false, fmt.Errorf("disable endpoint: %w", err)
	}
	err = mustAffect(s.pool.Exec(ctx,
		`UPDATE endpoints SET disabled = true, updated_at = $1, disabled_at = $1, disabled_reason = $2,
			revision = revision + 1
		 WHERE id = $3 AND app_id = $4 AND NOT disabled`, reason.At, b, endpointID, appID))
	if errors.Is(err, hookrelay.ErrNotFound) {
		var exists bool
		err = s.pool.QueryRow(ctx,
			`SELECT EXISTS (SELECT 1 FROM endpoints WHERE id = $1 AND app_id = $2)`, endpointID, appID).Scan(&exists)
		if err == nil && exists {
			return false, nil
		}
		if err == nil {
			err = hookrelay.ErrNotFound
		}
	}
	if err != nil {
		return false, fmt.Errorf("disable endpoint: %w", mapErr(err))
	}
	return true, nil
}

// LookupApplication returns the application with ID id, internal or not.
func (s *Store) LookupApplication(ctx context.Context, id string) (*hookrelay.Application, error) {
	if !textKeys(id) {
		return nil, fmt.Errorf("lookup application: %w", hookrelay.ErrNotFound)
	}
	app, err := scanApp(s.pool.QueryRow(ctx, `SELECT `+appColumns+` FROM applications WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("lookup application: %w", mapErr(err))
	}
	return app, nil
}

// park sets aside the deliveries ids, leased to owner by a claim, whose
// endpoints are disabled: they are due again at until, marked parked. Those
// whose endpoint has been enabled since the claim read it are released.
// The disabled endpoints are read under a share lock, which an enable
// (UpdateEndpoint) waits for: either the enable commits first, and the
// lock sees the endpoint enabled, or it unparks after this commits.
func (s *Store) park(ctx context.Context, owner string, ids, endpointIDs []string, until time.Time) error {
	var mark *string
	var next *time.Time
	if !until.IsZero() {
		m, u := parkedOwner, normTime(until)
		mark, next = &m, &u
	}
	released := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx,
			`SELECT id FROM endpoints WHERE id = ANY ($1::text[]) AND disabled ORDER BY id FOR SHARE`, endpointIDs)
		if err != nil {
			return err
		}
		off, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx,
			`UPDATE deliveries SET lease_until = NULL,
				lease_owner = CASE WHEN endpoint_id = ANY ($1::text[]) THEN $2 ELSE NULL END,
				next_attempt = CASE WHEN endpoint_id = ANY ($1::text[]) THEN coalesce($3, next_attempt)
					ELSE next_attempt END
			 WHERE lease_owner = $4 AND status = 1 AND id = ANY ($5::text[])`,
			off, mark, next, owner, ids)
		released = err == nil && tag.RowsAffected() > 0 && len(off) < len(endpointIDs)
		return err
	})
	if err != nil {
		return fmt.Errorf("park deliveries: %w", err)
	}
	if released {
		s.wake()
	}
	return nil
}

// unpark makes the parked deliveries of an endpoint just enabled due at
// now, and wakes the nodes when there were any.
func (s *Store) unpark(ctx context.Context, endpointID string, now time.Time) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE deliveries SET lease_owner = NULL, next_attempt = $1
		 WHERE endpoint_id = $2 AND status = 1 AND lease_until IS NULL AND lease_owner = $3`,
		normTime(now), endpointID, parkedOwner)
	if err != nil {
		return fmt.Errorf("unpark deliveries: %w", err)
	}
	if tag.RowsAffected() > 0 {
		s.wake()
	}
	return nil
}
