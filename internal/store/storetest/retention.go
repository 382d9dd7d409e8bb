package storetest

import (
	"errors"
	"sync"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// withExpiry sets the message's payload expiry.
func withExpiry(at time.Time) func(*store.CreateMessageParams) {
	return func(p *store.CreateMessageParams) { p.Message.PayloadExpiresAt = &at }
}

// purgeAll runs batches of kind as owner with limit until one is done and
// returns the totals of removed rows and attempts.
func (h *harness) purgeAll(kind store.PurgeKind, now, before time.Time, limit int) (removed, attempts int) {
	h.Helper()
	cursor := ""
	for range 1000 {
		res, err := h.s.PurgeBatch(h.ctx, store.PurgeParams{Kind: kind, Owner: "cleaner", Now: now,
			LeaseUntil: now.Add(time.Minute), Limit: limit, Cursor: cursor, Before: before})
		h.must(err, "purge "+string(kind))
		removed += res.Removed
		attempts += res.Attempts
		if res.Done {
			return removed, attempts
		}
		if res.Scanned == 0 {
			h.Fatalf("purge %s: a batch that is not done looked at nothing", kind)
		}
		cursor = res.Cursor
	}
	h.Fatalf("purge %s never done", kind)
	return 0, 0
}

// msgAttempts lists the attempts of one message.
func (h *harness) msgAttempts(appID, msgID string) []hookrelay.Attempt {
	h.Helper()
	as, err := h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: appID, MsgID: msgID, Page: store.Page{Limit: 100}})
	h.must(err, "list attempts")
	return as
}

func (h *harness) payloadOf(appID, msgID string) []byte {
	h.Helper()
	m, err := h.s.GetMessage(h.ctx, appID, msgID)
	h.must(err, "get message")
	return m.Payload
}

var retentionTests = []testCase{
	{"expired payloads and their response bodies go, pending and unexpired stay", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		now := t0.Add(time.Hour)
		soon, later := t0.Add(10*time.Minute), t0.Add(2*time.Hour)
		done1, _ := h.publish(app.ID, "x", withExpiry(soon))
		pending, _ := h.publish(app.ID, "x", withExpiry(soon))
		done2, _ := h.publish(app.ID, "x", withExpiry(soon))
		kept, _ := h.publish(app.ID, "x", withExpiry(later))
		forever, _ := h.publish(app.ID, "x")
		h.settle(map[[2]string]outcome{
			{done1.ID, ep.ID}:   succeeded,
			{pending.ID, ep.ID}: retryAt(t0.Add(48 * time.Hour)),
			{done2.ID, ep.ID}:   failed,
			{kept.ID, ep.ID}:    succeeded,
			{forever.ID, ep.ID}: succeeded,
		})

		// Batches of one: the pending message is looked at and skipped.
		removed, attempts := h.purgeAll(store.PurgePayloads, now, time.Time{}, 1)
		h.equal("payloads removed", removed, 2)
		h.equal("responses emptied", attempts, 2)
		for _, m := range []*hookrelay.Message{done1, done2} {
			h.equal("expired payload", h.payloadOf(app.ID, m.ID), []byte(nil))
			as := h.msgAttempts(app.ID, m.ID)
			h.equal("attempts kept", len(as), 1)
			h.equal("expired response", as[0].Response, "")
		}
		for _, m := range []*hookrelay.Message{pending, kept, forever} {
			h.equal("kept payload", h.payloadOf(app.ID, m.ID), m.Payload)
			as := h.msgAttempts(app.ID, m.ID)
			h.equal("attempts kept", len(as), 1)
			if as[0].Response == "" {
				h.Errorf("response of %s emptied", m.ID)
			}
		}
		h.equal("pending delivery untouched", h.delivery(app.ID, pending.ID, ep.ID).Status, hookrelay.StatusPending)

		// Once the pending delivery ends, its payload goes too.
		for _, task := range h.claimAll("settler", time.Now().Add(72*time.Hour)) {
			h.complete("settler", task, 200, hookrelay.StatusSuccess, 2, nil, h.tick())
		}
		removed, _ = h.purgeAll(store.PurgePayloads, now, time.Time{}, 10)
		h.equal("payloads removed after the delivery ended", removed, 1)
		h.equal("expired payload", h.payloadOf(app.ID, pending.ID), []byte(nil))
	}},
	{"messages past history retention go with their deliveries and attempts", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		old1, _ := h.publish(app.ID, "x", withExpiry(t0))
		oldNoExpiry, _ := h.publish(app.ID, "x")
		oldPending, _ := h.publish(app.ID, "x", withExpiry(t0))
		oldKeptPayload, _ := h.publish(app.ID, "x", withExpiry(t0.Add(10*time.Hour)))
		old2, _ := h.publish(app.ID, "x", withExpiry(t0))
		before := h.tick()
		young, _ := h.publish(app.ID, "x", withExpiry(t0))
		h.settle(map[[2]string]outcome{
			{old1.ID, ep.ID}:           succeeded,
			{oldNoExpiry.ID, ep.ID}:    failed,
			{oldPending.ID, ep.ID}:     retryAt(t0.Add(48 * time.Hour)),
			{oldKeptPayload.ID, ep.ID}: succeeded,
			{old2.ID, ep.ID}:           succeeded,
			{young.ID, ep.ID}:          succeeded,
		})

		removed, attempts := h.purgeAll(store.PurgeMessages, t0.Add(time.Hour), before, 2)
		h.equal("messages removed", removed, 3)
		h.equal("attempts removed", attempts, 3)
		for _, m := range []*hookrelay.Message{old1, oldNoExpiry, old2} {
			_, err := h.s.GetMessage(h.ctx, app.ID, m.ID)
			h.wantErr(err, hookrelay.ErrNotFound, "get a purged message")
			h.equal("attempts of a purged message", len(h.msgAttempts(app.ID, m.ID)), 0)
		}
		for _, m := range []*hookrelay.Message{oldPending, oldKeptPayload, young} {
			h.equal("kept message's payload", h.payloadOf(app.ID, m.ID), m.Payload)
			h.equal("kept message's attempts", len(h.msgAttempts(app.ID, m.ID)), 1)
		}
		ems := h.endpointMessages(store.ListDeliveriesParams{AppID: app.ID, EndpointID: ep.ID})
		h.equal("deliveries left", len(ems), 3)
		h.equal("pending delivery untouched", h.delivery(app.ID, oldPending.ID, ep.ID).Status, hookrelay.StatusPending)
		// The pending one is still delivered.
		tasks := h.claimAll("n", time.Now().Add(72*time.Hour))
		h.equal("claimable", ids(tasks, func(t store.Task) string { return t.Message.ID }), []string{oldPending.ID})
	}},
	{"expired idempotency records go", func(h *harness) {
		now := time.Now()
		for i, exp := range []time.Time{now.Add(-time.Minute), now.Add(-time.Second), now.Add(time.Hour)} {
			_, started, err := h.s.StartIdempotent(h.ctx, &store.IdempotencyRecord{Scope: "s", Key: string(rune('a' + i)), ExpiresAt: exp})
			h.must(err, "start")
			h.equal("started", started, true)
		}
		removed, _ := h.purgeAll(store.PurgeIdempotency, now, time.Time{}, 1)
		h.equal("records removed", removed, 2)
		removed, _ = h.purgeAll(store.PurgeIdempotency, now, time.Time{}, 10)
		h.equal("records removed again", removed, 0)
		_, started, err := h.s.StartIdempotent(h.ctx, &store.IdempotencyRecord{Scope: "s", Key: "c", ExpiresAt: now.Add(time.Hour)})
		h.must(err, "start the live key again")
		h.equal("live record kept", started, false)
	}},
	{"expired portal tokens go", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		now := t0.Add(time.Hour)
		past, future := t0, t0.Add(2*time.Hour)
		mk := func(name string, kind store.TokenKind, exp *time.Time) *store.Token {
			tok := &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: kind, Hash: hashOf(name), ExpiresAt: exp, CreatedAt: t0}
			if kind == store.TokenPortal {
				tok.AppID = app.ID
			}
			h.must(h.s.CreateToken(h.ctx, tok), "create token")
			return tok
		}
		mk("expired", store.TokenPortal, &past)
		mk("expired2", store.TokenPortal, &past)
		live := mk("live", store.TokenPortal, &future)
		forever := mk("forever", store.TokenPortal, nil)
		admin := mk("admin", store.TokenAdmin, &past)
		removed, _ := h.purgeAll(store.PurgeTokens, now, time.Time{}, 1)
		h.equal("tokens removed", removed, 2)
		toks, err := h.s.ListTokens(h.ctx, hookrelay.DefaultEnvironment, store.TokenPortal)
		h.must(err, "list portal tokens")
		h.equal("portal tokens left", ids(toks, func(t store.Token) string { return t.ID }), []string{live.ID, forever.ID})
		_, err = h.s.GetTokenByHash(h.ctx, admin.Hash)
		h.must(err, "an admin token is never purged")
	}},
	{"ended tasks past history retention go", func(h *harness) {
		mk := func(status string, updated time.Time) *store.BackgroundTask {
			t := &store.BackgroundTask{EnvID: hookrelay.DefaultEnvironment, Task: "endpoint.recover", Status: status,
				Data: map[string]any{}, CreatedAt: t0, UpdatedAt: updated}
			h.must(h.s.CreateBackgroundTask(h.ctx, t), "create task")
			return t
		}
		before := t0.Add(time.Hour)
		oldFinished := mk(store.TaskFinished, t0.Add(time.Minute))
		oldFailed := mk(store.TaskFailed, t0.Add(time.Minute))
		oldRunning := mk(store.TaskRunning, t0.Add(time.Minute))
		recent := mk(store.TaskFinished, t0.Add(2*time.Hour))
		removed, _ := h.purgeAll(store.PurgeTasks, t0.Add(3*time.Hour), before, 1)
		h.equal("tasks removed", removed, 2)
		for _, t := range []*store.BackgroundTask{oldFinished, oldFailed} {
			_, err := h.s.GetBackgroundTask(h.ctx, hookrelay.DefaultEnvironment, t.ID)
			h.wantErr(err, hookrelay.ErrNotFound, "get a purged task")
		}
		for _, t := range []*store.BackgroundTask{oldRunning, recent} {
			h.getTask(t.ID)
		}
	}},
	{"the cleaner's lease is held by one owner at a time", func(h *harness) {
		now := t0
		batch := func(owner string, at time.Time) error {
			_, err := h.s.PurgeBatch(h.ctx, store.PurgeParams{Kind: store.PurgeTasks, Owner: owner, Now: at,
				LeaseUntil: at.Add(30 * time.Second), Limit: 10, Before: at})
			return err
		}
		h.must(batch("a", now), "first batch takes the lease")
		h.wantErr(batch("b", now.Add(10*time.Second)), store.ErrLeaseHeld, "another owner while the lease holds")
		h.must(batch("a", now.Add(20*time.Second)), "the holder renews")
		h.wantErr(batch("b", now.Add(45*time.Second)), store.ErrLeaseHeld, "another owner before the renewed lease ends")
		h.must(batch("b", now.Add(51*time.Second)), "another owner once the lease lapsed")
		h.wantErr(batch("a", now.Add(52*time.Second)), store.ErrLeaseHeld, "the old holder lost it")
		h.must(h.s.ReleaseCleanerLease(h.ctx, "a"), "release by a non-holder")
		h.wantErr(batch("a", now.Add(53*time.Second)), store.ErrLeaseHeld, "a release by another owner changes nothing")
		h.must(h.s.ReleaseCleanerLease(h.ctx, "b"), "release")
		h.must(batch("a", now.Add(54*time.Second)), "a released lease is free at once")

		// Owners racing for a free lease: exactly one gets it.
		h.must(h.s.ReleaseCleanerLease(h.ctx, "a"), "release")
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		at := now.Add(time.Hour)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := batch(string(rune('p'+i)), at)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case !errors.Is(err, store.ErrLeaseHeld):
					h.Errorf("racing batch: %v", err)
				}
			}()
		}
		wg.Wait()
		h.equal("owners that got the lease", won, 1)
	}},
}
