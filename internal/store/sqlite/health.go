package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// healthCounts are the columns of endpoint_health summed from attempts, in
// the order of hookrelay.Health: outcome kinds 1 to 5, then the response
// time sum; response_ms_max and the histogram columns h0... follow.
var healthCounts = []string{"success", "rejected", "unanswered", "refused", "internal", "response_ms_sum"}

// healthColumns lists every rollup value column, for reading.
func healthColumns(agg bool) string {
	var b strings.Builder
	for _, c := range healthCounts {
		if agg {
			fmt.Fprintf(&b, "sum(%s), ", c)
		} else {
			b.WriteString(c + ", ")
		}
	}
	if agg {
		b.WriteString("max(response_ms_max)")
	} else {
		b.WriteString("response_ms_max")
	}
	for i := range hookrelay.LatencyBuckets {
		if agg {
			fmt.Fprintf(&b, ", sum(h%d)", i)
		} else {
			fmt.Fprintf(&b, ", h%d", i)
		}
	}
	return b.String()
}

// rollupHealthSQL adds n attempts to their endpoints' rollups of every
// width, one upsert row per endpoint and span. Each attempt binds its
// delivery ID, its time (Unix microseconds), its outcome kind, its
// response time in milliseconds (0 when unanswered) and its histogram
// bucket (-1 when unanswered); its endpoint and application are its
// delivery's, and an attempt whose delivery is gone adds nothing, as it is
// not recorded either.
func rollupHealthSQL(n int) string {
	var cols, sums, sets strings.Builder
	cols.WriteString("endpoint_id, width, bucket, app_id")
	for k, c := range healthCounts[:5] {
		fmt.Fprintf(&cols, ", %s", c)
		fmt.Fprintf(&sums, ", sum(v.column3 = %d)", k+1)
		fmt.Fprintf(&sets, "%s = %s + excluded.%s, ", c, c, c)
	}
	cols.WriteString(", response_ms_sum, response_ms_max")
	sums.WriteString(", sum(v.column4), max(v.column4)")
	sets.WriteString("response_ms_sum = response_ms_sum + excluded.response_ms_sum, " +
		"response_ms_max = max(response_ms_max, excluded.response_ms_max)")
	for i := range hookrelay.LatencyBuckets {
		fmt.Fprintf(&cols, ", h%d", i)
		fmt.Fprintf(&sums, ", sum(v.column5 = %d)", i)
		fmt.Fprintf(&sets, ", h%d = h%d + excluded.h%d", i, i, i)
	}
	var widths []string
	for _, w := range hookrelay.HealthWidths {
		widths = append(widths, "("+strconv.FormatInt(w.Microseconds(), 10)+")")
	}
	return `INSERT INTO endpoint_health (` + cols.String() + `)
		 SELECT d.endpoint_id, w.column1 / 1000000, v.column2 - v.column2 % w.column1, d.app_id` + sums.String() + `
		 FROM (VALUES ` + rows(n, 5) + `) AS v JOIN deliveries d ON d.id = v.column1
		   CROSS JOIN (VALUES ` + strings.Join(widths, ", ") + `) AS w
		 WHERE true
		 GROUP BY d.endpoint_id, w.column1, v.column2 - v.column2 % w.column1
		 ON CONFLICT (endpoint_id, width, bucket) DO UPDATE SET ` + sets.String()
}

// rollupHealth adds len(rs) == completeSizes[k] recorded attempts to their
// endpoints' health rollups (see rollupHealthSQL).
func (t *writeTx) rollupHealth(ctx context.Context, k int, rs []store.AttemptResult) error {
	args := make([]any, 0, 5*len(rs))
	for i := range rs {
		a := &rs[i].Attempt
		ms, bucket := int64(0), -1
		if a.Outcome.Answered() {
			ms = max(a.ResponseDurationMs, 0)
			bucket = hookrelay.LatencyBucket(ms)
		}
		args = append(args, a.DeliveryID, micros(a.CreatedAt), int(a.Outcome), ms, bucket)
	}
	if _, err := t.stmt(ctx, t.stmts.rollupHealth[k]).ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("health rollup: %w", err)
	}
	return nil
}

// HealthRollups reads the rollups p selects from endpoint_health alone.
func (s *Store) HealthRollups(ctx context.Context, p store.HealthParams) ([]hookrelay.Health, error) {
	width := int64(p.Width / time.Second)
	var q string
	var args []any
	if p.EndpointID != "" {
		q = `SELECT bucket, ` + healthColumns(false) + ` FROM endpoint_health
		 WHERE endpoint_id = ? AND width = ? AND bucket >= ? AND bucket < ? AND app_id = ?
		 ORDER BY bucket`
		args = []any{p.EndpointID, width, micros(p.Since), micros(p.Until), p.AppID}
	} else {
		q = `SELECT bucket, ` + healthColumns(true) + ` FROM endpoint_health
		 WHERE app_id = ? AND width = ? AND bucket >= ? AND bucket < ?
		 GROUP BY bucket ORDER BY bucket`
		args = []any{p.AppID, width, micros(p.Since), micros(p.Until)}
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("health rollups: %w", err)
	}
	defer rows.Close()
	var out []hookrelay.Health
	for rows.Next() {
		var h hookrelay.Health
		var start int64
		dst := []any{&start}
		for k := hookrelay.OutcomeSuccess; k <= hookrelay.OutcomeInternal; k++ {
			dst = append(dst, &h.Attempts[k])
		}
		dst = append(dst, &h.ResponseMsSum, &h.ResponseMsMax)
		for i := range h.Latency {
			dst = append(dst, &h.Latency[i])
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("health rollups: %w", err)
		}
		h.Start = fromMicros(start)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("health rollups: %w", err)
	}
	return out, nil
}

// DeleteHealthRollups removes the rollups of width that start before
// before.
func (s *Store) DeleteHealthRollups(ctx context.Context, width time.Duration, before time.Time) (int64, error) {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM endpoint_health WHERE width = ? AND bucket < ?`,
		int64(width/time.Second), micros(before))
	if err != nil {
		return 0, fmt.Errorf("delete health rollups: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete health rollups: %w", err)
	}
	return n, nil
}

// CountAppDestinations counts the deliveries of the application's messages
// created in [since, until).
func (s *Store) CountAppDestinations(ctx context.Context, appID string, since, until time.Time) (int64, error) {
	var n int64
	err := s.rdb.QueryRowContext(ctx,
		`SELECT count(*) FROM messages m JOIN deliveries d ON d.msg_id = m.id
		 WHERE m.app_id = ? AND m.created_at >= ? AND m.created_at < ?`,
		appID, micros(since), micros(until)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count app destinations: %w", err)
	}
	return n, nil
}
