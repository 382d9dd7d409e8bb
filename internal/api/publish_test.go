package api

import (
	"sync"
	"testing"

	"github.com/hookrelay/hookrelay/internal/store"
)

// takingHandoff leases up to max deliveries of each publish and remembers
// what every publish handed over.
type takingHandoff struct {
	max   int
	mu    sync.Mutex
	asked int
	taken [][]store.Task
}

func (h *takingHandoff) Handoff() *store.LeaseParams {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.asked++
	return &store.LeaseParams{Owner: "test-node", Max: h.max}
}

func (h *takingHandoff) Take(_ *store.LeaseParams, tasks []store.Task) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.taken = append(h.taken, tasks)
}

// A configured Handoff gets the deliveries of a publish, and the waker is
// woken only for the deliveries left in the queue.
func TestPublishHandsOffThroughConfig(t *testing.T) {
	ho := &takingHandoff{max: 1}
	h := newHarness(t, func(c *Config) { c.Handoff = ho })
	h.mustDo(201, "POST", "/api/v1/app", testAdminToken, `{"name":"a","uid":"a"}`, nil)
	for _, u := range []string{"https://one.example.test/", "https://two.example.test/"} {
		h.mustDo(201, "POST", "/api/v1/app/a/endpoint", testAdminToken, map[string]any{"url": u}, nil)
	}

	var msg struct{ ID string }
	h.mustDo(202, "POST", "/api/v1/app/a/msg", testAdminToken, `{"eventType":"x.y","payload":{}}`, &msg)
	if ho.asked != 1 || len(ho.taken) != 1 || len(ho.taken[0]) != 1 {
		t.Fatalf("handoff asked %d times, took %v; want one publish handing over one task", ho.asked, ho.taken)
	}
	if got := ho.taken[0][0].Delivery.MsgID; got != msg.ID {
		t.Errorf("handed-over task is for message %s, want %s", got, msg.ID)
	}
	if n := h.waker.n.Load(); n != 1 {
		t.Errorf("waker woken %d times, want once for the delivery left queued", n)
	}

	ho.max = 2
	h.mustDo(202, "POST", "/api/v1/app/a/msg", testAdminToken, `{"eventType":"x.y","payload":{}}`, nil)
	if len(ho.taken) != 2 || len(ho.taken[1]) != 2 {
		t.Fatalf("second publish took %v, want both deliveries", ho.taken[1:])
	}
	if n := h.waker.n.Load(); n != 1 {
		t.Errorf("waker woken %d times in all, want no wake for a publish handed over whole", n)
	}
}
