package postgres

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// planRelations collects the relations an EXPLAIN (FORMAT JSON) plan reads.
func planRelations(node map[string]any, into map[string]bool) {
	if r, ok := node["Relation Name"].(string); ok {
		into[r] = true
	}
	if kids, ok := node["Plans"].([]any); ok {
		for _, k := range kids {
			if m, ok := k.(map[string]any); ok {
				planRelations(m, into)
			}
		}
	}
}

// TestHealthReadsFewRows records 30 days of attempts of one endpoint, one a
// minute, and shows that reading their health over those 30 days reads
// rollup rows only (never attempts), a day's or an hour's worth of rows, and
// keeps answering the same once the attempts are gone.
func TestHealthReadsFewRows(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	f := newFixture(t, s)
	f.publish(t, s)
	tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{Owner: "n", Now: time.Now(), LeaseUntil: time.Now().Add(time.Hour), Limit: 1})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("claim: %v, %d tasks", err, len(tasks))
	}
	const n = 30 * 24 * 60
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var batch []store.AttemptResult
	for i := range n {
		kind := hookrelay.OutcomeSuccess
		if i%7 == 0 {
			kind = hookrelay.OutcomeRejected
		}
		batch = append(batch, store.AttemptResult{Owner: "n", Attempt: hookrelay.Attempt{
			DeliveryID: tasks[0].Delivery.ID, URL: "https://example.com/hook", Outcome: kind,
			ResponseDurationMs: int64(i % 500), CreatedAt: start.Add(time.Duration(i) * time.Minute),
		}, Status: hookrelay.StatusPending, Attempts: 1})
		if len(batch) == 2000 || i == n-1 {
			if err := s.CompleteAttempts(ctx, batch); err != nil {
				t.Fatalf("complete attempts: %v", err)
			}
			batch = batch[:0]
		}
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	p := store.HealthParams{AppID: f.app.ID, EndpointID: f.ep.ID, Since: start, Until: start.Add(30 * 24 * time.Hour)}
	for _, c := range []struct {
		width time.Duration
		rows  float64
	}{{hookrelay.HealthDay, 30}, {hookrelay.HealthHour, 720}} {
		var plan []map[string]any
		err := s.pool.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) SELECT bucket, `+healthColumns(false)+` FROM endpoint_health
			WHERE endpoint_id = $1 AND width = $2 AND bucket >= $3 AND bucket < $4 AND app_id = $5 ORDER BY bucket`,
			f.ep.ID, int32(c.width/time.Second), p.Since, p.Until, f.app.ID).Scan(&plan)
		if err != nil {
			t.Fatalf("explain: %v", err)
		}
		top := plan[0]["Plan"].(map[string]any)
		rels := map[string]bool{}
		planRelations(top, rels)
		if len(rels) != 1 || !rels["endpoint_health"] {
			t.Errorf("%v: the plan reads %v", c.width, rels)
		}
		if got := top["Actual Rows"].(float64); got != c.rows {
			t.Errorf("%v: %v rows read, want %v", c.width, got, c.rows)
		}
		b, _ := json.Marshal(top)
		t.Logf("%v plan: %s", c.width, b)
	}

	total := func() hookrelay.Health {
		p.Width = hookrelay.HealthDay
		rows, err := s.HealthRollups(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var sum hookrelay.Health
		for _, r := range rows {
			sum.Add(&r)
		}
		return sum
	}
	before := total()
	if before.Total() != n || before.Attempts[hookrelay.OutcomeRejected] != (n+6)/7 {
		t.Fatalf("30 days hold %d attempts (%d rejected), want %d", before.Total(), before.Attempts[hookrelay.OutcomeRejected], n)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM attempts`); err != nil {
		t.Fatal(err)
	}
	if after := total(); after != before {
		t.Errorf("rollups changed when the attempts went: %+v, was %+v", after, before)
	}
}

// TestEndpointStatusByPrimaryKey: reading an endpoint's status can use
// endpoint_status's primary key. With sequential scans disabled a plan
// that could only scan the table still does so; it did while the read
// joined the status to endpoints.id, whose collation ("C") differs from
// the status column's.
func TestEndpointStatusByPrimaryKey(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	f := newFixture(t, s)
	var plan []byte
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `EXPLAIN (FORMAT JSON) `+endpointStatusOfSQL, f.ep.ID, f.app.ID).Scan(&plan)
	})
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	var root []struct{ Plan planNode }
	if err := json.Unmarshal(plan, &root); err != nil || len(root) != 1 {
		t.Fatalf("explain: %v: %s", err, plan)
	}
	root[0].Plan.walk(nil, func(n, _ *planNode) {
		if n.Relation == "endpoint_status" && n.Type == "Seq Scan" {
			t.Errorf("the status read scans endpoint_status:\n%s", plan)
		}
	})
	if _, err := s.GetEndpointStatus(ctx, f.app.ID, f.ep.ID); err != nil {
		t.Fatalf("get endpoint status: %v", err)
	}
}
