package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// alertEvent is an operational webhook about attempts or a disable.
type alertEvent struct {
	Type string `json:"type"`
	Data struct {
		AppID       string  `json:"appId"`
		AppUID      *string `json:"appUid"`
		MsgID       string  `json:"msgId"`
		EndpointID  string  `json:"endpointId"`
		Trigger     string  `json:"trigger"`
		FailSince   *string `json:"failSince"`
		LastAttempt *struct {
			ID                 string `json:"id"`
			ResponseStatusCode int    `json:"responseStatusCode"`
			Timestamp          string `json:"timestamp"`
		} `json:"lastAttempt"`
	} `json:"data"`
}

// opsReceiver creates the operator's operational endpoint at a new
// receiver and returns the receiver and a function that verifies and
// decodes every distinct event it got.
func opsReceiver(t *testing.T, srv *server) (*receiver, func() []alertEvent) {
	t.Helper()
	ctx := ctxT(t)
	client := srv.SDK()
	ops := newReceiver(t)
	opEp, err := client.OperationalWebhookEndpoint.Create(ctx, &svix.OperationalWebhookEndpointIn{Url: ops.URL + "/ops"})
	if err != nil {
		t.Fatalf("create operational endpoint: %v", err)
	}
	secret, err := client.OperationalWebhookEndpoint.GetSecret(ctx, opEp.Id)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := svix.NewWebhook(secret.Key)
	if err != nil {
		t.Fatal(err)
	}
	events := func() []alertEvent {
		seen := map[string]bool{}
		var out []alertEvent
		for _, req := range ops.requests() {
			id := req.Header.Get("webhook-id")
			if seen[id] {
				continue
			}
			seen[id] = true
			if err := wh.Verify(req.Body, req.Header); err != nil {
				t.Errorf("event %s does not verify: %v", id, err)
			}
			var ev alertEvent
			if err := json.Unmarshal(req.Body, &ev); err != nil {
				t.Fatalf("event %s: %s: %v", id, req.Body, err)
			}
			out = append(out, ev)
		}
		return out
	}
	return ops, events
}

// count returns how many events match.
func count(evs []alertEvent, match func(alertEvent) bool) int {
	n := 0
	for _, ev := range evs {
		if match(ev) {
			n++
		}
	}
	return n
}

// holdsFor fails unless cond holds, checked every 50ms, for d.
func holdsFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !cond() {
			t.Fatalf("%s stopped holding", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// withSchedule creates an endpoint at url retried every second n times.
func withSchedule(t *testing.T, srv *server, appID, url string, n int) string {
	t.Helper()
	sched := make([]int, n)
	for i := range sched {
		sched[i] = 1
	}
	body, _ := json.Marshal(map[string]any{"url": url, "options": map[string]any{"retrySchedule": sched}})
	status, out := srv.do("POST", "/api/v1/app/"+appID+"/endpoint", srv.Token, string(body))
	var ep struct{ ID string }
	if status != http.StatusCreated || json.Unmarshal(out, &ep) != nil {
		t.Fatalf("create endpoint: %d %s", status, out)
	}
	return ep.ID
}

// forbiddenURL is a private address the server is not allowed to reach: its
// attempts are refused by the SSRF guard, never the receiver's fault.
const forbiddenURL = "http://10.255.255.1/hook"

func TestAttemptEvents(t *testing.T) {
	forEachDatabase(t, testAttemptEvents)
}

func testAttemptEvents(t *testing.T, db string) {
	srv := startServer(t, serverOptions{DB: db, Args: []string{"--retry-jitter", "0"}})
	ctx := ctxT(t)
	client := srv.SDK()
	_, events := opsReceiver(t, srv)

	// The receiver always fails one message and fails the other four
	// times.
	rc := newReceiver(t)
	var mu sync.Mutex
	tries := map[string]int{}
	var flaky string
	rc.setRespond(func(_ int, r *http.Request) (int, http.Header) {
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get("webhook-id")
		tries[id]++
		if id == flaky && tries[id] > 4 {
			return http.StatusOK, nil
		}
		return http.StatusInternalServerError, nil
	})
	app, err := client.Application.Create(ctx, &svix.ApplicationIn{Name: "Acme", Uid: ptr("acme")})
	if err != nil {
		t.Fatal(err)
	}
	ep := withSchedule(t, srv, app.Id, rc.URL+"/hook", 5)
	refused := withSchedule(t, srv, app.Id, forbiddenURL, 5)
	d, err := client.Message.Create(ctx, app.Id, &svix.MessageIn{EventType: "a.b", Payload: map[string]any{"n": 1}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := client.Message.Create(ctx, app.Id, &svix.MessageIn{EventType: "a.b", Payload: map[string]any{"n": 2}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	flaky = f.Id
	mu.Unlock()

	is := func(typ, msg string) func(alertEvent) bool {
		return func(ev alertEvent) bool { return ev.Type == typ && ev.Data.MsgID == msg }
	}
	waitFor(t, 60*time.Second, "failing twice, exhausted and recovered", func() bool {
		evs := events()
		return count(evs, is("message.attempt.failing", d.Id)) == 1 && count(evs, is("message.attempt.failing", f.Id)) == 1 &&
			count(evs, is("message.attempt.exhausted", d.Id)) == 1 && count(evs, is("message.attempt.recovered", f.Id)) == 1
	})
	// The refused endpoint's deliveries have run their course too.
	waitFor(t, 30*time.Second, "the refused deliveries to fail", func() bool {
		l, err := client.MessageAttempt.ListByEndpoint(ctx, app.Id, refused, nil)
		return err == nil && len(l.Data) == 12
	})
	attemptEvents := func() []alertEvent {
		var out []alertEvent
		for _, ev := range events() {
			if strings.HasPrefix(ev.Type, "message.attempt.") {
				out = append(out, ev)
			}
		}
		return out
	}
	holdsFor(t, 2*time.Second, "four events, nothing about the refused endpoint", func() bool {
		return len(attemptEvents()) == 4
	})
	for _, ev := range attemptEvents() {
		if ev.Data.AppID != app.Id || ev.Data.AppUID == nil || *ev.Data.AppUID != "acme" || ev.Data.EndpointID != ep ||
			ev.Data.LastAttempt == nil || ev.Data.LastAttempt.ID == "" || ev.Data.LastAttempt.Timestamp == "" {
			t.Errorf("%s: data %+v", ev.Type, ev.Data)
			continue
		}
		want := http.StatusInternalServerError
		if ev.Type == "message.attempt.recovered" {
			want = http.StatusOK
		}
		if got := ev.Data.LastAttempt.ResponseStatusCode; got != want {
			t.Errorf("%s of %s: last attempt answered %d, want %d", ev.Type, ev.Data.MsgID, got, want)
		}
	}
}

func TestAutoDisable(t *testing.T) {
	forEachDatabase(t, testAutoDisable)
}

func testAutoDisable(t *testing.T, db string) {
	srv := startServer(t, serverOptions{DB: db, Args: []string{"--retry-jitter", "0", "--disable-after", "2s"}})
	ctx := ctxT(t)
	client := srv.SDK()
	_, events := opsReceiver(t, srv)

	var mu sync.Mutex
	failing := true
	rc := newReceiver(t)
	rc.setRespond(func(int, *http.Request) (int, http.Header) {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})
	gone := newReceiver(t)
	gone.setRespond(func(int, *http.Request) (int, http.Header) { return http.StatusGone, nil })

	app, err := client.Application.Create(ctx, &svix.ApplicationIn{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	ep := withSchedule(t, srv, app.Id, rc.URL+"/hook", 20)
	goneEp := withSchedule(t, srv, app.Id, gone.URL+"/hook", 20)
	refused := withSchedule(t, srv, app.Id, forbiddenURL, 20)
	msg, err := client.Message.Create(ctx, app.Id, &svix.MessageIn{EventType: "a.b", Payload: map[string]any{"n": 1}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()

	disabledEvents := func(id string) int {
		return count(events(), func(ev alertEvent) bool { return ev.Type == "endpoint.disabled" && ev.Data.EndpointID == id })
	}
	// 410 Gone disables at once: one attempt, one event.
	waitFor(t, 30*time.Second, "the 410 endpoint disabled", func() bool { return disabledEvents(goneEp) == 1 })
	// The failing endpoint, once it has failed for two seconds.
	waitFor(t, 30*time.Second, "the failing endpoint disabled", func() bool { return disabledEvents(ep) == 1 })
	if since := time.Since(start); since < 2*time.Second {
		t.Fatalf("disabled after %v, before failing for 2s", since)
	}
	for _, ev := range events() {
		if ev.Type != "endpoint.disabled" {
			continue
		}
		if ev.Data.Trigger != "automatic" || ev.Data.FailSince == nil || ev.Data.AppID != app.Id {
			t.Errorf("endpoint.disabled data %+v", ev.Data)
		}
	}
	// Pending work stops: the receivers hear nothing more, and the
	// event is not sent again.
	sent, sentGone := len(rc.requests()), len(gone.requests())
	holdsFor(t, 3*time.Second, "silence after the disable", func() bool {
		return len(rc.requests()) == sent && len(gone.requests()) == sentGone &&
			disabledEvents(ep) == 1 && disabledEvents(goneEp) == 1
	})
	if sentGone != 1 {
		t.Errorf("the 410 endpoint got %d requests, want 1", sentGone)
	}
	if sent < 3 {
		t.Errorf("the failing endpoint got %d requests before its disable, want 3 or more", sent)
	}
	for id, want := range map[string]bool{ep: true, goneEp: true, refused: false} {
		got, err := client.Endpoint.Get(ctx, app.Id, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Disabled == nil || *got.Disabled != want {
			t.Errorf("endpoint %s disabled = %v, want %v", id, got.Disabled, want)
		}
	}
	// The refused endpoint, failing by policy for as long, is never
	// disabled.
	if n := disabledEvents(refused); n != 0 {
		t.Errorf("%d endpoint.disabled for the refused endpoint", n)
	}
	// The health route says why each was disabled, as stored by the
	// disabling write: the run of failures, or the 410.
	if d := disabledOf(t, srv, app.Id, ep); d.Reason != "failing" || d.At == nil || d.By != nil ||
		d.FailingSince == nil || d.ConsecutiveFailures < 3 || d.LastStatusCode != 503 || d.LastOutcome != "rejected" {
		t.Errorf("failing endpoint: disabled %+v, want failing with 3 or more 503s", d)
	}
	if d := disabledOf(t, srv, app.Id, goneEp); d.Reason != "gone" || d.At == nil || d.LastStatusCode != 410 || d.ConsecutiveFailures != 1 {
		t.Errorf("410 endpoint: disabled %+v, want gone after one 410", d)
	}
	if d := disabledOf(t, srv, app.Id, refused); d.Reason != "" {
		t.Errorf("refused endpoint: disabled %+v, want null", d)
	}

	// Re-enabled, the endpoint gets its pending message.
	mu.Lock()
	failing = false
	mu.Unlock()
	if _, err := client.Endpoint.Patch(ctx, app.Id, ep, &svix.EndpointPatch{Disabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the pending message delivered after the enable", func() bool {
		l, err := client.MessageAttempt.ListAttemptedDestinations(ctx, app.Id, msg.Id, nil)
		if err != nil {
			return false
		}
		for _, d := range l.Data {
			if d.Id == ep && int(d.Status) == 0 {
				return true
			}
		}
		return false
	})
	if n := len(rc.requests()); n != sent+1 {
		t.Errorf("the receiver got %d requests after the enable, want 1", n-sent)
	}
	if n := disabledEvents(ep); n != 1 {
		t.Errorf("%d endpoint.disabled events for the endpoint, want 1", n)
	}
	if d := disabledOf(t, srv, app.Id, ep); d.Reason != "" {
		t.Errorf("re-enabled endpoint: disabled %+v, want null", d)
	}
}

// disabledHealth is the "disabled" of the health route; zero when null.
type disabledHealth struct {
	Reason              string     `json:"reason"`
	At                  *time.Time `json:"at"`
	By                  *string    `json:"by"`
	FailingSince        *time.Time `json:"failingSince"`
	ConsecutiveFailures int        `json:"consecutiveFailures"`
	LastOutcome         string     `json:"lastOutcome"`
	LastStatusCode      int        `json:"lastResponseStatusCode"`
}

// disabledOf reads why an endpoint is disabled from its health route.
func disabledOf(t *testing.T, srv *server, appID, epID string) disabledHealth {
	t.Helper()
	status, body := srv.do("GET", "/api/v1/app/"+appID+"/endpoint/"+epID+"/health", srv.Token, nil)
	var out struct {
		Disabled *disabledHealth `json:"disabled"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &out) != nil {
		t.Fatalf("health of %s: %d %s", epID, status, body)
	}
	if out.Disabled == nil {
		return disabledHealth{}
	}
	return *out.Disabled
}
