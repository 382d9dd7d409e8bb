package delivery

import (
	"sync"

	"github.com/hookrelay/hookrelay/internal/store"
)

// gate decides, for publishing goroutines, which new deliveries this node
// leases at publish. An endpoint is handed no more than its hold cap,
// counting what the loop holds for it (queued and in flight), what has been
// handed over but not yet seen by the loop, and what publishes still in
// their transaction have reserved. Anything handed over beyond the cap
// would only be released again, one write more per delivery.
//
// The loop reports its side with update and forget; publishes reserve through
// the Want of the LeaseParams that open returns and settle with settle,
// which every publish must call once, whether or not it succeeded.
type gate struct {
	mu    sync.Mutex
	eps   map[string]*gateEndpoint
	lease map[*store.LeaseParams]map[string]int // reservations of publishes in progress
}

type gateEndpoint struct {
	cap     int  // hold cap, as the loop last reported it
	loop    int  // held by the loop: queued and in flight
	pending int  // reserved by publishes in progress, or handed over and not yet drained
	known   bool // the loop has reported it (and will forget it)
	// What the loop last reported of the endpoint's window, for
	// Dispatcher.EndpointWindow: the limit it allows now, its cap and the
	// requests in flight.
	window, maxWindow, inFlight int
}

// firstHoldCap is the hold cap of an endpoint the loop does not know: that
// of a new endpoint state, one request in flight and one more round.
const firstHoldCap = 2

func newGate() *gate {
	return &gate{eps: make(map[string]*gateEndpoint), lease: make(map[*store.LeaseParams]map[string]int)}
}

// open registers lp and gives it a Want that reserves room for each
// endpoint it accepts.
func (g *gate) open(lp *store.LeaseParams) {
	g.mu.Lock()
	g.lease[lp] = nil
	g.mu.Unlock()
	lp.Want = func(endpointID string) bool { return g.reserve(lp, endpointID) }
}

func (g *gate) reserve(lp *store.LeaseParams, endpointID string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	res, ok := g.lease[lp]
	if !ok {
		return false // settled already: a late call takes nothing
	}
	e := g.eps[endpointID]
	if e == nil {
		e = &gateEndpoint{cap: firstHoldCap}
		g.eps[endpointID] = e
	}
	if e.loop+e.pending >= e.cap {
		return false
	}
	e.pending++
	if res == nil {
		res = make(map[string]int, 1)
		g.lease[lp] = res
	}
	res[endpointID]++
	return true
}

// settle ends lp's publish: its reservations give way to the tasks it
// actually leased, which stay counted until the loop drains them. A publish
// may reserve more than it leases (it failed, or ran twice).
func (g *gate) settle(lp *store.LeaseParams, tasks []store.Task) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for id, n := range g.lease[lp] {
		if e := g.eps[id]; e != nil {
			e.pending -= n
			if e.pending == 0 && !e.known {
				delete(g.eps, id) // reserved in vain: the loop never heard of it
			}
		}
	}
	delete(g.lease, lp)
	for _, t := range tasks {
		e := g.eps[t.Endpoint.ID]
		if e == nil {
			e = &gateEndpoint{cap: firstHoldCap}
			g.eps[t.Endpoint.ID] = e
		}
		e.pending++
	}
}

// update tells the gate that the loop has taken drained over (they now
// count in what it holds) and what it holds for each endpoint of eps.
func (g *gate) update(drained []*store.Task, eps []*endpointState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range drained {
		if e := g.eps[t.Endpoint.ID]; e != nil {
			e.pending--
		}
	}
	for _, ep := range eps {
		e := g.eps[ep.id]
		if e == nil {
			e = &gateEndpoint{}
			g.eps[ep.id] = e
		}
		e.cap, e.loop, e.known = ep.holdCap(), ep.inFlight+len(ep.queue), true
		e.window, e.maxWindow, e.inFlight = ep.limit(), ep.cap, ep.inFlight
	}
}

// window returns what the loop last reported of an endpoint's window; ok
// is false when the loop does not know the endpoint.
func (g *gate) window(id string) (size, max, inFlight int, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.eps[id]
	if e == nil || !e.known {
		return 0, 0, 0, false
	}
	return e.window, e.maxWindow, e.inFlight, true
}

// forget drops an endpoint the loop no longer tracks, unless publishes
// still count on it.
func (g *gate) forget(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.eps[id]; e != nil && e.pending == 0 {
		delete(g.eps, id)
	}
}
