package api

import (
	"context"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Handoff takes a publish's deliveries directly: the publish leases them to
// it in the same transaction, so fresh messages start at once without a
// claim (delivery.Dispatcher implements it).
type Handoff interface {
	// Handoff returns the lease for one publish, or nil for none.
	Handoff() *store.LeaseParams
	// Take is called once for every lease Handoff returned, with the
	// tasks the publish leased: none when it failed.
	Take(lp *store.LeaseParams, tasks []store.Task)
}

// publish stores a message of app and gets its deliveries going: handed
// straight to the local dispatcher when it has room, queued (and the
// dispatcher woken) otherwise.
func (s *server) publish(ctx context.Context, app *hookrelay.Application, p store.CreateMessageParams) (store.CreateMessageResult, error) {
	if m := p.Message; m != nil && m.PayloadExpiresAt == nil {
		at := m.CreatedAt.Add(s.retention)
		m.PayloadExpiresAt = &at
	}
	h := s.handoff
	if h != nil {
		p.Lease = h.Handoff()
	}
	res, err := s.store.CreateMessage(ctx, p)
	if err != nil {
		if p.Lease != nil {
			h.Take(p.Lease, nil) // gives back the room the publish asked for
		}
		return res, err
	}
	if p.Lease != nil {
		for i := range res.Tasks {
			res.Tasks[i].AppRateLimit = app.RateLimit
		}
		h.Take(p.Lease, res.Tasks)
	}
	if res.Deliveries > len(res.Tasks) {
		s.wake()
	}
	return res, nil
}
