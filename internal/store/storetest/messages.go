package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

func withEventID(id string) func(*store.CreateMessageParams) {
	return func(p *store.CreateMessageParams) { p.Message.EventID = ptr(id) }
}

func withChannels(ch ...string) func(*store.CreateMessageParams) {
	return func(p *store.CreateMessageParams) { p.Message.Channels = ch }
}

func withTags(tags ...string) func(*store.CreateMessageParams) {
	return func(p *store.CreateMessageParams) { p.Message.Tags = tags }
}

// destinations returns the endpoint IDs msgID was queued for, sorted.
func (h *harness) destinations(appID, msgID string) []string {
	h.Helper()
	ds, err := h.s.ListMessageDestinations(h.ctx, store.ListDeliveriesParams{AppID: appID, MsgID: msgID, Page: store.Page{Limit: 100}})
	h.must(err, "list message destinations")
	out := ids(ds, func(d store.MessageDestination) string { return d.Endpoint.ID })
	slices.Sort(out)
	return out
}

func (h *harness) messageCount(appID string) int {
	h.Helper()
	ms, err := h.s.ListMessages(h.ctx, store.ListMessagesParams{AppID: appID, Page: store.Page{Limit: 1000}})
	h.must(err, "list messages")
	return len(ms)
}

var messageTests = []testCase{
	{"an event type filter of any length", func(h *harness) {
		// More names than SQLite takes as separate parameters of one
		// statement (32766): the listings and counts that filter by event
		// type answer as for a short list.
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		m1, _ := h.publish(app.ID, "call.completed")
		h.publish(app.ID, "call.started")
		names := make([]string, 0, 40002)
		for i := range 40000 {
			names = append(names, fmt.Sprintf("filler.%d", i))
		}
		names = append(names, "call.completed")
		msgs, err := h.s.ListMessages(h.ctx, store.ListMessagesParams{AppID: app.ID, EventTypes: names, Page: store.Page{Limit: 10}})
		h.must(err, "list messages")
		h.equal("messages", ids(msgs, func(m hookrelay.Message) string { return m.ID }), []string{m1.ID})
		ems := h.endpointMessages(store.ListDeliveriesParams{AppID: app.ID, EndpointID: ep.ID, EventTypes: names})
		h.equal("endpoint messages", ids(ems, func(e store.EndpointMessage) string { return e.Message.ID }), []string{m1.ID})
		for _, p := range []store.ListAttemptsParams{
			{AppID: app.ID, EndpointID: ep.ID, EventTypes: names},
			{AppID: app.ID, Status: ptr(hookrelay.StatusSuccess), EventTypes: names},
		} {
			p.Page = store.Page{Limit: 10}
			_, err := h.s.ListAttempts(h.ctx, p)
			h.must(err, "list attempts")
		}
		counts, err := h.s.DeliveryCounts(h.ctx, app.ID, t0.Add(-time.Hour), time.Now().Add(time.Hour), names)
		h.must(err, "delivery counts")
		h.equal("delivery counts", fmt.Sprint(counts), "[{call.completed 1 1}]")
	}},
	{"create and get by ID and eventId", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		msg, _ := h.publish(app.ID, "call.completed", withEventID("evt-1"), withChannels("agent-1"), withTags("vip", "eu"))
		for _, key := range []string{msg.ID, "evt-1"} {
			got, err := h.s.GetMessage(h.ctx, app.ID, key)
			h.must(err, "get message by "+key)
			h.equal("message by "+key, got, msg)
		}
		plain, _ := h.publish(app.ID, "call.started")
		got, err := h.s.GetMessage(h.ctx, app.ID, plain.ID)
		h.must(err, "get message")
		h.equal("plain message", got, plain)
		if got.EventID != nil {
			h.Fatalf("unset eventId read back as %q", *got.EventID)
		}
	}},
	{"payload is kept byte for byte", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		payload := []byte("{\"b\": 1,  \"a\":[1,2,3],\n\"s\":\"\\u00e9\xc3\xa9\"}")
		msg, _ := h.publish(app.ID, "x", func(p *store.CreateMessageParams) { p.Message.Payload = payload })
		got, err := h.s.GetMessage(h.ctx, app.ID, msg.ID)
		h.must(err, "get message")
		h.equal("payload", string(got.Payload), string(payload))
	}},
	{"other application is not found", func(h *harness) {
		a, b := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		msg, _ := h.publish(a.ID, "x", withEventID("evt-1"))
		for _, key := range []string{msg.ID, "evt-1"} {
			_, err := h.s.GetMessage(h.ctx, b.ID, key)
			h.wantErr(err, hookrelay.ErrNotFound, "get message of another application by "+key)
		}
		h.wantErr(h.s.ExpungeMessageContent(h.ctx, b.ID, msg.ID), hookrelay.ErrNotFound, "expunge under another application")
	}},
	{"missing application is not found", func(h *harness) {
		_, err := h.s.CreateMessage(h.ctx, store.CreateMessageParams{Message: &hookrelay.Message{AppID: "app_nope", EventType: "x", Payload: []byte("{}"), CreatedAt: t0}})
		h.wantErr(err, hookrelay.ErrNotFound, "publish to a missing application")
	}},
	{"taken eventId is a conflict and stores nothing", func(h *harness) {
		a, b := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(a.ID)
		first, n := h.publish(a.ID, "x", withEventID("evt-1"))
		h.equal("deliveries of the first publish", n, 1)
		_, err := h.s.CreateMessage(h.ctx, store.CreateMessageParams{Message: &hookrelay.Message{
			AppID: a.ID, EventID: ptr("evt-1"), EventType: "x", Payload: []byte("{}"), CreatedAt: h.tick(),
		}})
		h.wantErr(err, hookrelay.ErrConflict, "publish a taken eventId")
		h.equal("messages", h.messageCount(a.ID), 1)
		got, err := h.s.GetMessage(h.ctx, a.ID, "evt-1")
		h.must(err, "get message")
		h.equal("message behind the eventId", got.ID, first.ID)
		tasks := h.claimAll("node", time.Now())
		h.equal("queued deliveries", len(tasks), 1)
		// The same eventId in another application is free.
		h.publish(b.ID, "x", withEventID("evt-1"))
	}},
	{"concurrent publishes succeed or conflict on their own", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		const unique = 20
		var mu sync.Mutex
		var ok, conflicts int
		var errs []error
		var wg sync.WaitGroup
		for i := range 2 * unique {
			wg.Go(func() {
				p := store.CreateMessageParams{Message: &hookrelay.Message{
					AppID: app.ID, EventID: ptr(fmt.Sprintf("evt-%d", i%unique)), EventType: "x",
					Payload: []byte("{}"), CreatedAt: t0,
				}}
				_, err := h.s.CreateMessage(h.ctx, p)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, hookrelay.ErrConflict):
					conflicts++
				default:
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			h.Fatalf("unexpected publish errors: %v", errs)
		}
		h.equal("successful publishes", ok, unique)
		h.equal("conflicting publishes", conflicts, unique)
		h.equal("messages", h.messageCount(app.ID), unique)
		h.equal("queued deliveries", len(h.claimAll("node", time.Now())), unique)
	}},
	{"fan-out follows endpoint filters", func(h *harness) {
		app, other := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		all := h.newEndpoint(app.ID)
		exact := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.FilterTypes = []string{"call.completed"} })
		family := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.FilterTypes = []string{"contact.*"} })
		agent := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.Channels = []string{"agent-1"} })
		both := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) {
			e.FilterTypes = []string{"call.completed"}
			e.Channels = []string{"agent-2", "agent-3"}
		})
		h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.Disabled = true })
		h.newEndpoint(other.ID)
		for _, c := range []struct {
			name      string
			eventType string
			channels  []string
			want      []string
		}{
			{"exact type", "call.completed", nil, []string{all.ID, exact.ID}},
			{"family", "contact.created", nil, []string{all.ID, family.ID}},
			{"nested family", "contact.note.added", nil, []string{all.ID, family.ID}},
			{"family prefix alone", "contact", nil, []string{all.ID}},
			{"no match", "email.sent", nil, []string{all.ID}},
			{"channel", "email.sent", []string{"agent-1"}, []string{all.ID, agent.ID}},
			{"channel and type", "call.completed", []string{"agent-3"}, []string{all.ID, exact.ID, both.ID}},
			{"type without channel", "call.completed", []string{"agent-9"}, []string{all.ID, exact.ID}},
		} {
			msg, n := h.publish(app.ID, c.eventType, withChannels(c.channels...))
			want := slices.Sorted(slices.Values(c.want))
			h.equal(c.name+": deliveries", n, len(want))
			h.equal(c.name+": destinations", h.destinations(app.ID, msg.ID), want)
		}
	}},
	{"only endpoint ignores filters", func(h *harness) {
		app, other := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		picky := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) {
			e.FilterTypes = []string{"never"}
			e.Channels = []string{"nowhere"}
		})
		msg, n := h.publish(app.ID, "x", func(p *store.CreateMessageParams) { p.OnlyEndpointID = picky.ID })
		h.equal("deliveries", n, 1)
		h.equal("destinations", h.destinations(app.ID, msg.ID), []string{picky.ID})

		foreign := h.newEndpoint(other.ID)
		_, err := h.s.CreateMessage(h.ctx, store.CreateMessageParams{
			Message:        &hookrelay.Message{AppID: app.ID, EventType: "x", Payload: []byte("{}"), CreatedAt: h.tick()},
			OnlyEndpointID: foreign.ID,
		})
		h.wantErr(err, hookrelay.ErrNotFound, "publish to another application's endpoint")
		h.equal("messages", h.messageCount(app.ID), 1)
	}},
	{"no endpoints queues nothing", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		_, n := h.publish(app.ID, "x")
		h.equal("deliveries", n, 0)
		h.equal("messages", h.messageCount(app.ID), 1)
	}},
	{"deliveries are pending and due at the message's creation", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		msg, _ := h.publish(app.ID, "x")
		ems, err := h.s.ListEndpointMessages(h.ctx, store.ListDeliveriesParams{AppID: app.ID, EndpointID: ep.ID, Page: store.Page{Limit: 10}})
		h.must(err, "list endpoint messages")
		h.equal("endpoint messages", len(ems), 1)
		d := ems[0].Delivery
		h.equal("delivery message", d.MsgID, msg.ID)
		h.equal("delivery endpoint", d.EndpointID, ep.ID)
		h.equal("delivery app", d.AppID, app.ID)
		h.equal("delivery status", d.Status, hookrelay.StatusPending)
		h.equal("delivery attempts", d.Attempts, 0)
		h.equal("delivery manual", d.Manual, false)
		h.equal("delivery next attempt", d.NextAttempt, &msg.CreatedAt)
	}},
	{"list newest first with filters", func(h *harness) {
		app, other := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		m1, _ := h.publish(app.ID, "call.completed", withChannels("agent-1"), withTags("vip"))
		m2, _ := h.publish(app.ID, "call.started", withChannels("agent-2"))
		m3, _ := h.publish(app.ID, "contact.created", withChannels("agent-1", "agent-2"), withTags("eu", "vip"))
		m4, _ := h.publish(app.ID, "call.completed")
		h.publish(other.ID, "call.completed", withChannels("agent-1"))
		for _, c := range []struct {
			name string
			p    store.ListMessagesParams
			want []*hookrelay.Message
		}{
			{"all", store.ListMessagesParams{}, []*hookrelay.Message{m4, m3, m2, m1}},
			{"channel", store.ListMessagesParams{Channel: "agent-1"}, []*hookrelay.Message{m3, m1}},
			{"tag", store.ListMessagesParams{Tag: "vip"}, []*hookrelay.Message{m3, m1}},
			{"channel and tag", store.ListMessagesParams{Channel: "agent-2", Tag: "eu"}, []*hookrelay.Message{m3}},
			{"event types", store.ListMessagesParams{EventTypes: []string{"call.completed", "contact.created"}}, []*hookrelay.Message{m4, m3, m1}},
			{"before", store.ListMessagesParams{Before: &m3.CreatedAt}, []*hookrelay.Message{m2, m1}},
			{"after", store.ListMessagesParams{After: &m2.CreatedAt}, []*hookrelay.Message{m4, m3}},
			{"between", store.ListMessagesParams{After: &m1.CreatedAt, Before: &m4.CreatedAt}, []*hookrelay.Message{m3, m2}},
			{"unknown channel", store.ListMessagesParams{Channel: "agent-9"}, nil},
		} {
			c.p.AppID = app.ID
			c.p.Page = store.Page{Limit: 10}
			got, err := h.s.ListMessages(h.ctx, c.p)
			h.must(err, "list messages "+c.name)
			want := make([]hookrelay.Message, len(c.want))
			for i, m := range c.want {
				want[i] = *m
			}
			h.equal(c.name, got, want)
		}
	}},
	{"list pages without gaps", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		var want []string
		for range 7 {
			m, _ := h.publish(app.ID, "x", withTags("t"))
			want = append(want, m.ID)
		}
		key := func(m hookrelay.Message) string { return m.ID }
		got := paginate(h, 3, key, func(iter string) ([]hookrelay.Message, error) {
			return h.s.ListMessages(h.ctx, store.ListMessagesParams{AppID: app.ID, Tag: "t", Page: store.Page{Limit: 3, Iterator: iter}})
		})
		h.equal("messages newest first", ids(got, key), reversed(want))
	}},
	{"expunge drops the payload only", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		msg, _ := h.publish(app.ID, "x", withEventID("e"))
		h.must(h.s.ExpungeMessageContent(h.ctx, app.ID, msg.ID), "expunge message")
		got, err := h.s.GetMessage(h.ctx, app.ID, msg.ID)
		h.must(err, "get message")
		if got.Payload != nil {
			h.Fatalf("payload after expunge: %q", got.Payload)
		}
		msg.Payload = nil
		h.equal("expunged message", got, msg)
		h.equal("messages", h.messageCount(app.ID), 1)
		h.wantErr(h.s.ExpungeMessageContent(h.ctx, app.ID, "msg_nope"), hookrelay.ErrNotFound, "expunge missing message")
	}},
}
