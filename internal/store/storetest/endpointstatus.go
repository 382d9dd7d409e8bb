package storetest

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// result is an attempt of task with the given outcome and code, made at
// at, which leaves the delivery pending.
func result(task store.Task, kind hookrelay.OutcomeKind, code int, at time.Time) store.AttemptResult {
	status := hookrelay.StatusFail
	if kind == hookrelay.OutcomeSuccess {
		status = hookrelay.StatusSuccess
	}
	next := at.Add(time.Minute)
	return store.AttemptResult{
		Owner: "a",
		Attempt: hookrelay.Attempt{
			DeliveryID: task.Delivery.ID, MsgID: task.Message.ID, AppID: task.Message.AppID,
			EndpointID: task.Endpoint.ID, URL: task.Endpoint.URL, Status: status,
			ResponseStatusCode: code, Outcome: kind, TriggerType: hookrelay.TriggerScheduled, CreatedAt: at,
		},
		Status:      hookrelay.StatusPending,
		NextAttempt: &next,
		Attempts:    1,
	}
}

var endpointStatusTests = []testCase{
	{"endpoint status follows the attempts against the receiver", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		other := h.newApp(hookrelay.DefaultEnvironment)
		_, err := h.s.GetEndpointStatus(h.ctx, other.ID, ep.ID)
		h.wantErr(err, hookrelay.ErrNotFound, "status through another application")
		_, err = h.s.GetEndpointStatus(h.ctx, app.ID, "ep_missing")
		h.wantErr(err, hookrelay.ErrNotFound, "status of a missing endpoint")
		st, err := h.s.GetEndpointStatus(h.ctx, app.ID, ep.ID)
		h.must(err, "get endpoint status")
		h.equal("status before any attempt", *st, store.EndpointStatus{EndpointID: ep.ID})

		h.publish(app.ID, "a.b")
		task := h.claim("a", t0.Add(time.Hour), t0.Add(2*time.Hour), 1)[0]
		at := func(s int) time.Time { return t0.Add(time.Hour + time.Duration(s)*time.Second) }
		steps := []struct {
			name    string
			results []store.AttemptResult
			want    store.EndpointStatus
		}{
			{"a rejection starts a run of failures",
				[]store.AttemptResult{result(task, hookrelay.OutcomeRejected, 500, at(1))},
				store.EndpointStatus{LastAttemptAt: ptr(at(1)), LastOutcome: hookrelay.OutcomeRejected,
					LastStatusCode: 500, FailingSince: ptr(at(1)), ConsecutiveFailures: 1}},
			{"a refusal is the last attempt but no failure",
				[]store.AttemptResult{result(task, hookrelay.OutcomeRefused, 0, at(2))},
				store.EndpointStatus{LastAttemptAt: ptr(at(2)), LastOutcome: hookrelay.OutcomeRefused,
					FailingSince: ptr(at(1)), ConsecutiveFailures: 1}},
			{"an internal failure neither",
				[]store.AttemptResult{result(task, hookrelay.OutcomeInternal, 0, at(3))},
				store.EndpointStatus{LastAttemptAt: ptr(at(3)), LastOutcome: hookrelay.OutcomeInternal,
					FailingSince: ptr(at(1)), ConsecutiveFailures: 1}},
			{"no answer is a failure",
				[]store.AttemptResult{result(task, hookrelay.OutcomeUnanswered, 0, at(4))},
				store.EndpointStatus{LastAttemptAt: ptr(at(4)), LastOutcome: hookrelay.OutcomeUnanswered,
					FailingSince: ptr(at(1)), ConsecutiveFailures: 2}},
			{"a success ends the run",
				[]store.AttemptResult{result(task, hookrelay.OutcomeSuccess, 204, at(5))},
				store.EndpointStatus{LastAttemptAt: ptr(at(5)), LastOutcome: hookrelay.OutcomeSuccess,
					LastStatusCode: 204, LastSuccessAt: ptr(at(5))}},
			{"within one call, in attempt time order",
				[]store.AttemptResult{
					result(task, hookrelay.OutcomeRejected, 410, at(9)),
					result(task, hookrelay.OutcomeRejected, 502, at(6)),
					result(task, hookrelay.OutcomeSuccess, 200, at(7)),
					result(task, hookrelay.OutcomeUnanswered, 0, at(8)),
				},
				store.EndpointStatus{LastAttemptAt: ptr(at(9)), LastOutcome: hookrelay.OutcomeRejected,
					LastStatusCode: 410, LastSuccessAt: ptr(at(7)), FailingSince: ptr(at(8)), ConsecutiveFailures: 2}},
			{"an older attempt recorded late is not the last one, nor part of the run after the last success",
				[]store.AttemptResult{result(task, hookrelay.OutcomeRejected, 503, at(2))},
				store.EndpointStatus{LastAttemptAt: ptr(at(9)), LastOutcome: hookrelay.OutcomeRejected,
					LastStatusCode: 410, LastSuccessAt: ptr(at(7)), FailingSince: ptr(at(8)), ConsecutiveFailures: 2}},
			{"an older success recorded late does not end a later run",
				[]store.AttemptResult{result(task, hookrelay.OutcomeSuccess, 200, at(6))},
				store.EndpointStatus{LastAttemptAt: ptr(at(9)), LastOutcome: hookrelay.OutcomeRejected,
					LastStatusCode: 410, LastSuccessAt: ptr(at(7)), FailingSince: ptr(at(8)), ConsecutiveFailures: 2}},
		}
		var prev *store.EndpointStatus
		for _, step := range steps {
			h.must(h.s.CompleteAttempts(h.ctx, step.results), step.name+": complete attempts")
			st, err := h.s.GetEndpointStatus(h.ctx, app.ID, ep.ID)
			h.must(err, step.name+": get endpoint status")
			step.want.EndpointID = ep.ID
			h.equal(step.name, *st, step.want)
			// The driver's SQL follows store.MergeStatus, the rules in Go.
			ref := store.MergeStatus(prev, store.StatusUpdates(step.results)[0])
			h.equal(step.name+" (store.MergeStatus)", ref, step.want)
			prev = &ref
		}
		h.must(h.s.DeleteEndpoint(h.ctx, app.ID, ep.ID), "delete endpoint")
		_, err = h.s.GetEndpointStatus(h.ctx, app.ID, ep.ID)
		h.wantErr(err, hookrelay.ErrNotFound, "status of a deleted endpoint")
	}},
	{"endpoints keep their own status", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		a, b := h.newEndpoint(app.ID), h.newEndpoint(app.ID)
		h.publish(app.ID, "a.b")
		tasks := h.claim("a", t0.Add(time.Hour), t0.Add(2*time.Hour), 2)
		h.equal("claimed", len(tasks), 2)
		at := t0.Add(time.Hour)
		var results []store.AttemptResult
		for _, t := range tasks {
			kind, code := hookrelay.OutcomeSuccess, 200
			if t.Endpoint.ID == b.ID {
				kind, code = hookrelay.OutcomeRejected, 500
			}
			results = append(results, result(t, kind, code, at))
		}
		h.must(h.s.CompleteAttempts(h.ctx, results), "complete attempts")
		sa, err := h.s.GetEndpointStatus(h.ctx, app.ID, a.ID)
		h.must(err, "status of a")
		sb, err := h.s.GetEndpointStatus(h.ctx, app.ID, b.ID)
		h.must(err, "status of b")
		h.equal("a", *sa, store.EndpointStatus{EndpointID: a.ID, LastAttemptAt: &at,
			LastOutcome: hookrelay.OutcomeSuccess, LastStatusCode: 200, LastSuccessAt: &at})
		h.equal("b", *sb, store.EndpointStatus{EndpointID: b.ID, LastAttemptAt: &at,
			LastOutcome: hookrelay.OutcomeRejected, LastStatusCode: 500, FailingSince: &at, ConsecutiveFailures: 1})
	}},
	{"disabling an endpoint succeeds for one caller only", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		ep := h.newEndpoint(app.ID)
		_, err := h.s.DisableEndpoint(h.ctx, app.ID, "ep_missing", hookrelay.DisabledReason{Cause: hookrelay.DisabledFailing, At: t0})
		h.wantErr(err, hookrelay.ErrNotFound, "disable a missing endpoint")
		_, err = h.s.DisableEndpoint(h.ctx, h.newApp(hookrelay.DefaultEnvironment).ID, ep.ID,
			hookrelay.DisabledReason{Cause: hookrelay.DisabledFailing, At: t0})
		h.wantErr(err, hookrelay.ErrNotFound, "disable through another application")
		var won atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := h.s.DisableEndpoint(h.ctx, app.ID, ep.ID,
					hookrelay.DisabledReason{Cause: hookrelay.DisabledFailing, At: t0.Add(time.Hour)})
				if err != nil {
					h.Errorf("disable endpoint: %v", err)
				}
				if ok {
					won.Add(1)
				}
			}()
		}
		wg.Wait()
		h.equal("callers that disabled it", won.Load(), int32(1))
		got, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		h.must(err, "get endpoint")
		h.equal("disabled", got.Disabled, true)
		h.equal("revision moved", got.Revision, ep.Revision+1)
		h.equal("updated at", got.UpdatedAt, t0.Add(time.Hour))
		// A write over the revision read before is stale.
		ep.Description = "late"
		h.wantErr(h.s.UpdateEndpoint(h.ctx, ep), hookrelay.ErrStale, "update over the old revision")
	}},
	{"an endpoint keeps why it was disabled until it is enabled", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		get := func(id string) *hookrelay.Endpoint {
			h.Helper()
			ep, err := h.s.GetEndpoint(h.ctx, app.ID, id)
			h.must(err, "get endpoint")
			return ep
		}
		byHand := hookrelay.DisabledReason{Cause: hookrelay.DisabledByHand, At: t0, By: hookrelay.DisabledByPortal}
		created := h.newEndpoint(app.ID, func(ep *hookrelay.Endpoint) {
			ep.Disabled, ep.DisabledReason = true, &byHand
		})
		h.equal("created disabled by hand", get(created.ID).DisabledReason, &byHand)
		// An enabled endpoint keeps no reason, whatever the caller left on it.
		enabled := h.newEndpoint(app.ID, func(ep *hookrelay.Endpoint) { ep.DisabledReason = &byHand })
		h.equal("created enabled", get(enabled.ID).DisabledReason, (*hookrelay.DisabledReason)(nil))
		ep := get(created.ID)
		ep.Disabled = false
		h.must(h.s.UpdateEndpoint(h.ctx, ep), "enable")
		h.equal("enabled", get(ep.ID).DisabledReason, (*hookrelay.DisabledReason)(nil))

		// Disabled by the server, with the run of failures it acted on.
		failing := hookrelay.DisabledReason{Cause: hookrelay.DisabledFailing, At: t0.Add(time.Hour),
			FailingSince: ptr(t0.Add(-5 * 24 * time.Hour)), Failures: 7,
			LastOutcome: hookrelay.OutcomeRejected, LastStatusCode: 503}
		ok, err := h.s.DisableEndpoint(h.ctx, app.ID, ep.ID, failing)
		h.must(err, "disable endpoint")
		h.equal("disabled", ok, true)
		got := get(ep.ID)
		h.equal("disabled while failing", got.DisabledReason, &failing)
		h.equal("updated at", got.UpdatedAt, failing.At)
		// A later disable finds it disabled and leaves the first reason.
		ok, err = h.s.DisableEndpoint(h.ctx, app.ID, ep.ID, hookrelay.DisabledReason{Cause: hookrelay.DisabledGone, At: t0.Add(2 * time.Hour)})
		h.must(err, "disable again")
		h.equal("disabled again", ok, false)
		h.equal("reason after a second disable", get(ep.ID).DisabledReason, &failing)
		// Other writes keep it, and lists read it.
		got.Description = "still off"
		h.must(h.s.UpdateEndpoint(h.ctx, got), "update disabled endpoint")
		h.equal("reason after another write", get(ep.ID).DisabledReason, &failing)
		list, err := h.s.ListEndpoints(h.ctx, app.ID, store.Page{Limit: 10})
		h.must(err, "list endpoints")
		for _, e := range list {
			if e.ID == ep.ID {
				h.equal("listed reason", e.DisabledReason, &failing)
			}
		}
		// Enabled again: the reason goes; a disable by hand then stores its own.
		got = get(ep.ID)
		got.Disabled = false
		h.must(h.s.UpdateEndpoint(h.ctx, got), "enable again")
		h.equal("enabled again", get(ep.ID).DisabledReason, (*hookrelay.DisabledReason)(nil))
		got = get(ep.ID)
		admin := hookrelay.DisabledReason{Cause: hookrelay.DisabledByHand, At: t0.Add(3 * time.Hour), By: hookrelay.DisabledByAdmin}
		got.Disabled, got.DisabledReason = true, &admin
		h.must(h.s.UpdateEndpoint(h.ctx, got), "disable by hand")
		h.equal("disabled by hand", get(ep.ID).DisabledReason, &admin)
		// A 410 Gone: the last answer is kept.
		other := h.newEndpoint(app.ID)
		gone := hookrelay.DisabledReason{Cause: hookrelay.DisabledGone, At: t0.Add(4 * time.Hour),
			FailingSince: ptr(t0.Add(4 * time.Hour)), Failures: 1, LastOutcome: hookrelay.OutcomeRejected, LastStatusCode: 410}
		ok, err = h.s.DisableEndpoint(h.ctx, app.ID, other.ID, gone)
		h.must(err, "disable on 410")
		h.equal("disabled on 410", ok, true)
		h.equal("disabled on 410", get(other.ID).DisabledReason, &gone)
	}},
	{"deliveries of a disabled endpoint are parked and resume when it is enabled", func(h *harness) {
		app := h.newApp(hookrelay.DefaultEnvironment)
		off, on := h.newEndpoint(app.ID), h.newEndpoint(app.ID)
		h.publish(app.ID, "a.b")
		h.publish(app.ID, "a.b")
		ok, err := h.s.DisableEndpoint(h.ctx, app.ID, off.ID, hookrelay.DisabledReason{Cause: hookrelay.DisabledGone, At: t0})
		h.must(err, "disable endpoint")
		h.equal("disabled", ok, true)
		now := t0.Add(time.Hour)
		claim := func(at time.Time) []store.Task {
			h.Helper()
			tasks, err := h.s.ClaimDeliveries(h.ctx, store.ClaimParams{
				Owner: "a", Now: at, LeaseUntil: at.Add(time.Minute), Limit: 10, ParkUntil: at.Add(time.Hour)})
			h.must(err, "claim deliveries")
			return tasks
		}
		tasks := claim(now)
		h.equal("claimed", len(tasks), 2)
		for _, t := range tasks {
			h.equal("endpoint of a claimed delivery", t.Endpoint.ID, on.ID)
			h.complete("a", t, 200, hookrelay.StatusSuccess, 1, nil, now)
		}
		h.equal("claimed again at once", len(claim(now)), 0)
		h.equal("claimed after the lease would have run out", len(claim(now.Add(2*time.Minute))), 0)
		next, ok, err := h.s.NextDue(h.ctx)
		h.must(err, "next due")
		h.equal("next due: the parked deliveries", next, now.Add(time.Hour))
		h.equal("next due found", ok, true)
		// Past the parking time they are looked at again, and parked
		// again while their endpoint is still disabled.
		h.equal("claimed after the parking time", len(claim(now.Add(61*time.Minute))), 0)

		ep, err := h.s.GetEndpoint(h.ctx, app.ID, off.ID)
		h.must(err, "get endpoint")
		ep.Description = "still disabled"
		h.must(h.s.UpdateEndpoint(h.ctx, ep), "update disabled endpoint")
		h.equal("claimed after an update that keeps it disabled", len(claim(time.Now())), 0)
		ep.Disabled = false
		h.must(h.s.UpdateEndpoint(h.ctx, ep), "enable endpoint")
		tasks = claim(time.Now().Add(time.Second))
		h.equal("claimed once enabled", len(tasks), 2)
		for _, t := range tasks {
			h.equal("endpoint of a resumed delivery", t.Endpoint.ID, off.ID)
			h.equal("resumed delivery's attempts", t.Delivery.Attempts, 0)
		}
	}},
	{"lookup finds any application by ID", func(h *harness) {
		env := h.newEnv()
		app := h.newApp(env.ID)
		got, err := h.s.LookupApplication(h.ctx, app.ID)
		h.must(err, "lookup application")
		h.equal("application", got, app)
		internal, err := h.s.EnsureInternalApplication(h.ctx, env.ID)
		h.must(err, "ensure internal application")
		got, err = h.s.LookupApplication(h.ctx, internal.ID)
		h.must(err, "lookup internal application")
		h.equal("internal application", got, internal)
		_, err = h.s.LookupApplication(h.ctx, "app_missing")
		h.wantErr(err, hookrelay.ErrNotFound, "lookup a missing application")
	}},
}
