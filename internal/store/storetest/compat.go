package storetest

import (
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Tests of the store methods behind the routes of the current Svix API:
// bulk replay, expunging an application's content, canceling deliveries,
// delivery counts and send throttling.
var compatTests = []testCase{
	{"bulk replay sends again the deliveries the filter selects", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep, other := h.newEndpoint(app.ID), h.newEndpoint(app.ID)
		var msgs []*hookrelay.Message
		for i := range 6 {
			m, _ := h.publish(app.ID, []string{"a.b", "c.d"}[i%2], func(p *store.CreateMessageParams) {
				p.Message.Tags = []string{fmt.Sprint("t", i%3)}
				p.Message.Channels = []string{"ch"}
			})
			msgs = append(msgs, m)
		}
		outcomes := map[[2]string]outcome{}
		for i, m := range msgs[:5] { // msgs[5] stays pending
			o := succeeded
			if i == 1 || i == 2 {
				o = failed
			}
			outcomes[[2]string{m.ID, ep.ID}] = o
			outcomes[[2]string{m.ID, other.ID}] = succeeded
		}
		h.settle(outcomes)
		h.must(h.s.ExpungeMessageContent(h.ctx, app.ID, msgs[4].ID), "expunge")

		cases := []struct {
			name string
			p    store.BulkReplayParams
			want []int
		}{
			{"everything settled and kept", store.BulkReplayParams{}, []int{0, 1, 2, 3}},
			{"event type", store.BulkReplayParams{EventTypes: []string{"a.b"}}, []int{0, 2}},
			{"status", store.BulkReplayParams{Status: ptr(hookrelay.StatusFail)}, []int{1, 2}},
			{"status code class", store.BulkReplayParams{StatusCodeClass: ptr(500)}, []int{1, 2}},
			{"tag and channel", store.BulkReplayParams{Tag: "t0", Channel: "ch"}, []int{0, 3}},
			{"other channel", store.BulkReplayParams{Channel: "nope"}, nil},
			{"range", store.BulkReplayParams{Since: msgs[1].CreatedAt, Until: &msgs[3].CreatedAt}, []int{1, 2}},
		}
		for _, c := range cases {
			p := c.p
			p.AppID, p.EndpointID = app.ID, ep.ID
			var selected []int
			for i, m := range msgs {
				d := h.delivery(app.ID, m.ID, ep.ID)
				cand := store.ReplayCandidate{Status: d.Status, CreatedAt: m.CreatedAt, EventType: m.EventType,
					Channels: m.Channels, Tags: m.Tags, Kept: i != 4, LastCode: map[hookrelay.MessageStatus]int{
						hookrelay.StatusSuccess: 200, hookrelay.StatusFail: 500}[d.Status]}
				if p.Selects(cand) {
					selected = append(selected, i)
				}
			}
			h.equal(c.name+": selected", fmt.Sprint(selected), fmt.Sprint(c.want))
		}

		// The batch makes exactly those pending, manual and due now.
		now := normTime(time.Now())
		t := h.newTask(hookrelay.DefaultEnvironment, "endpoint.bulk-replay")
		n, batches, err := h.runTask(t.ID, now, 2, func(step store.TaskStep) (store.BatchResult, error) {
			return h.s.BulkReplayBatch(h.ctx, step, store.BulkReplayParams{AppID: app.ID, EndpointID: ep.ID, EventTypes: []string{"a.b"}})
		})
		h.must(err, "bulk replay")
		h.equal("sent again", n, 2)
		h.equal("batches (three full, one empty)", batches, 4)
		for i, m := range msgs {
			d := h.delivery(app.ID, m.ID, ep.ID)
			if i == 0 || i == 2 {
				h.equal(fmt.Sprint("replayed ", i), fmt.Sprint(d.Status, d.Manual), fmt.Sprint(hookrelay.StatusPending, true))
			} else if i != 5 {
				h.equal(fmt.Sprint("kept ", i), d.Status == hookrelay.StatusPending, false)
			}
			h.equal(fmt.Sprint("other endpoint ", i), h.delivery(app.ID, m.ID, other.ID).Status, map[bool]hookrelay.MessageStatus{true: hookrelay.StatusPending, false: hookrelay.StatusSuccess}[i == 5])
		}
		t2 := h.newTask(hookrelay.DefaultEnvironment, "endpoint.bulk-replay")
		_, _, err = h.runTask(t2.ID, now, 2, func(step store.TaskStep) (store.BatchResult, error) {
			return h.s.BulkReplayBatch(h.ctx, step, store.BulkReplayParams{AppID: app.ID, EndpointID: "ep_missing"})
		})
		h.wantErr(err, hookrelay.ErrNotFound, "bulk replay of a missing endpoint")
	}},
	{"expunge content drops every payload of one application", func(h *harness) {
		app, other := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		var ids []string
		for range 5 {
			m, _ := h.publish(app.ID, "a.b")
			ids = append(ids, m.ID)
		}
		kept, _ := h.publish(other.ID, "a.b")
		h.must(h.s.ExpungeMessageContent(h.ctx, app.ID, ids[0]), "expunge one")
		run := func(appID string) (int, error) {
			t := h.newTask(hookrelay.DefaultEnvironment, "application.purge_content")
			n, _, err := h.runTask(t.ID, time.Now(), 2, func(step store.TaskStep) (store.BatchResult, error) {
				return h.s.ExpungeContentBatch(h.ctx, step, appID)
			})
			return n, err
		}
		n, err := run(app.ID)
		h.must(err, "expunge content")
		h.equal("expunged", n, 4)
		for _, id := range ids {
			h.equal("payload of "+id, h.payloadOf(app.ID, id), []byte(nil))
		}
		h.equal("other application's payload", string(h.payloadOf(other.ID, kept.ID)), `{"type":"a.b"}`)
		n, err = run(app.ID)
		h.must(err, "expunge again")
		h.equal("expunged again", n, 0)
		_, err = run("app_missing")
		h.wantErr(err, hookrelay.ErrNotFound, "expunge a missing application")
	}},
	{"cancel deliveries cancels the endpoint's unheld pending ones before the cut", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep, other := h.newEndpoint(app.ID), h.newEndpoint(app.ID)
		done, _ := h.publish(app.ID, "a.b")
		h.settle(map[[2]string]outcome{{done.ID, ep.ID}: succeeded})
		held, _ := h.publish(app.ID, "a.b")
		waiting, _ := h.publish(app.ID, "a.b")
		now := normTime(time.Now())
		var release []string
		for _, tk := range h.claimAll("holder", now) {
			if tk.Message.ID != held.ID || tk.Endpoint.ID != ep.ID {
				release = append(release, tk.Delivery.ID)
			}
		}
		h.must(h.s.ReleaseDeliveries(h.ctx, "holder", release), "release")
		cut := h.tick()
		late, _ := h.publish(app.ID, "a.b")

		n, err := h.s.CancelDeliveries(h.ctx, app.ID, ep.ID, cut, now)
		h.must(err, "cancel")
		h.equal("canceled", n, 1)
		h.equal("waiting", h.delivery(app.ID, waiting.ID, ep.ID).Status, hookrelay.StatusCanceled)
		h.equal("waiting next attempt", h.delivery(app.ID, waiting.ID, ep.ID).NextAttempt, (*time.Time)(nil))
		h.equal("held by a node", h.delivery(app.ID, held.ID, ep.ID).Status, hookrelay.StatusPending)
		h.equal("settled", h.delivery(app.ID, done.ID, ep.ID).Status, hookrelay.StatusSuccess)
		h.equal("after the cut", h.delivery(app.ID, late.ID, ep.ID).Status, hookrelay.StatusPending)
		h.equal("other endpoint", h.delivery(app.ID, waiting.ID, other.ID).Status, hookrelay.StatusPending)
		for _, tk := range h.claimAll("after", now.Add(2*time.Minute)) {
			if tk.Message.ID == waiting.ID && tk.Endpoint.ID == ep.ID {
				h.Error("a canceled delivery was claimed")
			}
		}
		_, err = h.s.CancelDeliveries(h.ctx, app.ID, "ep_missing", cut, now)
		h.wantErr(err, hookrelay.ErrNotFound, "cancel on a missing endpoint")
		_, err = h.s.CancelDeliveries(h.ctx, h.newApp(hookrelay.DefaultEnvironment).ID, ep.ID, cut, now)
		h.wantErr(err, hookrelay.ErrNotFound, "cancel on another application's endpoint")
	}},
	{"delivery counts by event type and status", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		a1, _ := h.publish(app.ID, "a")
		a2, _ := h.publish(app.ID, "a")
		b1, _ := h.publish(app.ID, "b")
		h.publish(app.ID, "b")
		h.settle(map[[2]string]outcome{{a1.ID, ep.ID}: succeeded, {a2.ID, ep.ID}: failed, {b1.ID, ep.ID}: succeeded})
		counts := func(since, until time.Time, types ...string) string {
			cs, err := h.s.DeliveryCounts(h.ctx, app.ID, since, until, types)
			h.must(err, "delivery counts")
			return fmt.Sprint(cs)
		}
		h.equal("all", counts(t0, t0.Add(time.Hour)), "[{a 0 1} {a 2 1} {b 0 1} {b 1 1}]")
		h.equal("only b", counts(t0, t0.Add(time.Hour), "b"), "[{b 0 1} {b 1 1}]")
		h.equal("range", counts(a2.CreatedAt, b1.CreatedAt), "[{a 2 1}]")
	}},
	{"send throttle says since when reservations wait", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		_, _, ok, err := h.s.SendThrottle(h.ctx, ep.ID)
		h.must(err, "throttle before any slot")
		h.equal("ok before any slot", ok, false)
		now := normTime(time.Now())
		_, err = h.s.ReserveSendSlots(h.ctx, ep.ID, 1, 1, now)
		h.must(err, "reserve")
		next, since, ok, err := h.s.SendThrottle(h.ctx, ep.ID)
		h.must(err, "throttle")
		h.equal("after one slot", fmt.Sprint(next, since, ok), fmt.Sprint(now.Add(time.Second), (*time.Time)(nil), true))
		_, err = h.s.ReserveSendSlots(h.ctx, ep.ID, 1, 3, now.Add(time.Millisecond))
		h.must(err, "reserve behind")
		_, err = h.s.ReserveSendSlots(h.ctx, ep.ID, 1, 1, now.Add(2*time.Millisecond))
		h.must(err, "reserve behind again")
		next, since, _, err = h.s.SendThrottle(h.ctx, ep.ID)
		h.must(err, "throttle")
		h.equal("waiting since", since, ptr(now.Add(time.Millisecond)))
		h.equal("next slot", next, now.Add(5*time.Second))
		// Once the backlog has passed, a reservation that does not wait
		// clears it.
		_, err = h.s.ReserveSendSlots(h.ctx, ep.ID, 1, 1, now.Add(time.Minute))
		h.must(err, "reserve later")
		_, since, _, err = h.s.SendThrottle(h.ctx, ep.ID)
		h.must(err, "throttle")
		h.equal("no longer waiting", since, (*time.Time)(nil))
		// A burst reserved at once from idle holds all but its first send.
		burst := h.newEndpoint(app.ID)
		_, err = h.s.ReserveSendSlots(h.ctx, burst.ID, 2, 4, now)
		h.must(err, "reserve a burst")
		_, since, _, err = h.s.SendThrottle(h.ctx, burst.ID)
		h.must(err, "throttle of the burst")
		h.equal("burst waiting since", since, &now)
	}},
}
