package delivery_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestWindowAdaptsToARealReceiver sends a backlog to a receiver on loopback
// that answers after 100 ms, then answers 503, then, slowed from 100 ms to
// 1.5 s, and finally recovers. The endpoint's window, as the dispatcher
// publishes it, and the requests the receiver sees at once grow to the cap
// while it answers well, fall when it answers 503 or slows down, and grow
// again when it recovers.
func TestWindowAdaptsToARealReceiver(t *testing.T) {
	f := newFixture(t)
	const (
		modeOK = iota
		mode503
		modeSlow
	)
	var mode atomic.Int32
	var now, most atomic.Int32 // requests in the handler now; the most since reset
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		n := now.Add(1)
		defer now.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		switch mode.Load() {
		case modeOK:
			time.Sleep(100 * time.Millisecond)
			w.WriteHeader(http.StatusNoContent)
		case mode503:
			time.Sleep(20 * time.Millisecond)
			w.WriteHeader(http.StatusServiceUnavailable)
		case modeSlow:
			time.Sleep(1500 * time.Millisecond)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	ep := f.endpoint(rc.URL, nil)
	cfg := baseConfig(f.st)
	cfg.MaxInFlightPerEndpoint = 8
	d, _ := startDispatcher(t, cfg)
	for i := range 1500 {
		f.publish(ep.ID, fmt.Sprintf(`{"n":%d}`, i))
	}
	d.Wake()
	window := func() int {
		_, size, _, _, ok := d.EndpointWindow(ep.ID)
		if !ok {
			return 0
		}
		return size
	}

	waitFor(t, 10*time.Second, "the window to grow to the cap of 8", func() bool { return window() == 8 })
	waitFor(t, 5*time.Second, "8 requests at once at the receiver", func() bool { return most.Load() == 8 })
	if _, size, max, _, _ := d.EndpointWindow(ep.ID); size != 8 || max != 8 {
		t.Fatalf("window %d of %d, want 8 of 8", size, max)
	}

	mode.Store(mode503)
	waitFor(t, 5*time.Second, "503s to bring the window down to one", func() bool { return window() == 1 })
	time.Sleep(200 * time.Millisecond) // let the requests sent before the cut finish
	most.Store(now.Load())
	time.Sleep(300 * time.Millisecond) // fifteen 503s or so at 20 ms
	if m := most.Load(); m > 2 {
		t.Fatalf("%d requests at once while the receiver answers 503, want at most 2", m)
	}

	mode.Store(modeOK)
	waitFor(t, 10*time.Second, "the window to grow back to 8", func() bool { return window() == 8 })

	mode.Store(modeSlow)
	waitFor(t, 15*time.Second, "answers slowed to 1.5 s to cut the window to 4 or less", func() bool { return window() <= 4 })
	mode.Store(modeOK)
}
