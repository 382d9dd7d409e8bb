package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Tests of the routes of the current Svix API (svix-openapi-current.json)
// that the SDKs 1.99 and 2.x call. Answers are decoded as plain JSON: the
// Go SDK v1.44.0 has no models for them.

// rawTask is BackgroundTaskOut of the current API.
type rawTask struct {
	ID        string         `json:"id"`
	Status    string         `json:"status"`
	Task      string         `json:"task"`
	Data      map[string]any `json:"data"`
	UpdatedAt string         `json:"updatedAt"`
}

// waitRawTask polls a task until it is no longer running.
func (h *harness) waitRawTask(id string) rawTask {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var out rawTask
		h.mustDo(http.StatusOK, "GET", "/api/v1/background-task/"+id, testAdminToken, nil, &out)
		if out.Status != "running" {
			return out
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("task %s still running after 60s: %+v", id, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// createApp and createEndpoint make objects through raw HTTP.
func (h *harness) createApp(name string) string {
	h.t.Helper()
	var out struct{ ID string }
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, map[string]any{"name": name}, &out)
	return out.ID
}

func (h *harness) createEndpoint(app string, body map[string]any) string {
	h.t.Helper()
	var out struct{ ID string }
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app/"+app+"/endpoint", testAdminToken, body, &out)
	return out.ID
}

func (h *harness) publish(app, eventType string, extra map[string]any) string {
	h.t.Helper()
	body := map[string]any{"eventType": eventType, "payload": map[string]any{"k": eventType}}
	for k, v := range extra {
		body[k] = v
	}
	var out struct{ ID string }
	h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+app+"/msg", testAdminToken, body, &out)
	return out.ID
}

// refusal is one request that must be refused and change nothing.
type refusal struct {
	name, method, path, token string
	body                      any
	status                    int
	loc                       []string
}

func (h *harness) refused(t *testing.T, cases []refusal) {
	t.Helper()
	before := h.snapshot()
	for _, c := range cases {
		status, body := h.do(c.method, c.path, c.token, c.body)
		if status != c.status {
			t.Errorf("%s: %s %s: status %d, want %d: %s", c.name, c.method, c.path, status, c.status, body)
			continue
		}
		assertErrorBody(t, status, body, "", c.loc)
	}
	if after := h.snapshot(); after != before {
		t.Errorf("refused requests changed something:\nbefore %s\nafter %s", before, after)
	}
}

func TestLiteralAndWildcardMessageRoutes(t *testing.T) {
	h := newHarness(t)
	app := h.createApp("routes")
	cases := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"POST", "/api/v1/app/" + app + "/msg/expunge-all-contents", http.StatusAccepted, ""},
		{"GET", "/api/v1/app/" + app + "/msg/expunge-all-contents", http.StatusNotFound, ""}, // a message ID
		{"DELETE", "/api/v1/app/" + app + "/msg/expunge-all-contents", http.StatusMethodNotAllowed, "GET, POST"},
		{"PUT", "/api/v1/app/" + app + "/msg/precheck/active", http.StatusMethodNotAllowed, "POST"},
		{"PUT", "/api/v1/app/" + app + "/msg/msg_x", http.StatusMethodNotAllowed, "GET"},
		{"DELETE", "/api/v1/app", http.StatusMethodNotAllowed, "GET, POST"},
		{"GET", "/api/v1/app/" + app + "/nothing-here", http.StatusNotFound, ""},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, h.srv.URL+c.path, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want %d Allow %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), c.status, c.allow)
		}
	}
}

func TestWhoami(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		app := h.createApp("who")
		portal := h.portalToken(app)
		var admin, pt map[string]any
		h.mustDo(http.StatusOK, "GET", "/api/v1/auth/whoami", testAdminToken, nil, &admin)
		if fmt.Sprint(admin) != fmt.Sprint(map[string]any{"envId": hookrelay.DefaultEnvironment, "permissionSource": "RegionalAuthToken"}) {
			t.Errorf("admin whoami = %v", admin)
		}
		h.mustDo(http.StatusOK, "GET", "/api/v1/auth/whoami", portal, nil, &pt)
		if pt["appId"] != app || pt["permissionSource"] != "SvixJwt" || pt["envId"] != hookrelay.DefaultEnvironment {
			t.Errorf("portal whoami = %v", pt)
		}
		h.refused(t, []refusal{
			{"no token", "GET", "/api/v1/auth/whoami", "", nil, http.StatusUnauthorized, nil},
			{"unknown token", "GET", "/api/v1/auth/whoami", "nope", nil, http.StatusUnauthorized, nil},
		})
	})
}

func TestPrecheck(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		app := h.createApp("precheck")
		path := "/api/v1/app/" + app + "/msg/precheck/active"
		check := func(body map[string]any, want bool) {
			t.Helper()
			var out map[string]any
			h.mustDo(http.StatusOK, "POST", path, testAdminToken, body, &out)
			if out["active"] != want || len(out) != 1 {
				t.Errorf("precheck %v = %v, want active %v", body, out, want)
			}
		}
		check(map[string]any{"eventType": "a.b"}, false) // no endpoint
		ep := h.createEndpoint(app, map[string]any{"url": "https://example.com/a", "filterTypes": []string{"a.b"}, "channels": []string{"ch1"}})
		check(map[string]any{"eventType": "a.b"}, false) // the endpoint wants channel ch1
		check(map[string]any{"eventType": "a.b", "channels": []string{"ch1"}}, true)
		check(map[string]any{"eventType": "c.d", "channels": []string{"ch1"}}, false)
		h.mustDo(http.StatusOK, "PATCH", "/api/v1/app/"+app+"/endpoint/"+ep, testAdminToken, map[string]any{"disabled": true}, nil)
		check(map[string]any{"eventType": "a.b", "channels": []string{"ch1"}}, false)
		h.createEndpoint(app, map[string]any{"url": "https://example.com/all"})
		check(map[string]any{"eventType": "x.y"}, true)

		other := h.createApp("other")
		h.refused(t, []refusal{
			{"no eventType", "POST", path, testAdminToken, map[string]any{}, 422, []string{"body", "eventType"}},
			{"bad eventType", "POST", path, testAdminToken, map[string]any{"eventType": "a b"}, 422, []string{"body", "eventType"}},
			{"empty channels", "POST", path, testAdminToken, map[string]any{"eventType": "a", "channels": []string{}}, 422, []string{"body", "channels"}},
			{"unknown app", "POST", "/api/v1/app/app_nope/msg/precheck/active", testAdminToken, map[string]any{"eventType": "a"}, 404, nil},
			{"portal token", "POST", path, h.portalToken(app), map[string]any{"eventType": "a"}, 403, nil},
			{"other app's portal token", "POST", path, h.portalToken(other), map[string]any{"eventType": "a"}, 403, nil},
		})
	})
}

func TestCancelMsgsAndAppAttemptStats(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t)) // no dispatcher: deliveries wait until claimed here
		ctx := context.Background()
		app := h.createApp("cancel")
		ep := h.createEndpoint(app, map[string]any{"url": "https://example.com/a"})
		epPath := "/api/v1/app/" + app + "/endpoint/" + ep
		start := time.Now().UTC().Add(-time.Second)

		h.publish(app, "a.b", nil)
		h.publish(app, "a.b", nil)
		h.makeAttempts(hookrelay.StatusSuccess, 200, "ok")
		h.publish(app, "c.d", nil)
		h.makeAttempts(hookrelay.StatusFail, 500, "no")
		h.publish(app, "a.b", nil)
		h.publish(app, "c.d", nil)
		time.Sleep(2 * time.Millisecond) // createdBefore is exclusive: let the clock pass the last message
		cut := time.Now().UTC()
		late := h.publish(app, "a.b", nil)

		h.mustDo(http.StatusNoContent, "POST", epPath+"/cancel-msgs", testAdminToken,
			map[string]any{"createdBefore": cut.Format(time.RFC3339Nano)}, nil)
		// Only the message published after the cut is still due.
		now := time.Now().Add(time.Second)
		tasks, err := h.st.ClaimDeliveries(ctx, store.ClaimParams{Owner: "t", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 100})
		if err != nil || len(tasks) != 1 || tasks[0].Message.ID != late {
			t.Fatalf("due after cancel: %d tasks (%v), want only %s", len(tasks), err, late)
		}
		_ = h.st.ReleaseDeliveries(ctx, "t", []string{tasks[0].Delivery.ID})

		var stats appAttemptStatsOut
		q := "?since=" + start.Format(time.RFC3339Nano) + "&until=" + time.Now().Add(time.Minute).UTC().Format(time.RFC3339Nano)
		h.mustDo(http.StatusOK, "GET", "/api/v1/app/"+app+"/stats/attempts"+q, testAdminToken, nil, &stats)
		got := fmt.Sprintf("%d/%d/%d a.b=%+v c.d=%+v", stats.TotalSuccess, stats.TotalFailure, stats.TotalCanceled,
			*stats.ByEventType["a.b"], *stats.ByEventType["c.d"])
		if want := "2/1/2 a.b={Success:2 Failure:0 Canceled:1} c.d={Success:0 Failure:1 Canceled:1}"; got != want {
			t.Errorf("app attempt stats: %s, want %s", got, want)
		}
		stats = appAttemptStatsOut{}
		h.mustDo(http.StatusOK, "GET", "/api/v1/app/"+app+"/stats/attempts"+q+"&event_types=c.d", h.portalToken(app), nil, &stats)
		if stats.TotalSuccess != 0 || stats.TotalFailure != 1 || stats.TotalCanceled != 1 || len(stats.ByEventType) != 1 {
			t.Errorf("stats of c.d: %+v", stats)
		}

		other := h.createApp("other")
		ro := func() string {
			var out appPortalAccessOut
			h.mustDo(http.StatusOK, "POST", "/api/v1/auth/app-portal-access/"+app, testAdminToken, map[string]any{"readOnly": true}, &out)
			return out.Token
		}()
		body := map[string]any{"createdBefore": cut.Format(time.RFC3339Nano)}
		h.refused(t, []refusal{
			{"no createdBefore", "POST", epPath + "/cancel-msgs", testAdminToken, map[string]any{}, 422, []string{"body", "createdBefore"}},
			{"bad createdBefore", "POST", epPath + "/cancel-msgs", testAdminToken, map[string]any{"createdBefore": "yesterday"}, 422, []string{"body", "createdBefore"}},
			{"unknown endpoint", "POST", "/api/v1/app/" + app + "/endpoint/ep_nope/cancel-msgs", testAdminToken, body, 404, nil},
			{"unknown app", "POST", "/api/v1/app/app_nope/endpoint/" + ep + "/cancel-msgs", testAdminToken, body, 404, nil},
			{"other app's portal token", "POST", epPath + "/cancel-msgs", h.portalToken(other), body, 404, nil},
			{"read-only portal token", "POST", epPath + "/cancel-msgs", ro, body, 403, nil},
			{"stats without since", "GET", "/api/v1/app/" + app + "/stats/attempts?until=" + cut.Format(time.RFC3339), testAdminToken, nil, 422, []string{"query", "since"}},
			{"stats since after until", "GET", "/api/v1/app/" + app + "/stats/attempts?since=" + cut.Format(time.RFC3339) + "&until=" + start.Format(time.RFC3339), testAdminToken, nil, 422, []string{"query", "until"}},
			{"stats of another app", "GET", "/api/v1/app/" + app + "/stats/attempts" + q, h.portalToken(other), nil, 404, nil},
		})
	})
}

func TestRateLimitStatus(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		ctx := context.Background()
		app := h.createApp("rl")
		free := h.createEndpoint(app, map[string]any{"url": "https://example.com/a"})
		limited := h.createEndpoint(app, map[string]any{"url": "https://example.com/b", "rateLimit": 2})
		status := func(ep string) map[string]any {
			var out map[string]any
			h.mustDo(http.StatusOK, "GET", "/api/v1/app/"+app+"/endpoint/"+ep+"/rate-limit-status", h.portalToken(app), nil, &out)
			return out
		}
		if s := status(free); s["status"] != "Ok" || s["throttledSince"] != nil {
			t.Errorf("endpoint without a limit: %v", s)
		}
		if s := status(limited); s["status"] != "Ok" {
			t.Errorf("limited endpoint before any send: %v", s)
		}
		// One send: no wait. Then a burst of 10 at 2/s: slots 5s ahead.
		now := time.Now()
		if _, err := h.st.ReserveSendSlots(ctx, limited, 2, 1, now); err != nil {
			t.Fatal(err)
		}
		if s := status(limited); s["status"] != "Ok" {
			t.Errorf("limited endpoint after one send: %v", s)
		}
		if _, err := h.st.ReserveSendSlots(ctx, limited, 2, 10, now); err != nil {
			t.Fatal(err)
		}
		s := status(limited)
		since, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(s["throttledSince"]))
		if s["status"] != "RateLimited" || since.Sub(now).Abs() > time.Millisecond {
			t.Errorf("limited endpoint with a backlog: %v, want RateLimited since %s", s, now.UTC().Format(time.RFC3339Nano))
		}
		other := h.createApp("other")
		h.refused(t, []refusal{
			{"unknown endpoint", "GET", "/api/v1/app/" + app + "/endpoint/ep_nope/rate-limit-status", testAdminToken, nil, 404, nil},
			{"other app's portal token", "GET", "/api/v1/app/" + app + "/endpoint/" + free + "/rate-limit-status", h.portalToken(other), nil, 404, nil},
		})
	})
}

func TestBulkReplayAndExpungeAllContents(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newNode(t, open(t), 2)
		rc := newReceiver(t)
		app := h.createApp("bulk")
		ep := h.createEndpoint(app, map[string]any{"url": rc.srv.URL})
		epPath := "/api/v1/app/" + app + "/endpoint/" + ep
		start := time.Now().UTC().Add(-time.Second)
		var ab []string
		for i := range 5 {
			ab = append(ab, h.publish(app, "a.b", map[string]any{"tags": []string{fmt.Sprint("t", i%2)}}))
			h.publish(app, "c.d", nil)
		}
		h.waitSettled(app, ep)

		var out rawTask
		h.mustDo(http.StatusAccepted, "POST", epPath+"/bulk-replay", testAdminToken,
			map[string]any{"since": start.Format(time.RFC3339Nano), "eventTypes": []string{"a.b"}, "tag": "t0", "status": 0, "statusCodeClass": 200}, &out)
		if out.Status != "running" || out.Task != "endpoint.bulk-replay" || out.UpdatedAt == "" {
			t.Fatalf("bulk-replay answer: %+v", out)
		}
		if task := h.waitRawTask(out.ID); task.Status != "finished" || task.Data["messagesSent"] != float64(3) {
			t.Fatalf("bulk-replay task: %+v", task)
		}
		h.waitSettled(app, ep)
		rc.mu.Lock()
		var twice []string
		for id, n := range rc.got {
			if n == 2 {
				twice = append(twice, id)
			}
		}
		rc.mu.Unlock()
		sort.Strings(twice)
		want := []string{ab[0], ab[2], ab[4]}
		sort.Strings(want)
		if fmt.Sprint(twice) != fmt.Sprint(want) {
			t.Errorf("sent again: %v, want the a.b messages tagged t0 %v", twice, want)
		}

		// Expunge every payload; a bulk replay then has nothing to send.
		h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+app+"/msg/expunge-all-contents", testAdminToken, nil, &out)
		if out.Task != "application.purge_content" || out.Status != "running" {
			t.Fatalf("expunge-all-contents answer: %+v", out)
		}
		if task := h.waitRawTask(out.ID); task.Status != "finished" || task.Data["messagesPurged"] != float64(10) {
			t.Fatalf("purge task: %+v", task)
		}
		var msg map[string]any
		h.mustDo(http.StatusOK, "GET", "/api/v1/app/"+app+"/msg/"+ab[1], testAdminToken, nil, &msg)
		if fmt.Sprint(msg["payload"]) != "map[]" {
			t.Errorf("payload after expunge-all-contents: %v", msg["payload"])
		}
		h.mustDo(http.StatusAccepted, "POST", epPath+"/bulk-replay", h.portalToken(app), map[string]any{"since": start.Format(time.RFC3339Nano)}, &out)
		if task := h.waitRawTask(out.ID); task.Status != "finished" || task.Data["messagesSent"] != float64(0) {
			t.Errorf("bulk replay of expunged messages: %+v", task)
		}

		other := h.createApp("other")
		since := map[string]any{"since": start.Format(time.RFC3339Nano)}
		h.refused(t, []refusal{
			{"no since", "POST", epPath + "/bulk-replay", testAdminToken, map[string]any{}, 422, []string{"body", "since"}},
			{"bad until", "POST", epPath + "/bulk-replay", testAdminToken, map[string]any{"since": start.Format(time.RFC3339), "until": 5}, 422, []string{"body", "until"}},
			{"bad status", "POST", epPath + "/bulk-replay", testAdminToken, map[string]any{"since": start.Format(time.RFC3339), "status": 9}, 422, []string{"body", "status"}},
			{"bad class", "POST", epPath + "/bulk-replay", testAdminToken, map[string]any{"since": start.Format(time.RFC3339), "statusCodeClass": 201}, 422, []string{"body", "statusCodeClass"}},
			{"bad channel", "POST", epPath + "/bulk-replay", testAdminToken, map[string]any{"since": start.Format(time.RFC3339), "channel": "a b"}, 422, []string{"body", "channel"}},
			{"unknown endpoint", "POST", "/api/v1/app/" + app + "/endpoint/ep_nope/bulk-replay", testAdminToken, since, 404, nil},
			{"other app's portal token", "POST", epPath + "/bulk-replay", h.portalToken(other), since, 404, nil},
			{"expunge-all with a portal token", "POST", "/api/v1/app/" + app + "/msg/expunge-all-contents", h.portalToken(app), nil, 403, nil},
			{"expunge-all of an unknown app", "POST", "/api/v1/app/app_nope/msg/expunge-all-contents", testAdminToken, nil, 404, nil},
		})
	})
}

func TestUsageStats(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		a1, a2 := h.createApp("one"), h.createApp("two")
		h.createEndpoint(a1, map[string]any{"url": "https://example.com/1", "filterTypes": []string{"b.b", "a.a"}})
		h.createEndpoint(a1, map[string]any{"url": "https://example.com/2", "filterTypes": []string{"a.a"}})
		h.createEndpoint(a2, map[string]any{"url": "https://example.com/3"})
		start := time.Now().UTC().Add(-time.Second)
		h.publish(a1, "a.a", nil) // two destinations
		h.publish(a1, "b.b", nil) // one
		h.publish(a2, "z.z", nil) // one
		until := time.Now().UTC().Add(time.Second)
		span := map[string]any{"since": start.Format(time.RFC3339Nano), "until": until.Format(time.RFC3339Nano)}

		var out struct {
			rawTask
			UnresolvedAppIDs []string `json:"unresolvedAppIds"`
		}
		body := map[string]any{"since": span["since"], "until": span["until"], "appIds": []string{a1, "nope"}}
		h.mustDo(http.StatusAccepted, "POST", "/api/v1/stats/usage/app", testAdminToken, body, &out)
		if out.Task != "application.stats" || fmt.Sprint(out.UnresolvedAppIDs) != "[nope]" {
			t.Fatalf("usage app answer: %+v", out)
		}
		task := h.waitRawTask(out.ID)
		if fmt.Sprint(task.Data["appStats"]) != fmt.Sprintf("[map[appId:%s appUid:<nil> messageDestinations:3]]", a1) {
			t.Errorf("usage app task: %+v", task)
		}
		h.mustDo(http.StatusAccepted, "POST", "/api/v1/stats/usage/app", testAdminToken, span, &out)
		task = h.waitRawTask(out.ID)
		stats, _ := task.Data["appStats"].([]any)
		if task.Status != "finished" || len(stats) != 2 || len(out.UnresolvedAppIDs) != 0 {
			t.Errorf("usage of every app: %+v", task)
		}

		h.mustDo(http.StatusAccepted, "PUT", "/api/v1/stats/usage/event-types", testAdminToken, nil, &out)
		if out.Task != "event-type.aggregate" {
			t.Fatalf("aggregate answer: %+v", out)
		}
		task = h.waitRawTask(out.ID)
		got := map[string]string{}
		for _, e := range task.Data["event_types"].([]any) {
			m := e.(map[string]any)
			got[m["appId"].(string)] = fmt.Sprint(m["explicitlySubscribedEventTypes"], m["hasCatchAllEndpoint"])
		}
		if got[a1] != "[a.a b.b] false" || got[a2] != "[] true" || len(got) != 2 {
			t.Errorf("aggregate event types: %v", got)
		}

		h.refused(t, []refusal{
			{"no since", "POST", "/api/v1/stats/usage/app", testAdminToken, map[string]any{"until": span["until"]}, 422, []string{"body", "since"}},
			{"until before since", "POST", "/api/v1/stats/usage/app", testAdminToken, map[string]any{"since": span["until"], "until": span["since"]}, 422, []string{"body", "until"}},
			{"no app resolves", "POST", "/api/v1/stats/usage/app", testAdminToken, map[string]any{"since": span["since"], "until": span["until"], "appIds": []string{"x", "y"}}, 422, []string{"body", "appIds"}},
			{"portal token", "POST", "/api/v1/stats/usage/app", h.portalToken(a1), span, 403, nil},
			{"portal token aggregate", "PUT", "/api/v1/stats/usage/event-types", h.portalToken(a1), nil, 403, nil},
		})
	})
}

func TestImportOpenAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		h.mustDo(http.StatusCreated, "POST", "/api/v1/event-type", testAdminToken, map[string]any{"name": "old.one", "description": "old"}, nil)
		spec := map[string]any{
			"openapi": "3.1.0",
			"webhooks": map[string]any{
				"pet.new": map[string]any{"post": map[string]any{
					"description": "A new pet", "x-svix-group-name": "pets",
					"requestBody": map[string]any{"content": map[string]any{"application/json": map[string]any{
						"schema":  map[string]any{"$ref": "#/components/schemas/Pet"},
						"example": map[string]any{"id": 1, "name": "rex"},
					}}},
				}},
			},
			"x-webhooks": map[string]any{
				"pet.gone": map[string]any{"post": map[string]any{"summary": "A pet left", "deprecated": true}},
			},
			"components": map[string]any{"schemas": map[string]any{"Pet": map[string]any{
				"type": "object", "required": []string{"id"},
				"properties": map[string]any{"id": map[string]any{"type": "integer"}, "name": map[string]any{"type": "string"}},
			}}},
		}
		var out struct {
			Data struct {
				Modified []string         `json:"modified"`
				ToModify []map[string]any `json:"to_modify"`
			} `json:"data"`
		}
		h.mustDo(http.StatusOK, "POST", "/api/v1/event-type/import/openapi", testAdminToken, map[string]any{"spec": spec, "dryRun": true}, &out)
		if fmt.Sprint(out.Data.Modified) != "[pet.new pet.gone]" || len(out.Data.ToModify) != 2 {
			t.Fatalf("dry run: %+v", out)
		}
		if status, _ := h.do("GET", "/api/v1/event-type/pet.new", testAdminToken, nil); status != http.StatusNotFound {
			t.Fatalf("a dry run created pet.new (%d)", status)
		}
		out.Data.ToModify = nil
		h.mustDo(http.StatusOK, "POST", "/api/v1/event-type/import/openapi", testAdminToken, map[string]any{"spec": spec, "replaceAll": true}, &out)
		if fmt.Sprint(out.Data.Modified) != "[pet.new pet.gone old.one]" || out.Data.ToModify != nil {
			t.Fatalf("import: %+v", out)
		}
		var et map[string]any
		h.mustDo(http.StatusOK, "GET", "/api/v1/event-type/pet.new", testAdminToken, nil, &et)
		schema, _ := json.Marshal(et["schemas"])
		if et["description"] != "A new pet" || et["groupName"] != "pets" ||
			string(schema) != `{"1":{"examples":[{"id":1,"name":"rex"}],"properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id"],"type":"object"}}` {
			t.Errorf("pet.new = %v (schemas %s)", et, schema)
		}
		h.mustDo(http.StatusOK, "GET", "/api/v1/event-type/pet.gone", testAdminToken, nil, &et)
		if et["description"] != "A pet left" || et["deprecated"] != true {
			t.Errorf("pet.gone = %v", et)
		}
		h.mustDo(http.StatusOK, "GET", "/api/v1/event-type/old.one", testAdminToken, nil, &et)
		if et["archived"] != true {
			t.Errorf("old.one not archived by replaceAll: %v", et)
		}
		// The same document as YAML text changes nothing.
		yamlSpec := "openapi: 3.1.0\nwebhooks:\n  pet.new:\n    post:\n      description: A new pet\n      x-svix-group-name: pets\n" +
			"      requestBody:\n        content:\n          application/json:\n            schema: {$ref: '#/components/schemas/Pet'}\n" +
			"            example: {id: 1, name: rex}\n" +
			"components:\n  schemas:\n    Pet:\n      type: object\n      required: [id]\n      properties:\n        id: {type: integer}\n        name: {type: string}\n"
		h.mustDo(http.StatusOK, "POST", "/api/v1/event-type/import/openapi", testAdminToken, map[string]any{"specRaw": yamlSpec}, &out)
		if len(out.Data.Modified) != 0 {
			t.Errorf("re-import as YAML modified %v", out.Data.Modified)
		}

		h.refused(t, []refusal{
			{"neither", "POST", "/api/v1/event-type/import/openapi", testAdminToken, map[string]any{}, 400, nil},
			{"both", "POST", "/api/v1/event-type/import/openapi", testAdminToken, map[string]any{"spec": spec, "specRaw": "{}"}, 400, nil},
			{"spec not an object", "POST", "/api/v1/event-type/import/openapi", testAdminToken, map[string]any{"spec": 3}, 422, nil},
			{"not YAML", "POST", "/api/v1/event-type/import/openapi", testAdminToken, map[string]any{"specRaw": "a: [b"}, 422, []string{"body", "specRaw"}},
			{"no webhooks", "POST", "/api/v1/event-type/import/openapi", testAdminToken, map[string]any{"spec": map[string]any{"openapi": "3.1.0"}}, 422, []string{"body", "spec"}},
			{"bad webhook name", "POST", "/api/v1/event-type/import/openapi", testAdminToken,
				map[string]any{"spec": map[string]any{"webhooks": map[string]any{"a b": map[string]any{"post": map[string]any{}}}}}, 422, []string{"body", "spec", "webhooks", "a b"}},
			{"no operation", "POST", "/api/v1/event-type/import/openapi", testAdminToken,
				map[string]any{"spec": map[string]any{"webhooks": map[string]any{"a.b": map[string]any{}}}}, 422, []string{"body", "spec", "webhooks", "a.b"}},
			{"portal token", "POST", "/api/v1/event-type/import/openapi", h.portalToken(h.createApp("p")), map[string]any{"spec": spec}, 403, nil},
		})
	})
}

func TestSendExampleWithoutExample(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		app := h.createApp("example")
		ep := h.createEndpoint(app, map[string]any{"url": "https://example.com/a"})
		path := "/api/v1/app/" + app + "/endpoint/" + ep + "/send-example"
		h.mustDo(http.StatusCreated, "POST", "/api/v1/event-type", testAdminToken, map[string]any{
			"name": "with.schema", "description": "d",
			"schemas": map[string]any{"1": map[string]any{"type": "object", "required": []string{"id"}, "properties": map[string]any{
				"id": map[string]any{"type": "string", "format": "uuid"}, "count": map[string]any{"type": "integer", "minimum": 3},
			}}},
		}, nil)
		h.mustDo(http.StatusCreated, "POST", "/api/v1/event-type", testAdminToken, map[string]any{"name": "bare", "description": "d"}, nil)
		h.mustDo(http.StatusCreated, "POST", "/api/v1/event-type", testAdminToken, map[string]any{
			"name": "scalar", "description": "d", "schemas": map[string]any{"1": map[string]any{"type": "string"}}}, nil)

		var msg map[string]any
		h.mustDo(http.StatusAccepted, "POST", path, testAdminToken, map[string]any{"eventType": "with.schema"}, &msg)
		if fmt.Sprint(msg["payload"]) != "map[count:3 id:00000000-0000-4000-8000-000000000000]" || msg["eventType"] != "with.schema" {
			t.Errorf("generated example message: %v", msg)
		}
		h.refused(t, []refusal{
			{"no schema, no example", "POST", path, testAdminToken, map[string]any{"eventType": "bare"}, 422, []string{"body", "eventType"}},
			{"schema of a string", "POST", path, testAdminToken, map[string]any{"eventType": "scalar"}, 422, []string{"body", "eventType"}},
			{"index beyond the generated one", "POST", path, testAdminToken, map[string]any{"eventType": "with.schema", "exampleIndex": 1}, 422, []string{"body", "exampleIndex"}},
		})
	})
}

func TestExampleFromSchema(t *testing.T) {
	cases := []struct{ name, schema, want, err string }{
		{"examples first", `{"type":"object","examples":[{"a":1}],"properties":{"b":{"type":"string"}}}`, `{"a":1}`, ""},
		{"example", `{"type":"object","properties":{"b":{"type":"string","example":"hi"}}}`, `{"b":"hi"}`, ""},
		{"const, default, enum", `{"properties":{"c":{"const":5},"d":{"default":false},"e":{"enum":["x","y"]}}}`, `{"c":5,"d":false,"e":"x"}`, ""},
		{"formats", `{"type":"object","properties":{"t":{"type":"string","format":"date-time"},"m":{"type":"string","format":"email"},"u":{"type":"string","format":"uri"}}}`,
			`{"m":"user@example.com","t":"2024-01-01T00:00:00Z","u":"https://example.com/"}`, ""},
		{"string lengths", `{"properties":{"s":{"type":"string","minLength":8},"z":{"type":"string","maxLength":3}}}`, `{"s":"stringxx","z":"str"}`, ""},
		{"number bounds", `{"properties":{"i":{"type":"integer","minimum":2},"x":{"type":"integer","exclusiveMinimum":2},"n":{"type":"number","maximum":-1}}}`, `{"i":2,"n":-1,"x":3}`, ""},
		{"arrays", `{"properties":{"a":{"type":"array","items":{"type":"boolean"},"minItems":2},"b":{"type":"array"}}}`, `{"a":[true,true],"b":[]}`, ""},
		{"nullable type list", `{"properties":{"a":{"type":["null","integer"]},"b":{"type":"null"}}}`, `{"a":0,"b":null}`, ""},
		{"oneOf and allOf", `{"allOf":[{"properties":{"a":{"oneOf":[{"type":"integer"},{"type":"string"}]}}},{"properties":{"b":{"type":"boolean"}}}]}`, `{"a":0,"b":true}`, ""},
		{"local ref", `{"$defs":{"P":{"type":"object","properties":{"n":{"type":"string"}}}},"type":"object","properties":{"p":{"$ref":"#/$defs/P"}}}`, `{"p":{"n":"string"}}`, ""},
		{"recursive ref", `{"type":"object","properties":{"child":{"$ref":"#"}}}`, "", "deeper than"},
		{"dangling ref", `{"properties":{"p":{"$ref":"#/nope"}}}`, "", "points nowhere"},
		{"remote ref", `{"properties":{"p":{"$ref":"https://x/y.json"}}}`, "", "not local"},
		{"no type", `{"properties":{"p":{"description":"?"}}}`, "", "#/properties/p has no type"},
		{"false schema", `{"properties":{"p":false}}`, "", "accepts no value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := exampleFromSchema(json.RawMessage(c.schema))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v (value %s), want one containing %q", err, got, c.err)
				}
				return
			}
			if err != nil || string(got) != c.want {
				t.Fatalf("got %s, %v; want %s", got, err, c.want)
			}
		})
	}
}

func TestBulkExpungeAndDashboardAccess(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		app := h.createApp("bulk-expunge")
		h.createEndpoint(app, map[string]any{"url": "https://example.com/a"})
		m1 := h.publish(app, "a.b", nil)
		h.publish(app, "a.b", map[string]any{"eventId": "evt-2"})
		m3 := h.publish(app, "a.b", nil)
		var out struct {
			Results map[string]string `json:"results"`
		}
		h.mustDo(http.StatusOK, "POST", "/api/v1/app/"+app+"/msg/bulk-expunge", testAdminToken,
			map[string]any{"ids": []string{m1, "evt-2", "msg_nope"}}, &out)
		if fmt.Sprint(out.Results) != fmt.Sprint(map[string]string{m1: "expunged", "evt-2": "expunged", "msg_nope": "not-found"}) {
			t.Errorf("bulk-expunge results: %v", out.Results)
		}
		for id, want := range map[string]string{m1: "map[]", "evt-2": "map[]", m3: "map[k:a.b]"} {
			var msg map[string]any
			h.mustDo(http.StatusOK, "GET", "/api/v1/app/"+app+"/msg/"+id, testAdminToken, nil, &msg)
			if fmt.Sprint(msg["payload"]) != want {
				t.Errorf("payload of %s: %v, want %s", id, msg["payload"], want)
			}
		}
		var access map[string]any
		h.mustDo(http.StatusOK, "POST", "/api/v1/auth/dashboard-access/"+app, testAdminToken, nil, &access)
		tok, _ := access["token"].(string)
		if tok == "" || access["url"] == nil {
			t.Fatalf("dashboard-access: %v", access)
		}
		h.mustDo(http.StatusOK, "GET", "/api/v1/app/"+app, tok, nil, nil)
		h.refused(t, []refusal{
			{"ids null", "POST", "/api/v1/app/" + app + "/msg/bulk-expunge", testAdminToken, map[string]any{"ids": nil}, 422, []string{"body", "ids"}},
			{"bad id", "POST", "/api/v1/app/" + app + "/msg/bulk-expunge", testAdminToken, map[string]any{"ids": []string{"a b"}}, 422, []string{"body", "ids", "0"}},
			{"portal token", "POST", "/api/v1/app/" + app + "/msg/bulk-expunge", tok, map[string]any{"ids": []string{m3}}, 403, nil},
			{"unknown app", "POST", "/api/v1/app/app_nope/msg/bulk-expunge", testAdminToken, map[string]any{"ids": []string{m3}}, 404, nil},
			{"dashboard-access of an unknown app", "POST", "/api/v1/auth/dashboard-access/app_nope", testAdminToken, nil, 404, nil},
			{"dashboard-access with a portal token", "POST", "/api/v1/auth/dashboard-access/" + app, tok, nil, 403, nil},
		})
	})
}

func TestOperationalEndpointHeadersOnBothStores(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t), withEvents)
		var ep opEndpointOut
		h.mustDo(http.StatusCreated, "POST", opBase, testAdminToken, map[string]any{"url": "https://ops.example.com/hook"}, &ep)
		h.mustDo(http.StatusNoContent, "PUT", opBase+"/"+ep.ID+"/headers", testAdminToken,
			map[string]any{"headers": map[string]string{"X-Team": "sre", "Authorization": "Bearer x"}}, nil)
		var hd endpointHeadersOut
		h.mustDo(http.StatusOK, "GET", opBase+"/"+ep.ID+"/headers", testAdminToken, nil, &hd)
		if hd.Headers["X-Team"] != "sre" || len(hd.Headers) != 1 || fmt.Sprint(hd.Sensitive) != "[Authorization]" {
			t.Fatalf("headers = %+v", hd)
		}
		app := h.createApp("p")
		h.refused(t, []refusal{
			{"bad header name", "PUT", opBase + "/" + ep.ID + "/headers", testAdminToken, map[string]any{"headers": map[string]string{"Bad Name": "1"}}, 422, nil},
			{"no headers", "PUT", opBase + "/" + ep.ID + "/headers", testAdminToken, map[string]any{}, 422, []string{"body", "headers"}},
			{"unknown endpoint", "GET", opBase + "/ep_nope/headers", testAdminToken, nil, 404, nil},
			{"unknown endpoint PUT", "PUT", opBase + "/ep_nope/headers", testAdminToken, map[string]any{"headers": map[string]string{}}, 404, nil},
			{"portal token", "GET", opBase + "/" + ep.ID + "/headers", h.portalToken(app), nil, 403, nil},
		})
	})
}

// TestGoSDKv1_44SeesOnlyItsOwnValues: what the newer routes leave behind
// (canceled deliveries, tasks of newer kinds) stays readable by the Go SDK
// v1.44.0, which refuses enum values its document lacks: a canceled
// delivery reads as failed, and its task listing holds only its own kinds.
func TestGoSDKv1_44SeesOnlyItsOwnValues(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		ctx := context.Background()
		app := h.createApp("old-sdk")
		ep := h.createEndpoint(app, map[string]any{"url": "https://example.com/a"})
		msg := h.publish(app, "a.b", nil)
		h.mustDo(http.StatusNoContent, "POST", "/api/v1/app/"+app+"/endpoint/"+ep+"/cancel-msgs", testAdminToken,
			map[string]any{"createdBefore": time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)}, nil)

		ems, err := h.sdk.MessageAttempt.ListAttemptedMessages(ctx, app, ep, nil)
		if err != nil || len(ems.Data) != 1 || ems.Data[0].Status != 2 {
			t.Fatalf("Go SDK v1.44.0 attempted messages: %+v, %v", ems, err)
		}
		dests, err := h.sdk.MessageAttempt.ListAttemptedDestinations(ctx, app, msg, nil)
		if err != nil || len(dests.Data) != 1 || dests.Data[0].Status != 2 {
			t.Fatalf("Go SDK v1.44.0 attempted destinations: %+v, %v", dests, err)
		}
		var current struct {
			Data []struct {
				Status     int    `json:"status"`
				StatusText string `json:"statusText"`
			} `json:"data"`
		}
		h.mustDo(http.StatusOK, "GET", "/api/v1/app/"+app+"/endpoint/"+ep+"/msg", testAdminToken, nil, &current)
		if len(current.Data) != 1 || current.Data[0].Status != 4 || current.Data[0].StatusText != "canceled" {
			t.Errorf("current shape of a canceled delivery: %+v", current)
		}

		var bulk rawTask
		h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+app+"/endpoint/"+ep+"/bulk-replay", testAdminToken,
			map[string]any{"since": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}, &bulk)
		h.waitRawTask(bulk.ID)
		rec := h.recoverRaw(app, ep)
		status, body := h.do("GET", "/api/v1/background-task", testAdminToken, nil, "User-Agent", goSDKUserAgent)
		var old svix.ListResponseBackgroundTaskOut
		if err := json.Unmarshal(body, &old); status != http.StatusOK || err != nil {
			t.Fatalf("Go SDK v1.44.0 task listing: %d %s: %v", status, body, err)
		}
		if len(old.Data) != 1 || old.Data[0].Id != rec {
			t.Errorf("Go SDK v1.44.0 task listing: %+v, want only the recover task", old.Data)
		}
		var all listResponse[rawTask]
		h.mustDo(http.StatusOK, "GET", "/api/v1/background-task", testAdminToken, nil, &all)
		if len(all.Data) != 2 {
			t.Errorf("current task listing: %+v, want both tasks", all.Data)
		}
	})
}

// recoverRaw starts a recover task of the endpoint and returns its ID.
func (h *harness) recoverRaw(app, ep string) string {
	h.t.Helper()
	var out rawTask
	h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+app+"/endpoint/"+ep+"/recover", testAdminToken,
		map[string]any{"since": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}, &out)
	return out.ID
}
