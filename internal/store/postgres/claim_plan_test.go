package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay"
)

// TestClaimsLockByPrimaryKey asks PostgreSQL how it would run the two
// claim statements that lock rows picked by id, with the statistics it has
// after a quiet spell: gathered while no delivery was due, then 20,000
// deliveries became due at once (a burst after a quiet night, or a fresh
// database). Each picked row must be locked through the primary key, never
// found by scanning the due index or the table once per picked row, or by
// joining a scan of the whole table: those plans made each claim of 256
// deliveries take 0.5-1.5 s, and a 50-endpoint fan-out ran at half the
// rate its receivers allowed. The claim that walks endpoints must step
// through deliveries_endpoint_due: reading all of deliveries_due at every
// step, as the planner would by these statistics, made it 110 ms instead
// of 20.
func TestClaimsLockByPrimaryKey(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	f := newFixture(t, s)
	eps := []string{f.ep.ID}
	for range 19 {
		ep := &hookrelay.Endpoint{AppID: f.app.ID, URL: "https://example.com/hook", Version: 1, Secret: "whsec_c2VjcmV0"}
		if err := s.CreateEndpoint(ctx, ep); err != nil {
			t.Fatalf("create endpoint: %v", err)
		}
		eps = append(eps, ep.ID)
	}
	// A fan-out: each of 1,000 messages to each of 20 endpoints, one
	// millisecond apart, as publishes write them.
	old := time.Now().Add(-time.Hour)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO messages (id, app_id, event_type, payload, created_at)
		 SELECT 'msg_0000' || lpad(g::text, 23, '0'), $1, 'fill.event', '\x7b7d'::bytea, $2::timestamptz + g * interval '1 ms'
		 FROM generate_series(1, 1000) g`, []any{f.app.ID, old}},
		{`INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, status, attempts, created_at, updated_at)
		 SELECT 'dlv_0000' || lpad((g * 100 + e)::text, 23, '0'), 'msg_0000' || lpad(g::text, 23, '0'),
			($3::text[])[e], $1, 2, 1, $2::timestamptz + g * interval '1 ms', $2
		 FROM generate_series(1, 1000) g, generate_series(1, cardinality($3::text[])) e
		 ORDER BY g, e`, []any{f.app.ID, old, eps}},
		{`ANALYZE`, nil},
		{`UPDATE deliveries SET status = 1, next_attempt = created_at`, nil},
	} {
		if _, err := s.pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
	now, until := normTime(time.Now()), normTime(time.Now().Add(time.Minute))
	exclude := eps[:15]
	for _, c := range []struct {
		name     string
		settings string
		sql      string
		args     []any
		// walks is set for the statement that walks the endpoints that
		// have due deliveries: it must step from endpoint to endpoint
		// through deliveries_endpoint_due, never read deliveries_due.
		walks bool
	}{
		{"window", indexJoinsOnly, claimWindowSQL, []any{now, "node", until, 256, exclude, 1024}, false},
		{"by endpoint", walkEndpoints, claimByEndpointSQL, []any{now, "node", until, 256, exclude}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var plan []byte
			err := s.inTx(ctx, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, c.settings); err != nil {
					return err
				}
				return tx.QueryRow(ctx, `EXPLAIN (FORMAT JSON) `+c.sql, c.args...).Scan(&plan)
			})
			if err != nil {
				t.Fatalf("explain: %v", err)
			}
			var root []struct{ Plan planNode }
			if err := json.Unmarshal(plan, &root); err != nil || len(root) != 1 {
				t.Fatalf("explain: %v: %s", err, plan)
			}
			root[0].Plan.walk(nil, func(n, parent *planNode) {
				if n.Relation != "deliveries" {
					return
				}
				if n.Type == "Seq Scan" {
					t.Errorf("the claim reads the whole deliveries table:\n%s", plan)
				}
				if c.walks && strings.HasSuffix(n.Type, "Scan") && n.Index != "deliveries_endpoint_due" && n.Index != "deliveries_pkey" {
					t.Errorf("the walk over endpoints reads deliveries by %s %s, not endpoint by endpoint:\n%s",
						n.Type, n.Index, plan)
				}
				if parent != nil && parent.Type == "Nested Loop" && n.ParentRelationship == "Inner" &&
					n.Index != "deliveries_pkey" {
					t.Errorf("the claim joins deliveries by %s %s, once per picked row, not by primary key:\n%s",
						n.Type, n.Index, plan)
				}
			})
		})
	}
}

// planNode is a node of PostgreSQL's EXPLAIN (FORMAT JSON).
type planNode struct {
	Type               string     `json:"Node Type"`
	Relation           string     `json:"Relation Name"`
	Index              string     `json:"Index Name"`
	ParentRelationship string     `json:"Parent Relationship"`
	Plans              []planNode `json:"Plans"`
}

// walk calls fn for n and every node below it, with its parent.
func (n *planNode) walk(parent *planNode, fn func(n, parent *planNode)) {
	fn(n, parent)
	for i := range n.Plans {
		n.Plans[i].walk(n, fn)
	}
}
