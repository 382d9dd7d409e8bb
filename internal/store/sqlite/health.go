package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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

// upsertHealthSQL adds one rollup's counts to its row, creating it when
// missing, while its endpoint exists (an endpoint deleted meanwhile takes
// its rollups with it). It binds width, bucket, app_id, the outcome counts,
// response_ms_sum, response_ms_max, the histogram, then endpoint_id.
var upsertHealthSQL = func() string {
	var cols, sets strings.Builder
	cols.WriteString("endpoint_id, width, bucket, app_id")
	for _, c := range healthCounts {
		fmt.Fprintf(&cols, ", %s", c)
		fmt.Fprintf(&sets, "%s = %s + excluded.%s, ", c, c, c)
	}
	cols.WriteString(", response_ms_max")
	sets.WriteString("response_ms_max = max(response_ms_max, excluded.response_ms_max)")
	for i := range hookrelay.LatencyBuckets {
		fmt.Fprintf(&cols, ", h%d", i)
		fmt.Fprintf(&sets, ", h%d = h%d + excluded.h%d", i, i, i)
	}
	return `INSERT INTO endpoint_health (` + cols.String() + `) SELECT id, ` +
		placeholders(3+len(healthCounts)+1+hookrelay.LatencyBuckets) + ` FROM endpoints WHERE id = ?
		 ON CONFLICT (endpoint_id, width, bucket) DO UPDATE SET ` + sets.String()
}()

// healthKey is one rollup row: an endpoint, a width in seconds and the
// span's start in Unix microseconds.
type healthKey struct {
	endpointID   string
	width, start int64
}

// healthRollup gathers the attempts of one batch for one rollup row.
type healthRollup struct {
	appID string
	h     hookrelay.Health
}

// healthBatch gathers a batch's recorded attempts by rollup row, so that
// the batch upserts each row once.
type healthBatch map[healthKey]*healthRollup

// addHealth adds the attempts of rs to health, each under the EndpointID
// and AppID it carries (see fillEndpoints); one without them (its delivery
// is gone) is not rolled up, as it is not recorded either. Reading the
// endpoint back from the inserted attempts would cost the delivery path a
// fifth of the insert.
func (t *writeTx) addHealth(rs []store.AttemptResult, health healthBatch) {
	for i := range rs {
		a := &rs[i].Attempt
		if a.EndpointID == "" || a.AppID == "" {
			continue
		}
		health.add(a.EndpointID, a.AppID, micros(a.CreatedAt), a.Outcome, a.ResponseDurationMs)
	}
}

// fillEndpoints sets the EndpointID and AppID of every attempt of results
// that lacks them to its delivery's. The dispatcher sets them from the
// claimed task; other callers may leave them out.
func (t *writeTx) fillEndpoints(ctx context.Context, results []store.AttemptResult) error {
	for i := range results {
		a := &results[i].Attempt
		if a.EndpointID != "" && a.AppID != "" {
			continue
		}
		err := t.stmt(ctx, t.stmts.deliveryOf).QueryRowContext(ctx, a.DeliveryID).Scan(&a.EndpointID, &a.AppID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("endpoint of delivery: %w", err)
		}
	}
	return nil
}

// add adds one recorded attempt to each of its rollups.
func (b healthBatch) add(endpointID, appID string, at int64, kind hookrelay.OutcomeKind, ms int64) {
	for _, w := range hookrelay.HealthWidths {
		span := w.Microseconds()
		start := at - at%span
		if at < 0 && at%span != 0 {
			start -= span
		}
		k := healthKey{endpointID, int64(w / time.Second), start}
		r := b[k]
		if r == nil {
			r = &healthRollup{appID: appID}
			b[k] = r
		}
		r.h.Record(kind, ms)
	}
}

// upsertHealth adds b's rollups to endpoint_health, one upsert per row,
// in key order.
func (t *writeTx) upsertHealth(ctx context.Context, b healthBatch) error {
	keys := make([]healthKey, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y healthKey) int {
		return cmp.Or(cmp.Compare(x.endpointID, y.endpointID), cmp.Compare(x.width, y.width), cmp.Compare(x.start, y.start))
	})
	st := t.stmt(ctx, t.stmts.upsertHealth)
	args := make([]any, 0, 4+len(healthCounts)+1+hookrelay.LatencyBuckets)
	for _, k := range keys {
		r := b[k]
		args = append(args[:0], k.width, k.start, r.appID)
		for kind := hookrelay.OutcomeSuccess; kind <= hookrelay.OutcomeInternal; kind++ {
			args = append(args, r.h.Attempts[kind])
		}
		args = append(args, r.h.ResponseMsSum, r.h.ResponseMsMax)
		for _, c := range r.h.Latency {
			args = append(args, c)
		}
		args = append(args, k.endpointID)
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("health rollup: %w", err)
		}
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
