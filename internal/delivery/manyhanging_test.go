package delivery_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
)

// TestManyDeadEndpointsDoNotTakeEveryWorker gives a node more dead
// endpoints than its workers could serve at their full caps (10 × 4 > 16
// workers), each with a backlog. An endpoint gets more than one request at
// a time only once it answers, so the dead ones never hold more than one
// each, and a healthy endpoint's deliveries go through beside them.
func TestManyDeadEndpointsDoNotTakeEveryWorker(t *testing.T) {
	f := newFixture(t)
	hang := make(chan struct{})
	var hangOnce sync.Once
	t.Cleanup(func() { hangOnce.Do(func() { close(hang) }) })
	// The dead endpoints' timeout: were every worker held by them, the
	// healthy endpoint would wait at least this long.
	const timeout = 3 * time.Second
	dl := &deadLog{active: map[*http.Request]deadReq{}}
	slow := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		dl.arrive(r)
		select {
		case <-hang:
		case <-r.Context().Done():
			dl.timedOut(r)
		}
		dl.leave(r)
	})
	fast := newReceiver(t, nil)
	const dead = 10
	var deadIDs []string
	for i := range dead {
		url := fmt.Sprintf("%s/dead/%d", slow.URL, i)
		deadIDs = append(deadIDs, f.endpoint(url, func(ep *hookrelay.Endpoint) { ep.Options.TimeoutSeconds = int(timeout / time.Second) }).ID)
	}
	fastEp := f.endpoint(fast.URL, nil)
	cfg := baseConfig(f.st)
	cfg.Workers = 16
	cfg.MaxInFlightPerEndpoint = 4
	cfg.ShutdownGrace = 100 * time.Millisecond
	d, _ := startDispatcher(t, cfg)

	// Watch, from before the first request, what the dead endpoints hold.
	stop := make(chan struct{})
	watched := make(chan [2]int)
	go func() {
		worstTotal, worstOne := 0, 0
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			total, one := dl.inFlight(time.Now(), timeout)
			worstTotal, worstOne = max(worstTotal, total), max(worstOne, one)
			select {
			case <-stop:
				watched <- [2]int{worstTotal, worstOne}
				return
			case <-tick.C:
			}
		}
	}()
	for i := range 20 {
		for _, id := range deadIDs {
			f.publish(id, fmt.Sprintf(`{"dead":%d}`, i))
		}
	}
	d.Wake()
	waitFor(t, 10*time.Second, "the first requests to the dead endpoints to time out", func() bool {
		return dl.timeouts() >= dead
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
	took := time.Since(start)
	close(stop)
	w := <-watched
	if took >= timeout {
		t.Errorf("the healthy endpoint needed %v beside %d dead endpoints (their request timeout: %v)", took, dead, timeout)
	}
	if w[0] > dead {
		t.Errorf("dead endpoints held %d requests at once, want at most one each (%d)", w[0], dead)
	}
	if w[1] > 1 {
		t.Errorf("a dead endpoint held %d requests at once, want one", w[1])
	}
}

// deadLog follows the requests a dead receiver holds. A request counts as
// in flight only while it is younger than the client's timeout less a
// margin (the client started its clock before the request arrived, and
// gives it up even if the receiver has not noticed yet), so that neither
// lag can inflate the figures.
type deadLog struct {
	mu        sync.Mutex
	active    map[*http.Request]deadReq
	nTimeouts int
}

type deadReq struct {
	path string
	at   time.Time
}

func (l *deadLog) arrive(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.active[r] = deadReq{path: r.URL.Path, at: time.Now()}
}

func (l *deadLog) timedOut(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nTimeouts++
}

func (l *deadLog) leave(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.active, r)
}

func (l *deadLog) timeouts() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nTimeouts
}

// inFlight returns the requests in flight to all dead endpoints and the
// most in flight to one of them.
func (l *deadLog) inFlight(now time.Time, timeout time.Duration) (total, worstOne int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	per := map[string]int{}
	for _, q := range l.active {
		if now.Sub(q.at) >= timeout-200*time.Millisecond {
			continue
		}
		total++
		per[q.path]++
		worstOne = max(worstOne, per[q.path])
	}
	return total, worstOne
}
