package delivery

import (
	"context"
	"time"
)

// Lease keeping: the deliveries a run holds (waiting, in flight, or with a
// result not yet recorded; counted in run.leased) stay leased to it until
// they are recorded or released, and the store learns that the node is
// alive.

// releaseQueued gives back every task waiting in a local queue.
func (r *run) releaseQueued() {
	var ids []string
	for id, ep := range r.waiting {
		for _, h := range ep.queue {
			ids = append(ids, h.task.Delivery.ID)
			r.heldBytes -= len(h.task.Message.Payload)
		}
		ep.queue = nil
		delete(r.waiting, id)
	}
	r.queued = 0
	if len(ids) > 0 {
		r.release(ids)
	}
}

// release drops this node's lease on the given deliveries and wakes the
// loop to claim again. A failure is logged: the leases then expire by
// themselves.
//
// It runs on a goroutine of its own so that the loop never waits for it;
// Run waits for every release before returning.
func (r *run) release(ids []string) {
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if err := r.q.ReleaseDeliveries(ctx, r.owner, ids); err != nil {
			r.log.Warn("release deliveries", "deliveries", len(ids), "err", err)
		} else {
			// They are due again; a claim that ran meanwhile did not see them.
			r.d.Wake()
		}
		r.leased.Add(-int64(len(ids)))
	}()
}

// heartbeat tells the store this node is alive and learns how many nodes
// share the endpoints' limits. On failure the last count stays.
func (r *run) heartbeat() {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	n, err := r.q.Heartbeat(ctx, r.owner, r.cfg.Now(), r.cfg.LeaseTTL)
	if err != nil {
		r.log.Warn("heartbeat", "err", err)
		return
	}
	if prev := r.liveNodes.Swap(int64(max(n, 1))); prev != int64(n) {
		r.log.Info("live nodes", "nodes", n)
	}
}

// extendLeases sends a heartbeat every LeaseTTL/3 and, while the node
// holds any delivery (waiting, in flight, or waiting to be recorded),
// renews the leases that end within 5/6 of LeaseTTL. Such a lease is
// renewed at a tick at least LeaseTTL/2 before its end, so one failed
// renewal leaves another tick before it runs out; a delivery held less
// than LeaseTTL/6 (most are) is never renewed, which spares the store a
// rewrite of every held row at every tick.
func (r *run) extendLeases(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(r.cfg.LeaseTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		r.heartbeat()
		if r.leased.Load() <= 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		now := r.cfg.Now()
		err := r.q.ExtendLeases(ctx, r.owner, now.Add(r.cfg.LeaseTTL*5/6), now.Add(r.cfg.LeaseTTL))
		cancel()
		if err != nil {
			r.log.Warn("extend leases", "err", err)
		}
	}
}
