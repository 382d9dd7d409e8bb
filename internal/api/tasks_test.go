package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
)

// The Go SDK v1.44.0 has the background task models but no client for
// their routes (svix.Svix has no BackgroundTask field), and its
// Endpoint.ReplayMissing drops its body (it discards the request builder's
// ReplayIn) and fails before sending. Those routes are called with raw HTTP
// and their answers decoded into the SDK's own models, whose decoding
// refuses unknown fields and missing required ones.

// replayMissing calls POST .../replay-missing with since (and until).
func (h *harness) replayMissing(appID, epID string, since time.Time, until *time.Time) svix.ReplayOut {
	h.t.Helper()
	in := svix.ReplayIn{Since: since, Until: until}
	status, body := h.do("POST", "/api/v1/app/"+appID+"/endpoint/"+epID+"/replay-missing", testAdminToken, in, "User-Agent", goSDKUserAgent)
	if status != http.StatusAccepted {
		h.t.Fatalf("replay-missing: status %d: %s", status, body)
	}
	var out svix.ReplayOut
	if err := json.Unmarshal(body, &out); err != nil {
		h.t.Fatalf("replay-missing: the SDK's model refuses %s: %v", body, err)
	}
	return out
}

// getTask reads a task through GET /api/v1/background-task/{id}.
func (h *harness) getTask(id string) svix.BackgroundTaskOut {
	h.t.Helper()
	status, body := h.do("GET", "/api/v1/background-task/"+id, testAdminToken, nil, "User-Agent", goSDKUserAgent)
	if status != http.StatusOK {
		h.t.Fatalf("get task %s: status %d: %s", id, status, body)
	}
	var out svix.BackgroundTaskOut
	if err := json.Unmarshal(body, &out); err != nil {
		h.t.Fatalf("get task %s: the SDK's model refuses %s: %v", id, body, err)
	}
	return out
}

// waitTask polls a task until it is no longer running.
func (h *harness) waitTask(id string) svix.BackgroundTaskOut {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out := h.getTask(id)
		if out.Status != "running" {
			return out
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("task %s still running after 60s: %+v", id, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// receiver is a real HTTP receiver that records the webhook-id of every
// request and answers with the status code fail decides.
type receiver struct {
	srv  *httptest.Server
	fail atomic.Bool
	mu   sync.Mutex
	got  map[string]int // webhook-id → requests answered 2xx
	all  int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{got: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rc.mu.Lock()
		rc.all++
		failing := rc.fail.Load()
		if !failing {
			rc.got[r.Header.Get("webhook-id")]++
		}
		rc.mu.Unlock()
		if failing {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// delivered returns the message IDs answered 2xx, sorted, failing the test
// on one delivered twice.
func (rc *receiver) delivered(t *testing.T) []string {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for id, n := range rc.got {
		if n != 1 {
			t.Errorf("message %s delivered %d times", id, n)
		}
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (rc *receiver) requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.all
}

// newNode serves the API on st as `hookrelay serve` does: a dispatcher
// delivering (no retries) and a task runner working batches of batch.
func newNode(t *testing.T, st store.Store, batch int) *harness {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	disp := delivery.NewDispatcher(delivery.Config{
		Store:         st,
		NodeID:        "node",
		AllowPrivate:  []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		RetrySchedule: []time.Duration{},
		PollInterval:  50 * time.Millisecond,
		Logger:        logger,
	})
	runner := ops.NewRunner(ops.Config{Store: st, NodeID: "node", Waker: disp,
		PollInterval: 50 * time.Millisecond, BatchSize: batch, Logger: logger})
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = disp.Run(ctx) }()
	go func() { defer wg.Done(); _ = runner.Run(ctx) }()
	t.Cleanup(func() { stop(); wg.Wait() })
	srv := httptest.NewServer(New(Config{Store: st, Waker: disp, Tasks: runner, Handoff: disp,
		AdminToken: testAdminToken, Logger: logger}))
	t.Cleanup(srv.Close)
	return &harness{t: t, st: st, srv: srv, sdk: sdkFor(t, srv, testAdminToken), waker: &countingWaker{}}
}

// waitSettled waits until nothing is pending or sending for the endpoint.
func (h *harness) waitSettled(appID, epID string) svix.EndpointStats {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := h.sdk.Endpoint.GetStats(context.Background(), appID, epID)
		if err != nil {
			h.t.Fatalf("endpoint stats: %v", err)
		}
		if st.Pending == 0 && st.Sending == 0 {
			return *st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("endpoint %s not settled after 60s: %+v", epID, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRecoverDeliversFailedMessages recovers an endpoint's failed messages
// within a range through the SDK: the answer is a running task at once, the
// task finishes with the count, and the receiver gets exactly those
// messages, once each.
func TestRecoverDeliversFailedMessages(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newNode(t, open(t), 4)
		ctx := context.Background()
		rcA, rcB := newReceiver(t), newReceiver(t)
		rcA.fail.Store(true)
		rcB.fail.Store(true)
		app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "recover"})
		if err != nil {
			t.Fatal(err)
		}
		epA, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: rcA.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		epB, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: rcB.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		var msgs []*svix.MessageOut
		for i := range 15 {
			m, err := h.sdk.Message.Create(ctx, app.Id, &svix.MessageIn{EventType: "a.b", Payload: map[string]any{"n": i}})
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}
		if st := h.waitSettled(app.Id, epA.Id); st.Fail != 15 {
			t.Fatalf("before recovery: %+v", st)
		}
		h.waitSettled(app.Id, epB.Id)
		rcA.fail.Store(false)
		rcB.fail.Store(false)

		// [msgs[2], msgs[12]): ten messages, in three batches of four.
		until := msgs[12].Timestamp
		rec, err := h.sdk.Endpoint.Recover(ctx, app.Id, epA.Id, &svix.RecoverIn{Since: msgs[2].Timestamp, Until: &until})
		if err != nil || rec.Status != "running" || rec.Task != "endpoint.recover" {
			t.Fatalf("recover: %+v, %v", rec, err)
		}
		task := h.waitTask(rec.Id)
		if task.Status != "finished" || task.Task != "endpoint.recover" || task.Data["recovered"] != float64(10) {
			t.Fatalf("recover task: %+v", task)
		}
		h.waitSettled(app.Id, epA.Id)
		var want []string
		for _, m := range msgs[2:12] {
			want = append(want, m.Id)
		}
		sort.Strings(want)
		if got := rcA.delivered(t); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("recovered deliveries:\n got %v\nwant %v", got, want)
		}
		if n := rcB.requests(); n != 15 {
			t.Errorf("the other endpoint got %d requests, want its 15 failed ones only", n)
		}

		// Nothing failed is left in the range: a second recovery finds none.
		rec, err = h.sdk.Endpoint.Recover(ctx, app.Id, epA.Id, &svix.RecoverIn{Since: msgs[0].Timestamp, Until: &until})
		if err != nil {
			t.Fatal(err)
		}
		if task := h.waitTask(rec.Id); task.Status != "finished" || task.Data["recovered"] != float64(2) {
			t.Errorf("second recovery: %+v, want the two before since", task)
		}
	})
}

// TestReplayMissingDeliversExactlyTheMissing replays an endpoint created
// after messages were published: it gets exactly the messages its filters
// and channels take that it never had, once each.
func TestReplayMissingDeliversExactlyTheMissing(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newNode(t, open(t), 3)
		ctx := context.Background()
		rcOld, rc := newReceiver(t), newReceiver(t)
		app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "replay"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: rcOld.srv.URL}); err != nil {
			t.Fatal(err)
		}
		publish := func(eventType string, channels ...string) *svix.MessageOut {
			t.Helper()
			m, err := h.sdk.Message.Create(ctx, app.Id, &svix.MessageIn{EventType: eventType, Payload: map[string]any{}, Channels: channels})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		before := publish("user.created", "team-1")
		since := before.Timestamp.Add(time.Microsecond)
		publish("user.created")                      // no channel: not for an endpoint with channels
		m2 := publish("user.deleted", "team-1")      // replayed
		publish("invoice.paid", "team-1")            // filtered out
		publish("user.created", "team-2")            // another channel
		m5 := publish("user.updated", "team-1", "x") // replayed
		ep, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: rc.srv.URL,
			FilterTypes: []string{"user.*"}, Channels: []string{"team-1", "default"}})
		if err != nil {
			t.Fatal(err)
		}
		live := publish("user.created", "default") // sent by its publish: not missing
		h.waitSettled(app.Id, ep.Id)
		want := []string{m2.Id, m5.Id, live.Id}

		rep := h.replayMissing(app.Id, ep.Id, since, nil)
		if rep.Status != "running" || rep.Task != "endpoint.replay" {
			t.Fatalf("replay: %+v", rep)
		}
		task := h.waitTask(rep.Id)
		if task.Status != "finished" || task.Data["replayed"] != float64(2) {
			t.Fatalf("replay task: %+v", task)
		}
		h.waitSettled(app.Id, ep.Id)
		sort.Strings(want)
		if got := rc.delivered(t); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("delivered to the endpoint:\n got %v\nwant %v (not %s, before since)", got, want, before.Id)
		}

		// From an hour earlier, only the message before since is missing;
		// then nothing is.
		for _, n := range []float64{1, 0} {
			rep = h.replayMissing(app.Id, ep.Id, since.Add(-time.Hour), nil)
			if task := h.waitTask(rep.Id); task.Status != "finished" || task.Data["replayed"] != n {
				t.Errorf("replay from an hour earlier: %+v, want %v replayed", task, n)
			}
			h.waitSettled(app.Id, ep.Id)
		}
		want = append(want, before.Id)
		sort.Strings(want)
		if got := rc.delivered(t); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("delivered to the endpoint:\n got %v\nwant %v", got, want)
		}
		if n := rcOld.requests(); n != 7 {
			t.Errorf("the first endpoint got %d requests, want its 7", n)
		}
	})
}

// TestRecoverManyKeepsLiveDeliveryMoving recovers thousands of failed
// deliveries while another endpoint of the application receives live
// messages: those keep arriving promptly, and the recovery delivers every
// one of its messages once.
func TestRecoverManyKeepsLiveDeliveryMoving(t *testing.T) {
	const failed, live = 2000, 40
	st := openSQLite(t)
	ctx := context.Background()
	app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "bulk"}
	if err := st.CreateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	rcBulk, rcLive := newReceiver(t), newReceiver(t)
	bulk := &hookrelay.Endpoint{AppID: app.ID, URL: rcBulk.srv.URL, Version: 1, Secret: "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		FilterTypes: []string{"bulk.item"}}
	liveEp := &hookrelay.Endpoint{AppID: app.ID, URL: rcLive.srv.URL, Version: 1, Secret: bulk.Secret,
		FilterTypes: []string{"live.item"}}
	for _, ep := range []*hookrelay.Endpoint{bulk, liveEp} {
		if err := st.CreateEndpoint(ctx, ep); err != nil {
			t.Fatal(err)
		}
	}
	// The failed deliveries, made as a dispatcher records them.
	since := time.Now().UTC()
	for i := range failed {
		m := &hookrelay.Message{AppID: app.ID, EventType: "bulk.item", Payload: []byte(fmt.Sprintf(`{"n":%d}`, i))}
		if _, err := st.CreateMessage(ctx, store.CreateMessageParams{Message: m, OnlyEndpointID: bulk.ID}); err != nil {
			t.Fatal(err)
		}
	}
	for done := 0; done < failed; {
		now := time.Now()
		tasks, err := st.ClaimDeliveries(ctx, store.ClaimParams{Owner: "seed", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 500})
		if err != nil || len(tasks) == 0 {
			t.Fatalf("claim: %d tasks, %v", len(tasks), err)
		}
		results := make([]store.AttemptResult, len(tasks))
		for i, tk := range tasks {
			results[i] = store.AttemptResult{Owner: "seed", Status: hookrelay.StatusFail, Attempts: 1,
				Attempt: hookrelay.Attempt{DeliveryID: tk.Delivery.ID, MsgID: tk.Message.ID, AppID: app.ID,
					EndpointID: bulk.ID, URL: bulk.URL, Status: hookrelay.StatusFail, ResponseStatusCode: 500,
					TriggerType: hookrelay.TriggerScheduled, CreatedAt: now}}
		}
		if err := st.CompleteAttempts(ctx, results); err != nil {
			t.Fatal(err)
		}
		done += len(tasks)
	}

	h := newNode(t, st, 200)
	rec, err := h.sdk.Endpoint.Recover(ctx, app.ID, bulk.ID, &svix.RecoverIn{Since: since})
	if err != nil || rec.Status != "running" {
		t.Fatalf("recover: %+v, %v", rec, err)
	}
	// Live messages to the other endpoint while the recovery runs: each
	// must arrive within a bound however much the recovery has queued.
	var worst time.Duration
	for i := range live {
		start := time.Now()
		m, err := h.sdk.Message.Create(ctx, app.ID, &svix.MessageIn{EventType: "live.item",
			Payload: map[string]any{"n": i}, Channels: nil})
		if err != nil {
			t.Fatal(err)
		}
		_ = m
		for {
			rcLive.mu.Lock()
			n := rcLive.got[m.Id]
			rcLive.mu.Unlock()
			if n > 0 {
				break
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("live message %d not delivered after 10s", i)
			}
			time.Sleep(time.Millisecond)
		}
		worst = max(worst, time.Since(start))
	}
	task := h.waitTask(rec.Id)
	if task.Status != "finished" || task.Data["recovered"] != float64(failed) {
		t.Fatalf("recover task: %+v", task)
	}
	h.waitSettled(app.ID, bulk.ID)
	if got := len(rcBulk.delivered(t)); got != failed {
		t.Errorf("recovered deliveries: %d, want %d", got, failed)
	}
	t.Logf("live delivery during recovery of %d: worst %v; bulk receiver got %d requests", failed, worst, rcBulk.requests())
	if worst > 5*time.Second {
		t.Errorf("a live message took %v to arrive during the recovery", worst)
	}
}

// TestBackgroundTaskRoutes lists and reads tasks: filters, pagination,
// environments and who may call them.
func TestBackgroundTaskRoutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		ctx := context.Background()
		app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "tasks"})
		if err != nil {
			t.Fatal(err)
		}
		ep, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/hook"})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for i := range 5 {
			var id string
			if i%2 == 0 {
				out, err := h.sdk.Endpoint.Recover(ctx, app.Id, ep.Id, &svix.RecoverIn{Since: time.Now().Add(-time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				id = out.Id
			} else {
				id = h.replayMissing(app.Id, ep.Id, time.Now().Add(-time.Hour), nil).Id
			}
			h.waitTask(id)
			ids = append(ids, id)
		}
		// A task that failed: its endpoint went away before it ran.
		gone, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/gone"})
		if err != nil {
			t.Fatal(err)
		}
		failedTask, err := ops.NewRecoverTask(hookrelay.DefaultEnvironment, store.RecoverParams{AppID: app.Id, EndpointID: gone.Id, Since: time.Now()}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := h.sdk.Endpoint.Delete(ctx, app.Id, gone.Id); err != nil {
			t.Fatal(err)
		}
		if err := h.st.CreateBackgroundTask(ctx, failedTask); err != nil {
			t.Fatal(err)
		}
		// The harness's runner polls; it marks the task failed.
		if got := h.waitTask(failedTask.ID); got.Status != "failed" || got.Data["error"] != "endpoint not found" || got.Data["recovered"] != float64(0) {
			t.Fatalf("task of a deleted endpoint: %+v", got)
		}
		ids = append(ids, failedTask.ID)

		list := func(query string) svix.ListResponseBackgroundTaskOut {
			t.Helper()
			status, body := h.do("GET", "/api/v1/background-task"+query, testAdminToken, nil, "User-Agent", goSDKUserAgent)
			if status != http.StatusOK {
				t.Fatalf("list %s: %d %s", query, status, body)
			}
			var out svix.ListResponseBackgroundTaskOut
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatalf("list %s: the SDK's model refuses %s: %v", query, body, err)
			}
			return out
		}
		idsOf := func(l svix.ListResponseBackgroundTaskOut) []string {
			var out []string
			for _, d := range l.Data {
				out = append(out, d.Id)
			}
			return out
		}
		reversed := func(ss []string) []string {
			out := append([]string(nil), ss...)
			sort.Sort(sort.Reverse(sort.StringSlice(out)))
			return out
		}
		for _, tc := range []struct {
			name, query string
			want        []string
		}{
			{"all", "", ids},
			{"descending", "?order=descending", reversed(ids)},
			{"finished", "?status=finished", ids[:5]},
			{"failed", "?status=failed", ids[5:]},
			{"running", "?status=running", nil},
			{"replays", "?task=endpoint.replay", []string{ids[1], ids[3]}},
			{"failed recoveries", "?task=endpoint.recover&status=failed", ids[5:]},
			{"a kind never run", "?task=sdk.generate", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := idsOf(list(tc.query)); fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("list %s:\n got %v\nwant %v", tc.query, got, tc.want)
				}
			})
		}
		page := list("?limit=4")
		if page.Done || len(page.Data) != 4 || page.Iterator.Get() == nil {
			t.Fatalf("first page: %+v", page)
		}
		page = list("?limit=4&iterator=" + *page.Iterator.Get())
		if !page.Done || fmt.Sprint(idsOf(page)) != fmt.Sprint(ids[4:]) {
			t.Errorf("second page: %+v", page)
		}
		got := h.getTask(ids[1])
		if got.Id != ids[1] || got.Status != "finished" || got.Task != "endpoint.replay" || got.Data["replayed"] != float64(0) {
			t.Errorf("get: %+v", got)
		}

		// Refusals.
		for _, tc := range []struct {
			name, query, loc string
		}{
			{"unknown status", "?status=done", "query.status"},
			{"unknown task", "?task=endpoint.delete", "query.task"},
			{"bad limit", "?limit=0", "query.limit"},
			{"bad order", "?order=sideways", "query.order"},
		} {
			status, body := h.do("GET", "/api/v1/background-task"+tc.query, testAdminToken, nil)
			assertErrorBody(t, status, body, "", []string{tc.loc[:5], tc.loc[6:]})
			if status != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d", tc.name, status)
			}
		}
		status, body := h.do("GET", "/api/v1/background-task/qtask_nope", testAdminToken, nil)
		assertErrorBody(t, status, body, "not_found", nil)

		// Another environment sees none of them.
		_, other := h.newEnvToken("elsewhere")
		status, body = h.do("GET", "/api/v1/background-task", other, nil)
		if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"data":[],"iterator":null,"prevIterator":null,"done":true}` {
			t.Errorf("other environment's list: %d %s", status, body)
		}
		status, _ = h.do("GET", "/api/v1/background-task/"+ids[0], other, nil)
		if status != http.StatusNotFound {
			t.Errorf("other environment's get: %d", status)
		}
		// Portal tokens do not reach the task routes.
		portal := h.portalToken(app.Id)
		for _, path := range []string{"/api/v1/background-task", "/api/v1/background-task/" + ids[0]} {
			status, body := h.do("GET", path, portal, nil)
			assertErrorBody(t, status, body, "", nil)
			if status != http.StatusForbidden {
				t.Errorf("portal token on %s: %d", path, status)
			}
		}
	})
}

// TestExpireAll expires an application's portal tokens, at once or after
// expiry seconds, and refuses what it does not support.
func TestExpireAll(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		ctx := context.Background()
		mkApp := func(name string) *svix.ApplicationOut {
			a, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: name})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		app, other := mkApp("a"), mkApp("b")
		t1, t2, t3 := h.portalToken(app.Id), h.portalToken(app.Id), h.portalToken(other.Id)
		works := func(token, appID string) bool {
			t.Helper()
			status, _ := h.do("GET", "/api/v1/app/"+appID, token, nil)
			return status == http.StatusOK
		}
		if !works(t1, app.Id) || !works(t2, app.Id) || !works(t3, other.Id) {
			t.Fatal("portal tokens do not work before expire-all")
		}
		path := "/api/v1/auth/app/" + app.Id + "/expire-all"

		// Refusals change nothing.
		for _, tc := range []struct {
			name, body string
			want       int
			loc        string
		}{
			{"negative expiry", `{"expiry":-1}`, 422, "expiry"},
			{"expiry over three days", `{"expiry":259201}`, 422, "expiry"},
			{"expiry not a number", `{"expiry":"soon"}`, 422, "expiry"},
			{"session ids", `{"sessionIds":["user_1"]}`, 422, "sessionIds"},
		} {
			status, body := h.do("POST", path, testAdminToken, tc.body)
			if status != tc.want {
				t.Errorf("%s: status %d: %s", tc.name, status, body)
			}
			assertErrorBody(t, status, body, "", []string{"body", tc.loc})
		}
		status, body := h.do("POST", path, t1, `{}`)
		if status != http.StatusForbidden {
			t.Errorf("expire-all with a portal token: %d %s", status, body)
		}
		status, _ = h.do("POST", "/api/v1/auth/app/app_nope/expire-all", testAdminToken, `{}`)
		if status != http.StatusNotFound {
			t.Errorf("expire-all of a missing application: %d", status)
		}
		_, otherEnv := h.newEnvToken("elsewhere")
		status, _ = h.do("POST", path, otherEnv, `{}`)
		if status != http.StatusNotFound {
			t.Errorf("expire-all of another environment's application: %d", status)
		}
		if !works(t1, app.Id) || !works(t2, app.Id) {
			t.Fatal("a refused expire-all expired tokens")
		}

		// With expiry, the tokens last that long.
		status, body = h.do("POST", path, testAdminToken, `{"expiry":3600,"sessionIds":[]}`)
		if status != http.StatusNoContent || len(body) != 0 {
			t.Fatalf("expire-all in an hour: %d %q", status, body)
		}
		sum := sha256.Sum256([]byte(t1))
		tok, err := h.st.GetTokenByHash(ctx, sum[:])
		if err != nil || tok.ExpiresAt == nil || time.Until(*tok.ExpiresAt) > time.Hour || time.Until(*tok.ExpiresAt) < 59*time.Minute {
			t.Errorf("token after expire-all in an hour: %+v, %v", tok, err)
		}
		if !works(t1, app.Id) {
			t.Error("token expired before its hour")
		}

		// Without, at once; the other application's token and tokens made
		// afterwards are untouched.
		status, body = h.do("POST", path, testAdminToken, `{}`)
		if status != http.StatusNoContent || len(body) != 0 {
			t.Fatalf("expire-all: %d %q", status, body)
		}
		if works(t1, app.Id) || works(t2, app.Id) {
			t.Error("portal tokens still work after expire-all")
		}
		if !works(t3, other.Id) {
			t.Error("another application's token expired")
		}
		if t4 := h.portalToken(app.Id); !works(t4, app.Id) {
			t.Error("a token made after expire-all does not work")
		}
	})
}

// TestRecoverBoundsFinerThanMicroseconds: the stores keep times to the
// microsecond, so a recover's since or until finer than that is rounded up:
// a message made at T is not "since T + 1 ns", and is "until T + 1 ns".
func TestRecoverBoundsFinerThanMicroseconds(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newNode(t, open(t), 4)
		ctx := context.Background()
		rc := newReceiver(t)
		rc.fail.Store(true)
		app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "bounds"})
		if err != nil {
			t.Fatal(err)
		}
		ep, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: rc.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		m, err := h.sdk.Message.Create(ctx, app.Id, &svix.MessageIn{EventType: "a.b", Payload: map[string]any{}})
		if err != nil {
			t.Fatal(err)
		}
		if st := h.waitSettled(app.Id, ep.Id); st.Fail != 1 {
			t.Fatalf("before recovery: %+v", st)
		}
		at := m.Timestamp
		hourBefore, nsAfter := at.Add(-time.Hour), at.Add(time.Nanosecond)
		for _, c := range []struct {
			name         string
			since, until time.Time
			want         float64
		}{
			{"since T + 1 ns", nsAfter, at.Add(time.Hour), 0},
			{"until T + 1 ns", hourBefore, nsAfter, 1},
			{"until T", hourBefore, at, 0},
		} {
			rec, err := h.sdk.Endpoint.Recover(ctx, app.Id, ep.Id, &svix.RecoverIn{Since: c.since, Until: &c.until})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if task := h.waitTask(rec.Id); task.Status != "finished" || task.Data["recovered"] != c.want {
				t.Errorf("%s: %+v, want %v recovered", c.name, task, c.want)
			}
			h.waitSettled(app.Id, ep.Id)
		}
	})
}
