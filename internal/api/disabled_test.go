package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
)

// disabledOf reads the health route's "disabled" of an endpoint.
func (h *harness) disabledOf(appID, epID string) *disabledOut {
	h.t.Helper()
	var out endpointHealthOut
	h.mustDo(http.StatusOK, "GET", "/api/v1/app/"+appID+"/endpoint/"+epID+"/health", testAdminToken, nil, &out)
	return out.Disabled
}

// TestDisabledReason: the reason an endpoint was disabled is the one of the
// write that disabled it, whatever its health: a failing endpoint disabled
// through the API reads "manual" (by the admin or by a portal token), one
// that hookrelay's auto-disable (ops.Alerts) disabled reads "failing" with
// the run of failures; enabling drops the reason, and a write that keeps
// it disabled keeps it. The Svix endpoint object is unchanged (the Go SDK
// decodes it).
func TestDisabledReason(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t), func(c *Config) { c.Now = func() time.Time { return healthNow } })
		ctx := context.Background()
		app, ep, other := h.healthApp("disabled")
		path := "/api/v1/app/" + app.Id + "/endpoint/" + ep.Id
		// ep fails against its receiver: two 503s, the first two hours ago.
		h.recordAttempts(app.Id, ep.Id, []healthAttempt{
			{2 * time.Hour, hookrelay.OutcomeRejected, 20},
			{time.Hour, hookrelay.OutcomeRejected, 20},
		})
		if d := h.disabledOf(app.Id, ep.Id); d != nil {
			t.Fatalf("enabled endpoint: disabled %+v", d)
		}

		// Disabled by hand while failing: manual, by the admin, now.
		got, err := h.sdk.Endpoint.Patch(ctx, app.Id, ep.Id, &svix.EndpointPatch{Disabled: ptr(true)})
		if err != nil || got.Disabled == nil || !*got.Disabled {
			t.Fatalf("patch disabled: %+v %v", got, err)
		}
		wantManual := func(what string, d *disabledOut, by string) {
			t.Helper()
			if d == nil || d.Reason != "manual" || d.At == nil || !time.Time(*d.At).Equal(healthNow) ||
				d.By == nil || *d.By != by || d.FailingSince != nil || d.ConsecutiveFailures != nil ||
				d.LastOutcome != nil || d.LastStatusCode != nil {
				t.Errorf("%s: disabled %s, want manual by %s at %v", what, show(d), by, healthNow)
			}
		}
		wantManual("patched by the admin", h.disabledOf(app.Id, ep.Id), "admin")
		// A refused write changes nothing, and a write that keeps it
		// disabled keeps the reason.
		if status, _ := h.do("PATCH", path, testAdminToken, `{"disabled": null}`); status != http.StatusUnprocessableEntity {
			t.Errorf("disabled null: %d, want 422", status)
		}
		h.mustDo(http.StatusOK, "PATCH", path, testAdminToken, map[string]any{"description": "off", "disabled": true}, nil)
		wantManual("after another write", h.disabledOf(app.Id, ep.Id), "admin")

		// Enabled: no reason, stored or shown.
		h.mustDo(http.StatusOK, "PATCH", path, testAdminToken, map[string]any{"disabled": false}, nil)
		if d := h.disabledOf(app.Id, ep.Id); d != nil {
			t.Errorf("enabled: disabled %s", show(d))
		}
		if st, _ := h.st.GetEndpoint(ctx, app.Id, ep.Id); st == nil || st.DisabledReason != nil {
			t.Errorf("enabled endpoint stores a reason: %+v", st)
		}

		// Disabled through a portal token (the portal's button calls the
		// API so): by the portal. A PUT that leaves disabled out enables.
		h.mustDo(http.StatusOK, "PATCH", path, h.portalToken(app.Id), map[string]any{"disabled": true}, nil)
		wantManual("patched with a portal token", h.disabledOf(app.Id, ep.Id), "portal")
		if _, err := h.sdk.Endpoint.Update(ctx, app.Id, ep.Id, &svix.EndpointUpdate{Url: ep.Url}); err != nil {
			t.Fatal(err)
		}
		if d := h.disabledOf(app.Id, ep.Id); d != nil {
			t.Errorf("enabled by PUT: disabled %s", show(d))
		}

		// Created disabled: manual.
		created, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/c", Disabled: ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		wantManual("created disabled", h.disabledOf(app.Id, created.Id), "admin")

		// Auto-disable: ops.Alerts, told of a failed attempt, finds the
		// endpoint failing for longer than DisableAfter and disables it.
		al := ops.NewAlerts(ops.AlertsConfig{Store: h.st, DisableAfter: 90 * time.Minute, Now: func() time.Time { return healthNow }})
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { al.Run(runCtx, nil); close(done) }()
		t.Cleanup(func() { stop(); <-done })
		al.AttemptRecorded(store.Task{Endpoint: hookrelay.Endpoint{ID: ep.Id, AppID: app.Id}},
			store.AttemptResult{Attempt: hookrelay.Attempt{AppID: app.Id, EndpointID: ep.Id, Outcome: hookrelay.OutcomeRejected,
				ResponseStatusCode: 503, TriggerType: hookrelay.TriggerScheduled, CreatedAt: healthNow.Add(-time.Hour)}})
		deadline := time.Now().Add(10 * time.Second)
		for {
			e, err := h.st.GetEndpoint(ctx, app.Id, ep.Id)
			if err != nil {
				t.Fatal(err)
			}
			if e.Disabled {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the failing endpoint was not disabled by ops.Alerts within 10s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		d := h.disabledOf(app.Id, ep.Id)
		if d == nil || d.Reason != "failing" || d.By != nil || d.At == nil || !time.Time(*d.At).Equal(healthNow) ||
			d.FailingSince == nil || !time.Time(*d.FailingSince).Equal(healthNow.Add(-2*time.Hour)) ||
			d.ConsecutiveFailures == nil || *d.ConsecutiveFailures != 2 ||
			d.LastOutcome == nil || *d.LastOutcome != "rejected" || d.LastStatusCode == nil || *d.LastStatusCode != 503 {
			t.Errorf("auto-disabled: disabled %s, want failing since 2h ago, 2 failures, last rejected 503", show(d))
		}
		// Disabling it by hand now changes nothing: it stays what it was.
		h.mustDo(http.StatusOK, "PATCH", path, testAdminToken, map[string]any{"disabled": true}, nil)
		if d := h.disabledOf(app.Id, ep.Id); d == nil || d.Reason != "failing" {
			t.Errorf("disabled again by hand: %s, want it still failing", show(d))
		}
		// The other endpoint, never disabled, has none; the Svix object
		// carries no new field (the Go SDK's strict decoding).
		if d := h.disabledOf(app.Id, other.Id); d != nil {
			t.Errorf("other endpoint: disabled %s", show(d))
		}
		_, body := h.do("GET", path, testAdminToken, nil, "User-Agent", goSDKUserAgent)
		var out svix.EndpointOut
		sdkDecode(t, body, &out)
		if out.Disabled == nil || !*out.Disabled {
			t.Errorf("endpoint object: %s", body)
		}
	})
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
