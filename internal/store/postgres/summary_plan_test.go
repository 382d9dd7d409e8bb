package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSummariesReadPerEndpoint fills the tables with 60,000 endpoints (50
// in each of 1,000 applications, 10,000 in one more), each with a status
// row, and gives 2,000 of the large application's 48 hours of hourly and
// 30 days of daily rollups and 100 attempts each (200,000 in all). It then
// asks PostgreSQL how it runs EndpointSummaries for a page of 50 of them:
// each endpoint by an index on its ID, its status by its key, its newest
// attempt as one entry of attempts_endpoint and its rollups as one range
// of endpoint_health's key; never a pass over a table, so that a page
// costs its endpoints, not the application's or the database's. (Joined
// on endpoints.id, of collation "C", the status table's key of the default
// collation serves no lookup: the query names its collation.)
func TestSummariesReadPerEndpoint(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Hour)
	const big = "app_big"
	ep := func(n string) string { return `'ep_' || lpad(` + n + `::text, 27, '0')` }
	for _, q := range []string{
		`INSERT INTO applications (id, env_id, name, created_at, updated_at)
		 SELECT 'app_' || lpad(g::text, 27, '0'), 'env_default', 'a', $1::timestamptz, $1::timestamptz FROM generate_series(0, 999) g
		 UNION ALL SELECT '` + big + `', 'env_default', 'big', $1, $1`,
		`INSERT INTO endpoints (id, app_id, url, secret, created_at, updated_at)
		 SELECT ` + ep("e") + `, CASE WHEN e > 50000 THEN '` + big + `' ELSE 'app_' || lpad((e % 1000)::text, 27, '0') END,
			'https://example.com/', 's', $1, $1
		 FROM generate_series(1, 60000) e`,
		`INSERT INTO endpoint_status (endpoint_id, last_attempt_at, last_outcome, last_status_code, consecutive_failures)
		 SELECT ` + ep("e") + `, $1, 1, 200, 0 FROM generate_series(1, 60000) e`,
		`INSERT INTO endpoint_health (endpoint_id, width, bucket, app_id, success, rejected)
		 SELECT ` + ep("e") + `, 3600, $1::timestamptz - b * interval '1 hour', '` + big + `', 10, 1
		 FROM generate_series(50001, 52000) e, generate_series(0, 47) b`,
		`INSERT INTO endpoint_health (endpoint_id, width, bucket, app_id, success, rejected)
		 SELECT ` + ep("e") + `, 86400, date_trunc('day', $1::timestamptz) - b * interval '1 day', '` + big + `', 240, 24
		 FROM generate_series(50001, 52000) e, generate_series(0, 29) b`,
		`INSERT INTO messages (id, app_id, event_type, payload, created_at)
		 SELECT 'msg_' || g, '` + big + `', 'a.b', '{}', $1 FROM generate_series(0, 999) g`,
		`INSERT INTO attempts (id, delivery_id, msg_id, endpoint_id, app_id, url, status, response_status_code, created_at)
		 SELECT 'atmpt_' || lpad(g::text, 27, '0'), 'dlv_' || g, 'msg_' || (g % 1000), ` + ep("(50001 + g % 2000)") + `,
			'` + big + `', 'https://example.com/', 0, 200, $1::timestamptz - g * interval '1 second'
		 FROM generate_series(1, 200000) g`,
		`ANALYZE`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = []any{now}
		}
		if _, err := s.pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
	var ids []string
	for e := 50001; len(ids) < 50; e += 40 {
		ids = append(ids, fmt.Sprintf("ep_%027d", e))
	}
	plan := explain(t, s, "(ANALYZE, COSTS OFF)", summariesSQL, big, ids, int32(3600), now.Add(-24*time.Hour), now)
	text := strings.Join(plan, "\n")
	for _, table := range []string{"endpoints", "endpoint_status", "endpoint_health", "attempts"} {
		if strings.Contains(text, "Seq Scan on "+table+" ") {
			t.Errorf("the summaries read every row of %s:\n%s", table, text)
		}
	}
	for _, want := range []string{"id = ANY", "endpoint_status_pkey", "attempts_endpoint", "endpoint_health_pkey"} {
		if !strings.Contains(text, want) {
			t.Errorf("the plan lacks %s:\n%s", want, text)
		}
	}
	if !strings.Contains(text, "Index Cond: (id = ANY") && !strings.Contains(text, "AND (id = ANY") {
		t.Errorf("the endpoints are not found by their IDs:\n%s", text)
	}
	t.Logf("%s", plan[len(plan)-1]) // Execution Time
}
