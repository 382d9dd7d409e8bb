package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// healthSums lists every rollup value column summed over the rows of a
// group, 0 without rows, in the order HealthRollups scans them.
func healthSums() string {
	var b strings.Builder
	for _, c := range healthCounts {
		fmt.Fprintf(&b, "coalesce(sum(%s), 0), ", c)
	}
	b.WriteString("coalesce(max(response_ms_max), 0)")
	for i := range hookrelay.LatencyBuckets {
		fmt.Fprintf(&b, ", coalesce(sum(h%d), 0)", i)
	}
	return b.String()
}

// summariesSQL is EndpointSummaries' statement: ?1 the endpoint IDs as a
// JSON array (one statement text whatever their number, for the statement
// cache), ?2 the application, ?3 the width in seconds, [?4, ?5) the window.
// Each endpoint found through its primary key joins its status row
// (primary key), its newest attempt (the last entry of attempts_endpoint
// for it, as ListAttempts reads it: SQLite has no LATERAL, so a correlated
// subquery finds its rowid) and the sum of its rollups in the window (one
// range of endpoint_health's primary key per endpoint, grouped): per
// endpoint what the health route reads, in one statement.
var summariesSQL = `SELECT e.id, e.disabled, e.disabled_at, e.disabled_reason,
		s.last_attempt_at, s.last_outcome, s.last_status_code, s.last_success_at, s.failing_since, s.consecutive_failures,
		a.id, a.msg_id, a.status, a.response_status_code, a.created_at, a.outcome,
		` + healthSums() + `
	FROM endpoints e
	LEFT JOIN endpoint_status s ON s.endpoint_id = e.id
	LEFT JOIN attempts a ON a.rowid = (
		SELECT x.rowid FROM attempts x WHERE x.endpoint_id = e.id AND +x.app_id = e.app_id
		ORDER BY x.id DESC LIMIT 1)
	LEFT JOIN endpoint_health h ON h.endpoint_id = e.id AND h.width = ?3 AND h.bucket >= ?4 AND h.bucket < ?5
		AND h.app_id = e.app_id
	WHERE e.id IN (SELECT value FROM json_each(?1)) AND e.app_id = ?2
	GROUP BY e.id
	ORDER BY e.id`

// EndpointSummaries reads the summaries of the endpoints of p.AppID among
// p.EndpointIDs in one statement (summariesSQL). IDs that are not valid
// UTF-8 name no endpoint and are left out before it (JSON would change
// them).
func (s *Store) EndpointSummaries(ctx context.Context, p store.SummaryParams) ([]store.EndpointSummary, error) {
	if !slices.ContainsFunc(p.EndpointIDs, utf8.ValidString) {
		return nil, nil
	}
	out, err := queryList(ctx, s.rdb, summariesSQL,
		[]any{textList(p.EndpointIDs), p.AppID, int64(p.Width / time.Second), micros(p.Since), micros(p.Until)},
		scanSummary)
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
func scanSummary(sc scanner) (*store.EndpointSummary, error) {
	var sum store.EndpointSummary
	var disabled int
	var disabledAt sql.NullInt64
	var disabledReason sql.NullString
	var last, outcome, code, success, failing, failures sql.NullInt64
	var attID, attMsg sql.NullString
	var attStatus, attCode, attAt, attOutcome sql.NullInt64
	h := &sum.Totals
	dst := []any{&sum.EndpointID, &disabled, &disabledAt, &disabledReason,
		&last, &outcome, &code, &success, &failing, &failures,
		&attID, &attMsg, &attStatus, &attCode, &attAt, &attOutcome}
	for k := hookrelay.OutcomeSuccess; k <= hookrelay.OutcomeInternal; k++ {
		dst = append(dst, &h.Attempts[k])
	}
	dst = append(dst, &h.ResponseMsSum, &h.ResponseMsMax)
	for i := range h.Latency {
		dst = append(dst, &h.Latency[i])
	}
	if err := sc.Scan(dst...); err != nil {
		return nil, err
	}
	sum.Disabled = disabled != 0
	if sum.Disabled && disabledReason.Valid {
		var err error
		if sum.DisabledReason, err = store.DecodeDisabled(fromNullMicros(disabledAt), []byte(disabledReason.String)); err != nil {
			return nil, err
		}
	}
	sum.Status = store.EndpointStatus{
		EndpointID:          sum.EndpointID,
		LastAttemptAt:       fromNullMicros(last),
		LastOutcome:         hookrelay.OutcomeKind(outcome.Int64),
		LastStatusCode:      int(code.Int64),
		LastSuccessAt:       fromNullMicros(success),
		FailingSince:        fromNullMicros(failing),
		ConsecutiveFailures: int(failures.Int64),
	}
	if attID.Valid {
		a := &hookrelay.Attempt{ID: attID.String, MsgID: attMsg.String, EndpointID: sum.EndpointID,
			Status: hookrelay.MessageStatus(attStatus.Int64), ResponseStatusCode: int(attCode.Int64),
			Outcome: hookrelay.OutcomeKind(attOutcome.Int64), CreatedAt: fromMicros(attAt.Int64)}
		// 0 is an attempt recorded by a node that predates the column.
		if a.Outcome == hookrelay.OutcomeUnknown {
			a.Outcome = hookrelay.DeriveOutcome(a.Status, a.ResponseStatusCode)
		}
		sum.LastAttempt = a
	}
	return &sum, nil
}
