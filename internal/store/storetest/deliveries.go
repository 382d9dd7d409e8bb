package storetest

import (
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// outcome is how a test settles one claimed delivery.
type outcome struct {
	code     int
	status   hookrelay.MessageStatus
	attempts int
	next     *time.Time
}

var (
	succeeded = outcome{code: 200, status: hookrelay.StatusSuccess, attempts: 1}
	failed    = outcome{code: 500, status: hookrelay.StatusFail, attempts: 5}
)

func retryAt(t time.Time) outcome {
	return outcome{code: 503, status: hookrelay.StatusPending, attempts: 1, next: &t}
}

// settle claims everything due now and completes the delivery of each
// (message, endpoint) pair found in outcomes; the others are released.
func (h *harness) settle(outcomes map[[2]string]outcome) {
	h.Helper()
	now := time.Now()
	var release []string
	for _, task := range h.claimAll("settler", now) {
		o, ok := outcomes[[2]string{task.Message.ID, task.Endpoint.ID}]
		if !ok {
			release = append(release, task.Delivery.ID)
			continue
		}
		h.complete("settler", task, o.code, o.status, o.attempts, o.next, h.tick())
	}
	h.must(h.s.ReleaseDeliveries(h.ctx, "settler", release), "release deliveries")
}

func (h *harness) endpointMessages(p store.ListDeliveriesParams) []store.EndpointMessage {
	h.Helper()
	if p.Page.Limit == 0 {
		p.Page.Limit = 100
	}
	ems, err := h.s.ListEndpointMessages(h.ctx, p)
	h.must(err, "list endpoint messages")
	return ems
}

// delivery returns the delivery of msgID to epID.
func (h *harness) delivery(appID, msgID, epID string) hookrelay.Delivery {
	h.Helper()
	ds, err := h.s.ListMessageDestinations(h.ctx, store.ListDeliveriesParams{AppID: appID, MsgID: msgID, Page: store.Page{Limit: 100}})
	h.must(err, "list message destinations")
	for _, d := range ds {
		if d.Endpoint.ID == epID {
			return d.Delivery
		}
	}
	h.Fatalf("no delivery of %s to %s", msgID, epID)
	return hookrelay.Delivery{}
}

var deliveryTests = []testCase{
	{"endpoint messages newest first with their delivery", func(h *harness) {
		app, other := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		a := h.newEndpoint(app.ID)
		b := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.FilterTypes = []string{"call.*"} })
		h.newEndpoint(other.ID)
		m1, _ := h.publish(app.ID, "call.started", withChannels("agent-1"), withTags("vip"))
		m2, _ := h.publish(app.ID, "contact.created")
		m3, _ := h.publish(app.ID, "call.completed", withChannels("agent-2"))
		h.publish(other.ID, "call.started")
		retry := t0.Add(48 * time.Hour)
		h.settle(map[[2]string]outcome{
			{m1.ID, a.ID}: succeeded,
			{m2.ID, a.ID}: failed,
			{m3.ID, a.ID}: retryAt(retry),
		})

		ems := h.endpointMessages(store.ListDeliveriesParams{AppID: app.ID, EndpointID: a.ID})
		h.equal("messages of a", ids(ems, func(e store.EndpointMessage) string { return e.Message.ID }), []string{m3.ID, m2.ID, m1.ID})
		h.equal("message", ems[2].Message, *m1)
		for i, want := range []struct {
			status hookrelay.MessageStatus
			next   *time.Time
		}{
			{hookrelay.StatusPending, &retry},
			{hookrelay.StatusFail, nil},
			{hookrelay.StatusSuccess, nil},
		} {
			d := ems[i].Delivery
			h.equal("status", d.Status, want.status)
			h.equal("next attempt", d.NextAttempt, want.next)
			h.equal("endpoint", d.EndpointID, a.ID)
			h.equal("message", d.MsgID, ems[i].Message.ID)
		}
		h.equal("attempts after retry", ems[0].Delivery.Attempts, 1)
		h.equal("attempts after fail", ems[1].Delivery.Attempts, 5)

		msgIDs := func(ems []store.EndpointMessage) []string {
			return ids(ems, func(e store.EndpointMessage) string { return e.Message.ID })
		}
		for _, c := range []struct {
			name string
			p    store.ListDeliveriesParams
			want []string
		}{
			{"endpoint b", store.ListDeliveriesParams{EndpointID: b.ID}, []string{m3.ID, m1.ID}},
			{"status", store.ListDeliveriesParams{EndpointID: a.ID, Status: ptr(hookrelay.StatusFail)}, []string{m2.ID}},
			{"channel", store.ListDeliveriesParams{EndpointID: a.ID, Channel: "agent-1"}, []string{m1.ID}},
			{"tag", store.ListDeliveriesParams{EndpointID: a.ID, Tag: "vip"}, []string{m1.ID}},
			{"event types", store.ListDeliveriesParams{EndpointID: a.ID, EventTypes: []string{"contact.created", "call.completed"}}, []string{m3.ID, m2.ID}},
			{"before", store.ListDeliveriesParams{EndpointID: a.ID, Before: &m2.CreatedAt}, []string{m1.ID}},
			{"after", store.ListDeliveriesParams{EndpointID: a.ID, After: &m1.CreatedAt}, []string{m3.ID, m2.ID}},
		} {
			c.p.AppID = app.ID
			h.equal(c.name, msgIDs(h.endpointMessages(c.p)), c.want)
		}
		h.equal("endpoint of another application", len(h.endpointMessages(store.ListDeliveriesParams{AppID: other.ID, EndpointID: a.ID})), 0)

		key := func(e store.EndpointMessage) string { return e.Message.ID }
		paged := paginate(h, 1, key, func(iter string) ([]store.EndpointMessage, error) {
			return h.s.ListEndpointMessages(h.ctx, store.ListDeliveriesParams{AppID: app.ID, EndpointID: a.ID, Page: store.Page{Limit: 1, Iterator: iter}})
		})
		h.equal("paged messages of a", ids(paged, key), []string{m3.ID, m2.ID, m1.ID})
	}},
	{"message destinations", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		a := h.newEndpoint(app.ID, fullEndpoint)
		b := h.newEndpoint(app.ID)
		c := h.newEndpoint(app.ID)
		h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.FilterTypes = []string{"other"} })
		msg, _ := h.publish(app.ID, "call.completed", withChannels("agent-1"))
		h.settle(map[[2]string]outcome{{msg.ID, a.ID}: succeeded})

		key := func(d store.MessageDestination) string { return d.Endpoint.ID }
		got := paginate(h, 2, key, func(iter string) ([]store.MessageDestination, error) {
			return h.s.ListMessageDestinations(h.ctx, store.ListDeliveriesParams{AppID: app.ID, MsgID: msg.ID, Page: store.Page{Limit: 2, Iterator: iter}})
		})
		h.equal("destinations", ids(got, key), []string{c.ID, b.ID, a.ID})
		h.equal("endpoint", got[2].Endpoint, *a)
		h.equal("delivered status", got[2].Delivery.Status, hookrelay.StatusSuccess)
		h.equal("delivered next attempt", got[2].Delivery.NextAttempt, (*time.Time)(nil))
		h.equal("pending status", got[0].Delivery.Status, hookrelay.StatusPending)

		other := h.newApp(hookrelay.DefaultEnvironment)
		ds, err := h.s.ListMessageDestinations(h.ctx, store.ListDeliveriesParams{AppID: other.ID, MsgID: msg.ID, Page: store.Page{Limit: 10}})
		h.must(err, "list destinations under another application")
		h.equal("destinations under another application", len(ds), 0)
	}},
	{"resend an existing delivery", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		msg, _ := h.publish(app.ID, "x")
		h.settle(map[[2]string]outcome{{msg.ID, ep.ID}: failed})
		now := normTime(time.Now())
		h.must(h.s.Resend(h.ctx, app.ID, msg.ID, ep.ID, now), "resend")
		d := h.delivery(app.ID, msg.ID, ep.ID)
		h.equal("status", d.Status, hookrelay.StatusPending)
		h.equal("manual", d.Manual, true)
		h.equal("next attempt", d.NextAttempt, &now)
		h.equal("attempts kept", d.Attempts, 5)
		tasks := h.claimAll("node", now)
		h.equal("claimed", len(tasks), 1)
		h.equal("claimed manual", tasks[0].Delivery.Manual, true)
	}},
	{"resend to an endpoint never queued creates the delivery", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		msg, n := h.publish(app.ID, "x")
		h.equal("deliveries", n, 0)
		ep := h.newEndpoint(app.ID)
		now := normTime(time.Now())
		h.must(h.s.Resend(h.ctx, app.ID, msg.ID, ep.ID, now), "resend")
		d := h.delivery(app.ID, msg.ID, ep.ID)
		h.equal("status", d.Status, hookrelay.StatusPending)
		h.equal("manual", d.Manual, true)
		h.equal("attempts", d.Attempts, 0)
		h.equal("next attempt", d.NextAttempt, &now)
		h.must(h.s.Resend(h.ctx, app.ID, msg.ID, ep.ID, now), "resend again")
		h.equal("destinations", h.destinations(app.ID, msg.ID), []string{ep.ID})
	}},
	{"resend outside the application is not found", func(h *harness) {
		a, b := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		epA, epB := h.newEndpoint(a.ID), h.newEndpoint(b.ID)
		msgA, _ := h.publish(a.ID, "x")
		msgB, _ := h.publish(b.ID, "x")
		now := time.Now()
		h.wantErr(h.s.Resend(h.ctx, a.ID, msgA.ID, epB.ID, now), hookrelay.ErrNotFound, "resend to another application's endpoint")
		h.wantErr(h.s.Resend(h.ctx, a.ID, msgB.ID, epA.ID, now), hookrelay.ErrNotFound, "resend another application's message")
		h.wantErr(h.s.Resend(h.ctx, a.ID, "msg_nope", epA.ID, now), hookrelay.ErrNotFound, "resend a missing message")
	}},
	{"recover failed within a time range", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep, other := h.newEndpoint(app.ID), h.newEndpoint(app.ID)
		m1, _ := h.publish(app.ID, "x")
		m2, _ := h.publish(app.ID, "x")
		m3, _ := h.publish(app.ID, "x")
		m4, _ := h.publish(app.ID, "x")
		h.settle(map[[2]string]outcome{
			{m1.ID, ep.ID}: failed, {m2.ID, ep.ID}: failed, {m3.ID, ep.ID}: failed, {m4.ID, ep.ID}: succeeded,
			{m1.ID, other.ID}: failed, {m2.ID, other.ID}: failed, {m3.ID, other.ID}: failed, {m4.ID, other.ID}: failed,
		})
		now := normTime(time.Now())
		n, err := h.recoverFailed(app.ID, ep.ID, m2.CreatedAt, nil, now)
		h.must(err, "recover failed")
		h.equal("recovered", n, 2)
		for _, c := range []struct {
			msg  *hookrelay.Message
			want hookrelay.MessageStatus
		}{
			{m1, hookrelay.StatusFail}, {m2, hookrelay.StatusPending}, {m3, hookrelay.StatusPending}, {m4, hookrelay.StatusSuccess},
		} {
			d := h.delivery(app.ID, c.msg.ID, ep.ID)
			h.equal("status", d.Status, c.want)
			if c.want == hookrelay.StatusPending {
				h.equal("next attempt", d.NextAttempt, &now)
			}
		}
		h.equal("other endpoint untouched", h.delivery(app.ID, m2.ID, other.ID).Status, hookrelay.StatusFail)

		n, err = h.recoverFailed(app.ID, other.ID, m1.CreatedAt, &m3.CreatedAt, now)
		h.must(err, "recover failed with until")
		h.equal("recovered before until", n, 2)
		h.equal("m3 past until", h.delivery(app.ID, m3.ID, other.ID).Status, hookrelay.StatusFail)
		h.equal("m2 before until", h.delivery(app.ID, m2.ID, other.ID).Status, hookrelay.StatusPending)

		foreign := h.newEndpoint(h.newApp(hookrelay.DefaultEnvironment).ID)
		_, err = h.recoverFailed(app.ID, foreign.ID, t0, nil, now)
		h.wantErr(err, hookrelay.ErrNotFound, "recover another application's endpoint")
	}},
	{"endpoint stats", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep, other := h.newEndpoint(app.ID), h.newEndpoint(app.ID)
		var ms []*hookrelay.Message
		for range 6 {
			m, _ := h.publish(app.ID, "x")
			ms = append(ms, m)
		}
		h.settle(map[[2]string]outcome{
			{ms[0].ID, ep.ID}:    succeeded,
			{ms[1].ID, ep.ID}:    failed,
			{ms[2].ID, ep.ID}:    failed,
			{ms[3].ID, ep.ID}:    retryAt(time.Now().Add(time.Hour)),
			{ms[0].ID, other.ID}: succeeded,
		})
		// ms[4] stays due, ms[5] is leased now: sending.
		now := time.Now()
		tasks, err := h.s.ClaimDeliveries(h.ctx, store.ClaimParams{Owner: "n", Now: now, LeaseUntil: now.Add(time.Hour), Limit: 100})
		h.must(err, "claim")
		var release []string
		for _, task := range tasks {
			if task.Message.ID != ms[5].ID || task.Endpoint.ID != ep.ID {
				release = append(release, task.Delivery.ID)
			}
		}
		h.must(h.s.ReleaseDeliveries(h.ctx, "n", release), "release")

		st, err := h.s.EndpointStats(h.ctx, app.ID, ep.ID, nil, nil)
		h.must(err, "endpoint stats")
		h.equal("stats", st, hookrelay.EndpointStats{Success: 1, Fail: 2, Pending: 2, Sending: 1})
		st, err = h.s.EndpointStats(h.ctx, app.ID, ep.ID, &ms[1].CreatedAt, &ms[5].CreatedAt)
		h.must(err, "endpoint stats in range")
		h.equal("stats in range", st, hookrelay.EndpointStats{Fail: 2, Pending: 2})
		st, err = h.s.EndpointStats(h.ctx, app.ID, other.ID, nil, nil)
		h.must(err, "other endpoint stats")
		h.equal("other endpoint stats", st, hookrelay.EndpointStats{Success: 1, Pending: 5})

		foreign := h.newApp(hookrelay.DefaultEnvironment)
		_, err = h.s.EndpointStats(h.ctx, foreign.ID, ep.ID, nil, nil)
		h.wantErr(err, hookrelay.ErrNotFound, "stats under another application")
	}},
}

func normTime(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

var attemptTests = []testCase{
	{"list, filter and get", func(h *harness) {
		app, other := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		e1, e2 := h.newEndpoint(app.ID), h.newEndpoint(app.ID)
		m1, _ := h.publish(app.ID, "call.completed", withChannels("c1"), withTags("t1"))
		m2, _ := h.publish(app.ID, "contact.created")
		now := time.Now()
		tasks := map[[2]string]store.Task{}
		for _, task := range h.claimAll("n", now) {
			tasks[[2]string{task.Message.ID, task.Endpoint.ID}] = task
		}
		at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Hour) }
		a1 := h.complete("n", tasks[[2]string{m1.ID, e1.ID}], 500, hookrelay.StatusPending, 1, &t0, at(1))
		again := h.claimAll("n", now)
		if len(again) != 1 || again[0].Delivery.ID != a1.DeliveryID {
			h.Fatalf("reclaim after retry: got %d tasks", len(again))
		}
		a2 := h.complete("n", again[0], 200, hookrelay.StatusSuccess, 2, nil, at(2))
		a3 := h.complete("n", tasks[[2]string{m1.ID, e2.ID}], 0, hookrelay.StatusFail, 1, nil, at(3))
		a4 := h.complete("n", tasks[[2]string{m2.ID, e1.ID}], 204, hookrelay.StatusSuccess, 1, nil, at(4))
		a5 := h.complete("n", tasks[[2]string{m2.ID, e2.ID}], 400, hookrelay.StatusFail, 1, nil, at(5))

		got, err := h.s.GetAttempt(h.ctx, app.ID, m1.ID, a1.ID)
		h.must(err, "get attempt")
		h.equal("attempt", got, &a1)
		h.equal("attempt status", got.Status, hookrelay.StatusFail)
		_, err = h.s.GetAttempt(h.ctx, app.ID, m2.ID, a1.ID)
		h.wantErr(err, hookrelay.ErrNotFound, "get attempt under another message")
		_, err = h.s.GetAttempt(h.ctx, other.ID, m1.ID, a1.ID)
		h.wantErr(err, hookrelay.ErrNotFound, "get attempt under another application")

		attemptIDs := func(as []hookrelay.Attempt) []string {
			return ids(as, func(a hookrelay.Attempt) string { return a.ID })
		}
		for _, c := range []struct {
			name string
			p    store.ListAttemptsParams
			want []string
		}{
			{"endpoint", store.ListAttemptsParams{EndpointID: e1.ID}, []string{a4.ID, a2.ID, a1.ID}},
			{"message", store.ListAttemptsParams{MsgID: m1.ID}, []string{a3.ID, a2.ID, a1.ID}},
			{"endpoint and message", store.ListAttemptsParams{EndpointID: e1.ID, MsgID: m1.ID}, []string{a2.ID, a1.ID}},
			{"status", store.ListAttemptsParams{EndpointID: e1.ID, Status: ptr(hookrelay.StatusSuccess)}, []string{a4.ID, a2.ID}},
			{"class 500", store.ListAttemptsParams{EndpointID: e1.ID, StatusCodeClass: ptr(500)}, []string{a1.ID}},
			{"class 0", store.ListAttemptsParams{MsgID: m1.ID, StatusCodeClass: ptr(0)}, []string{a3.ID}},
			{"class 200", store.ListAttemptsParams{MsgID: m2.ID, StatusCodeClass: ptr(200)}, []string{a4.ID}},
			{"class 400", store.ListAttemptsParams{MsgID: m2.ID, StatusCodeClass: ptr(400)}, []string{a5.ID}},
			{"event types", store.ListAttemptsParams{EndpointID: e2.ID, EventTypes: []string{"contact.created"}}, []string{a5.ID}},
			{"channel", store.ListAttemptsParams{EndpointID: e2.ID, Channel: "c1"}, []string{a3.ID}},
			{"tag", store.ListAttemptsParams{EndpointID: e1.ID, Tag: "t1"}, []string{a2.ID, a1.ID}},
			{"before", store.ListAttemptsParams{MsgID: m1.ID, Before: ptr(at(3))}, []string{a2.ID, a1.ID}},
			{"after", store.ListAttemptsParams{EndpointID: e1.ID, After: ptr(at(1))}, []string{a4.ID, a2.ID}},
		} {
			c.p.AppID = app.ID
			c.p.Page = store.Page{Limit: 10}
			as, err := h.s.ListAttempts(h.ctx, c.p)
			h.must(err, "list attempts "+c.name)
			h.equal(c.name, attemptIDs(as), c.want)
		}
		as, err := h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: other.ID, EndpointID: e1.ID, Page: store.Page{Limit: 10}})
		h.must(err, "list attempts under another application")
		h.equal("attempts under another application", len(as), 0)

		key := func(a hookrelay.Attempt) string { return a.ID }
		paged := paginate(h, 2, key, func(iter string) ([]hookrelay.Attempt, error) {
			return h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: app.ID, MsgID: m1.ID, Page: store.Page{Limit: 2, Iterator: iter}})
		})
		h.equal("paged attempts", attemptIDs(paged), []string{a3.ID, a2.ID, a1.ID})
		full, err := h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: app.ID, MsgID: m2.ID, Page: store.Page{Limit: 10}})
		h.must(err, "list attempts")
		h.equal("listed attempts", full, []hookrelay.Attempt{a5, a4})
	}},
	{"outcome kinds kept, unknown derived", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		cases := []struct {
			name   string
			status hookrelay.MessageStatus
			code   int
			given  hookrelay.OutcomeKind
			want   hookrelay.OutcomeKind
		}{
			{"success", hookrelay.StatusSuccess, 200, hookrelay.OutcomeSuccess, hookrelay.OutcomeSuccess},
			{"rejected", hookrelay.StatusFail, 500, hookrelay.OutcomeRejected, hookrelay.OutcomeRejected},
			{"unanswered", hookrelay.StatusFail, 0, hookrelay.OutcomeUnanswered, hookrelay.OutcomeUnanswered},
			{"refused", hookrelay.StatusFail, 0, hookrelay.OutcomeRefused, hookrelay.OutcomeRefused},
			{"internal", hookrelay.StatusFail, 0, hookrelay.OutcomeInternal, hookrelay.OutcomeInternal},
			{"unknown 2xx", hookrelay.StatusSuccess, 204, hookrelay.OutcomeUnknown, hookrelay.OutcomeSuccess},
			{"unknown 503", hookrelay.StatusFail, 503, hookrelay.OutcomeUnknown, hookrelay.OutcomeRejected},
			{"unknown no code", hookrelay.StatusFail, 0, hookrelay.OutcomeUnknown, hookrelay.OutcomeUnanswered},
		}
		msgs := make([]*hookrelay.Message, len(cases))
		for i := range cases {
			msgs[i], _ = h.publish(app.ID, "x", createdAt(t0.Add(time.Duration(i)*time.Millisecond)))
		}
		now := t0.Add(time.Hour)
		tasks := h.claim("a", now, now.Add(time.Minute), len(cases))
		h.equal("claimed", len(tasks), len(cases))
		byMsg := map[string]store.Task{}
		for _, task := range tasks {
			byMsg[task.Message.ID] = task
		}
		// One call for all of them, as the dispatcher records a batch.
		results := make([]store.AttemptResult, len(cases))
		for i, c := range cases {
			task := byMsg[msgs[i].ID]
			results[i] = store.AttemptResult{Owner: "a", Attempt: hookrelay.Attempt{
				DeliveryID: task.Delivery.ID, MsgID: task.Message.ID, AppID: app.ID, EndpointID: task.Endpoint.ID,
				URL: task.Endpoint.URL, Status: c.status, ResponseStatusCode: c.code, Outcome: c.given,
				Response: c.name, CreatedAt: now,
			}, Status: hookrelay.StatusFail, Attempts: 1}
		}
		h.must(h.s.CompleteAttempts(h.ctx, results), "complete attempts")
		for i, c := range cases {
			h.equal(c.name+": outcome set in the result", results[i].Attempt.Outcome, c.want)
			got, err := h.s.GetAttempt(h.ctx, app.ID, msgs[i].ID, results[i].Attempt.ID)
			h.must(err, "get attempt")
			h.equal(c.name+": outcome read back", got.Outcome, c.want)
			h.equal(c.name+": attempt read back", got, &results[i].Attempt)
			as, err := h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: app.ID, MsgID: msgs[i].ID, Page: store.Page{Limit: 10}})
			h.must(err, "list attempts")
			h.equal(c.name+": listed", as, []hookrelay.Attempt{results[i].Attempt})
		}
	}},
	{"across the application by status", func(h *harness) {
		app, other := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		e1, e2 := h.newEndpoint(app.ID), h.newEndpoint(app.ID)
		eo := h.newEndpoint(other.ID)
		m1, _ := h.publish(app.ID, "call.completed", withChannels("c1"), withTags("t1"))
		m2, _ := h.publish(app.ID, "contact.created")
		mo, _ := h.publish(other.ID, "contact.created")
		tasks := map[[2]string]store.Task{}
		for _, task := range h.claimAll("n", time.Now()) {
			tasks[[2]string{task.Message.ID, task.Endpoint.ID}] = task
		}
		at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Hour) }
		a1 := h.complete("n", tasks[[2]string{m1.ID, e1.ID}], 500, hookrelay.StatusFail, 1, nil, at(1))
		a2 := h.complete("n", tasks[[2]string{m1.ID, e2.ID}], 200, hookrelay.StatusSuccess, 1, nil, at(2))
		a3 := h.complete("n", tasks[[2]string{m2.ID, e1.ID}], 204, hookrelay.StatusSuccess, 1, nil, at(3))
		a4 := h.complete("n", tasks[[2]string{m2.ID, e2.ID}], 0, hookrelay.StatusFail, 1, nil, at(4))
		ao := h.complete("n", tasks[[2]string{mo.ID, eo.ID}], 503, hookrelay.StatusFail, 1, nil, at(5))

		attemptIDs := func(as []hookrelay.Attempt) []string {
			return ids(as, func(a hookrelay.Attempt) string { return a.ID })
		}
		failed, succeeded := ptr(hookrelay.StatusFail), ptr(hookrelay.StatusSuccess)
		for _, c := range []struct {
			name string
			p    store.ListAttemptsParams
			want []string
		}{
			{"failed", store.ListAttemptsParams{AppID: app.ID, Status: failed}, []string{a4.ID, a1.ID}},
			{"succeeded", store.ListAttemptsParams{AppID: app.ID, Status: succeeded}, []string{a3.ID, a2.ID}},
			{"pending", store.ListAttemptsParams{AppID: app.ID, Status: ptr(hookrelay.StatusPending)}, nil},
			{"any status", store.ListAttemptsParams{AppID: app.ID}, []string{a4.ID, a3.ID, a2.ID, a1.ID}},
			{"failed, event type", store.ListAttemptsParams{AppID: app.ID, Status: failed, EventTypes: []string{"contact.created"}}, []string{a4.ID}},
			{"failed, channel", store.ListAttemptsParams{AppID: app.ID, Status: failed, Channel: "c1"}, []string{a1.ID}},
			{"failed, tag", store.ListAttemptsParams{AppID: app.ID, Status: failed, Tag: "t1"}, []string{a1.ID}},
			{"failed, class 500", store.ListAttemptsParams{AppID: app.ID, Status: failed, StatusCodeClass: ptr(500)}, []string{a1.ID}},
			{"failed, after", store.ListAttemptsParams{AppID: app.ID, Status: failed, After: ptr(at(1))}, []string{a4.ID}},
			{"failed, before", store.ListAttemptsParams{AppID: app.ID, Status: failed, Before: ptr(at(4))}, []string{a1.ID}},
			{"succeeded, between", store.ListAttemptsParams{AppID: app.ID, Status: succeeded, After: ptr(at(2)), Before: ptr(at(4))}, []string{a3.ID}},
			{"failed, endpoint", store.ListAttemptsParams{AppID: app.ID, Status: failed, EndpointID: e2.ID}, []string{a4.ID}},
			{"other application, failed", store.ListAttemptsParams{AppID: other.ID, Status: failed}, []string{ao.ID}},
			{"other application, succeeded", store.ListAttemptsParams{AppID: other.ID, Status: succeeded}, nil},
			{"app's endpoint under the other application", store.ListAttemptsParams{AppID: other.ID, Status: failed, EndpointID: e1.ID}, nil},
		} {
			c.p.Page = store.Page{Limit: 10}
			as, err := h.s.ListAttempts(h.ctx, c.p)
			h.must(err, "list attempts "+c.name)
			h.equal(c.name, attemptIDs(as), c.want)
		}

		key := func(a hookrelay.Attempt) string { return a.ID }
		for _, st := range []*hookrelay.MessageStatus{failed, succeeded, nil} {
			paged := paginate(h, 1, key, func(iter string) ([]hookrelay.Attempt, error) {
				return h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: app.ID, Status: st, Page: store.Page{Limit: 1, Iterator: iter}})
			})
			full, err := h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: app.ID, Status: st, Page: store.Page{Limit: 10}})
			h.must(err, "list attempts")
			h.equal("paged one by one", paged, full)
		}

		// An endpoint's attempts go with it, from every listing alike:
		// succeeded ones across the application are read endpoint by
		// endpoint, failed ones from one range of the application's.
		h.must(h.s.DeleteEndpoint(h.ctx, app.ID, e2.ID), "delete endpoint")
		for _, c := range []struct {
			name string
			p    store.ListAttemptsParams
			want []string
		}{
			{"failed, an endpoint deleted", store.ListAttemptsParams{AppID: app.ID, Status: failed}, []string{a1.ID}},
			{"succeeded, an endpoint deleted", store.ListAttemptsParams{AppID: app.ID, Status: succeeded}, []string{a3.ID}},
			{"deleted endpoint", store.ListAttemptsParams{AppID: app.ID, EndpointID: e2.ID}, nil},
			{"message of the deleted endpoint", store.ListAttemptsParams{AppID: app.ID, MsgID: m1.ID}, []string{a1.ID}},
		} {
			c.p.Page = store.Page{Limit: 10}
			as, err := h.s.ListAttempts(h.ctx, c.p)
			h.must(err, "list attempts "+c.name)
			h.equal(c.name, attemptIDs(as), c.want)
		}
	}},
	{"since a time, with the ID made before the attempt's time", func(h *harness) {
		// The ID bound After implies leaves room for an ID made up to
		// store.AttemptIDSlack before CreatedAt: the store makes this one now.
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		msg, _ := h.publish(app.ID, "x")
		tasks := h.claimAll("n", time.Now())
		start := time.Now().Add(store.AttemptIDSlack - time.Minute)
		a := h.complete("n", tasks[0], 500, hookrelay.StatusFail, 1, nil, start)
		since := start.Add(-time.Second)
		for _, p := range []store.ListAttemptsParams{
			{AppID: app.ID, Status: ptr(hookrelay.StatusFail), After: &since},
			{AppID: app.ID, After: &since},
			{AppID: app.ID, EndpointID: ep.ID, After: &since},
			{AppID: app.ID, MsgID: msg.ID, After: &since},
		} {
			p.Page = store.Page{Limit: 10}
			as, err := h.s.ListAttempts(h.ctx, p)
			h.must(err, "list attempts")
			h.equal("attempts since", ids(as, func(a hookrelay.Attempt) string { return a.ID }), []string{a.ID})
		}
	}},
	{"expunge drops the response", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		msg, _ := h.publish(app.ID, "x")
		tasks := h.claimAll("n", time.Now())
		a := h.complete("n", tasks[0], 500, hookrelay.StatusFail, 1, nil, h.tick())
		h.wantErr(h.s.ExpungeAttemptContent(h.ctx, app.ID, "msg_nope", a.ID), hookrelay.ErrNotFound, "expunge under another message")
		h.must(h.s.ExpungeAttemptContent(h.ctx, app.ID, msg.ID, a.ID), "expunge attempt")
		got, err := h.s.GetAttempt(h.ctx, app.ID, msg.ID, a.ID)
		h.must(err, "get attempt")
		h.equal("response", got.Response, "")
		a.Response = ""
		h.equal("expunged attempt", got, &a)
	}},
}
