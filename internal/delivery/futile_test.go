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

// TestNoClaimsWhileTheExcludedStayFull: an endpoint working through a
// backlog in the store is left out of claims while it holds enough (its
// queue refills half its window); a send it finishes starts a claim only
// once it has room, not while a claim could only leave it out again and
// find nothing. Before, every finished send of a full endpoint started
// such a claim, a few milliseconds apart: on PostgreSQL each read the
// backlog's index entries, and they delayed the claims that were needed.
func TestNoClaimsWhileTheExcludedStayFull(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		time.Sleep(30 * time.Millisecond)
	})
	ep := f.endpoint(rc.URL, nil)
	const n = 300
	for i := range n {
		f.publish(ep.ID, fmt.Sprintf(`{"i":%d}`, i))
	}
	q := &countingQueue{Store: f.st}
	startDispatcher(t, baseConfig(q))
	waitFor(t, 20*time.Second, "the backlog delivered", func() bool { return rc.count() == n })
	// The last claim, after the backlog is gone, may find nothing; so may
	// one that ran while the last sends finished.
	if empty := q.empty.Load(); empty > 3 {
		t.Fatalf("%d of %d claims found nothing while %d deliveries waited for the only endpoint", empty, q.claims.Load(), n)
	}
	t.Logf("%d claims, %d found nothing", q.claims.Load(), q.empty.Load())
}
