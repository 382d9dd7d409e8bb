package storetest

import (
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

var idempotencyTests = []testCase{
	{"start, repeat, finish", func(h *harness) {
		exp := time.Now().Add(time.Hour)
		rec, started, err := h.s.StartIdempotent(h.ctx, &store.IdempotencyRecord{Scope: "env POST /msg", Key: "k1", ExpiresAt: exp})
		h.must(err, "start")
		h.equal("first start", started, true)
		h.equal("started record done", rec.Done, false)

		rec, started, err = h.s.StartIdempotent(h.ctx, &store.IdempotencyRecord{Scope: "env POST /msg", Key: "k1", ExpiresAt: exp})
		h.must(err, "start again")
		h.equal("second start", started, false)
		h.equal("running record done", rec.Done, false)

		h.must(h.s.FinishIdempotent(h.ctx, "env POST /msg", "k1", 202, []byte(`{"id":"msg_1"}`)), "finish")
		rec, started, err = h.s.StartIdempotent(h.ctx, &store.IdempotencyRecord{Scope: "env POST /msg", Key: "k1", ExpiresAt: exp})
		h.must(err, "start after finish")
		h.equal("start after finish", started, false)
		h.equal("finished record", *rec, store.IdempotencyRecord{
			Scope: "env POST /msg", Key: "k1", Done: true, StatusCode: 202, Body: []byte(`{"id":"msg_1"}`), ExpiresAt: normTime(exp),
		})

		_, started, err = h.s.StartIdempotent(h.ctx, &store.IdempotencyRecord{Scope: "other scope", Key: "k1", ExpiresAt: exp})
		h.must(err, "start in another scope")
		h.equal("start in another scope", started, true)
	}},
	{"abandon frees the key", func(h *harness) {
		exp := time.Now().Add(time.Hour)
		_, started, err := h.s.StartIdempotent(h.ctx, &store.IdempotencyRecord{Scope: "s", Key: "k", ExpiresAt: exp})
		h.must(err, "start")
		h.equal("started", started, true)
		h.must(h.s.AbandonIdempotent(h.ctx, "s", "k"), "abandon")
		_, started, err = h.s.StartIdempotent(h.ctx, &store.IdempotencyRecord{Scope: "s", Key: "k", ExpiresAt: exp})
		h.must(err, "start after abandon")
		h.equal("started after abandon", started, true)
	}},
	{"expired record is replaced", func(h *harness) {
		_, started, err := h.s.StartIdempotent(h.ctx, &store.IdempotencyRecord{Scope: "s", Key: "k", ExpiresAt: time.Now().Add(-time.Second)})
		h.must(err, "start")
		h.equal("started", started, true)
		h.must(h.s.FinishIdempotent(h.ctx, "s", "k", 200, []byte("old")), "finish")
		rec, started, err := h.s.StartIdempotent(h.ctx, &store.IdempotencyRecord{Scope: "s", Key: "k", ExpiresAt: time.Now().Add(time.Hour)})
		h.must(err, "start over an expired record")
		h.equal("started over an expired record", started, true)
		h.equal("new record done", rec.Done, false)
		rec, started, err = h.s.StartIdempotent(h.ctx, &store.IdempotencyRecord{Scope: "s", Key: "k", ExpiresAt: time.Now().Add(time.Hour)})
		h.must(err, "start again")
		h.equal("started again", started, false)
		h.equal("replacing record done", rec.Done, false)
	}},
}

var backgroundTaskTests = []testCase{
	{"create, get, list", func(h *harness) {
		env := h.newEnv()
		var want []string
		var first *store.BackgroundTask
		for i := range 5 {
			t := &store.BackgroundTask{
				EnvID: hookrelay.DefaultEnvironment, Task: "endpoint.recover", Status: "finished",
				Data: map[string]any{"recovered": float64(i), "endpointId": "ep_x"}, CreatedAt: h.tick(), UpdatedAt: h.tick(),
			}
			h.must(h.s.CreateBackgroundTask(h.ctx, t), "create background task")
			if t.ID == "" {
				h.Fatal("create background task: no ID set")
			}
			if first == nil {
				first = t
			}
			want = append(want, t.ID)
		}
		h.must(h.s.CreateBackgroundTask(h.ctx, &store.BackgroundTask{EnvID: env.ID, Task: "endpoint.recover", Status: "running", CreatedAt: t0, UpdatedAt: t0}), "create background task in another environment")

		got, err := h.s.GetBackgroundTask(h.ctx, hookrelay.DefaultEnvironment, first.ID)
		h.must(err, "get background task")
		h.equal("background task", got, first)
		_, err = h.s.GetBackgroundTask(h.ctx, env.ID, first.ID)
		h.wantErr(err, hookrelay.ErrNotFound, "get background task of another environment")

		key := func(t store.BackgroundTask) string { return t.ID }
		for _, order := range []store.Order{store.Ascending, store.Descending} {
			got := paginate(h, 2, key, func(iter string) ([]store.BackgroundTask, error) {
				return h.s.ListBackgroundTasks(h.ctx, store.ListBackgroundTasksParams{EnvID: hookrelay.DefaultEnvironment, Page: store.Page{Limit: 2, Iterator: iter, Order: order}})
			})
			exp := want
			if order == store.Descending {
				exp = reversed(want)
			}
			h.equal("listed background tasks", ids(got, key), exp)
		}
	}},
	{"missing environment is not found", func(h *harness) {
		err := h.s.CreateBackgroundTask(h.ctx, &store.BackgroundTask{EnvID: "env_nope", Task: "endpoint.recover", Status: "running", CreatedAt: t0, UpdatedAt: t0})
		h.wantErr(err, hookrelay.ErrNotFound, "create background task in a missing environment")
	}},
}

var cascadeTests = []testCase{
	{"deleting an endpoint removes its deliveries and attempts", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		gone, kept := h.newEndpoint(app.ID), h.newEndpoint(app.ID)
		msg, _ := h.publish(app.ID, "x")
		h.publish(app.ID, "x")
		for _, task := range h.claimAll("n", time.Now()) {
			h.complete("n", task, 500, hookrelay.StatusPending, 1, &t0, h.tick())
		}
		h.must(h.s.DeleteEndpoint(h.ctx, app.ID, gone.ID), "delete endpoint")

		h.equal("destinations", h.destinations(app.ID, msg.ID), []string{kept.ID})
		as, err := h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: app.ID, MsgID: msg.ID, Page: store.Page{Limit: 10}})
		h.must(err, "list attempts")
		h.equal("attempts of the message", ids(as, func(a hookrelay.Attempt) string { return a.EndpointID }), []string{kept.ID})
		as, err = h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: app.ID, EndpointID: gone.ID, Page: store.Page{Limit: 10}})
		h.must(err, "list attempts")
		h.equal("attempts of the deleted endpoint", len(as), 0)
		for _, task := range h.claimAll("n", time.Now().Add(time.Hour)) {
			if task.Endpoint.ID == gone.ID {
				h.Fatal("claimed a delivery of a deleted endpoint")
			}
		}
		_, err = h.s.EndpointStats(h.ctx, app.ID, gone.ID, nil, nil)
		h.wantErr(err, hookrelay.ErrNotFound, "stats of a deleted endpoint")
		_, err = h.s.GetMessage(h.ctx, app.ID, msg.ID)
		h.must(err, "the message stays")
	}},
	{"deleting an application removes everything under it", func(h *harness) {
		gone, kept := h.newApp(hookrelay.DefaultEnvironment), h.newApp(hookrelay.DefaultEnvironment)
		goneEp, keptEp := h.newEndpoint(gone.ID), h.newEndpoint(kept.ID)
		goneMsg, _ := h.publish(gone.ID, "x", withEventID("e"))
		keptMsg, _ := h.publish(kept.ID, "x", withEventID("e"))
		for _, task := range h.claimAll("n", time.Now()) {
			h.complete("n", task, 500, hookrelay.StatusPending, 1, &t0, h.tick())
		}
		for _, app := range []*hookrelay.Application{gone, kept} {
			tok := &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenPortal, AppID: app.ID, Hash: hashOf(app.ID), CreatedAt: t0}
			h.must(h.s.CreateToken(h.ctx, tok), "create portal token")
		}
		h.must(h.s.DeleteApplication(h.ctx, hookrelay.DefaultEnvironment, gone.ID), "delete application")

		_, err := h.s.GetEndpoint(h.ctx, gone.ID, goneEp.ID)
		h.wantErr(err, hookrelay.ErrNotFound, "get endpoint of a deleted application")
		_, err = h.s.GetMessage(h.ctx, gone.ID, goneMsg.ID)
		h.wantErr(err, hookrelay.ErrNotFound, "get message of a deleted application")
		_, err = h.s.GetTokenByHash(h.ctx, hashOf(gone.ID))
		h.wantErr(err, hookrelay.ErrNotFound, "get portal token of a deleted application")
		as, err := h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: gone.ID, EndpointID: goneEp.ID, Page: store.Page{Limit: 10}})
		h.must(err, "list attempts")
		h.equal("attempts of a deleted application", len(as), 0)

		_, err = h.s.GetMessage(h.ctx, kept.ID, keptMsg.ID)
		h.must(err, "get message of the other application")
		_, err = h.s.GetTokenByHash(h.ctx, hashOf(kept.ID))
		h.must(err, "get portal token of the other application")
		tasks := h.claimAll("n", time.Now().Add(time.Hour))
		h.equal("claimable deliveries", ids(tasks, func(t store.Task) string { return t.Endpoint.ID }), []string{keptEp.ID})
		// The deleted application's eventId and uid are free again.
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.publish(app.ID, "x", withEventID("e"))
	}},
}
