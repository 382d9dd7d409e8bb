package storetest

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// newTask creates a running, unowned task of kind in envID, created at the
// next tick.
func (h *harness) newTask(envID, kind string) *store.BackgroundTask {
	h.Helper()
	at := h.tick()
	t := &store.BackgroundTask{EnvID: envID, Task: kind, Status: store.TaskRunning,
		Data: map[string]any{}, Params: []byte(`{"p":1}`), CreatedAt: at, UpdatedAt: at}
	h.must(h.s.CreateBackgroundTask(h.ctx, t), "create background task")
	return t
}

// claimTask claims a runnable task for owner at now, with a minute's lease.
func (h *harness) claimTask(owner string, now time.Time, kinds ...string) (*store.BackgroundTask, error) {
	return h.s.ClaimBackgroundTask(h.ctx, store.ClaimTaskParams{
		Owner: owner, Now: now, LeaseUntil: now.Add(time.Minute), Tasks: kinds,
	})
}

// getTask reads a task of the default environment.
func (h *harness) getTask(id string) *store.BackgroundTask {
	h.Helper()
	t, err := h.s.GetBackgroundTask(h.ctx, hookrelay.DefaultEnvironment, id)
	h.must(err, "get background task")
	return t
}

// countingStep is a step of task id by owner whose Next counts changed
// items in data["changed"], keeps the lease for a minute and finishes the
// task when the batch is the last.
func countingStep(id, owner string, now time.Time, limit int, total *int) store.TaskStep {
	return store.TaskStep{ID: id, Owner: owner, Now: now, Limit: limit,
		Next: func(r store.BatchResult) store.TaskState {
			*total += r.Changed
			st := store.TaskState{Status: store.TaskRunning, Cursor: r.Cursor,
				Data: map[string]any{"changed": float64(*total)}}
			if r.Done {
				st.Status = store.TaskFinished
			} else {
				until := now.Add(time.Minute)
				st.LeaseUntil = &until
			}
			return st
		}}
}

// runTask claims task id and steps it with limit until it is done,
// returning the total changed and the number of batches.
func (h *harness) runTask(id string, now time.Time, limit int, batch func(store.TaskStep) (store.BatchResult, error)) (int, int, error) {
	h.Helper()
	owner := h.name("runner")
	t, err := h.claimTask(owner, now)
	if err != nil {
		return 0, 0, err
	}
	if t.ID != id {
		h.Fatalf("claimed task %s, want %s", t.ID, id)
	}
	total := 0
	for n := 1; n <= 1000; n++ {
		r, err := batch(countingStep(id, owner, now, limit, &total))
		if err != nil {
			return total, n, err
		}
		if r.Done {
			return total, n, nil
		}
	}
	h.Fatal("task did not end")
	return 0, 0, nil
}

// recoverFailed recovers the failed deliveries of an endpoint through a
// recovery task worked in batches of two.
func (h *harness) recoverFailed(appID, endpointID string, since time.Time, until *time.Time, now time.Time) (int, error) {
	h.Helper()
	t := h.newTask(hookrelay.DefaultEnvironment, "endpoint.recover")
	p := store.RecoverParams{AppID: appID, EndpointID: endpointID, Since: since, Until: until}
	n, _, err := h.runTask(t.ID, now, 2, func(step store.TaskStep) (store.BatchResult, error) {
		return h.s.RecoverBatch(h.ctx, step, p)
	})
	if err != nil {
		return n, err
	}
	if got := h.getTask(t.ID); got.Status != store.TaskFinished || got.Data["changed"] != float64(n) {
		h.Fatalf("recovery task after its last batch: %+v, want finished with %d changed", got, n)
	}
	return n, nil
}

var taskLeaseTests = []testCase{
	{"claim leases the oldest runnable task to one owner", func(h *harness) {
		a := h.newTask(hookrelay.DefaultEnvironment, "endpoint.recover")
		b := h.newTask(hookrelay.DefaultEnvironment, "endpoint.replay")
		done := &store.BackgroundTask{EnvID: hookrelay.DefaultEnvironment, Task: "endpoint.recover",
			Status: store.TaskFinished, CreatedAt: t0, UpdatedAt: t0}
		h.must(h.s.CreateBackgroundTask(h.ctx, done), "create finished task")

		now := normTime(time.Now())
		got, err := h.claimTask("n1", now)
		h.must(err, "claim")
		h.equal("first claim", got.ID, a.ID)
		h.equal("owner", got.Owner, "n1")
		h.equal("lease", got.LeaseUntil, ptr(now.Add(time.Minute)))
		h.equal("params kept", string(got.Params), `{"p":1}`)
		h.equal("stored owner", h.getTask(a.ID).Owner, "n1")

		got, err = h.claimTask("n2", now)
		h.must(err, "second claim")
		h.equal("second claim", got.ID, b.ID)
		_, err = h.claimTask("n3", now.Add(59*time.Second))
		h.wantErr(err, hookrelay.ErrNotFound, "claim while every running task is leased")

		// n1's lease lapses: n3 resumes the task, and n1 no longer holds it.
		got, err = h.claimTask("n3", now.Add(time.Minute))
		h.must(err, "claim after the lease lapsed")
		h.equal("task resumed", got.ID, a.ID)
		h.equal("new owner", got.Owner, "n3")
		err = h.s.SaveBackgroundTask(h.ctx, a.ID, "n1", now, store.TaskState{Status: store.TaskFinished})
		h.wantErr(err, store.ErrTaskLost, "save by the former owner")
		h.equal("task still running", h.getTask(a.ID).Status, store.TaskRunning)
	}},
	{"claim only the kinds asked for", func(h *harness) {
		h.newTask(hookrelay.DefaultEnvironment, "endpoint.recover")
		replay := h.newTask(hookrelay.DefaultEnvironment, "endpoint.replay")
		got, err := h.claimTask("n", time.Now(), "endpoint.replay", "message.broadcast")
		h.must(err, "claim replay")
		h.equal("claimed kind", got.ID, replay.ID)
		_, err = h.claimTask("n", time.Now(), "endpoint.replay")
		h.wantErr(err, hookrelay.ErrNotFound, "claim with no runnable task of the kind")
	}},
	{"save records progress, release and end while the owner holds the task", func(h *harness) {
		env := h.newEnv()
		t := h.newTask(env.ID, "endpoint.recover")
		now := normTime(time.Now())
		_, err := h.claimTask("n1", now)
		h.must(err, "claim")

		until := now.Add(2 * time.Minute)
		h.must(h.s.SaveBackgroundTask(h.ctx, t.ID, "n1", now.Add(time.Second), store.TaskState{
			Status: store.TaskRunning, Cursor: "msg_5", Data: map[string]any{"recovered": float64(3)}, LeaseUntil: &until,
		}), "save progress")
		got, err := h.s.GetBackgroundTask(h.ctx, env.ID, t.ID)
		h.must(err, "get")
		h.equal("cursor", got.Cursor, "msg_5")
		h.equal("data", got.Data, map[string]any{"recovered": float64(3)})
		h.equal("lease", got.LeaseUntil, &until)
		h.equal("updated", got.UpdatedAt, now.Add(time.Second))
		_, err = h.claimTask("n2", now.Add(time.Minute))
		h.wantErr(err, hookrelay.ErrNotFound, "claim within the extended lease")

		// Released, it is claimable at once, progress kept.
		h.must(h.s.SaveBackgroundTask(h.ctx, t.ID, "n1", now, store.TaskState{
			Status: store.TaskRunning, Cursor: "msg_6", Data: map[string]any{"recovered": float64(4)},
		}), "release")
		got, err = h.s.GetBackgroundTask(h.ctx, env.ID, t.ID)
		h.must(err, "get")
		h.equal("released owner", got.Owner, "")
		h.equal("released lease", got.LeaseUntil, (*time.Time)(nil))
		got, err = h.claimTask("n2", now)
		h.must(err, "claim a released task")
		h.equal("cursor after release", got.Cursor, "msg_6")
		h.wantErr(h.s.SaveBackgroundTask(h.ctx, t.ID, "n1", now, store.TaskState{Status: store.TaskRunning, LeaseUntil: &until}),
			store.ErrTaskLost, "save after release")

		h.must(h.s.SaveBackgroundTask(h.ctx, t.ID, "n2", now, store.TaskState{
			Status: store.TaskFinished, Cursor: "msg_9", Data: map[string]any{"recovered": float64(7)}, LeaseUntil: &until,
		}), "finish")
		got, err = h.s.GetBackgroundTask(h.ctx, env.ID, t.ID)
		h.must(err, "get")
		h.equal("status", got.Status, store.TaskFinished)
		h.equal("ended owner", got.Owner, "")
		h.equal("ended lease", got.LeaseUntil, (*time.Time)(nil))
		h.wantErr(h.s.SaveBackgroundTask(h.ctx, t.ID, "n2", now, store.TaskState{Status: store.TaskFailed}),
			store.ErrTaskLost, "save after the end")
		_, err = h.claimTask("n3", now.Add(time.Hour))
		h.wantErr(err, hookrelay.ErrNotFound, "claim a finished task")
	}},
	{"concurrent claims lease each task once", func(h *harness) {
		const tasks, claimers = 20, 6
		for range tasks {
			h.newTask(hookrelay.DefaultEnvironment, "endpoint.recover")
		}
		now := time.Now()
		var mu sync.Mutex
		var claimed []string
		var wg sync.WaitGroup
		errs := make(chan error, claimers)
		for i := range claimers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					t, err := h.s.ClaimBackgroundTask(h.ctx, store.ClaimTaskParams{
						Owner: fmt.Sprintf("n%d", i), Now: now, LeaseUntil: now.Add(time.Minute)})
					if errors.Is(err, hookrelay.ErrNotFound) {
						return
					}
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					claimed = append(claimed, t.ID)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			h.must(err, "claim")
		}
		sort.Strings(claimed)
		for i := 1; i < len(claimed); i++ {
			if claimed[i] == claimed[i-1] {
				h.Fatalf("task %s claimed twice", claimed[i])
			}
		}
		h.equal("claimed", len(claimed), tasks)
	}},
	{"recover in batches with a cursor", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep, other := h.newEndpoint(app.ID), h.newEndpoint(app.ID)
		var ms []*hookrelay.Message
		for range 7 {
			m, _ := h.publish(app.ID, "x")
			ms = append(ms, m)
		}
		outcomes := map[[2]string]outcome{}
		for i, m := range ms {
			outcomes[[2]string{m.ID, other.ID}] = failed
			if i != 3 {
				outcomes[[2]string{m.ID, ep.ID}] = failed
			} else {
				outcomes[[2]string{m.ID, ep.ID}] = succeeded
			}
		}
		h.settle(outcomes)
		t := h.newTask(hookrelay.DefaultEnvironment, "endpoint.recover")
		now := normTime(time.Now())
		_, err := h.claimTask("n", now)
		h.must(err, "claim")
		// [ms[1], ms[6]): ms[1], ms[2], ms[4], ms[5] are failed.
		p := store.RecoverParams{AppID: app.ID, EndpointID: ep.ID, Since: ms[1].CreatedAt, Until: &ms[6].CreatedAt}
		total := 0
		var results []store.BatchResult
		for range 4 {
			r, err := h.s.RecoverBatch(h.ctx, countingStep(t.ID, "n", now, 3, &total), p)
			h.must(err, "recover batch")
			results = append(results, r)
			h.equal("stored cursor", h.getTask(t.ID).Cursor, r.Cursor)
			if r.Done {
				break
			}
		}
		h.equal("batches", results, []store.BatchResult{
			{Cursor: ms[2].ID, Scanned: 3, Changed: 2},
			{Cursor: ms[5].ID, Scanned: 3, Changed: 2},
			{Cursor: ms[6].ID, Scanned: 1, Changed: 0, Done: true},
		})
		got := h.getTask(t.ID)
		h.equal("task status", got.Status, store.TaskFinished)
		h.equal("task data", got.Data, map[string]any{"changed": float64(4)})
		for i, m := range ms {
			want := hookrelay.StatusFail
			switch i {
			case 1, 2, 4, 5:
				want = hookrelay.StatusPending
			case 3:
				want = hookrelay.StatusSuccess
			}
			d := h.delivery(app.ID, m.ID, ep.ID)
			h.equal(fmt.Sprintf("ms[%d] status", i), d.Status, want)
			if want == hookrelay.StatusPending {
				h.equal("next attempt", d.NextAttempt, &now)
				h.equal("attempts kept", d.Attempts, failed.attempts)
			}
			h.equal("other endpoint untouched", h.delivery(app.ID, m.ID, other.ID).Status, hookrelay.StatusFail)
		}
	}},
	{"a step by a former owner changes nothing", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		m, _ := h.publish(app.ID, "x")
		h.settle(map[[2]string]outcome{{m.ID, ep.ID}: failed})
		t := h.newTask(hookrelay.DefaultEnvironment, "endpoint.recover")
		now := normTime(time.Now())
		_, err := h.claimTask("old", now)
		h.must(err, "claim")
		_, err = h.claimTask("new", now.Add(time.Minute))
		h.must(err, "claim after the lease lapsed")

		p := store.RecoverParams{AppID: app.ID, EndpointID: ep.ID, Since: t0}
		total := 0
		_, err = h.s.RecoverBatch(h.ctx, countingStep(t.ID, "old", now, 10, &total), p)
		h.wantErr(err, store.ErrTaskLost, "recover batch by the former owner")
		h.equal("delivery untouched", h.delivery(app.ID, m.ID, ep.ID).Status, hookrelay.StatusFail)
		h.equal("task untouched", h.getTask(t.ID).Owner, "new")
		_, err = h.s.ReplayBatch(h.ctx, countingStep(t.ID, "old", now, 10, &total),
			store.ReplayParams{AppID: app.ID, EndpointID: h.newEndpoint(app.ID).ID, Since: t0})
		h.wantErr(err, store.ErrTaskLost, "replay batch by the former owner")
		h.equal("Next not called for a lost task", total, 0)

		r, err := h.s.RecoverBatch(h.ctx, countingStep(t.ID, "new", now, 10, &total), p)
		h.must(err, "recover batch by the owner")
		h.equal("recovered by the owner", r.Changed, 1)
	}},
	{"replay keeps a message's deliverAt", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		now := normTime(time.Now())
		later := now.Add(time.Hour)
		past := now.Add(-time.Hour)
		scheduled, _ := h.publish(app.ID, "x", createdAt(now.Add(-time.Minute)), func(p *store.CreateMessageParams) { p.Message.DeliverAt = &later })
		overdue, _ := h.publish(app.ID, "x", createdAt(now.Add(-2*time.Hour)), func(p *store.CreateMessageParams) { p.Message.DeliverAt = &past })
		ep := h.newEndpoint(app.ID) // created after both: it has no delivery of either
		t := h.newTask(hookrelay.DefaultEnvironment, "endpoint.replay")
		_, err := h.claimTask("n", now)
		h.must(err, "claim")
		total := 0
		_, err = h.s.ReplayBatch(h.ctx, countingStep(t.ID, "n", now, 10, &total),
			store.ReplayParams{AppID: app.ID, EndpointID: ep.ID, Since: t0})
		h.must(err, "replay batch")
		h.equal("replayed", total, 2)
		h.equal("due at the later deliverAt", h.delivery(app.ID, scheduled.ID, ep.ID).NextAttempt, &later)
		h.equal("due now, its deliverAt passed", h.delivery(app.ID, overdue.ID, ep.ID).NextAttempt, &now)
	}},
	{"a step on a missing endpoint is not found and changes nothing", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		foreign := h.newEndpoint(h.newApp(hookrelay.DefaultEnvironment).ID)
		t := h.newTask(hookrelay.DefaultEnvironment, "endpoint.recover")
		now := normTime(time.Now())
		_, err := h.claimTask("n", now)
		h.must(err, "claim")
		total := 0
		for _, epID := range []string{foreign.ID, "ep_nope"} {
			_, err = h.s.RecoverBatch(h.ctx, countingStep(t.ID, "n", now, 10, &total),
				store.RecoverParams{AppID: app.ID, EndpointID: epID, Since: t0})
			h.wantErr(err, hookrelay.ErrNotFound, "recover batch of "+epID)
			_, err = h.s.ReplayBatch(h.ctx, countingStep(t.ID, "n", now, 10, &total),
				store.ReplayParams{AppID: app.ID, EndpointID: epID, Since: t0})
			h.wantErr(err, hookrelay.ErrNotFound, "replay batch of "+epID)
		}
		got := h.getTask(t.ID)
		h.equal("task still held", got.Owner, "n")
		h.equal("task still running", got.Status, store.TaskRunning)
	}},
	{"replay inserts the deliveries a publish would have made", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		other := h.newEndpoint(app.ID)
		// Published before the endpoint existed: none has a delivery to it.
		early, _ := h.publish(app.ID, "a.one")
		m1, _ := h.publish(app.ID, "a.one")
		m2, _ := h.publish(app.ID, "b.two", func(p *store.CreateMessageParams) { p.Message.Channels = []string{"c1"} })
		m3, _ := h.publish(app.ID, "c.three")                                                                           // filtered out
		m4, _ := h.publish(app.ID, "a.one", func(p *store.CreateMessageParams) { p.Message.Channels = []string{"c2"} }) // other channel
		m5, _ := h.publish(app.ID, "a.one")
		h.must(h.s.ExpungeMessageContent(h.ctx, app.ID, m5.ID), "expunge") // nothing to send
		ep := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) {
			e.FilterTypes = []string{"a.*", "b.two"}
			e.Channels = []string{"c1", "plain"}
		})
		m6, _ := h.publish(app.ID, "a.one", func(p *store.CreateMessageParams) { p.Message.Channels = []string{"plain"} }) // delivered by the publish
		m7, _ := h.publish(app.ID, "b.two", func(p *store.CreateMessageParams) { p.Message.Channels = []string{"c1"} })
		h.must(h.s.Resend(h.ctx, app.ID, m7.ID, ep.ID, time.Now()), "resend") // has a delivery
		late, _ := h.publish(app.ID, "a.one")                                 // past until
		h.settle(map[[2]string]outcome{{m6.ID, ep.ID}: succeeded})
		disabled := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.Disabled = true })

		// m1 has no channel, which an endpoint with channels does not take.
		want := []string{m2.ID}
		now := normTime(time.Now())
		for _, limit := range []int{2, 100} {
			t := h.newTask(hookrelay.DefaultEnvironment, "endpoint.replay")
			p := store.ReplayParams{AppID: app.ID, EndpointID: ep.ID, Since: m1.CreatedAt, Until: &late.CreatedAt}
			n, batches, err := h.runTask(t.ID, now, limit, func(step store.TaskStep) (store.BatchResult, error) {
				return h.s.ReplayBatch(h.ctx, step, p)
			})
			h.must(err, "replay")
			if limit == 2 {
				h.equal("replayed", n, len(want))
				h.equal("batches of two over nine messages", batches, 5)
			} else {
				h.equal("replayed again", n, 0)
			}
			h.equal("task", h.getTask(t.ID).Status, store.TaskFinished)
		}
		for _, m := range []*hookrelay.Message{early, m1, m3, m4, m5, late} {
			for _, d := range h.destinations(app.ID, m.ID) {
				if d == ep.ID {
					h.Fatalf("message %s (%s) was replayed", m.ID, m.EventType)
				}
			}
		}
		d := h.delivery(app.ID, m2.ID, ep.ID)
		h.equal("replayed status", d.Status, hookrelay.StatusPending)
		h.equal("replayed due", d.NextAttempt, &now)
		h.equal("replayed attempts", d.Attempts, 0)
		h.equal("delivered message untouched", h.delivery(app.ID, m6.ID, ep.ID).Status, hookrelay.StatusSuccess)
		h.equal("other endpoint untouched", len(h.destinations(app.ID, m2.ID)), 2)

		// An endpoint that takes everything gets every message with a
		// payload it lacks; a disabled one gets none.
		all := h.newEndpoint(app.ID)
		for _, c := range []struct {
			ep   *hookrelay.Endpoint
			want int
		}{{all, 8}, {disabled, 0}, {other, 0}} {
			t := h.newTask(hookrelay.DefaultEnvironment, "endpoint.replay")
			p := store.ReplayParams{AppID: app.ID, EndpointID: c.ep.ID, Since: t0}
			n, _, err := h.runTask(t.ID, now, 3, func(step store.TaskStep) (store.BatchResult, error) {
				return h.s.ReplayBatch(h.ctx, step, p)
			})
			h.must(err, "replay to "+c.ep.ID)
			h.equal("replayed to "+c.ep.ID, n, c.want)
		}
	}},
	{"list filters by status and kind", func(h *harness) {
		env := h.newEnv()
		a := h.newTask(env.ID, "endpoint.recover")
		b := h.newTask(env.ID, "endpoint.replay")
		c := h.newTask(env.ID, "endpoint.replay")
		h.newTask(hookrelay.DefaultEnvironment, "endpoint.replay")
		now := time.Now()
		_, err := h.claimTask("n", now)
		h.must(err, "claim")
		h.must(h.s.SaveBackgroundTask(h.ctx, a.ID, "n", now, store.TaskState{Status: store.TaskFinished}), "finish")
		key := func(t store.BackgroundTask) string { return t.ID }
		for _, tc := range []struct {
			status, task string
			want         []string
		}{
			{"", "", []string{a.ID, b.ID, c.ID}},
			{store.TaskRunning, "", []string{b.ID, c.ID}},
			{store.TaskFinished, "", []string{a.ID}},
			{"", "endpoint.replay", []string{b.ID, c.ID}},
			{store.TaskRunning, "endpoint.recover", nil},
			{store.TaskFailed, "", nil},
		} {
			got, err := h.s.ListBackgroundTasks(h.ctx, store.ListBackgroundTasksParams{
				EnvID: env.ID, Status: tc.status, Task: tc.task, Page: store.Page{Limit: 10}})
			h.must(err, "list")
			h.equal(fmt.Sprintf("list status %q task %q", tc.status, tc.task), ids(got, key), tc.want)
		}
	}},
	{"expire app tokens", func(h *harness) {
		app, other := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		now := normTime(time.Now())
		mk := func(kind store.TokenKind, appID string, exp *time.Time) *store.Token {
			t := &store.Token{ID: hookrelay.NewID(hookrelay.PrefixToken), EnvID: hookrelay.DefaultEnvironment,
				Kind: kind, AppID: appID, Hash: []byte(h.name("hash")), ExpiresAt: exp, CreatedAt: now}
			h.must(h.s.CreateToken(h.ctx, t), "create token")
			return t
		}
		forever := mk(store.TokenPortal, app.ID, nil)
		later := mk(store.TokenPortal, app.ID, ptr(now.Add(time.Hour)))
		sooner := mk(store.TokenPortal, app.ID, ptr(now.Add(time.Second)))
		foreign := mk(store.TokenPortal, other.ID, ptr(now.Add(time.Hour)))
		admin := mk(store.TokenAdmin, "", nil)

		at := now.Add(time.Minute)
		n, err := h.s.ExpireAppTokens(h.ctx, app.ID, at)
		h.must(err, "expire app tokens")
		h.equal("expired", n, 2)
		for _, c := range []struct {
			t    *store.Token
			want *time.Time
		}{
			{forever, &at}, {later, &at}, {sooner, ptr(now.Add(time.Second))},
			{foreign, ptr(now.Add(time.Hour))}, {admin, nil},
		} {
			got, err := h.s.GetTokenByHash(h.ctx, c.t.Hash)
			h.must(err, "get token")
			h.equal("expiry of "+string(c.t.Hash), got.ExpiresAt, c.want)
		}
	}},
}
