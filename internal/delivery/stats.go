package delivery

import "sync/atomic"

// Stats is a snapshot of a dispatcher, for monitoring. The counters count
// from NewDispatcher on, across runs.
type Stats struct {
	// Running is true while Run runs.
	Running bool
	// InFlight is the number of requests being sent now.
	InFlight int
	// Leased is the number of deliveries this node holds: waiting here, in
	// flight, or with a result not yet recorded.
	Leased int
	// LiveNodes is the number of dispatchers alive on the store, this one
	// included, at the last heartbeat (0 when not running).
	LiveNodes int
	// ClaimErrors counts claims of due deliveries that failed.
	ClaimErrors uint64
	// RecordErrors counts failed store calls recording attempt results
	// (each is retried; see the recorder).
	RecordErrors uint64
}

// dispatchStats are the counters behind Stats that outlive a run.
type dispatchStats struct {
	inFlight     atomic.Int64
	claimErrors  atomic.Uint64
	recordErrors atomic.Uint64
}

// Stats returns the dispatcher's current state. It is cheap (atomic loads)
// and safe to call from any goroutine.
func (d *Dispatcher) Stats() Stats {
	s := Stats{
		InFlight:     int(d.stats.inFlight.Load()),
		ClaimErrors:  d.stats.claimErrors.Load(),
		RecordErrors: d.stats.recordErrors.Load(),
	}
	if r := d.cur.Load(); r != nil {
		s.Running = true
		s.Leased = int(max(r.leased.Load(), 0))
		s.LiveNodes = int(r.liveNodes.Load())
	}
	return s
}

// EndpointWindow returns this node's adaptive window of an endpoint (see
// window.go): node names the dispatcher run that holds it, size is how many
// requests the endpoint may have in flight on this node now, max its cap
// on this node (--max-in-flight or its maxInFlight, shared out among the
// live nodes), inFlight the requests in flight now. ok is false when the
// dispatcher is not running or holds no state for the endpoint: it has
// sent it nothing lately (state is dropped after a minute idle), and its
// next request would go alone. Safe to call from any goroutine.
func (d *Dispatcher) EndpointWindow(endpointID string) (node string, size, max, inFlight int, ok bool) {
	r := d.cur.Load()
	if r == nil {
		return "", 0, 0, 0, false
	}
	size, max, inFlight, ok = r.gate.window(endpointID)
	return r.owner, size, max, inFlight, ok
}
