package postgres

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestPurgeScansProbeDeliveries fills the tables with 200,000 delivered
// messages, then asks PostgreSQL how it would run the cleaner's two scans:
// whether a scanned message has a pending delivery must be one index probe
// per scanned row, never a pass over the whole deliveries table (the plan
// PostgreSQL picks when the check sits in the scan's own select list,
// which made each batch take 0.6 s with a million deliveries).
func TestPurgeScansProbeDeliveries(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	f := newFixture(t, s)
	old := time.Now().Add(-365 * 24 * time.Hour)
	for _, q := range []string{
		`INSERT INTO messages (id, app_id, event_type, payload, created_at, payload_expires_at)
		 SELECT 'msg_0000' || lpad(g::text, 23, '0'), $1, 'fill.event', '\x7b7d'::bytea, $2, $2
		 FROM generate_series(1, 200000) g`,
		`INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, status, attempts, created_at, updated_at)
		 SELECT 'dlv_0000' || lpad(g::text, 23, '0'), 'msg_0000' || lpad(g::text, 23, '0'), $3, $1, 0, 1, $2, $2
		 FROM generate_series(1, 200000) g`,
		`ANALYZE`,
	} {
		args := []any{f.app.ID, old, f.ep.ID}
		switch {
		case strings.HasPrefix(strings.TrimSpace(q), "ANALYZE"):
			args = nil
		case strings.Contains(q, "INTO messages"):
			args = args[:2]
		}
		if _, err := s.pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
	now := time.Now()
	for _, c := range []struct {
		name string
		sql  string
		args []any
	}{
		{"history", historyScanSQL, []any{now, "", 50}},
		{"payloads", payloadScanSQL(false), []any{now, 50}},
		{"payloads after a cursor", payloadScanSQL(true), []any{now, 50, old.Add(-time.Hour), ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := explain(t, s, "", c.sql, c.args...)
			text := strings.Join(plan, "\n")
			if strings.Contains(text, "Seq Scan on deliveries") || strings.Contains(text, "hashed SubPlan") {
				t.Errorf("the scan reads every delivery:\n%s", text)
			}
			if !strings.Contains(text, "deliveries_msg_id_endpoint_id_key") {
				t.Errorf("the scan does not probe deliveries by message:\n%s", text)
			}
		})
	}
}
