package storetest

import (
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// troubledRow is what the suite compares of a store.TroubledApp.
type troubledRow struct {
	ID                string
	Disabled, Failing int
}

// troubledPages walks every page of ListAppsTroubledFirst of envID, limit
// applications a page, each page starting after the last one of the
// page before, as the console does.
func (h *harness) troubledPages(envID string, limit int) []troubledRow {
	h.Helper()
	var out []troubledRow
	var after store.TroubledCursor
	for range 100 {
		page, err := h.s.ListAppsTroubledFirst(h.ctx, store.TroubledParams{EnvID: envID, Limit: limit, After: after})
		h.must(err, "list troubled applications")
		if len(page) > limit {
			h.Fatalf("page of %d applications, limit %d", len(page), limit)
		}
		for _, a := range page {
			if a.App.EnvID != envID || a.App.Name == "" {
				h.Fatalf("application not read whole: %+v", a.App)
			}
			out = append(out, troubledRow{a.App.ID, a.Disabled, a.Failing})
		}
		if len(page) < limit {
			return out
		}
		after = page[len(page)-1].Cursor()
	}
	h.Fatal("more than 100 pages")
	return nil
}

var troubledTests = []testCase{
	{"applications with disabled or failing endpoints come first, across pages", func(h *harness) {
		env := h.newEnv()
		// Ten applications, in ID order app_t00 … app_t09: by ID alone,
		// pages of three hold the troubled ones (t04, t05, t07, t08) on
		// pages two and three.
		apps := make([]*hookrelay.Application, 10)
		for i := range apps {
			apps[i] = h.newApp(env.ID, func(a *hookrelay.Application) { a.ID = fmt.Sprintf("app_t%02d", i) })
		}
		eps := make([]*hookrelay.Endpoint, 10)
		for i, a := range apps {
			if i == 9 {
				continue // t09 has no endpoint
			}
			eps[i] = h.newEndpoint(a.ID)
		}
		h.newEndpoint(apps[8].ID) // t08 has two
		disable := func(ep *hookrelay.Endpoint) {
			h.Helper()
			ok, err := h.s.DisableEndpoint(h.ctx, ep.AppID, ep.ID, hookrelay.DisabledReason{Cause: hookrelay.DisabledByHand, At: t0})
			h.must(err, "disable endpoint")
			h.equal("disabled", ok, true)
		}
		// Attempts: t02 failed then succeeded (not failing); t04, t05
		// and both of t08's fail; t05 is then disabled (it counts as
		// disabled, not failing); t07 is disabled without an attempt.
		for _, a := range []int{2, 4, 5, 8} {
			h.publish(apps[a].ID, "a.b")
		}
		at := t0.Add(time.Hour)
		tasks := h.claim("a", at, at.Add(time.Minute), 10)
		h.equal("claimed", len(tasks), 5)
		var results []store.AttemptResult
		for _, tk := range tasks {
			results = append(results, result(tk, hookrelay.OutcomeRejected, 503, at))
			if tk.Endpoint.ID == eps[2].ID {
				results = append(results, result(tk, hookrelay.OutcomeSuccess, 200, at.Add(time.Second)))
			}
		}
		h.must(h.s.CompleteAttempts(h.ctx, results), "complete attempts")
		disable(eps[5])
		disable(eps[7])
		// Neither the internal application nor another environment is
		// listed, troubled or not.
		internal, err := h.s.EnsureInternalApplication(h.ctx, env.ID)
		h.must(err, "internal application")
		disable(h.newEndpoint(internal.ID))
		other := h.newApp(h.newEnv().ID)
		disable(h.newEndpoint(other.ID))

		want := []troubledRow{
			{"app_t04", 0, 1}, {"app_t05", 1, 0}, {"app_t07", 1, 0}, {"app_t08", 0, 2},
			{"app_t00", 0, 0}, {"app_t01", 0, 0}, {"app_t02", 0, 0}, {"app_t03", 0, 0},
			{"app_t06", 0, 0}, {"app_t09", 0, 0},
		}
		for _, limit := range []int{1, 3, 4, 50} {
			h.equal(fmt.Sprintf("pages of %d", limit), h.troubledPages(env.ID, limit), want)
		}
		// A page that starts inside the healthy group.
		page, err := h.s.ListAppsTroubledFirst(h.ctx, store.TroubledParams{EnvID: env.ID, Limit: 2,
			After: store.TroubledCursor{Healthy: true, ID: "app_t02"}})
		h.must(err, "page after app_t02")
		h.equal("page after app_t02", len(page), 2)
		h.equal("page after app_t02", []string{page[0].App.ID, page[1].App.ID}, []string{"app_t03", "app_t06"})

		// Enabled again, t07 joins the others; a success ends t04's run.
		ep, err := h.s.GetEndpoint(h.ctx, apps[7].ID, eps[7].ID)
		h.must(err, "get endpoint")
		ep.Disabled = false
		h.must(h.s.UpdateEndpoint(h.ctx, ep), "enable endpoint")
		h.publish(apps[4].ID, "a.b")
		tasks = h.claim("a", at.Add(time.Hour), at.Add(time.Hour+time.Minute), 10)
		for _, tk := range tasks {
			if tk.Endpoint.ID == eps[4].ID {
				h.must(h.s.CompleteAttempts(h.ctx, []store.AttemptResult{
					result(tk, hookrelay.OutcomeSuccess, 200, at.Add(time.Hour))}), "complete attempt")
			}
		}
		h.equal("after the changes", h.troubledPages(env.ID, 3), []troubledRow{
			{"app_t05", 1, 0}, {"app_t08", 0, 2},
			{"app_t00", 0, 0}, {"app_t01", 0, 0}, {"app_t02", 0, 0}, {"app_t03", 0, 0},
			{"app_t04", 0, 0}, {"app_t06", 0, 0}, {"app_t07", 0, 0}, {"app_t09", 0, 0},
		})
		h.equal("an empty environment", len(h.troubledPages(h.newEnv().ID, 3)), 0)
	}},
}
