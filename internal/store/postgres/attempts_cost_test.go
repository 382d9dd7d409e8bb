package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// BenchmarkAttemptsAppIndex measures what attempts_app_failed costs the
// recording of attempts: b.N deliveries claimed and completed 100 at a
// time (one in ten failing), as BenchmarkClaimComplete, in a database with
// the index and in one where it is dropped, one after the other in one
// process. It also reports the WAL bytes per attempt of inserting 1,000
// more attempts in one statement (EXPLAIN (ANALYZE, WAL)), which the
// machine's load does not change, and the full page images among them (0
// for a figure that compares).
func BenchmarkAttemptsAppIndex(b *testing.B) {
	for _, index := range []bool{false, true} {
		b.Run(fmt.Sprintf("index=%v", index), func(b *testing.B) {
			s := newStore(b)
			ctx := context.Background()
			if !index {
				if _, err := s.pool.Exec(ctx, `DROP INDEX attempts_app_failed`); err != nil {
					b.Fatal(err)
				}
			}
			app := benchApp(b, s, 1)
			for range b.N + 1500 {
				benchPublish(b, s, app.ID)
			}
			if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for done := 0; done < b.N; {
				now := time.Now()
				tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{Owner: "bench", Now: now, LeaseUntil: now.Add(time.Minute),
					Limit: min(100, b.N-done)})
				if err != nil || len(tasks) == 0 {
					b.Fatalf("claim after %d of %d: %d tasks, %v", done, b.N, len(tasks), err)
				}
				results := make([]store.AttemptResult, len(tasks))
				for i, t := range tasks {
					st, code := hookrelay.StatusSuccess, 200
					if (done+i)%10 == 0 {
						st, code = hookrelay.StatusFail, 503
					}
					results[i] = store.AttemptResult{Owner: "bench", Attempt: hookrelay.Attempt{
						DeliveryID: t.Delivery.ID, MsgID: t.Message.ID, AppID: app.ID, EndpointID: t.Endpoint.ID,
						URL: t.Endpoint.URL, Status: st, ResponseStatusCode: code, Response: "ok", ResponseDurationMs: 3,
					}, Status: st, Attempts: 1}
				}
				if err := s.CompleteAttempts(ctx, results); err != nil {
					b.Fatal(err)
				}
				done += len(tasks)
			}
			b.StopTimer()
			// 1,000 attempts of deliveries still pending, in ID order after
			// those recorded, one in ten failed; twice, measuring the
			// second: the first logs the full page images of the pages it
			// is the first to change since the last checkpoint.
			var plan []struct {
				Plan struct {
					WALBytes int64 `json:"WAL Bytes"`
					WALFPI   int64 `json:"WAL FPI"`
				}
			}
			for i := range 2 {
				err := s.pool.QueryRow(ctx, `EXPLAIN (ANALYZE, WAL, FORMAT JSON)
					INSERT INTO attempts (id, delivery_id, msg_id, endpoint_id, app_id, url, status, response_status_code, response, created_at)
					SELECT 'atmpt_' || substr(d.id, 5) || $1, d.id, d.msg_id, d.endpoint_id, d.app_id, 'https://example.com/hook',
						CASE WHEN row_number() OVER () % 10 = 0 THEN 2 ELSE 0 END, 200, 'ok'::bytea, now()
					FROM deliveries d WHERE d.status = 1 ORDER BY d.id LIMIT 1000 OFFSET $2`, fmt.Sprint(i), i*500).Scan(&plan)
				if err != nil || len(plan) != 1 {
					b.Fatalf("explain the insert: %v", err)
				}
			}
			b.ReportMetric(float64(plan[0].Plan.WALFPI), "insert-fpi")
			b.ReportMetric(float64(plan[0].Plan.WALBytes)/1000, "insert-wal-B/attempt")
		})
	}
}
