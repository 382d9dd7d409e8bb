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
