package storetest

import (
	"fmt"
	"slices"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

var summaryTests = []testCase{
	{"SummariesMatchOneEndpointReads", testSummariesMatchOneEndpointReads},
	{"SummariesLeaveOutOtherEndpoints", testSummariesLeaveOutOtherEndpoints},
}

// wantSummary is the summary of ep made from the reads the health route
// makes for one endpoint: its rollups of the window summed, its first
// attempt as ListAttempts lists them, its status, and its row.
func (h *harness) wantSummary(appID, epID string, width time.Duration, since, until time.Time) store.EndpointSummary {
	h.Helper()
	ep, err := h.s.GetEndpoint(h.ctx, appID, epID)
	h.must(err, "get endpoint")
	rows, err := h.s.HealthRollups(h.ctx, store.HealthParams{AppID: appID, EndpointID: epID, Width: width, Since: since, Until: until})
	h.must(err, "health rollups")
	st, err := h.s.GetEndpointStatus(h.ctx, appID, epID)
	h.must(err, "endpoint status")
	want := store.EndpointSummary{EndpointID: epID, Disabled: ep.Disabled, DisabledReason: ep.DisabledReason, Status: *st}
	for i := range rows {
		rows[i].Start = time.Time{}
		want.Totals.Add(&rows[i])
	}
	last, err := h.s.ListAttempts(h.ctx, store.ListAttemptsParams{AppID: appID, EndpointID: epID, Page: store.Page{Limit: 1}})
	h.must(err, "list attempts")
	if len(last) > 0 {
		a := last[0]
		want.LastAttempt = &hookrelay.Attempt{ID: a.ID, MsgID: a.MsgID, AppID: a.AppID, EndpointID: a.EndpointID,
			Status: a.Status, ResponseStatusCode: a.ResponseStatusCode, Outcome: a.Outcome, CreatedAt: a.CreatedAt}
	}
	return want
}

func (h *harness) summaries(p store.SummaryParams) []store.EndpointSummary {
	h.Helper()
	got, err := h.s.EndpointSummaries(h.ctx, p)
	h.must(err, "endpoint summaries")
	return got
}

// testSummariesMatchOneEndpointReads: for every width and a window that
// cuts through the attempts, each summary is what the one-endpoint reads
// give: an endpoint with attempts in and out of the window, one disabled
// by the server with its reason, one disabled by hand, one never
// attempted.
func testSummariesMatchOneEndpointReads(h *harness) {
	env := h.newEnv()
	app := h.newApp(env.ID)
	var eps []*hookrelay.Endpoint
	for range 4 {
		eps = append(eps, h.newEndpoint(app.ID))
	}
	for range 30 {
		h.publish(app.ID, "a.b")
	}
	tasks := h.claimAll("node", time.Now())
	idle := h.newEndpoint(app.ID) // after the messages: it gets none
	h.recordSpread(tasks, 600, 3)
	// A run of failures to finish on the first endpoint, then the server
	// disables it.
	var first store.Task
	for _, tk := range tasks {
		if tk.Endpoint.ID == eps[0].ID {
			first = tk
		}
	}
	late := t0.Add(80 * time.Hour)
	h.must(h.s.CompleteAttempts(h.ctx, []store.AttemptResult{
		result(first, hookrelay.OutcomeRejected, 503, late),
		result(first, hookrelay.OutcomeUnanswered, 0, late.Add(time.Second)),
	}), "complete attempts")
	since := late.Add(-time.Minute)
	_, err := h.s.DisableEndpoint(h.ctx, app.ID, eps[0].ID, hookrelay.DisabledReason{Cause: hookrelay.DisabledFailing,
		At: late.Add(time.Minute), FailingSince: &since, Failures: 7, LastOutcome: hookrelay.OutcomeUnanswered})
	h.must(err, "disable endpoint")
	_, err = h.s.DisableEndpoint(h.ctx, app.ID, eps[1].ID, hookrelay.DisabledReason{Cause: hookrelay.DisabledByHand,
		At: late, By: hookrelay.DisabledByPortal})
	h.must(err, "disable endpoint")

	ids := []string{idle.ID}
	for _, ep := range eps {
		ids = append(ids, ep.ID)
	}
	want := slices.Clone(ids)
	slices.Sort(want)
	windows := []struct {
		width        time.Duration
		since, until time.Time
	}{
		{hookrelay.HealthHour, t0.Add(24 * time.Hour), t0.Add(48 * time.Hour)},
		{hookrelay.HealthMinute, t0.Add(30 * time.Hour), t0.Add(31 * time.Hour)},
		{hookrelay.HealthDay, t0.Add(-24 * time.Hour), t0.Add(96 * time.Hour)},
		{hookrelay.HealthHour, t0.Add(-72 * time.Hour), t0.Add(-48 * time.Hour)}, // before every attempt
	}
	for _, w := range windows {
		got := h.summaries(store.SummaryParams{AppID: app.ID, EndpointIDs: ids, Width: w.width, Since: w.since, Until: w.until})
		if len(got) != len(want) {
			h.Fatalf("%v window from %v: %d summaries, want %d", w.width, w.since, len(got), len(want))
		}
		var total int64
		for i, id := range want {
			h.equal(fmt.Sprintf("%v window from %v: summary of endpoint %d", w.width, w.since, i), got[i],
				h.wantSummary(app.ID, id, w.width, w.since, w.until))
			total += got[i].Totals.Total()
		}
		if w.since.Before(t0) && w.until.After(t0.Add(81*time.Hour)) && total != 602 {
			h.Fatalf("a window holding every attempt sums %d of them, want 602", total)
		}
	}
	got := h.summaries(store.SummaryParams{AppID: app.ID, EndpointIDs: ids, Width: hookrelay.HealthHour,
		Since: t0, Until: t0.Add(100 * time.Hour)})
	if r := got[slices.Index(want, eps[0].ID)]; r.DisabledReason == nil || r.DisabledReason.Cause != hookrelay.DisabledFailing ||
		r.LastAttempt == nil || r.LastAttempt.Outcome != hookrelay.OutcomeUnanswered || r.Status.ConsecutiveFailures == 0 {
		h.Fatalf("the endpoint disabled for failing: %+v", r)
	}
	if r := got[slices.Index(want, idle.ID)]; r.LastAttempt != nil || r.Totals.Total() != 0 || r.Status.LastAttemptAt != nil || r.Disabled {
		h.Fatalf("the endpoint never attempted: %+v", r)
	}
}

// testSummariesLeaveOutOtherEndpoints: IDs of another application's
// endpoint, of a deleted one, of none, keys that cannot be text and
// repeated IDs: the summaries are those of the application's endpoints
// named, once each, and nothing of the others.
func testSummariesLeaveOutOtherEndpoints(h *harness) {
	env := h.newEnv()
	app := h.newApp(env.ID)
	other := h.newApp(env.ID)
	a, b := h.newEndpoint(app.ID), h.newEndpoint(app.ID)
	gone := h.newEndpoint(app.ID)
	foreign := h.newEndpoint(other.ID)
	h.publish(other.ID, "a.b")
	for _, tk := range h.claimAll("node", time.Now()) {
		h.must(h.s.CompleteAttempts(h.ctx, []store.AttemptResult{result(tk, hookrelay.OutcomeSuccess, 200, t0.Add(time.Hour))}),
			"complete attempts")
	}
	h.must(h.s.DeleteEndpoint(h.ctx, app.ID, gone.ID), "delete endpoint")
	p := store.SummaryParams{AppID: app.ID, Width: hookrelay.HealthHour, Since: t0, Until: t0.Add(24 * time.Hour)}
	p.EndpointIDs = append([]string{b.ID, foreign.ID, gone.ID, "ep_missing", a.ID, b.ID}, badKeys...)
	var got []string
	for _, s := range h.summaries(p) {
		got = append(got, s.EndpointID)
	}
	want := []string{a.ID, b.ID}
	slices.Sort(want)
	h.equal("summaries of the application's endpoints named", got, want)

	p.EndpointIDs = []string{foreign.ID}
	h.equal("another application's endpoint", len(h.summaries(p)), 0)
	p.AppID = other.ID
	if s := h.summaries(p); len(s) != 1 || s[0].Totals.Total() != 1 || s[0].LastAttempt == nil {
		h.Fatalf("through its own application: %+v", s)
	}
	for _, ids := range [][]string{nil, badKeys} {
		p.EndpointIDs = ids
		h.equal(fmt.Sprintf("no endpoint named (%q)", ids), len(h.summaries(p)), 0)
	}
	p.AppID, p.EndpointIDs = badKeys[0], []string{a.ID}
	h.equal("an application key that cannot be text", len(h.summaries(p)), 0)
}
