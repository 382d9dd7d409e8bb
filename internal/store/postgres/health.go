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

// healthCounts are the columns of endpoint_health summed from attempts, in
// the order of hookrelay.Health: outcome kinds 1 to 5, then the response
// time sum; response_ms_max and the histogram columns h0... follow.
var healthCounts = []string{"success", "rejected", "unanswered", "refused", "internal", "response_ms_sum"}

// healthColumns lists every rollup value column, for reading; agg sums
// them over the rows of a group.
func healthColumns(agg bool) string {
	var b strings.Builder
	for _, c := range healthCounts {
		if agg {
			fmt.Fprintf(&b, "sum(%s)::bigint, ", c)
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
			fmt.Fprintf(&b, ", sum(h%d)::bigint", i)
		} else {
			fmt.Fprintf(&b, ", h%d", i)
		}
	}
	return b.String()
}

// rollupHealthSQL adds attempts, given as arrays (delivery IDs, times,
// outcome kinds, response times in milliseconds, 0 when unanswered, and
// histogram buckets, -1 when unanswered), to their endpoints' rollups of
// every width ($6, in seconds): one upsert row per endpoint and span,
// upserted in key order so that two transactions lock shared rows in the
// same order. An attempt's endpoint and application are its delivery's;
// one whose delivery is gone adds nothing, as it is not recorded either.
var rollupHealthSQL = func() string {
	var cols, sums, sets strings.Builder
	cols.WriteString("endpoint_id, width, bucket, app_id")
	for k, c := range healthCounts[:5] {
		fmt.Fprintf(&cols, ", %s", c)
		fmt.Fprintf(&sums, ", count(*) FILTER (WHERE r.outcome = %d)", k+1)
		fmt.Fprintf(&sets, "%s = h.%s + excluded.%s, ", c, c, c)
	}
	cols.WriteString(", response_ms_sum, response_ms_max")
	sums.WriteString(", sum(r.ms), max(r.ms)")
	sets.WriteString("response_ms_sum = h.response_ms_sum + excluded.response_ms_sum, " +
		"response_ms_max = greatest(h.response_ms_max, excluded.response_ms_max)")
	for i := range hookrelay.LatencyBuckets {
		fmt.Fprintf(&cols, ", h%d", i)
		fmt.Fprintf(&sums, ", count(*) FILTER (WHERE r.hb = %d)", i)
		fmt.Fprintf(&sets, ", h%d = h.h%d + excluded.h%d", i, i, i)
	}
	return `INSERT INTO endpoint_health AS h (` + cols.String() + `)
		SELECT d.endpoint_id, w.w, to_timestamp(floor(extract(epoch FROM r.at) / w.w) * w.w), d.app_id` + sums.String() + `
		FROM unnest($1::text[], $2::timestamptz[], $3::int[], $4::bigint[], $5::int[]) AS r (delivery_id, at, outcome, ms, hb)
		JOIN deliveries d ON d.id = r.delivery_id
		CROSS JOIN unnest($6::int[]) AS w (w)
		GROUP BY 1, 2, 3, 4
		ORDER BY 1, 2, 3
		ON CONFLICT (endpoint_id, width, bucket) DO UPDATE SET ` + sets.String()
}()

// healthWidths are hookrelay.HealthWidths in seconds.
var healthWidths = func() []int32 {
	var out []int32
	for _, w := range hookrelay.HealthWidths {
		out = append(out, int32(w/time.Second))
	}
	return out
}()

// healthValues is the number of values of one rollup row after its key:
// the five outcome counts, response_ms_sum, response_ms_max and the
// histogram.
const healthValues = 7 + hookrelay.LatencyBuckets

// upsertHealthSQL adds rollups gathered in Go, one row each: keys as arrays
// (endpoint IDs, widths in seconds, span starts, application IDs) and the
// values of row i at $5[(i-1)*healthValues+1 ...]. Rows are upserted in
// key order, so that two transactions lock shared rows in the same order,
// and only while their endpoint exists (a deleted endpoint takes its
// rollups with it).
var upsertHealthSQL = func() string {
	var cols, vals, sets strings.Builder
	cols.WriteString("endpoint_id, width, bucket, app_id")
	names := append(append([]string{}, healthCounts...), "response_ms_max")
	for i := range hookrelay.LatencyBuckets {
		names = append(names, fmt.Sprintf("h%d", i))
	}
	for j, c := range names {
		fmt.Fprintf(&cols, ", %s", c)
		fmt.Fprintf(&vals, ", ($5::bigint[])[(u.i - 1) * %d + %d]", healthValues, j+1)
		if c == "response_ms_max" {
			fmt.Fprintf(&sets, ", %s = greatest(h.%s, excluded.%s)", c, c, c)
		} else {
			fmt.Fprintf(&sets, ", %s = h.%s + excluded.%s", c, c, c)
		}
	}
	return `INSERT INTO endpoint_health AS h (` + cols.String() + `)
		SELECT u.endpoint_id, u.width, u.bucket, u.app_id` + vals.String() + `
		FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::text[]) WITH ORDINALITY AS u (endpoint_id, width, bucket, app_id, i)
		JOIN endpoints e ON e.id = u.endpoint_id
		ORDER BY 1, 2, 3
		ON CONFLICT (endpoint_id, width, bucket) DO UPDATE SET ` + sets.String()[2:]
}()

// healthKey is one rollup row.
type healthKey struct {
	endpointID string
	width      int32
	start      time.Time
}

// queueHealth queues on b what adds the attempts of results to their
// endpoints' health rollups, to run in the transaction that records them.
// An attempt is rolled up under the EndpointID and AppID it carries, which
// are its delivery's (the dispatcher takes all three from one claimed
// task): those are gathered in Go and upserted once per rollup row. An
// attempt without them is rolled up by rollupHealthSQL under its
// delivery's.
func queueHealth(b *pgx.Batch, results []store.AttemptResult) {
	type rollup struct {
		appID string
		h     hookrelay.Health
	}
	rows := map[healthKey]*rollup{}
	var rest completeColumns
	for i := range results {
		a := &results[i].Attempt
		if a.EndpointID == "" || a.AppID == "" {
			rest.deliveryIDs = append(rest.deliveryIDs, a.DeliveryID)
			rest.attemptedAt = append(rest.attemptedAt, a.CreatedAt)
			rest.outcomes = append(rest.outcomes, int(a.Outcome))
			rest.durations = append(rest.durations, a.ResponseDurationMs)
			continue
		}
		for j, w := range hookrelay.HealthWidths {
			k := healthKey{a.EndpointID, healthWidths[j], a.CreatedAt.UTC().Truncate(w)}
			r := rows[k]
			if r == nil {
				r = &rollup{appID: a.AppID}
				rows[k] = r
			}
			r.h.Record(a.Outcome, a.ResponseDurationMs)
		}
	}
	if len(rows) > 0 {
		var eps, apps []string
		var widths []int32
		var starts []time.Time
		vals := make([]int64, 0, len(rows)*healthValues)
		for k, r := range rows {
			eps, widths, starts, apps = append(eps, k.endpointID), append(widths, k.width), append(starts, k.start), append(apps, r.appID)
			vals = append(vals, r.h.Attempts[hookrelay.OutcomeSuccess:]...)
			vals = append(vals, r.h.ResponseMsSum, r.h.ResponseMsMax)
			vals = append(vals, r.h.Latency[:]...)
		}
		b.Queue(upsertHealthSQL, eps, widths, starts, apps, vals)
	}
	if len(rest.deliveryIDs) > 0 {
		ms := make([]int64, len(rest.outcomes))
		hb := make([]int32, len(rest.outcomes))
		for i, o := range rest.outcomes {
			hb[i] = -1
			if hookrelay.OutcomeKind(o).Answered() {
				ms[i] = max(rest.durations[i], 0)
				hb[i] = int32(hookrelay.LatencyBucket(ms[i]))
			}
		}
		b.Queue(rollupHealthSQL, rest.deliveryIDs, rest.attemptedAt, rest.outcomes, ms, hb, healthWidths)
	}
}

// HealthRollups reads the rollups p selects from endpoint_health alone.
func (s *Store) HealthRollups(ctx context.Context, p store.HealthParams) ([]hookrelay.Health, error) {
	width := int32(p.Width / time.Second)
	var q string
	var args []any
	if p.EndpointID != "" {
		q = `SELECT bucket, ` + healthColumns(false) + ` FROM endpoint_health
		 WHERE endpoint_id = $1 AND width = $2 AND bucket >= $3 AND bucket < $4 AND app_id = $5
		 ORDER BY bucket`
		args = []any{p.EndpointID, width, p.Since, p.Until, p.AppID}
	} else {
		q = `SELECT bucket, ` + healthColumns(true) + ` FROM endpoint_health
		 WHERE app_id = $1 AND width = $2 AND bucket >= $3 AND bucket < $4
		 GROUP BY bucket ORDER BY bucket`
		args = []any{p.AppID, width, p.Since, p.Until}
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("health rollups: %w", err)
	}
	defer rows.Close()
	var out []hookrelay.Health
	for rows.Next() {
		var h hookrelay.Health
		dst := []any{&h.Start}
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
		h.Start = h.Start.UTC()
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
	tag, err := s.pool.Exec(ctx, `DELETE FROM endpoint_health WHERE width = $1 AND bucket < $2`,
		int32(width/time.Second), before)
	if err != nil {
		return 0, fmt.Errorf("delete health rollups: %w", err)
	}
	return tag.RowsAffected(), nil
}

// CountAppDestinations counts the deliveries of the application's messages
// created in [since, until).
func (s *Store) CountAppDestinations(ctx context.Context, appID string, since, until time.Time) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx,
		`SELECT count(*) FROM messages m JOIN deliveries d ON d.msg_id = m.id
		 WHERE m.app_id = $1 AND m.created_at >= $2 AND m.created_at < $3`,
		appID, since, until).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count app destinations: %w", err)
	}
	return n, nil
}
