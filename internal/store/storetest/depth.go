package storetest

import (
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

func (h *harness) depth(now time.Time, limit int) store.QueueDepth {
	h.Helper()
	d, err := h.s.QueueDepth(h.ctx, now, limit)
	h.must(err, "queue depth")
	return d
}

func (h *harness) envQueue(envID string, now time.Time, limit int) store.QueueDepth {
	h.Helper()
	d, err := h.s.EnvironmentQueue(h.ctx, envID, now, limit)
	h.must(err, "environment queue")
	return d
}

var depthTests = []testCase{
	{"the environment queue counts only its applications' due deliveries", func(h *harness) {
		env := h.newEnv()
		h.equal("empty", h.envQueue(env.ID, t0, 100), store.QueueDepth{})
		app := h.newApp(env.ID)
		h.newEndpoint(app.ID)
		h.newEndpoint(app.ID)
		internal, err := h.s.EnsureInternalApplication(h.ctx, env.ID)
		h.must(err, "internal application")
		h.newEndpoint(internal.ID)
		other := h.newApp(h.newEnv().ID)
		h.newEndpoint(other.ID)
		h.publish(other.ID, "call.completed", createdAt(t0)) // older, another environment
		h.publish(app.ID, "call.completed", createdAt(t0.Add(2*time.Second)))
		h.publish(app.ID, "call.completed", createdAt(t0.Add(3*time.Second)))
		h.publish(internal.ID, "endpoint.disabled", createdAt(t0.Add(4*time.Second)))
		h.publish(app.ID, "call.completed", createdAt(t0.Add(time.Hour))) // not due yet
		now := t0.Add(time.Minute)
		h.equal("due", h.envQueue(env.ID, now, 100), store.QueueDepth{Due: 5, OldestDue: t0.Add(2 * time.Second)})
		h.equal("capped, oldest of all", h.envQueue(env.ID, now, 2), store.QueueDepth{Due: 2, OldestDue: t0.Add(2 * time.Second)})
		h.equal("other environment", h.envQueue(other.EnvID, now, 100), store.QueueDepth{Due: 1, OldestDue: t0})

		tasks := h.claim("a", now, now.Add(time.Minute), 10)
		h.equal("claimed", len(tasks), 6)
		h.equal("while held", h.envQueue(env.ID, now, 100), store.QueueDepth{})
		h.equal("lapsed", h.envQueue(env.ID, now.Add(2*time.Minute), 100).Due, 5)
		retry := now.Add(time.Hour)
		for _, tk := range tasks {
			if tk.Delivery.AppID == app.ID {
				h.complete("a", tk, 500, hookrelay.StatusPending, 1, &retry, now)
			}
		}
		h.equal("retrying", h.envQueue(env.ID, now.Add(2*time.Minute), 100), store.QueueDepth{Due: 1, OldestDue: t0.Add(4 * time.Second)})
		h.equal("retry due", h.envQueue(env.ID, retry, 100), store.QueueDepth{Due: 7, OldestDue: t0.Add(4 * time.Second)})
	}},
	{"an empty queue has nothing due", func(h *harness) {
		h.equal("depth", h.depth(t0, 100), store.QueueDepth{})
	}},
	{"counts due deliveries nobody holds and finds the oldest", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		h.newEndpoint(app.ID)
		h.publish(app.ID, "call.completed", createdAt(t0.Add(2*time.Second)))
		h.publish(app.ID, "call.completed", createdAt(t0.Add(time.Second)))
		h.publish(app.ID, "call.completed", createdAt(t0.Add(time.Hour))) // not due yet
		now := t0.Add(time.Minute)
		h.equal("depth", h.depth(now, 100), store.QueueDepth{Due: 4, OldestDue: t0.Add(time.Second)})
		h.equal("capped", h.depth(now, 3).Due, 3)
		h.equal("later", h.depth(t0.Add(time.Hour), 100), store.QueueDepth{Due: 6, OldestDue: t0.Add(time.Second)})
		h.equal("before any", h.depth(t0, 100), store.QueueDepth{})
	}},
	{"held deliveries count again once their lease lapses", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		h.publish(app.ID, "call.completed", createdAt(t0.Add(time.Second)))
		h.publish(app.ID, "call.completed", createdAt(t0.Add(2*time.Second)))
		now := t0.Add(time.Minute)
		tasks := h.claim("a", now, now.Add(time.Minute), 1)
		h.equal("claimed", len(tasks), 1)
		h.equal("while held", h.depth(now, 100), store.QueueDepth{Due: 1, OldestDue: t0.Add(2 * time.Second)})
		h.equal("lapsed", h.depth(now.Add(2*time.Minute), 100), store.QueueDepth{Due: 2, OldestDue: t0.Add(time.Second)})
		h.equal("lapsed, capped", h.depth(now.Add(2*time.Minute), 1).Due, 1)
	}},
	{"finished and retrying deliveries are not due", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID)
		for i := range 3 {
			h.publish(app.ID, "call.completed", createdAt(t0.Add(time.Duration(i+1)*time.Second)))
		}
		now := t0.Add(time.Minute)
		tasks := h.claim("a", now, now.Add(time.Minute), 3)
		h.equal("claimed", len(tasks), 3)
		retry := now.Add(time.Hour)
		h.complete("a", tasks[0], 200, hookrelay.StatusSuccess, 1, nil, now)
		h.complete("a", tasks[1], 500, hookrelay.StatusFail, 1, nil, now)
		h.complete("a", tasks[2], 500, hookrelay.StatusPending, 1, &retry, now)
		h.equal("after attempts", h.depth(now.Add(2*time.Minute), 100), store.QueueDepth{})
		h.equal("retry due", h.depth(retry, 100), store.QueueDepth{Due: 1, OldestDue: retry})
	}},
}
