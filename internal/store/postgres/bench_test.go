package postgres

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// benchApp creates an application with the given number of endpoints that
// receive everything.
func benchApp(b *testing.B, s *Store, endpoints int) *hookrelay.Application {
	b.Helper()
	ctx := context.Background()
	app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "bench"}
	if err := s.CreateApplication(ctx, app); err != nil {
		b.Fatal(err)
	}
	for range endpoints {
		ep := &hookrelay.Endpoint{AppID: app.ID, URL: "https://example.com/hook", Version: 1, Secret: "whsec_x"}
		if err := s.CreateEndpoint(ctx, ep); err != nil {
			b.Fatal(err)
		}
	}
	return app
}

// benchPayload is the payload of store/sqlite's benchmarks, so that the
// figures compare.
var benchPayload = append(append([]byte(`{"type":"call.completed","data":"`), bytes.Repeat([]byte("x"), 400)...), `"}`...)

func benchPublish(b *testing.B, s *Store, appID string) {
	_, err := s.CreateMessage(context.Background(), store.CreateMessageParams{Message: &hookrelay.Message{
		AppID: appID, EventType: "call.completed", Payload: benchPayload,
	}})
	if err != nil {
		b.Error(err)
	}
}

// BenchmarkCreateMessage publishes from many goroutines at once, as HTTP
// handlers do, with a fan-out to three endpoints: one statement (one
// commit) per publish, on a pool of defaultMaxConns connections.
func BenchmarkCreateMessage(b *testing.B) {
	for _, bc := range []struct {
		name        string
		parallelism int // goroutines per GOMAXPROCS
	}{
		{"publishers=GOMAXPROCS", 1},
		{"publishers=16xGOMAXPROCS", 16},
		{"publishers=64xGOMAXPROCS", 64},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newStore(b)
			app := benchApp(b, s, 3)
			b.SetParallelism(bc.parallelism)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					benchPublish(b, s, app.ID)
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "publishes/s")
		})
	}
}

// BenchmarkCreateMessageSerial publishes from one goroutine.
func BenchmarkCreateMessageSerial(b *testing.B) {
	s := newStore(b)
	app := benchApp(b, s, 3)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		benchPublish(b, s, app.ID)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "publishes/s")
}

// BenchmarkClaimComplete measures the queue's round: claim a batch of due
// deliveries, then record a successful attempt for each. The ns/op is per
// delivery; batch=100 matches store/sqlite's BenchmarkClaimComplete.
func BenchmarkClaimComplete(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := newStore(b)
			f := newFixture(b, s)
			ctx := context.Background()
			// Fill the queue in bulk: b.N messages, each with one delivery.
			_, err := s.pool.Exec(ctx, `
				WITH m AS (
					INSERT INTO messages (id, app_id, event_type, payload, created_at)
					SELECT 'msg_' || lpad(g::text, 27, '0'), $1, 'user.created', '{"a":1}', now() - interval '1 hour'
					FROM generate_series(1, $3) AS g
					RETURNING id, created_at
				)
				INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, status, next_attempt, created_at, updated_at)
				SELECT 'dlv_' || substr(m.id, 5), m.id, $2, $1, 1, m.created_at, now(), now() FROM m`,
				f.app.ID, f.ep.ID, b.N)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			done := 0
			for done < b.N {
				now := time.Now()
				tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{
					Owner: "bench", Now: now, LeaseUntil: now.Add(time.Minute), Limit: batch})
				if err != nil {
					b.Fatal(err)
				}
				if len(tasks) == 0 {
					b.Fatalf("queue empty after %d of %d", done, b.N)
				}
				results := make([]store.AttemptResult, len(tasks))
				for i, t := range tasks {
					results[i] = store.AttemptResult{
						Owner: "bench",
						// As the dispatcher records them: with the endpoint and application.
						Attempt: hookrelay.Attempt{DeliveryID: t.Delivery.ID, EndpointID: t.Endpoint.ID, AppID: t.Delivery.AppID,
							URL: t.Endpoint.URL, Status: hookrelay.StatusSuccess, ResponseStatusCode: 200, Response: "ok", ResponseDurationMs: 3},
						Status:   hookrelay.StatusSuccess,
						Attempts: 1,
					}
				}
				if err := s.CompleteAttempts(ctx, results); err != nil {
					b.Fatal(err)
				}
				done += len(tasks)
			}
		})
	}
}

// BenchmarkClaimBehindBacklog claims work of other endpoints while the
// head of the queue is a long backlog of an excluded endpoint: the cost
// must not grow with the backlog.
func BenchmarkClaimBehindBacklog(b *testing.B) {
	for _, backlog := range []int{10_000, 200_000} {
		b.Run(fmt.Sprintf("backlog=%d", backlog), func(b *testing.B) {
			s := newStore(b)
			f := newFixture(b, s)
			ctx := context.Background()
			fillBacklog(b, s, f.app.ID, f.ep.ID, backlog)
			other := newFixture(b, s)
			if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				m := &hookrelay.Message{AppID: other.app.ID, EventType: "x", Payload: []byte(`{}`)}
				if _, err := s.CreateMessage(ctx, store.CreateMessageParams{Message: m}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				now := time.Now()
				tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{Owner: "bench", Now: now,
					LeaseUntil: now.Add(time.Minute), Limit: 10, ExcludeEndpoints: []string{f.ep.ID}})
				if err != nil || len(tasks) != 1 {
					b.Fatalf("claim: %d tasks, %v", len(tasks), err)
				}
			}
		})
	}
}
