package storetest

import (
	"sync"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

var internalAppTests = []testCase{
	{"none until ensured, then the same one", func(h *harness) {
		env := h.newEnv()
		_, err := h.s.GetInternalApplication(h.ctx, env.ID)
		h.wantErr(err, hookrelay.ErrNotFound, "internal application before it is ensured")
		app, err := h.s.EnsureInternalApplication(h.ctx, env.ID)
		h.must(err, "ensure internal application")
		if app.ID == "" || app.EnvID != env.ID || app.UID != nil {
			h.Fatalf("internal application = %+v", app)
		}
		again, err := h.s.EnsureInternalApplication(h.ctx, env.ID)
		h.must(err, "ensure internal application again")
		h.equal("second ensure", again, app)
		got, err := h.s.GetInternalApplication(h.ctx, env.ID)
		h.must(err, "get internal application")
		h.equal("internal application", got, app)
	}},
	{"concurrent ensures make one", func(h *harness) {
		env := h.newEnv()
		ids := make([]string, 8)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				app, err := h.s.EnsureInternalApplication(h.ctx, env.ID)
				if err != nil {
					h.Errorf("ensure internal application: %v", err)
					return
				}
				ids[i] = app.ID
			})
		}
		wg.Wait()
		for _, id := range ids[1:] {
			if id != ids[0] {
				h.Fatalf("concurrent ensures returned different applications: %v", ids)
			}
		}
	}},
	{"one per environment", func(h *harness) {
		a, err := h.s.EnsureInternalApplication(h.ctx, hookrelay.DefaultEnvironment)
		h.must(err, "ensure internal application of default")
		b, err := h.s.EnsureInternalApplication(h.ctx, h.newEnv().ID)
		h.must(err, "ensure internal application of another environment")
		if a.ID == b.ID {
			h.Fatal("two environments share one internal application")
		}
	}},
	{"missing environment is not found", func(h *harness) {
		_, err := h.s.EnsureInternalApplication(h.ctx, "env_nope")
		h.wantErr(err, hookrelay.ErrNotFound, "ensure internal application of a missing environment")
	}},
	{"hidden from the application methods", func(h *harness) {
		visible := h.newApp(hookrelay.DefaultEnvironment)
		app, err := h.s.EnsureInternalApplication(h.ctx, hookrelay.DefaultEnvironment)
		h.must(err, "ensure internal application")
		apps, err := h.s.ListApplications(h.ctx, hookrelay.DefaultEnvironment, store.Page{Limit: 10})
		h.must(err, "list applications")
		h.equal("listed applications", ids(apps, func(a hookrelay.Application) string { return a.ID }), []string{visible.ID})
		_, err = h.s.GetApplication(h.ctx, hookrelay.DefaultEnvironment, app.ID)
		h.wantErr(err, hookrelay.ErrNotFound, "get internal application by ID")
		renamed := *app
		renamed.Name = "renamed"
		h.wantErr(h.s.UpdateApplication(h.ctx, &renamed), hookrelay.ErrNotFound, "update internal application")
		h.wantErr(h.s.DeleteApplication(h.ctx, hookrelay.DefaultEnvironment, app.ID), hookrelay.ErrNotFound, "delete internal application")
		got, err := h.s.GetInternalApplication(h.ctx, hookrelay.DefaultEnvironment)
		h.must(err, "get internal application")
		h.equal("internal application after refused writes", got, app)
	}},
	{"holds endpoints and messages like any application", func(h *harness) {
		app, err := h.s.EnsureInternalApplication(h.ctx, hookrelay.DefaultEnvironment)
		h.must(err, "ensure internal application")
		ep := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.FilterTypes = []string{"endpoint.created"} })
		got, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		h.must(err, "get endpoint of the internal application")
		h.equal("endpoint", got.ID, ep.ID)
		_, n := h.publish(app.ID, "endpoint.created")
		h.equal("deliveries of a matching event", n, 1)
		_, n = h.publish(app.ID, "endpoint.deleted")
		h.equal("deliveries of a filtered-out event", n, 0)
		tasks := h.claimAll("node-a", time.Now())
		if len(tasks) != 1 || tasks[0].Endpoint.ID != ep.ID {
			h.Fatalf("claimed %d tasks, want the one for the internal endpoint", len(tasks))
		}
	}},
}
