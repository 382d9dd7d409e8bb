// Package fanout decides where a published message goes: which endpoints of
// its application receive it, and which of those deliveries the publishing
// node keeps for its own dispatcher (the hand-off) instead of queueing them
// for any node to claim.
//
// It is pure Go with no I/O. The store drivers read the candidate endpoints
// and write the rows; every driver asks Plan, so the rule exists once.
package fanout

import (
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Delivery is one delivery a publish inserts.
type Delivery struct {
	// ID is the new delivery's ID.
	ID string
	// Endpoint points into the candidates given to Plan.
	Endpoint *hookrelay.Endpoint
	// Leased is true when the delivery is inserted already leased to
	// p.Lease.Owner until p.Lease.Until; its task is in Plan.Tasks.
	Leased bool
}

// Result is what one publish inserts.
type Result struct {
	Deliveries []Delivery
	// Tasks are the leased deliveries, in the order of Deliveries, exactly
	// as a claim would have returned them.
	Tasks []store.Task
}

// Plan decides the deliveries of p.Message among candidates, the endpoints
// the driver read for it: every endpoint of the message's application, or,
// when p.OnlyEndpointID is set, at least that endpoint.
//
//   - Without OnlyEndpointID, an endpoint receives the message when it is
//     enabled and both its event type filter and its channels match
//     (hookrelay.Endpoint.Receives).
//   - With OnlyEndpointID, that endpoint alone receives it, whatever its
//     filters; it must be among candidates and belong to the message's
//     application, else Plan returns hookrelay.ErrNotFound.
//   - When p.Lease is set, the first p.Lease.Max deliveries (in candidate
//     order) whose endpoint p.Lease.Want accepts are leased. Want is called
//     at most once per delivery and not at all once Max is reached. A
//     message with a DeliverAt is never leased: its deliveries wait in the
//     store until then.
//
// now is the deliveries' creation time as the driver stores it.
func Plan(p store.CreateMessageParams, candidates []hookrelay.Endpoint, now time.Time) (Result, error) {
	m := p.Message
	var res Result
	if p.OnlyEndpointID != "" {
		for i := range candidates {
			if ep := &candidates[i]; ep.ID == p.OnlyEndpointID && ep.AppID == m.AppID {
				res.Deliveries = []Delivery{{ID: hookrelay.NewID(hookrelay.PrefixDelivery), Endpoint: ep}}
				break
			}
		}
		if res.Deliveries == nil {
			return Result{}, hookrelay.ErrNotFound
		}
	} else {
		for i := range candidates {
			if ep := &candidates[i]; ep.AppID == m.AppID && ep.Receives(m.EventType, m.Channels) {
				res.Deliveries = append(res.Deliveries, Delivery{ID: hookrelay.NewID(hookrelay.PrefixDelivery), Endpoint: ep})
			}
		}
	}
	lease := p.Lease
	if lease == nil || m.DeliverAt != nil {
		return res, nil
	}
	for i := range res.Deliveries {
		if len(res.Tasks) >= lease.Max {
			break
		}
		d := &res.Deliveries[i]
		if lease.Want != nil && !lease.Want(d.Endpoint.ID) {
			continue
		}
		d.Leased = true
		next := m.CreatedAt
		res.Tasks = append(res.Tasks, store.Task{
			Delivery: hookrelay.Delivery{
				ID: d.ID, MsgID: m.ID, AppID: m.AppID, EndpointID: d.Endpoint.ID,
				Status: hookrelay.StatusPending, NextAttempt: &next,
				CreatedAt: now, UpdatedAt: now,
			},
			Message:  *m,
			Endpoint: *d.Endpoint,
		})
	}
	return res, nil
}
