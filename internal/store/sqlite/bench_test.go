package sqlite_test

import (
	"bytes"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

// benchApp creates an application with endpoints endpoints that receive
// everything.
func benchApp(b *testing.B, s *sqlite.Store, endpoints int) *hookrelay.Application {
	b.Helper()
	ctx := b.Context()
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

var benchPayload = append(append([]byte(`{"type":"call.completed","data":"`), bytes.Repeat([]byte("x"), 400)...), `"}`...)

func publish(b *testing.B, s *sqlite.Store, appID string) {
	_, err := s.CreateMessage(b.Context(), store.CreateMessageParams{Message: &hookrelay.Message{
		AppID: appID, EventType: "call.completed", Payload: benchPayload,
	}})
	if err != nil {
		b.Error(err)
	}
}

// BenchmarkCreateMessage publishes from many goroutines at once, as HTTP
// handlers do, with a fan-out to three endpoints; group commit turns the
// concurrent publishes into few transactions.
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
			s := openTemp(b)
			b.Cleanup(func() { s.Close() })
			app := benchApp(b, s, 3)
			b.SetParallelism(bc.parallelism)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					publish(b, s, app.ID)
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "publishes/s")
		})
	}
}

// BenchmarkCreateMessageSerial publishes from one goroutine: one
// transaction and one fsync per message.
func BenchmarkCreateMessageSerial(b *testing.B) {
	s := openTemp(b)
	b.Cleanup(func() { s.Close() })
	app := benchApp(b, s, 3)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		publish(b, s, app.ID)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "publishes/s")
}

// BenchmarkClaimComplete claims due deliveries in batches of 100 and
// completes each batch in one call; one op is one delivery.
func BenchmarkClaimComplete(b *testing.B) {
	s := openTemp(b)
	b.Cleanup(func() { s.Close() })
	app := benchApp(b, s, 1)
	ctx := b.Context()
	b.StopTimer()
	for range b.N {
		publish(b, s, app.ID)
	}
	b.StartTimer()
	start := time.Now()
	done := 0
	for done < b.N {
		now := time.Now()
		tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{Owner: "bench", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 100})
		if err != nil {
			b.Fatal(err)
		}
		if len(tasks) == 0 {
			b.Fatalf("nothing to claim after %d of %d", done, b.N)
		}
		results := make([]store.AttemptResult, len(tasks))
		for i, t := range tasks {
			results[i] = store.AttemptResult{
				Owner: "bench",
				Attempt: hookrelay.Attempt{
					DeliveryID: t.Delivery.ID, MsgID: t.Message.ID, AppID: app.ID, EndpointID: t.Endpoint.ID,
					URL: t.Endpoint.URL, Status: hookrelay.StatusSuccess, ResponseStatusCode: 200, Response: "ok",
					ResponseDurationMs: 3,
				},
				Status:   hookrelay.StatusSuccess,
				Attempts: 1,
			}
		}
		if err := s.CompleteAttempts(ctx, results); err != nil {
			b.Fatal(err)
		}
		done += len(tasks)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
}

// BenchmarkPipeline is the server's hot path without HTTP: publishers lease
// their new deliveries at publish (the hand-off), and one recorder
// goroutine completes them in groups, as the dispatcher does, so publishes
// and attempt results share the writer. One op is one delivered message.
func BenchmarkPipeline(b *testing.B) {
	for _, endpoints := range []int{1, 10} {
		b.Run(fmt.Sprintf("endpoints=%d", endpoints), func(b *testing.B) {
			s := openTemp(b)
			b.Cleanup(func() { s.Close() })
			app := benchApp(b, s, endpoints)
			ctx := b.Context()
			tasks := make(chan store.Task, 4096)
			recorded := make(chan int)
			go func() {
				n := 0
				batch := make([]store.AttemptResult, 0, 256)
				for t := range tasks {
					batch = append(batch[:0], result(t))
				more:
					for len(batch) < cap(batch) {
						select {
						case t, ok := <-tasks:
							if !ok {
								break more
							}
							batch = append(batch, result(t))
						default:
							break more
						}
					}
					if err := s.CompleteAttempts(ctx, batch); err != nil {
						b.Error(err)
					}
					n += len(batch)
				}
				recorded <- n
			}()
			b.SetParallelism(16) // 32 publishers on two processors
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					res, err := s.CreateMessage(ctx, store.CreateMessageParams{
						Message: &hookrelay.Message{AppID: app.ID, EventType: "call.completed", Payload: benchPayload},
						Lease:   &store.LeaseParams{Owner: "bench", Until: time.Now().Add(time.Minute), Max: endpoints},
					})
					if err != nil {
						b.Error(err)
						return
					}
					for _, t := range res.Tasks {
						tasks <- t
					}
				}
			})
			close(tasks)
			n := <-recorded
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "deliveries/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-µs/delivery")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system: steadier
// than wall time on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func result(t store.Task) store.AttemptResult {
	return store.AttemptResult{
		Owner: "bench",
		Attempt: hookrelay.Attempt{
			DeliveryID: t.Delivery.ID, MsgID: t.Message.ID, AppID: t.Message.AppID, EndpointID: t.Endpoint.ID,
			URL: t.Endpoint.URL, Status: hookrelay.StatusSuccess, ResponseStatusCode: 200, Response: "ok",
			ResponseDurationMs: 3,
		},
		Status:   hookrelay.StatusSuccess,
		Attempts: 1,
	}
}
