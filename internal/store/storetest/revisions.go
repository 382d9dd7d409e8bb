package storetest

import (
	"errors"
	"sync"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Endpoint writes are optimistic (see store.Store): an update is made only
// over the revision it was read at.
var endpointRevisionTests = []testCase{
	{"every write moves the revision and reads return it", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		if ep.Revision == 0 {
			h.Fatal("create endpoint: no revision set")
		}
		seen := map[int64]bool{ep.Revision: true}
		for i := range 3 {
			ep.Description = h.name("description")
			ep.UpdatedAt = h.tick()
			h.must(h.s.UpdateEndpoint(h.ctx, ep), "update endpoint")
			if seen[ep.Revision] {
				h.Fatalf("update %d: revision %d was used before", i+1, ep.Revision)
			}
			seen[ep.Revision] = true
			got, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
			h.must(err, "get endpoint")
			h.equal("endpoint after update", got, ep)
			listed, err := h.s.ListEndpoints(h.ctx, app.ID, store.Page{Limit: 10})
			h.must(err, "list endpoints")
			h.equal("listed endpoints", listed, []hookrelay.Endpoint{*ep})
		}
	}},
	{"second update from the same read is stale and changes nothing", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.Metadata = map[string]string{"team": "a"} })
		first, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		h.must(err, "first read")
		second, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		h.must(err, "second read")

		// A rotation made from the first read...
		first.OldSecrets = []hookrelay.OldSecret{{Secret: first.Secret, ExpiresAt: t0.Add(24 * time.Hour)}}
		first.Secret = "whsec_" + "R" + first.Secret[7:]
		first.UpdatedAt = h.tick()
		h.must(h.s.UpdateEndpoint(h.ctx, first), "rotate from the first read")

		// ...cannot be undone by a change made from the second.
		readAt := second.Revision
		second.Metadata = map[string]string{"team": "b"}
		second.UpdatedAt = h.tick()
		h.wantErr(h.s.UpdateEndpoint(h.ctx, second), hookrelay.ErrStale, "update from the second read")
		h.equal("revision of the refused update", second.Revision, readAt)
		got, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		h.must(err, "get endpoint")
		h.equal("endpoint after the refused update", got, first)

		// Done again over a fresh read, the change keeps the rotation.
		fresh, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		h.must(err, "fresh read")
		fresh.Metadata = map[string]string{"team": "b"}
		fresh.UpdatedAt = h.tick()
		h.must(h.s.UpdateEndpoint(h.ctx, fresh), "update from a fresh read")
		got, err = h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		h.must(err, "get endpoint")
		h.equal("secret", got.Secret, first.Secret)
		h.equal("old secrets", got.OldSecrets, first.OldSecrets)
		h.equal("metadata", got.Metadata, map[string]string{"team": "b"})
	}},
	{"a refused uid change leaves the revision", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.UID = ptr("one") })
		b := h.newEndpoint(app.ID, func(e *hookrelay.Endpoint) { e.UID = ptr("two") })
		b.UID = ptr("one")
		h.wantErr(h.s.UpdateEndpoint(h.ctx, b), hookrelay.ErrConflict, "update to a taken uid")
		b.UID = ptr("three")
		h.must(h.s.UpdateEndpoint(h.ctx, b), "update after the conflict, from the same read")
	}},
	{"update of a deleted endpoint is not found, not stale", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		h.must(h.s.DeleteEndpoint(h.ctx, app.ID, ep.ID), "delete endpoint")
		ep.Description = "gone"
		h.wantErr(h.s.UpdateEndpoint(h.ctx, ep), hookrelay.ErrNotFound, "update deleted endpoint")
	}},
	{"concurrent updates from one read: exactly one is written", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		const writers = 8
		var wg sync.WaitGroup
		errs := make([]error, writers)
		eps := make([]hookrelay.Endpoint, writers)
		for i := range writers {
			eps[i] = *ep
			eps[i].Description = h.name("writer")
			eps[i].UpdatedAt = h.tick()
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = h.s.UpdateEndpoint(h.ctx, &eps[i])
			}()
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				h.Fatalf("writers %d and %d both updated from one read", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, hookrelay.ErrStale):
				h.Fatalf("writer %d: got error %v, want %v", i, err, hookrelay.ErrStale)
			}
		}
		if winner < 0 {
			h.Fatal("no writer updated the endpoint")
		}
		got, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		h.must(err, "get endpoint")
		h.equal("endpoint", got, &eps[winner])
	}},
}
