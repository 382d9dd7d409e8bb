package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// healthSums lists every rollup value column summed over the rows of one
// endpoint's window, 0 without rows, in the order HealthRollups scans them.
func healthSums() string {
	var b strings.Builder
	for _, c := range healthCounts {
		fmt.Fprintf(&b, "coalesce(sum(%s), 0)::bigint, ", c)
	}
	b.WriteString("coalesce(max(response_ms_max), 0)")
	for i := range hookrelay.LatencyBuckets {
		fmt.Fprintf(&b, ", coalesce(sum(h%d), 0)::bigint", i)
	}
	return b.String()
}

// summariesSQL is EndpointSummaries' statement: $1 the application, $2 the
// endpoint IDs, $3 the width in seconds, [$4, $5) the window. Each endpoint
// found through its primary key joins its status row (primary key), its
// newest attempt (the last entry of attempts_endpoint for it, as
// ListAttempts reads it) and the sum of its rollups in the window (one
// range of endpoint_health's primary key): per endpoint what the health
// route reads, in one statement. endpoint_status.endpoint_id has the
// database's default collation, not "C" as endpoints.id: the join names
// the status column's collation, without which its primary key cannot
// serve the lookup and PostgreSQL reads every status row of the database
// (TestSummariesReadPerEndpoint).
var summariesSQL = `SELECT e.id, e.disabled, e.disabled_at, e.disabled_reason,
		s.last_attempt_at, s.last_outcome, s.last_status_code, s.last_success_at, s.failing_since, s.consecutive_failures,
		a.id, a.msg_id, a.status, a.response_status_code, a.created_at, a.outcome, h.*
	FROM endpoints e
	LEFT JOIN endpoint_status s ON s.endpoint_id = e.id COLLATE "default"
	LEFT JOIN LATERAL (
		SELECT a.id, a.msg_id, a.status, a.response_status_code, a.created_at, a.outcome
		FROM attempts a WHERE a.endpoint_id = e.id AND a.app_id = e.app_id
		ORDER BY a.id DESC LIMIT 1
	) a ON true
	CROSS JOIN LATERAL (
		SELECT ` + healthSums() + `
		FROM endpoint_health h
		WHERE h.endpoint_id = e.id AND h.width = $3 AND h.bucket >= $4 AND h.bucket < $5 AND h.app_id = e.app_id
	) h
	WHERE e.id = ANY($2::text[]) AND e.app_id = $1
	ORDER BY e.id`

// EndpointSummaries reads the summaries of the endpoints of p.AppID among
// p.EndpointIDs in one statement (summariesSQL). IDs that cannot be text
// name no endpoint and are left out before it.
func (s *Store) EndpointSummaries(ctx context.Context, p store.SummaryParams) ([]store.EndpointSummary, error) {
	ids := make([]string, 0, len(p.EndpointIDs))
	for _, id := range p.EndpointIDs {
		if textKeys(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || !textKeys(p.AppID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, summariesSQL, p.AppID, ids, int32(p.Width/time.Second), p.Since, p.Until)
	if err != nil {
		return nil, fmt.Errorf("endpoint summaries: %w", err)
	}
	out, err := collectList(rows, scanSummary)
	if err != nil {
		return nil, fmt.Errorf("endpoint summaries: %w", err)
	}
	for i := range out {
		if a := out[i].LastAttempt; a != nil {
			a.AppID = p.AppID
		}
	}
	return out, nil
}

// scanSummary scans one row of summariesSQL.
func scanSummary(row pgx.Row) (*store.EndpointSummary, error) {
	var sum store.EndpointSummary
	var disabledAt *time.Time
	var disabledReason []byte
	var attID, attMsg *string
	var attStatus, attCode, attOutcome *int
	var attAt *time.Time
	h := &sum.Totals
	status, finishStatus := statusDest(&sum.Status)
	dst := append([]any{&sum.EndpointID, &sum.Disabled, &disabledAt, &disabledReason}, status...)
	dst = append(dst, &attID, &attMsg, &attStatus, &attCode, &attAt, &attOutcome)
	for k := hookrelay.OutcomeSuccess; k <= hookrelay.OutcomeInternal; k++ {
		dst = append(dst, &h.Attempts[k])
	}
	dst = append(dst, &h.ResponseMsSum, &h.ResponseMsMax)
	for i := range h.Latency {
		dst = append(dst, &h.Latency[i])
	}
	if err := row.Scan(dst...); err != nil {
		return nil, err
	}
	var err error
	if sum.Disabled {
		if sum.DisabledReason, err = store.DecodeDisabled(normTimePtr(disabledAt), disabledReason); err != nil {
			return nil, err
		}
	}
	sum.Status.EndpointID = sum.EndpointID
	finishStatus()
	if attID != nil {
		a := &hookrelay.Attempt{ID: *attID, MsgID: *attMsg, EndpointID: sum.EndpointID,
			Status: hookrelay.MessageStatus(*attStatus), ResponseStatusCode: *attCode,
			Outcome: hookrelay.OutcomeKind(*attOutcome), CreatedAt: normTime(*attAt)}
		// 0 is an attempt recorded by a node that predates the column.
		if a.Outcome == hookrelay.OutcomeUnknown {
			a.Outcome = hookrelay.DeriveOutcome(a.Status, a.ResponseStatusCode)
		}
		sum.LastAttempt = a
	}
	return &sum, nil
}
