package delivery_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestWakesBesideAFullEndpoint: while an endpoint is at its cap, wake-ups
// from publishes to it do not each start a claim that could only find
// that endpoint's work (the gap after a futile claim doubles from 25 ms to
// 200 ms while they stay futile), and a wake-up for another endpoint's
// work is still answered.
func TestWakesBesideAFullEndpoint(t *testing.T) {
	f := newFixture(t)
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	stuck := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	healthy := newReceiver(t, nil)
	stuckEp := f.endpoint(stuck.URL, nil)
	healthyEp := f.endpoint(healthy.URL, nil)
	q := &countingQueue{Store: f.st}
	cfg := baseConfig(q)
	cfg.Timeout = 30 * time.Second
	d, _ := startDispatcher(t, cfg)

	for i := range 20 {
		f.publish(stuckEp.ID, fmt.Sprintf(`{"stuck":%d}`, i))
	}
	d.Wake()
	waitFor(t, 5*time.Second, "the stuck endpoint to get its first request", func() bool {
		return stuck.count() >= 1
	})
	// The stuck endpoint holds what it may; its other deliveries wait in
	// the store, and every claim now excludes it.
	const wakes = 100
	before := q.claims.Load()
	start := time.Now()
	for i := range wakes {
		f.publish(stuckEp.ID, fmt.Sprintf(`{"more":%d}`, i))
		d.Wake()
		time.Sleep(10 * time.Millisecond)
	}
	claims, took := q.claims.Load()-before, time.Since(start)
	// Three claims while the gap grows (after 25, 50 and 100 ms), then one
	// per 200 ms at most, and a few for other reasons. A claim per wake-up
	// would be about 100; one per 25 ms, about 40.
	if limit := int64(took/(200*time.Millisecond)) + 3 + 5; claims > limit {
		t.Fatalf("%d claims for %d wake-ups in %v beside a full endpoint, want at most %d", claims, wakes, took, limit)
	}
	t.Logf("%d claims for %d wake-ups in %v", claims, wakes, took)

	for i := range 5 {
		f.publish(healthyEp.ID, fmt.Sprintf(`{"healthy":%d}`, i))
	}
	d.Wake()
	waitFor(t, 2*time.Second, "the healthy endpoint's deliveries, queued in the store, after one wake-up", func() bool {
		return healthy.count() == 5
	})
	if n := stuck.count(); n != 1 {
		t.Fatalf("the stuck endpoint got %d requests, want 1 (it never answers)", n)
	}
}
