package sqlite

import (
	"bytes"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// BenchmarkAttemptsAppIndex measures what attempts_app_failed costs the
// recording of attempts: b.N deliveries claimed and completed 100 at a
// time (one in ten failing), as BenchmarkClaimComplete, on a store with
// the index and on one where it is dropped, one after the other in one
// process. Besides the rate it reports the WAL frames (pages) written per
// delivery, which the machine's load does not change, and the process's
// CPU time per delivery, which it changes less than the rate.
func BenchmarkAttemptsAppIndex(b *testing.B) {
	for _, index := range []bool{false, true} {
		b.Run(fmt.Sprintf("index=%v", index), func(b *testing.B) {
			s, err := Open(b.Context(), filepath.Join(b.TempDir(), "db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := b.Context()
			if !index {
				if _, err := s.wdb.ExecContext(ctx, `DROP INDEX attempts_app_failed`); err != nil {
					b.Fatal(err)
				}
			}
			app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "bench"}
			if err := s.CreateApplication(ctx, app); err != nil {
				b.Fatal(err)
			}
			ep := &hookrelay.Endpoint{AppID: app.ID, URL: "https://example.com/hook", Version: 1, Secret: "whsec_x"}
			if err := s.CreateEndpoint(ctx, ep); err != nil {
				b.Fatal(err)
			}
			payload := append(append([]byte(`{"type":"call.completed","data":"`), bytes.Repeat([]byte("x"), 400)...), `"}`...)
			for range b.N {
				if _, err := s.CreateMessage(ctx, store.CreateMessageParams{Message: &hookrelay.Message{
					AppID: app.ID, EventType: "call.completed", Payload: payload}}); err != nil {
					b.Fatal(err)
				}
			}
			// The WAL from here on holds only what recording writes.
			for _, q := range []string{`PRAGMA wal_autocheckpoint = 0`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
				if _, err := s.wdb.ExecContext(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime(b)
			for done := 0; done < b.N; {
				now := time.Now()
				tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{Owner: "bench", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 100})
				if err != nil || len(tasks) == 0 {
					b.Fatalf("claim after %d of %d: %d tasks, %v", done, b.N, len(tasks), err)
				}
				results := make([]store.AttemptResult, len(tasks))
				for i, t := range tasks {
					// One in ten fails, as a receiver having a bad day.
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
			elapsed, cpu := time.Since(start), cpuTime(b)-cpu0
			b.StopTimer()
			var busy, frames, moved int
			if err := s.wdb.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &moved); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/delivery")
			b.ReportMetric(float64(frames)/float64(b.N), "wal-pages/delivery")
		})
	}
}

// cpuTime is the CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
