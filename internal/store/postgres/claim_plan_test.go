package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestClaimsLockByPrimaryKey asks PostgreSQL how it would run the two
// claim statements that lock rows picked by id, with the statistics it has
// after a quiet spell: gathered while no delivery was due, then 20,000
// deliveries became due at once (a burst after a quiet night, or a fresh
// database). Each picked row must be locked through the primary key, never
// found by scanning the due index or the table once per picked row, or by
// joining a scan of the whole table: those plans made each claim of 256
// deliveries take 0.5-1.5 s, and a 50-endpoint fan-out ran at half the
// rate its receivers allowed.
func TestClaimsLockByPrimaryKey(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	f := newFixture(t, s)
	old := time.Now().Add(-time.Hour)
	for _, q := range []string{
		`INSERT INTO messages (id, app_id, event_type, payload, created_at)
		 SELECT 'msg_0000' || lpad(g::text, 23, '0'), $1, 'fill.event', '\x7b7d'::bytea, $2
		 FROM generate_series(1, 20000) g`,
		`INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, status, attempts, created_at, updated_at)
		 SELECT 'dlv_0000' || lpad(g::text, 23, '0'), 'msg_0000' || lpad(g::text, 23, '0'), $3, $1, 2, 1, $2, $2
		 FROM generate_series(1, 20000) g`,
		`ANALYZE`,
		`UPDATE deliveries SET status = 1, next_attempt = $2`,
	} {
		var args []any
		switch {
		case strings.Contains(q, "INTO messages"):
			args = []any{f.app.ID, old}
		case strings.Contains(q, "INTO deliveries"):
			args = []any{f.app.ID, old, f.ep.ID}
		case strings.HasPrefix(q, "UPDATE"):
			args = []any{nil, old}
			q = strings.Replace(q, "$2", "$1", 1)
			args = args[1:]
		}
		if _, err := s.pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
	now, until := normTime(time.Now()), normTime(time.Now().Add(time.Minute))
	exclude := []string{"ep_elsewhere"}
	for _, c := range []struct {
		name string
		sql  string
		args []any
	}{
		{"window", claimWindowSQL, []any{now, "node", until, 256, exclude, 1024}},
		{"by endpoint", claimByEndpointSQL, []any{now, "node", until, 256, exclude}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var plan []byte
			err := s.inTx(ctx, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, indexJoinsOnly); err != nil {
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
