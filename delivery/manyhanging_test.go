package delivery_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
)

// TestManyDeadEndpointsDoNotTakeEveryWorker gives a node more dead
// endpoints than its workers could serve at their full caps (10 × 4 > 16
// workers), each with a backlog. Once their first attempts have gone
// unanswered they get one request at a time, and a healthy endpoint's
// deliveries go through beside them.
func TestManyDeadEndpointsDoNotTakeEveryWorker(t *testing.T) {
	f := newFixture(t)
	hang := make(chan struct{})
	var hangOnce sync.Once
	t.Cleanup(func() { hangOnce.Do(func() { close(hang) }) })
	var timedOut atomic.Int64
	slow := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-hang:
		case <-r.Context().Done():
			timedOut.Add(1)
		}
	})
	fast := newReceiver(t, nil)
	const dead = 10
	var deadIDs []string
	for range dead {
		deadIDs = append(deadIDs, f.endpoint(slow.URL, func(ep *hookrelay.Endpoint) { ep.Options.TimeoutSeconds = 1 }).ID)
	}
	fastEp := f.endpoint(fast.URL, nil)
	cfg := baseConfig(f.st)
	cfg.Workers = 16
	cfg.MaxInFlightPerEndpoint = 4
	cfg.ShutdownGrace = 100 * time.Millisecond
	d, _ := startDispatcher(t, cfg)

	for i := range 20 {
		for _, id := range deadIDs {
			f.publish(id, fmt.Sprintf(`{"dead":%d}`, i))
		}
	}
	d.Wake()
	// The first round fills every worker and times out.
	waitFor(t, 5*time.Second, "the first round of requests to the dead endpoints to time out", func() bool {
		return timedOut.Load() >= 16
	})

	const n = 40
	start := time.Now()
	for i := range n {
		f.publish(fastEp.ID, fmt.Sprintf(`{"fast":%d}`, i))
	}
	d.Wake()
	waitFor(t, 5*time.Second, "the healthy endpoint to get every message beside the dead ones", func() bool {
		return fast.count() == n
	})
	if took := time.Since(start); took > 700*time.Millisecond {
		t.Errorf("the healthy endpoint needed %v beside %d dead endpoints (request timeout 1s)", took, dead)
	}
	if in := slow.count() - int(timedOut.Load()); in > dead {
		t.Errorf("%d requests in flight to dead endpoints, want at most one each (%d)", in, dead)
	}
}
