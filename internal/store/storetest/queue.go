package storetest

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

func (h *harness) claim(owner string, now, until time.Time, limit int, exclude ...string) []store.Task {
	h.Helper()
	tasks, err := h.s.ClaimDeliveries(h.ctx, store.ClaimParams{
		Owner: owner, Now: now, LeaseUntil: until, Limit: limit, ExcludeEndpoints: exclude,
	})
	h.must(err, "claim deliveries")
	return tasks
}

func taskMsgIDs(tasks []store.Task) []string {
	return ids(tasks, func(t store.Task) string { return t.Message.ID })
}

func createdAt(t time.Time) func(*store.CreateMessageParams) {
	return func(p *store.CreateMessageParams) { p.Message.CreatedAt = t }
}

var queueTests = []testCase{
	{"deliverAt: deliveries first due then, never leased at publish, read back", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		at := t0.Add(time.Hour)
		msg, n := h.publish(app.ID, "x", createdAt(t0), func(p *store.CreateMessageParams) {
			p.Message.DeliverAt = &at
			p.Lease = &store.LeaseParams{Owner: "a", Until: t0.Add(2 * time.Hour), Max: 10}
		})
		h.equal("deliveries", n, 1)
		due, ok, err := h.s.NextDue(h.ctx)
		h.must(err, "next due")
		h.equal("next due at deliverAt", due, at)
		h.equal("anything due", ok, true)
		h.equal("claimed before deliverAt", len(h.claim("b", at.Add(-time.Millisecond), at.Add(time.Minute), 10)), 0)
		got, err := h.s.GetMessage(h.ctx, app.ID, msg.ID)
		h.must(err, "get message")
		h.equal("deliverAt read back", got.DeliverAt, &at)
		ems, err := h.s.ListEndpointMessages(h.ctx, store.ListDeliveriesParams{AppID: app.ID, EndpointID: ep.ID, Page: store.Page{Limit: 10}})
		h.must(err, "list endpoint messages")
		h.equal("endpoint messages", len(ems), 1)
		h.equal("next attempt", ems[0].Delivery.NextAttempt, &at)
		h.equal("message deliverAt", ems[0].Message.DeliverAt, &at)
		tasks := h.claim("b", at, at.Add(time.Minute), 10)
		h.equal("claimed at deliverAt", ids(tasks, func(t store.Task) string { return t.Endpoint.ID }), []string{ep.ID})
		h.equal("task's message deliverAt", tasks[0].Message.DeliverAt, &at)
		plain, _ := h.publish(app.ID, "x", createdAt(t0))
		got, err = h.s.GetMessage(h.ctx, app.ID, plain.ID)
		h.must(err, "get message")
		if got.DeliverAt != nil {
			h.Fatalf("a message without deliverAt read back with %v", *got.DeliverAt)
		}
	}},
	{"claims due deliveries with message and endpoint", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID, fullEndpoint)
		now := t0.Add(time.Hour)
		due, _ := h.publish(app.ID, "call.completed", withChannels("agent-1"), createdAt(t0.Add(time.Minute)))
		h.publish(app.ID, "call.completed", withChannels("agent-1"), createdAt(now.Add(time.Second)))
		tasks := h.claim("a", now, now.Add(time.Minute), 10)
		h.equal("claimed", len(tasks), 1)
		task := tasks[0]
		h.equal("message", task.Message, *due)
		h.equal("endpoint", task.Endpoint, *ep)
		h.equal("delivery message", task.Delivery.MsgID, due.ID)
		h.equal("delivery endpoint", task.Delivery.EndpointID, ep.ID)
		h.equal("delivery app", task.Delivery.AppID, app.ID)
		h.equal("delivery status", task.Delivery.Status, hookrelay.StatusPending)
		h.equal("delivery next attempt", task.Delivery.NextAttempt, &due.CreatedAt)
		h.equal("claimed later", len(h.claim("a", now.Add(2*time.Second), now.Add(time.Minute), 10)), 1)
	}},
	{"claimed tasks carry their application's rate limit", func(h *harness) {
		limited := h.newApp(hookrelay.DefaultEnvironment, func(a *hookrelay.Application) { a.RateLimit = ptr(7) })
		plain := h.newApp(hookrelay.DefaultEnvironment)
		inherits := h.newEndpoint(limited.ID)
		own := h.newEndpoint(limited.ID, func(e *hookrelay.Endpoint) { e.RateLimit = ptr(3) })
		other := h.newEndpoint(plain.ID)
		want := map[string]*int{inherits.ID: ptr(7), own.ID: ptr(7), other.ID: nil}
		check := func(what string, tasks []store.Task, n int) {
			h.Helper()
			h.equal(what+": claimed", len(tasks), n)
			for _, t := range tasks {
				h.equal(what+": application rate limit", t.AppRateLimit, want[t.Endpoint.ID])
			}
		}
		h.publish(limited.ID, "x", createdAt(t0))
		h.publish(plain.ID, "x", createdAt(t0))
		now := t0.Add(time.Hour)
		check("claim", h.claim("a", now, now.Add(time.Minute), 10), 3)
		// The lease ran out: claimed again, by the path for expired leases.
		later := now.Add(2 * time.Minute)
		check("claim after the lease", h.claim("b", later, later.Add(time.Minute), 10), 3)
		h.publish(limited.ID, "x", createdAt(t0))
		h.publish(plain.ID, "x", createdAt(t0))
		check("claim leaving an endpoint out", h.claim("c", later, later.Add(time.Minute), 10, own.ID), 2)
	}},
	{"oldest due first, up to the limit", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		var want []string
		for i := range 5 {
			// Created in reverse time order: due order differs from ID order.
			m, _ := h.publish(app.ID, "x", createdAt(t0.Add(time.Duration(10-i)*time.Second)))
			want = append([]string{m.ID}, want...)
		}
		now := t0.Add(time.Hour)
		h.equal("first claim", taskMsgIDs(h.claim("a", now, now.Add(time.Minute), 2)), want[:2])
		h.equal("second claim", taskMsgIDs(h.claim("a", now, now.Add(time.Minute), 2)), want[2:4])
		h.equal("third claim", taskMsgIDs(h.claim("a", now, now.Add(time.Minute), 2)), want[4:])
		h.equal("nothing left", len(h.claim("a", now, now.Add(time.Minute), 2)), 0)
		h.equal("zero limit", len(h.claim("b", now.Add(time.Hour), now.Add(2*time.Hour), 0)), 0)
	}},
	{"a live lease excludes, an expired one does not", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		h.publish(app.ID, "x", createdAt(t0))
		now := t0.Add(time.Hour)
		lease := now.Add(time.Minute)
		first := h.claim("a", now, lease, 10)
		h.equal("first claim", len(first), 1)
		h.equal("claim under a live lease", len(h.claim("b", lease.Add(-time.Microsecond), lease.Add(time.Hour), 10)), 0)
		second := h.claim("b", lease, lease.Add(time.Minute), 10)
		h.equal("claim at lease expiry", len(second), 1)
		h.equal("same delivery", second[0].Delivery.ID, first[0].Delivery.ID)

		// The first owner lost the lease: its attempt is recorded, the
		// delivery stays with the new owner.
		a := h.complete("a", first[0], 200, hookrelay.StatusSuccess, 1, nil, lease.Add(time.Second))
		d := h.delivery(app.ID, first[0].Message.ID, first[0].Endpoint.ID)
		h.equal("status after stale completion", d.Status, hookrelay.StatusPending)
		h.equal("attempts after stale completion", d.Attempts, 0)
		as, err := h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: app.ID, MsgID: first[0].Message.ID, Page: store.Page{Limit: 10}})
		h.must(err, "list attempts")
		h.equal("recorded attempts", as, []hookrelay.Attempt{a})
		h.equal("claim under the new lease", len(h.claim("c", lease.Add(time.Second), lease.Add(time.Hour), 10)), 0)
		h.complete("b", second[0], 200, hookrelay.StatusSuccess, 1, nil, lease.Add(2*time.Second))
		h.equal("status after owner's completion", h.delivery(app.ID, first[0].Message.ID, first[0].Endpoint.ID).Status, hookrelay.StatusSuccess)
	}},
	{"expired leases are claimed with exclusions too, except the excluded endpoints'", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		e1, e2 := h.newEndpoint(app.ID), h.newEndpoint(app.ID)
		h.publish(app.ID, "x", createdAt(t0))
		now := t0.Add(time.Hour)
		lease := now.Add(time.Minute)
		h.equal("first claim", len(h.claim("a", now, lease, 10)), 2)
		h.equal("under live leases", len(h.claim("b", lease.Add(-time.Second), lease.Add(time.Hour), 10, "ep_other")), 0)
		got := h.claim("b", lease, lease.Add(time.Hour), 10, e1.ID)
		h.equal("expired, e1 excluded", ids(got, func(t store.Task) string { return t.Endpoint.ID }), []string{e2.ID})
		got = h.claim("c", lease.Add(time.Second), lease.Add(time.Hour), 10, e2.ID)
		h.equal("expired, e2 excluded", ids(got, func(t store.Task) string { return t.Endpoint.ID }), []string{e1.ID})
	}},
	{"a lease taken at publish expires like a claimed one", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		until := t0.Add(time.Hour)
		_, res := h.publishLeased(app.ID, &store.LeaseParams{Owner: "a", Until: until, Max: 10})
		if len(res.Tasks) == 0 {
			return // this store leases nothing at publish
		}
		h.equal("handed off", len(res.Tasks), 1)
		h.equal("claim under the publish lease", len(h.claim("b", until.Add(-time.Second), until.Add(time.Hour), 10)), 0)
		h.equal("claim under the publish lease, with exclusions", len(h.claim("b", until.Add(-time.Second), until.Add(time.Hour), 10, "ep_other")), 0)
		due, ok, err := h.s.NextDue(h.ctx)
		h.must(err, "next due")
		h.equal("next due at the lease's end", due, until)
		h.equal("anything due", ok, true)
		got := h.claim("b", until, until.Add(time.Hour), 10, "ep_other")
		h.equal("claimed at the lease's end", ids(got, func(t store.Task) string { return t.Endpoint.ID }), []string{ep.ID})
	}},
	{"excluded endpoints stay queued", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		e1, e2, e3 := h.newEndpoint(app.ID), h.newEndpoint(app.ID), h.newEndpoint(app.ID)
		h.publish(app.ID, "x", createdAt(t0))
		h.publish(app.ID, "x", createdAt(t0.Add(time.Second)))
		now := t0.Add(time.Hour)
		epIDs := func(tasks []store.Task) []string {
			out := ids(tasks, func(t store.Task) string { return t.Endpoint.ID })
			return slices.Compact(slices.Sorted(slices.Values(out)))
		}
		h.equal("claim excluding e1, e2", epIDs(h.claim("a", now, now.Add(time.Minute), 10, e1.ID, e2.ID)), []string{e3.ID})
		h.equal("claim excluding e1", epIDs(h.claim("a", now, now.Add(time.Minute), 10, e1.ID)), []string{e2.ID})
		h.equal("claim the rest", epIDs(h.claim("a", now, now.Add(time.Minute), 10)), []string{e1.ID})
	}},
	{"concurrent claimers never share a delivery", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		for range 3 {
			h.newEndpoint(app.ID)
		}
		for range 20 {
			h.publish(app.ID, "x")
		}
		now := time.Now()
		var mu sync.Mutex
		seen := map[string]string{}
		var errs []error
		var wg sync.WaitGroup
		for w := range 4 {
			owner := fmt.Sprintf("node-%d", w)
			wg.Go(func() {
				for {
					tasks, err := h.s.ClaimDeliveries(h.ctx, store.ClaimParams{Owner: owner, Now: now, LeaseUntil: now.Add(time.Hour), Limit: 4})
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					}
					for _, t := range tasks {
						if prev, ok := seen[t.Delivery.ID]; ok {
							errs = append(errs, fmt.Errorf("delivery %s claimed by %s and %s", t.Delivery.ID, prev, owner))
						}
						seen[t.Delivery.ID] = owner
					}
					mu.Unlock()
					if err != nil || len(tasks) == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			h.Fatalf("concurrent claims: %v", errs)
		}
		h.equal("claimed deliveries", len(seen), 60)
	}},
	{"complete moves the delivery", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		ok, _ := h.publish(app.ID, "x", createdAt(t0))
		retry, _ := h.publish(app.ID, "x", createdAt(t0.Add(time.Second)))
		bad, _ := h.publish(app.ID, "x", createdAt(t0.Add(2*time.Second)))
		now := t0.Add(time.Hour)
		tasks := h.claim("a", now, now.Add(time.Minute), 10)
		h.equal("claimed", len(tasks), 3)
		next := now.Add(10 * time.Minute)
		results := []store.AttemptResult{}
		for _, task := range tasks {
			r := store.AttemptResult{Owner: "a", Attempt: hookrelay.Attempt{
				DeliveryID: task.Delivery.ID, MsgID: task.Message.ID, AppID: app.ID, EndpointID: ep.ID,
				URL: ep.URL, ResponseDurationMs: 5, CreatedAt: now.Add(time.Second),
			}}
			switch task.Message.ID {
			case ok.ID:
				r.Attempt.Status, r.Attempt.ResponseStatusCode = hookrelay.StatusSuccess, 200
				r.Status, r.Attempts = hookrelay.StatusSuccess, 1
			case retry.ID:
				r.Attempt.Status, r.Attempt.ResponseStatusCode = hookrelay.StatusFail, 502
				r.Status, r.Attempts, r.NextAttempt = hookrelay.StatusPending, 1, &next
			case bad.ID:
				r.Attempt.Status, r.Attempt.ResponseStatusCode = hookrelay.StatusFail, 410
				r.Status, r.Attempts = hookrelay.StatusFail, 3
			}
			results = append(results, r)
		}
		h.must(h.s.CompleteAttempts(h.ctx, results), "complete attempts")
		for _, c := range []struct {
			msg      *hookrelay.Message
			status   hookrelay.MessageStatus
			attempts int
			next     *time.Time
		}{
			{ok, hookrelay.StatusSuccess, 1, nil},
			{retry, hookrelay.StatusPending, 1, &next},
			{bad, hookrelay.StatusFail, 3, nil},
		} {
			d := h.delivery(app.ID, c.msg.ID, ep.ID)
			h.equal("status", d.Status, c.status)
			h.equal("attempts", d.Attempts, c.attempts)
			h.equal("next attempt", d.NextAttempt, c.next)
			as, err := h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: app.ID, MsgID: c.msg.ID, Page: store.Page{Limit: 10}})
			h.must(err, "list attempts")
			h.equal("attempts recorded", len(as), 1)
		}
		h.equal("claim before the retry", len(h.claim("b", next.Add(-time.Second), next.Add(time.Minute), 10)), 0)
		again := h.claim("b", next, next.Add(time.Minute), 10)
		h.equal("claim at the retry", taskMsgIDs(again), []string{retry.ID})
		h.equal("attempts of the retried delivery", again[0].Delivery.Attempts, 1)
	}},
	{"complete many at once", func(h *harness) {
		// Enough results for every statement size a store may use, some
		// of them for a delivery whose endpoint is gone or whose lease
		// another node holds.
		app := h.newApp(hookrelay.DefaultEnvironment)
		keep := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.FilterTypes = []string{"keep"} })
		gone := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.FilterTypes = []string{"gone"} })
		const n = 90
		for i := range n {
			typ := "keep"
			if i%10 == 3 {
				typ = "gone"
			}
			h.publish(app.ID, typ, createdAt(t0.Add(time.Duration(i)*time.Millisecond)))
		}
		now := t0.Add(time.Hour)
		tasks := h.claim("a", now, now.Add(time.Minute), n)
		h.equal("claimed", len(tasks), n)
		h.must(h.s.DeleteEndpoint(h.ctx, app.ID, gone.ID), "delete endpoint")
		next := now.Add(time.Hour)
		var results []store.AttemptResult
		want := map[string]hookrelay.MessageStatus{} // by message, for the kept endpoint
		for i, task := range tasks {
			r := store.AttemptResult{Owner: "a", Attempt: hookrelay.Attempt{
				DeliveryID: task.Delivery.ID, MsgID: task.Message.ID, AppID: app.ID, EndpointID: task.Endpoint.ID,
				URL: task.Endpoint.URL, Status: hookrelay.StatusSuccess, ResponseStatusCode: 200,
				Response: fmt.Sprintf("answer %d", i), CreatedAt: now.Add(time.Second),
			}, Status: hookrelay.StatusSuccess, Attempts: 1}
			switch {
			case task.Endpoint.ID == gone.ID:
			case i%7 == 0:
				r.Attempt.Status, r.Attempt.ResponseStatusCode = hookrelay.StatusFail, 503
				r.Status, r.NextAttempt = hookrelay.StatusPending, &next
				want[task.Message.ID] = hookrelay.StatusPending
			case i%11 == 0:
				r.Owner = "b" // not the lease holder: recorded, but the delivery stays
				want[task.Message.ID] = hookrelay.StatusPending
			default:
				want[task.Message.ID] = hookrelay.StatusSuccess
			}
			results = append(results, r)
		}
		h.must(h.s.CompleteAttempts(h.ctx, results), "complete attempts")
		for i, task := range tasks {
			if task.Endpoint.ID == gone.ID {
				continue
			}
			d := h.delivery(app.ID, task.Message.ID, keep.ID)
			h.equal(fmt.Sprintf("status of delivery %d", i), d.Status, want[task.Message.ID])
			as, err := h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: app.ID, MsgID: task.Message.ID, Page: store.Page{Limit: 10}})
			h.must(err, "list attempts")
			if len(as) != 1 || as[0].Response != fmt.Sprintf("answer %d", i) {
				h.Errorf("attempts of delivery %d: %+v, want one with answer %d", i, as, i)
			}
		}
		retried := h.claim("c", next, next.Add(time.Minute), n)
		wantRetried := 0
		for _, st := range want {
			if st == hookrelay.StatusPending {
				wantRetried++
			}
		}
		h.equal("due again at the retry or when the foreign lease ends", len(retried), wantRetried)
	}},
	{"complete clears manual", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		msg, _ := h.publish(app.ID, "x")
		now := normTime(time.Now())
		h.must(h.s.Resend(h.ctx, app.ID, msg.ID, ep.ID, now), "resend")
		tasks := h.claimAll("a", now)
		h.equal("manual task", tasks[0].Delivery.Manual, true)
		h.complete("a", tasks[0], 500, hookrelay.StatusPending, 1, ptr(now.Add(time.Hour)), now)
		h.equal("manual after attempt", h.delivery(app.ID, msg.ID, ep.ID).Manual, false)
	}},
	{"extend leases", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		h.publish(app.ID, "x", createdAt(t0))
		h.publish(app.ID, "x", createdAt(t0.Add(time.Second)))
		now := t0.Add(time.Hour)
		h.equal("claimed by a", len(h.claim("a", now, now.Add(time.Minute), 1)), 1)
		h.equal("claimed by b", len(h.claim("b", now, now.Add(time.Minute), 1)), 1)
		// Only leases ending before the first time are extended.
		h.must(h.s.ExtendLeases(h.ctx, "a", now.Add(time.Minute), now.Add(10*time.Minute)), "extend no lease")
		h.must(h.s.ExtendLeases(h.ctx, "a", now.Add(time.Minute+time.Second), now.Add(10*time.Minute)), "extend leases")
		got := h.claim("c", now.Add(time.Minute), now.Add(time.Hour), 10)
		h.equal("claimed after b's lease expired", len(got), 1)
		h.equal("claim under the extended lease", len(h.claim("d", now.Add(10*time.Minute-time.Second), now.Add(time.Hour), 10)), 0)
		// The lease now ends after the first time: extending again with the
		// same one leaves it.
		h.must(h.s.ExtendLeases(h.ctx, "a", now.Add(time.Minute+time.Second), now.Add(20*time.Minute)), "extend a lease ending later")
		h.equal("claim when the lease extended once ends", len(h.claim("d", now.Add(10*time.Minute), now.Add(3*time.Hour), 10)), 1)
	}},
	{"release leaves deliveries due", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		h.publish(app.ID, "x", createdAt(t0))
		h.publish(app.ID, "x", createdAt(t0.Add(time.Second)))
		now := t0.Add(time.Hour)
		tasks := h.claim("a", now, now.Add(time.Hour), 10)
		h.equal("claimed", len(tasks), 2)
		h.must(h.s.ReleaseDeliveries(h.ctx, "b", []string{tasks[0].Delivery.ID}), "release by another owner")
		h.equal("claim after a foreign release", len(h.claim("b", now, now.Add(time.Hour), 10)), 0)
		h.must(h.s.ReleaseDeliveries(h.ctx, "a", []string{tasks[0].Delivery.ID}), "release")
		got := h.claim("b", now, now.Add(time.Hour), 10)
		h.equal("claim after release", ids(got, func(t store.Task) string { return t.Delivery.ID }), []string{tasks[0].Delivery.ID})
		h.equal("attempts after release", got[0].Delivery.Attempts, 0)
		h.equal("next attempt after release", got[0].Delivery.NextAttempt, tasks[0].Delivery.NextAttempt)
		h.must(h.s.ReleaseDeliveries(h.ctx, "a", nil), "release nothing")
	}},
	{"next due", func(h *harness) {
		_, ok, err := h.s.NextDue(h.ctx)
		h.must(err, "next due")
		h.equal("anything due in an empty store", ok, false)

		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
		h.publish(app.ID, "x", createdAt(at(10)))
		h.publish(app.ID, "x", createdAt(at(20)))
		wantDue := func(what string, want time.Time) {
			h.Helper()
			got, ok, err := h.s.NextDue(h.ctx)
			h.must(err, "next due")
			if !ok {
				h.Fatalf("%s: nothing due", what)
			}
			h.equal(what, got, want)
		}
		wantDue("two due", at(10))
		first := h.claim("a", at(15), at(30), 10)
		h.equal("claimed", len(first), 1)
		wantDue("first leased until 30", at(20))
		second := h.claim("a", at(25), at(40), 10)
		h.equal("claimed", len(second), 1)
		wantDue("both leased", at(30))
		h.complete("a", first[0], 200, hookrelay.StatusSuccess, 1, nil, at(26))
		wantDue("one leased", at(40))
		h.complete("a", second[0], 200, hookrelay.StatusSuccess, 1, nil, at(27))
		_, ok, err = h.s.NextDue(h.ctx)
		h.must(err, "next due")
		h.equal("anything due after success", ok, false)
	}},
}
