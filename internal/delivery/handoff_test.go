package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

// countingQueue counts the releases and claims the dispatcher makes.
type countingQueue struct {
	*sqlite.Store
	released, claimed atomic.Int64
	claims            atomic.Int64 // calls, whatever they found
	empty             atomic.Int64 // calls that found nothing
}

func (q *countingQueue) ReleaseDeliveries(ctx context.Context, owner string, ids []string) error {
	q.released.Add(int64(len(ids)))
	return q.Store.ReleaseDeliveries(ctx, owner, ids)
}

func (q *countingQueue) ClaimDeliveries(ctx context.Context, p store.ClaimParams) ([]store.Task, error) {
	q.claims.Add(1)
	tasks, err := q.Store.ClaimDeliveries(ctx, p)
	q.claimed.Add(int64(len(tasks)))
	if len(tasks) == 0 {
		q.empty.Add(1)
	}
	return tasks, err
}

// TestHandoffKeepsToTheHoldCap publishes from many goroutines at once, as
// the API does, handing each new delivery to the dispatcher when it has
// room: an endpoint is never handed more than it may hold, so nothing
// leased at publish is released again, and every message arrives once.
func TestHandoffKeepsToTheHoldCap(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		time.Sleep(2 * time.Millisecond)
	})
	f.endpoint(rc.URL, nil)
	q := &countingQueue{Store: f.st}
	cfg := baseConfig(f.st)
	cfg.Store = q
	cfg.MaxInFlightPerEndpoint = 4
	d, _ := startDispatcher(t, cfg)

	const publishers, each = 16, 25
	var handed atomic.Int64
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				lp := d.Handoff()
				m := &hookrelay.Message{AppID: f.app.ID, EventType: "call.completed",
					Payload: fmt.Appendf(nil, `{"p":%d,"i":%d}`, p, i), CreatedAt: time.Now()}
				res, err := f.st.CreateMessage(context.Background(), store.CreateMessageParams{Message: m, Lease: lp})
				if err != nil {
					t.Errorf("publish: %v", err)
				}
				if lp != nil {
					d.Take(lp, res.Tasks)
				}
				handed.Add(int64(len(res.Tasks)))
				if len(res.Tasks) < res.Deliveries {
					d.Wake()
				}
			}
		})
	}
	wg.Wait()
	const n = publishers * each
	waitFor(t, 20*time.Second, "every message", func() bool { return rc.count() >= n })
	time.Sleep(50 * time.Millisecond) // room for a duplicate to show
	if got := rc.count(); got != n {
		t.Errorf("receiver got %d requests, want %d", got, n)
	}
	seen := map[string]bool{}
	for _, r := range rc.requests() {
		if seen[string(r.body)] {
			t.Errorf("delivered twice: %s", r.body)
		}
		seen[string(r.body)] = true
	}
	if r := q.released.Load(); r != 0 {
		t.Errorf("%d deliveries released again (%d handed over at publish, %d claimed)", r, handed.Load(), q.claimed.Load())
	}
	if handed.Load() == 0 {
		t.Error("nothing was handed over at publish")
	}
	t.Logf("%d handed over at publish, %d claimed", handed.Load(), q.claimed.Load())
}

// TestHeldPayloadBytesBounded: a node stops taking work once the payloads
// it holds reach MaxHeldBytes, however many deliveries its other limits
// would let it hold, and takes more as sends finish.
func TestHeldPayloadBytesBounded(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	const endpoints, each, size = 10, 3, 4 << 10
	var ids []string
	for i := range endpoints {
		ids = append(ids, f.endpoint(fmt.Sprintf("%s/%d", rc.URL, i), nil).ID)
	}
	payload := fmt.Sprintf(`{"pad":%q}`, make([]byte, size-10))
	for range each {
		for _, id := range ids {
			f.publish(id, payload)
		}
	}
	q := &countingQueue{Store: f.st}
	cfg := baseConfig(f.st)
	cfg.Store = q
	cfg.Workers = 16
	cfg.MaxInFlightPerEndpoint = 1
	cfg.MaxHeldBytes = 4 * size
	d, _ := startDispatcher(t, cfg)
	d.Wake()
	waitFor(t, 5*time.Second, "the first requests", func() bool { return rc.count() >= 2 })
	for range 10 { // every reason to claim again
		d.Wake()
		time.Sleep(20 * time.Millisecond)
	}
	// Within the budget, plus at most one claim that began below it (two
	// deliveries: one round for endpoints the node does not know yet).
	if got := q.claimed.Load(); got > 4+2 {
		t.Errorf("claimed %d deliveries of %d bytes with a budget of %d bytes", got, size, cfg.MaxHeldBytes)
	}
	releaseOnce.Do(func() { close(release) })
	waitFor(t, 10*time.Second, "every delivery once sends finish", func() bool { return rc.count() == endpoints*each })
}
