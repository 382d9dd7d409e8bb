package postgres

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestTroubledAppsReadOnlyTrouble fills an environment with 100,000
// applications of one endpoint each (1% disabled, 1% failing) and asks
// PostgreSQL how it would run the console's page query at its start, in
// its troubled group and deep in its healthy one: the troubled
// applications must come from the partial indexes, never from a pass over
// every endpoint or status row (the plan without them read both tables
// whole for each page: 0.4-0.7 s on a loaded machine).
func TestTroubledAppsReadOnlyTrouble(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now()
	for _, q := range []string{
		`INSERT INTO applications (id, env_id, name, created_at, updated_at)
		 SELECT 'app_' || lpad(g::text, 27, '0'), 'env_default', 'a', $1, $1 FROM generate_series(1, 100000) g`,
		`INSERT INTO endpoints (id, app_id, url, secret, created_at, updated_at, disabled)
		 SELECT 'ep_' || lpad(g::text, 27, '0'), 'app_' || lpad(g::text, 27, '0'), 'https://example.com/', 's',
			$1, $1, g % 100 = 7
		 FROM generate_series(1, 100000) g`,
		`INSERT INTO endpoint_status (endpoint_id, last_attempt_at, last_outcome, last_status_code,
			failing_since, consecutive_failures)
		 SELECT 'ep_' || lpad(g::text, 27, '0'), $1, 1, 200, CASE WHEN g % 100 = 50 THEN $1::timestamptz END, 0
		 FROM generate_series(1, 100000) g`,
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
	id := func(n string) string { return "app_" + strings.Repeat("0", 27-len(n)) + n }
	for _, c := range []struct {
		name string
		args []any
	}{
		{"first page", []any{"env_default", false, "", 50}},
		{"troubled, page 2", []any{"env_default", false, id("50007"), 50}},
		{"healthy, deep", []any{"env_default", true, id("90000"), 50}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := explain(t, s, "(ANALYZE, COSTS OFF)", troubledAppsSQL, c.args...)
			text := strings.Join(plan, "\n")
			if strings.Contains(text, "Seq Scan on endpoints") || strings.Contains(text, "Seq Scan on endpoint_status") {
				t.Errorf("the page reads every endpoint or status:\n%s", text)
			}
			for _, index := range []string{"endpoints_disabled", "endpoint_status_failing"} {
				if !strings.Contains(text, index) {
					t.Errorf("the page does not use %s:\n%s", index, text)
				}
			}
			t.Logf("%s", plan[len(plan)-1]) // Execution Time
		})
	}
}
