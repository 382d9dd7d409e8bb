package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// parkedOwner marks, in lease_owner, a pending delivery of a disabled
// endpoint that a claim set aside (lease_until stays NULL, so it is due
// again at its next_attempt). No node's owner name is ever this.
const parkedOwner = "(parked: endpoint disabled)"

// endpointStatusSQL merges one store.StatusUpdate into the endpoint's
// status row, by store.MergeStatus's rules; it inserts nothing for an
// endpoint that no longer exists. The right-hand sides read the row as it
// was. Parameters: endpoint ID, last attempt time, outcome, code, last
// success (or NULL), failing since (or NULL), failures.
const endpointStatusSQL = `INSERT INTO endpoint_status (endpoint_id, last_attempt_at, last_outcome,
		last_status_code, last_success_at, failing_since, consecutive_failures)
	SELECT id, ?2, ?3, ?4, ?5, ?6, ?7 FROM endpoints WHERE id = ?1
	ON CONFLICT (endpoint_id) DO UPDATE SET
		last_attempt_at = max(last_attempt_at, excluded.last_attempt_at),
		last_outcome = CASE WHEN excluded.last_attempt_at >= last_attempt_at
			THEN excluded.last_outcome ELSE last_outcome END,
		last_status_code = CASE WHEN excluded.last_attempt_at >= last_attempt_at
			THEN excluded.last_status_code ELSE last_status_code END,
		last_success_at = CASE WHEN excluded.last_success_at IS NULL THEN last_success_at
			WHEN last_success_at IS NULL THEN excluded.last_success_at
			ELSE max(last_success_at, excluded.last_success_at) END,
		failing_since = CASE
			WHEN excluded.last_success_at IS NOT NULL AND (failing_since IS NULL OR excluded.last_success_at > failing_since)
			THEN excluded.failing_since
			WHEN last_success_at IS NOT NULL AND excluded.last_attempt_at <= last_success_at THEN failing_since
			WHEN failing_since IS NULL OR excluded.failing_since IS NULL THEN coalesce(failing_since, excluded.failing_since)
			ELSE min(failing_since, excluded.failing_since) END,
		consecutive_failures = CASE
			WHEN excluded.last_success_at IS NOT NULL AND (failing_since IS NULL OR excluded.last_success_at > failing_since)
			THEN excluded.consecutive_failures
			WHEN last_success_at IS NOT NULL AND excluded.last_attempt_at <= last_success_at THEN consecutive_failures
			ELSE consecutive_failures + excluded.consecutive_failures END`

// updateStatus merges what results say of their endpoints into
// endpoint_status, one statement per endpoint, in the completion's
// transaction.
func (t *writeTx) updateStatus(ctx context.Context, results []store.AttemptResult) error {
	st := t.stmt(ctx, t.stmts.endpointStatus)
	for _, u := range store.StatusUpdates(results) {
		_, err := st.ExecContext(ctx, u.EndpointID, micros(u.LastAttemptAt), int(u.LastOutcome),
			u.LastStatusCode, nullMicros(u.LastSuccessAt), nullMicros(u.FailingSince), u.Failures)
		if err != nil {
			return fmt.Errorf("endpoint status: %w", err)
		}
	}
	return nil
}

// GetEndpointStatus returns the endpoint's status row, zero before its
// first attempt.
func (s *Store) GetEndpointStatus(ctx context.Context, appID, endpointID string) (*store.EndpointStatus, error) {
	st := store.EndpointStatus{}
	var last, success, failing, outcome, code, failures sql.NullInt64
	err := s.rdb.QueryRowContext(ctx,
		`SELECT e.id, s.last_attempt_at, s.last_outcome, s.last_status_code, s.last_success_at,
			s.failing_since, s.consecutive_failures
		 FROM endpoints e LEFT JOIN endpoint_status s ON s.endpoint_id = e.id
		 WHERE e.id = ? AND e.app_id = ?`, endpointID, appID).
		Scan(&st.EndpointID, &last, &outcome, &code, &success, &failing, &failures)
	if err != nil {
		return nil, fmt.Errorf("get endpoint status: %w", notFound(err))
	}
	st.LastAttemptAt = fromNullMicros(last)
	st.LastOutcome = hookrelay.OutcomeKind(outcome.Int64)
	st.LastStatusCode = int(code.Int64)
	st.LastSuccessAt = fromNullMicros(success)
	st.FailingSince = fromNullMicros(failing)
	st.ConsecutiveFailures = int(failures.Int64)
	return &st, nil
}

// DisableEndpoint sets disabled on the endpoint, with reason, unless it is
// set already; the write moves the revision like any other.
func (s *Store) DisableEndpoint(ctx context.Context, appID, endpointID string, reason hookrelay.DisabledReason) (bool, error) {
	reason.At = nowOr(reason.At)
	b, err := store.EncodeDisabledReason(reason)
	if err != nil {
		return false, fmt.Errorf("disable endpoint: %w", err)
	}
	err = mustAffect(s.writeEndpoints(ctx,
		`UPDATE endpoints SET disabled = 1, updated_at = ?1, disabled_at = ?1, disabled_reason = ?2,
			revision = revision + 1
		 WHERE id = ?3 AND app_id = ?4 AND disabled = 0`, micros(reason.At), string(b), endpointID, appID))
	if errors.Is(err, hookrelay.ErrNotFound) {
		var one int
		err = s.rdb.QueryRowContext(ctx,
			`SELECT 1 FROM endpoints WHERE id = ? AND app_id = ?`, endpointID, appID).Scan(&one)
		if err == nil {
			return false, nil
		}
		err = notFound(err)
	}
	if err != nil {
		return false, fmt.Errorf("disable endpoint: %w", err)
	}
	return true, nil
}

// LookupApplication returns the application with ID id, internal or not.
func (s *Store) LookupApplication(ctx context.Context, id string) (*hookrelay.Application, error) {
	app, err := scanApp(s.rdb.QueryRowContext(ctx,
		`SELECT `+appColumns+` FROM applications WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("lookup application: %w", notFound(err))
	}
	return app, nil
}

// park sets aside the deliveries ids, leased to owner by a claim, whose
// endpoints are disabled: they are due again at until, marked parked. Those
// whose endpoint has been enabled since the claim read it are released.
// The check and the write are one statement, so a concurrent enable
// (UpdateEndpoint) either comes first, and nothing is parked, or after,
// and unparks them.
func (s *Store) park(ctx context.Context, owner string, ids []string, until time.Time) error {
	mark, next := any(nil), any(nil)
	if !until.IsZero() {
		mark, next = parkedOwner, micros(until)
	}
	args := append([]any{mark, next, owner}, strArgs(ids)...)
	_, err := s.wdb.ExecContext(ctx,
		`UPDATE deliveries SET lease_until = NULL,
			lease_owner = CASE WHEN endpoint_id IN (SELECT id FROM endpoints WHERE disabled = 1)
				THEN ?1 ELSE NULL END,
			next_attempt = CASE WHEN endpoint_id IN (SELECT id FROM endpoints WHERE disabled = 1)
				THEN coalesce(?2, next_attempt) ELSE next_attempt END
		 WHERE lease_owner = ?3 AND status = 1 AND id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return fmt.Errorf("park deliveries: %w", err)
	}
	return nil
}

// unpark makes the parked deliveries of an endpoint just enabled due at
// now.
func (s *Store) unpark(ctx context.Context, endpointID string, now time.Time) error {
	_, err := s.wdb.ExecContext(ctx,
		`UPDATE deliveries SET lease_owner = NULL, next_attempt = ?
		 WHERE endpoint_id = ? AND status = 1 AND lease_until IS NULL AND lease_owner = ?`,
		micros(now), endpointID, parkedOwner)
	if err != nil {
		return fmt.Errorf("unpark deliveries: %w", err)
	}
	return nil
}
