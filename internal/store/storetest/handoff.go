package storetest

import (
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// publishLeased publishes with a lease and returns the message and result.
func (h *harness) publishLeased(appID string, lease *store.LeaseParams) (*hookrelay.Message, store.CreateMessageResult) {
	h.Helper()
	m := &hookrelay.Message{AppID: appID, EventType: "contact.created", Channels: []string{"agent-1"},
		Payload: []byte(`{"a":1}`), CreatedAt: h.tick()}
	res, err := h.s.CreateMessage(h.ctx, store.CreateMessageParams{Message: m, Lease: lease})
	h.must(err, "create message")
	return m, res
}

var handoffTests = []testCase{
	{"leased deliveries are returned as tasks and not claimable", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID, fullEndpoint)
		now := t0.Add(time.Hour)
		m, res := h.publishLeased(app.ID, &store.LeaseParams{Owner: "a", Until: now.Add(time.Minute), Max: 10})
		h.equal("deliveries", res.Deliveries, 1)
		if len(res.Tasks) > 1 {
			h.Fatalf("%d tasks for one delivery", len(res.Tasks))
		}
		if len(res.Tasks) == 0 {
			// A store may lease nothing: then the delivery is queued as usual.
			h.equal("claimable", len(h.claim("b", now, now.Add(time.Minute), 10)), 1)
			return
		}
		task := res.Tasks[0]
		h.equal("task message", task.Message.ID, m.ID)
		h.equal("task payload", string(task.Message.Payload), `{"a":1}`)
		h.equal("task endpoint", task.Endpoint, *ep)
		h.equal("task delivery endpoint", task.Delivery.EndpointID, ep.ID)
		h.equal("task delivery status", task.Delivery.Status, hookrelay.StatusPending)
		h.equal("claimed by another owner", len(h.claim("b", now, now.Add(time.Minute), 10)), 0)
		// The lease works like a claim's: the owner records the attempt...
		next := now.Add(time.Second)
		h.complete("a", task, 500, hookrelay.StatusPending, 1, &next, now)
		h.equal("delivery after the attempt", h.delivery(app.ID, m.ID, ep.ID).Attempts, 1)
		// ...and once it has expired anybody may claim.
		h.equal("claimable when due again", len(h.claim("b", next, next.Add(time.Minute), 10)), 1)
	}},
	{"an expired lease lets another node take over", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		now := t0.Add(time.Hour)
		_, res := h.publishLeased(app.ID, &store.LeaseParams{Owner: "dead", Until: now.Add(time.Minute), Max: 10})
		if len(res.Tasks) == 0 {
			h.Skip("the store leases nothing at publish")
		}
		h.equal("claimed before expiry", len(h.claim("b", now.Add(30*time.Second), now.Add(2*time.Minute), 10)), 0)
		h.equal("claimed after expiry", len(h.claim("b", now.Add(61*time.Second), now.Add(2*time.Minute), 10)), 1)
	}},
	{"Max and Want bound what is leased", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		var eps []*hookrelay.Endpoint
		for range 4 {
			eps = append(eps, h.newEndpoint(app.ID))
		}
		unwanted := eps[0].ID
		now := t0.Add(time.Hour)
		_, res := h.publishLeased(app.ID, &store.LeaseParams{
			Owner: "a", Until: now.Add(time.Minute), Max: 2,
			Want: func(id string) bool { return id != unwanted },
		})
		h.equal("deliveries", res.Deliveries, 4)
		if len(res.Tasks) > 2 {
			h.Fatalf("%d tasks leased, Max is 2", len(res.Tasks))
		}
		for _, task := range res.Tasks {
			if task.Endpoint.ID == unwanted {
				h.Fatal("leased a delivery Want refused")
			}
		}
		// Every delivery not handed over is claimable.
		h.equal("claimable", len(h.claim("b", now, now.Add(time.Minute), 10)), 4-len(res.Tasks))
	}},
	{"a failed publish hands over nothing", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		now := t0.Add(time.Hour)
		lease := &store.LeaseParams{Owner: "a", Until: now.Add(time.Minute), Max: 10}
		h.publish(app.ID, "contact.created", withEventID("dup"))
		m := &hookrelay.Message{AppID: app.ID, EventType: "contact.created", EventID: ptr("dup"), Payload: []byte(`{}`), CreatedAt: h.tick()}
		res, err := h.s.CreateMessage(h.ctx, store.CreateMessageParams{Message: m, Lease: lease})
		h.wantErr(err, hookrelay.ErrConflict, "duplicate eventId")
		h.equal("tasks", len(res.Tasks), 0)
	}},
	{"claims skip an excluded endpoint's backlog", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		busy := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.FilterTypes = []string{"busy"} })
		other := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.FilterTypes = []string{"other"} })
		for range 300 {
			h.publish(app.ID, "busy")
		}
		late, _ := h.publish(app.ID, "other")
		now := t0.Add(time.Hour)
		tasks := h.claim("a", now, now.Add(time.Minute), 5, busy.ID)
		h.equal("claimed", taskMsgIDs(tasks), []string{late.ID})
		h.equal("endpoint", tasks[0].Endpoint.ID, other.ID)
		h.equal("nothing more", len(h.claim("a", now, now.Add(time.Minute), 5, busy.ID)), 0)
		h.equal("busy endpoint when not excluded", len(h.claim("a", now, now.Add(time.Minute), 5)), 5)
	}},
}
