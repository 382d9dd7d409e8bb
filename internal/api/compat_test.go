package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/signature"
)

// User-Agents of the SDK generations (see shape.go).
const (
	jsSDK1UserAgent = "svix-libs/1.99.1/javascript node/v20.20.2 linux/x64"
	jsSDK2UserAgent = "svix-libs/2.5.0/javascript node/v22.12.0 linux/x64"
)

// delivered is one request a test receiver got.
type delivered struct {
	at     time.Time
	header http.Header
	body   []byte
	event  string // the payload's "type"
}

// hookRecorder is a real HTTP receiver that answers 204 and records every
// request.
type hookRecorder struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []delivered
}

func newHookRecorder(t *testing.T) *hookRecorder {
	rc := &hookRecorder{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(body, &p)
		rc.mu.Lock()
		rc.got = append(rc.got, delivered{at: time.Now(), header: r.Header.Clone(), body: body, event: p.Type})
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *hookRecorder) received() []delivered {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// waitFor polls cond every 20ms until it holds, failing the test after
// timeout with what it waited for.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newLiveHarness serves the API on st with a real dispatcher delivering
// its messages.
func newLiveHarness(t *testing.T, st store.Store, mods ...func(*Config)) *harness {
	t.Helper()
	disp := delivery.NewDispatcher(delivery.Config{
		Store:         st,
		NodeID:        "compat-test",
		AllowPrivate:  []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		RetrySchedule: []time.Duration{time.Hour},
		PollInterval:  50 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- disp.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	return newHarnessOn(t, st, append([]func(*Config){func(c *Config) { c.Waker = disp }}, mods...)...)
}

// publishRaw publishes a message whose payload's "type" is eventType, with
// extra fields in the body, and returns it.
func (h *harness) publishRaw(app, eventType string, extra string, headers ...string) messageOut {
	h.t.Helper()
	body := `{"eventType":"` + eventType + `","payload":{"type":"` + eventType + `"}` + extra + `}`
	var m messageOut
	h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+app+"/msg", testAdminToken, body, &m, headers...)
	return m
}

// keysOf returns the top-level keys of a JSON object, sorted.
func keysOf(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %s", b)
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// deliverAt: the deliveries wait until that time (nothing arrives before,
// and it arrives after), and it is refused outside Svix's bounds.
func TestDeliverAt(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		// The API's clock runs skew behind the real one, which the
		// dispatcher keeps: a deliverAt one minute ahead of the API, the
		// least Svix allows, is then a few seconds ahead of the dispatcher.
		const skew = 57 * time.Second
		apiNow := func() time.Time { return time.Now().Add(-skew) }
		h := newLiveHarness(t, open(t), func(c *Config) { c.Now = apiNow })
		rc := newHookRecorder(t)
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"app-a"}`, nil)
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app/app-a/endpoint", testAdminToken,
			`{"url":"`+rc.srv.URL+`/hook","uid":"ep-a"}`, nil)

		for _, tt := range []struct{ name, value string }{
			{"not a time", `"tomorrow"`},
			{"not a string", `12`},
			{"in the past", `"` + apiNow().Add(-time.Minute).Format(time.RFC3339Nano) + `"`},
			{"under a minute ahead", `"` + apiNow().Add(50*time.Second).Format(time.RFC3339Nano) + `"`},
			{"over a day ahead", `"` + apiNow().Add(24*time.Hour+time.Minute).Format(time.RFC3339Nano) + `"`},
		} {
			status, body := h.do("POST", "/api/v1/app/app-a/msg", testAdminToken,
				`{"eventType":"a.b","payload":{},"deliverAt":`+tt.value+`}`)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("%s: %d %s", tt.name, status, body)
			}
			assertErrorBody(t, status, body, "", []string{"body", "deliverAt"})
		}
		var msgs listResponse[messageOut]
		h.mustDo(http.StatusOK, "GET", "/api/v1/app/app-a/msg", testAdminToken, nil, &msgs)
		if len(msgs.Data) != 0 {
			t.Fatalf("refused publishes stored %d messages", len(msgs.Data))
		}

		// A minute and 2s ahead of the API's clock: 5s ahead of the real one.
		at := apiNow().Add(time.Minute + 2*time.Second).UTC().Truncate(time.Millisecond)
		realAt := at
		scheduled := h.publishRaw("app-a", "later", `,"deliverAt":"`+at.Format(time.RFC3339Nano)+`"`, "User-Agent", jsSDK1UserAgent)
		if scheduled.DeliverAt == nil || !time.Time(*scheduled.DeliverAt).Equal(at) {
			t.Fatalf("published message's deliverAt = %v, want %v", scheduled.DeliverAt, at)
		}
		h.publishRaw("app-a", "now", "")

		// The scheduled message waits with its next attempt at deliverAt.
		var em listResponse[endpointMessageOut]
		h.mustDo(http.StatusOK, "GET", "/api/v1/app/app-a/endpoint/ep-a/msg", testAdminToken, nil, &em, "User-Agent", jsSDK1UserAgent)
		for _, m := range em.Data {
			if m.ID == scheduled.ID && (m.NextAttempt == nil || !time.Time(*m.NextAttempt).Equal(at) ||
				m.DeliverAt == nil || !time.Time(*m.DeliverAt).Equal(at) || m.StatusText == nil || *m.StatusText != "pending") {
				t.Errorf("scheduled message as attempted: %+v", m)
			}
		}
		// The Go SDK v1.44.0 reads the message without the field it lacks.
		got, err := h.sdk.Message.Get(context.Background(), "app-a", scheduled.ID)
		if err != nil || got.Id != scheduled.ID {
			t.Fatalf("Go SDK v1.44.0 get message: %+v, %v", got, err)
		}

		arrived := func(event string) (delivered, bool) {
			for _, d := range rc.received() {
				if d.event == event {
					return d, true
				}
			}
			return delivered{}, false
		}
		waitFor(t, 10*time.Second, "the message sent at once", func() bool { _, ok := arrived("now"); return ok })
		for time.Now().Before(realAt.Add(-100 * time.Millisecond)) {
			if d, ok := arrived("later"); ok {
				t.Fatalf("the scheduled message arrived at %v, before its deliverAt %v", d.at, realAt)
			}
			time.Sleep(20 * time.Millisecond)
		}
		waitFor(t, 15*time.Second, "the scheduled message", func() bool { _, ok := arrived("later"); return ok })
		if d, _ := arrived("later"); d.at.Before(realAt) {
			t.Fatalf("the scheduled message arrived at %v, before its deliverAt %v", d.at, realAt)
		}
	})
}

// An endpoint made by a 2.x client with eventTypes receives only those;
// both names of a renamed field are accepted, alike or refused together.
func TestEventTypesForFilterTypes(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newLiveHarness(t, open(t))
		rc := newHookRecorder(t)
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"app-a"}`, nil)
		status, body := h.do("POST", "/api/v1/app/app-a/endpoint", testAdminToken,
			`{"url":"`+rc.srv.URL+`/hook","uid":"ep-a","eventTypes":["a.b"]}`, "User-Agent", jsSDK2UserAgent)
		if status != http.StatusCreated {
			t.Fatalf("create: %d %s", status, body)
		}
		var ep endpointOut
		_ = json.Unmarshal(body, &ep)
		if !slices.Equal(ep.EventTypes, []string{"a.b"}) || ep.FilterTypes != nil || ep.Version != nil {
			t.Fatalf("2.x client reads %s", body)
		}
		// The Go SDK v1.44.0 reads the same endpoint under its old names.
		old, err := h.sdk.Endpoint.Get(context.Background(), "app-a", "ep-a")
		if err != nil || !slices.Equal(old.FilterTypes, []string{"a.b"}) {
			t.Fatalf("Go SDK v1.44.0 get endpoint: %+v, %v", old, err)
		}

		other := h.publishRaw("app-a", "c.d", "")
		wanted := h.publishRaw("app-a", "a.b", "")
		waitFor(t, 10*time.Second, "the a.b message", func() bool { return len(rc.received()) > 0 })
		var dests listResponse[messageEndpointOut]
		h.mustDo(http.StatusOK, "GET", "/api/v1/app/app-a/msg/"+other.ID+"/endpoint", testAdminToken, nil, &dests)
		if len(dests.Data) != 0 {
			t.Fatalf("the c.d message was queued for %+v", dests.Data)
		}
		h.mustDo(http.StatusOK, "GET", "/api/v1/app/app-a/msg/"+wanted.ID+"/endpoint", testAdminToken, nil, &dests)
		if len(dests.Data) != 1 {
			t.Fatalf("the a.b message was queued for %+v", dests.Data)
		}
		for _, d := range rc.received() {
			if d.event != "a.b" {
				t.Fatalf("the endpoint received %q", d.event)
			}
		}

		for _, tt := range []struct {
			name, method, path, body string
			status                   int
			loc                      []string
		}{
			{"create, both alike", "POST", "/api/v1/app/app-a/endpoint",
				`{"url":"https://example.com/x","filterTypes":["x.y"],"eventTypes":["x.y"]}`, 201, nil},
			{"create, both different", "POST", "/api/v1/app/app-a/endpoint",
				`{"url":"https://example.com/x","filterTypes":["x.y"],"eventTypes":["x.z"]}`, 422, []string{"body", "eventTypes"}},
			{"create, bad eventTypes", "POST", "/api/v1/app/app-a/endpoint",
				`{"url":"https://example.com/x","eventTypes":["bad type"]}`, 422, []string{"body", "eventTypes", "0"}},
			{"patch, both different", "PATCH", "/api/v1/app/app-a/endpoint/ep-a",
				`{"filterTypes":["x.y"],"eventTypes":null}`, 422, []string{"body", "eventTypes"}},
			{"upsert with eventTypes", "PUT", "/api/v1/app/app-a/endpoint/ep-a",
				`{"url":"` + rc.srv.URL + `/hook","eventTypes":["a.b","e.f"]}`, 200, nil},
		} {
			status, body := h.do(tt.method, tt.path, testAdminToken, tt.body, "User-Agent", jsSDK2UserAgent)
			if status != tt.status {
				t.Fatalf("%s: %d %s", tt.name, status, body)
			}
			if tt.loc != nil {
				assertErrorBody(t, status, body, "", tt.loc)
			}
		}
		app, _ := h.st.GetApplication(context.Background(), hookrelay.DefaultEnvironment, "app-a")
		stored, err := h.st.GetEndpoint(context.Background(), app.ID, "ep-a")
		if err != nil || !slices.Equal(stored.FilterTypes, []string{"a.b", "e.f"}) {
			t.Fatalf("after the upsert: %+v, %v", stored, err)
		}
	})
}

// throttleRate and rateLimit are one setting under two names, returned
// under the names each client's shape has.
func TestThrottleRateAlias(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		ctx := context.Background()
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"app-a","throttleRate":5}`, nil)
		app, err := h.st.GetApplication(ctx, hookrelay.DefaultEnvironment, "app-a")
		if err != nil || app.RateLimit == nil || *app.RateLimit != 5 {
			t.Fatalf("stored application: %+v, %v", app, err)
		}
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app/app-a/endpoint", testAdminToken,
			`{"url":"https://example.com/x","uid":"ep-a","throttleRate":7}`, nil)
		ep, err := h.st.GetEndpoint(ctx, app.ID, "ep-a")
		if err != nil || ep.RateLimit == nil || *ep.RateLimit != 7 {
			t.Fatalf("stored endpoint: %+v, %v", ep, err)
		}

		// Each shape names the value as its documents do.
		for _, tt := range []struct {
			ua               string
			rateLimit, throt bool
		}{
			{"", false, true},
			{jsSDK2UserAgent, false, true},
			{jsSDK1UserAgent, true, true},
			{goSDKUserAgent, true, false},
		} {
			for path, want := range map[string]int{"/api/v1/app/app-a": 5, "/api/v1/app/app-a/endpoint/ep-a": 7} {
				var out map[string]any
				h.mustDo(http.StatusOK, "GET", path, testAdminToken, nil, &out, "User-Agent", tt.ua)
				if _, ok := out["rateLimit"]; ok != tt.rateLimit || (ok && out["rateLimit"] != float64(want)) {
					t.Errorf("%q GET %s: rateLimit in %v, want present %v", tt.ua, path, out, tt.rateLimit)
				}
				if _, ok := out["throttleRate"]; ok != tt.throt || (ok && out["throttleRate"] != float64(want)) {
					t.Errorf("%q GET %s: throttleRate in %v, want present %v", tt.ua, path, out, tt.throt)
				}
			}
		}

		for _, tt := range []struct {
			name, method, path, body string
			status                   int
			loc                      []string
			appRate, epRate          *int
		}{
			{"app both alike", "PATCH", "/api/v1/app/app-a", `{"rateLimit":6,"throttleRate":6}`, 200, nil, ptr(6), ptr(7)},
			{"app both different", "PATCH", "/api/v1/app/app-a", `{"rateLimit":6,"throttleRate":8}`, 422, []string{"body", "throttleRate"}, ptr(6), ptr(7)},
			{"app put different", "PUT", "/api/v1/app/app-a", `{"name":"A","rateLimit":6,"throttleRate":null}`, 422, []string{"body", "throttleRate"}, ptr(6), ptr(7)},
			{"app throttleRate out of range", "PATCH", "/api/v1/app/app-a", `{"throttleRate":0}`, 422, []string{"body", "throttleRate"}, ptr(6), ptr(7)},
			{"app throttleRate null removes", "PATCH", "/api/v1/app/app-a", `{"throttleRate":null}`, 200, nil, nil, ptr(7)},
			{"app put throttleRate", "PUT", "/api/v1/app/app-a", `{"name":"A","throttleRate":3}`, 200, nil, ptr(3), ptr(7)},
			{"message's application, different", "POST", "/api/v1/app/app-new/msg",
				`{"eventType":"a.b","payload":{},"application":{"name":"N","uid":"app-new","rateLimit":1,"throttleRate":2}}`,
				422, []string{"body", "application", "throttleRate"}, ptr(3), ptr(7)},
			{"operational endpoint, both names alike", "POST", "/api/v1/operational-webhook/endpoint",
				`{"url":"https://ops.example.com/x","rateLimit":2,"throttleRate":2,"filterTypes":["endpoint.created"],"eventTypes":["endpoint.created"]}`,
				201, nil, ptr(3), ptr(7)},
			{"endpoint patch rateLimit", "PATCH", "/api/v1/app/app-a/endpoint/ep-a", `{"rateLimit":9}`, 200, nil, ptr(3), ptr(9)},
			{"endpoint patch both different", "PATCH", "/api/v1/app/app-a/endpoint/ep-a", `{"rateLimit":9,"throttleRate":10}`, 422, []string{"body", "throttleRate"}, ptr(3), ptr(9)},
			{"endpoint put throttleRate", "PUT", "/api/v1/app/app-a/endpoint/ep-a", `{"url":"https://example.com/x","throttleRate":11}`, 200, nil, ptr(3), ptr(11)},
			{"endpoint patch throttleRate null", "PATCH", "/api/v1/app/app-a/endpoint/ep-a", `{"throttleRate":null}`, 200, nil, ptr(3), nil},
		} {
			status, body := h.do(tt.method, tt.path, testAdminToken, tt.body)
			if status != tt.status {
				t.Fatalf("%s: %d %s", tt.name, status, body)
			}
			if tt.loc != nil {
				assertErrorBody(t, status, body, "", tt.loc)
			}
			app, _ := h.st.GetApplication(ctx, hookrelay.DefaultEnvironment, "app-a")
			ep, _ := h.st.GetEndpoint(ctx, app.ID, "ep-a")
			if fmt.Sprint(deref(app.RateLimit)) != fmt.Sprint(deref(tt.appRate)) || fmt.Sprint(deref(ep.RateLimit)) != fmt.Sprint(deref(tt.epRate)) {
				t.Fatalf("%s: application rate %v, endpoint rate %v; want %v, %v", tt.name,
					deref(app.RateLimit), deref(ep.RateLimit), deref(tt.appRate), deref(tt.epRate))
			}
		}
	})
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// deleteHeaders in a headers PATCH removes those headers; endpoint
// creation takes headers, updates refuse them.
func TestHeadersCompat(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		ctx := context.Background()
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"app-a"}`, nil)
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app/app-a/endpoint", testAdminToken,
			`{"url":"https://example.com/x","uid":"ep-a","headers":{"X-One":"1","X-Two":"2","Authorization":"Bearer t"}}`, nil,
			"User-Agent", jsSDK2UserAgent)
		app, _ := h.st.GetApplication(ctx, hookrelay.DefaultEnvironment, "app-a")
		headers := func() map[string]string {
			ep, err := h.st.GetEndpoint(ctx, app.ID, "ep-a")
			if err != nil {
				t.Fatal(err)
			}
			return ep.Headers
		}
		if got := headers(); len(got) != 3 || got["X-One"] != "1" || got["Authorization"] != "Bearer t" {
			t.Fatalf("created with headers %v", got)
		}
		const path = "/api/v1/app/app-a/endpoint/ep-a"
		for _, tt := range []struct {
			name, method, path, body string
			status                   int
			loc                      []string
			want                     string // the headers after, sorted name=value
		}{
			{"patch deletes", "PATCH", path + "/headers", `{"headers":{"X-Three":"3"},"deleteHeaders":["x-one","Authorization","X-Absent"]}`,
				204, nil, "X-Three=3 X-Two=2"},
			{"patch with only deleteHeaders", "PATCH", path + "/headers", `{"headers":{},"deleteHeaders":["X-Three"]}`, 204, nil, "X-Two=2"},
			{"set and deleted at once", "PATCH", path + "/headers", `{"headers":{"X-Two":"22"},"deleteHeaders":["x-two"]}`,
				422, []string{"body", "deleteHeaders", "0"}, "X-Two=2"},
			{"bad name", "PATCH", path + "/headers", `{"headers":{},"deleteHeaders":["bad name"]}`,
				422, []string{"body", "deleteHeaders", "0"}, "X-Two=2"},
			{"null deleteHeaders", "PATCH", path + "/headers", `{"headers":{},"deleteHeaders":null}`,
				422, []string{"body", "deleteHeaders"}, "X-Two=2"},
			{"deleteHeaders in PUT", "PUT", path + "/headers", `{"headers":{"X-Two":"2"},"deleteHeaders":["X-Two"]}`,
				422, []string{"body", "deleteHeaders"}, "X-Two=2"},
			{"setHeaders (PUT) replaces", "PUT", path + "/headers", `{"headers":{"X-Four":"4"}}`, 204, nil, "X-Four=4"},
			{"headers in an endpoint patch", "PATCH", path, `{"headers":{"X-Five":"5"}}`, 422, []string{"body", "headers"}, "X-Four=4"},
			{"headers in an endpoint upsert", "PUT", path, `{"url":"https://example.com/x","headers":{"X-Five":"5"}}`,
				422, []string{"body", "headers"}, "X-Four=4"},
		} {
			status, body := h.do(tt.method, tt.path, testAdminToken, tt.body)
			if status != tt.status {
				t.Fatalf("%s: %d %s", tt.name, status, body)
			}
			if tt.loc != nil {
				assertErrorBody(t, status, body, "", tt.loc)
			}
			var pairs []string
			for k, v := range headers() {
				pairs = append(pairs, k+"="+v)
			}
			sort.Strings(pairs)
			if got := strings.Join(pairs, " "); got != tt.want {
				t.Fatalf("%s: headers %q, want %q", tt.name, got, tt.want)
			}
		}
	})
}

// gracePeriodSeconds decides how long the rotated-out secret keeps
// signing: a receiver that knows only the old secret verifies requests
// sent within it, and none after a rotation with no grace.
func TestSecretRotationGracePeriod(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newLiveHarness(t, open(t))
		rc := newHookRecorder(t)
		ctx := context.Background()
		const first = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"app-a"}`, nil)
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app/app-a/endpoint", testAdminToken,
			`{"url":"`+rc.srv.URL+`/hook","uid":"ep-a","secret":"`+first+`"}`, nil)
		const rotate = "/api/v1/app/app-a/endpoint/ep-a/secret/rotate"
		for _, tt := range []struct{ name, body string }{
			{"negative", `{"gracePeriodSeconds":-1}`},
			{"over 7 days", `{"gracePeriodSeconds":604801}`},
			{"not a number", `{"gracePeriodSeconds":"1h"}`},
		} {
			status, body := h.do("POST", rotate, testAdminToken, tt.body)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("%s: %d %s", tt.name, status, body)
			}
			assertErrorBody(t, status, body, "", []string{"body", "gracePeriodSeconds"})
		}
		secret := func() string {
			var s endpointSecretOut
			h.mustDo(http.StatusOK, "GET", "/api/v1/app/app-a/endpoint/ep-a/secret", testAdminToken, nil, &s)
			return s.Key
		}
		if secret() != first {
			t.Fatal("a refused rotation changed the secret")
		}
		// send publishes one message and returns the request it arrived as.
		send := func(event string) delivered {
			h.publishRaw("app-a", event, "")
			var d delivered
			waitFor(t, 10*time.Second, "message "+event, func() bool {
				for _, r := range rc.received() {
					if r.event == event {
						d = r
						return true
					}
				}
				return false
			})
			return d
		}
		verifies := func(d delivered, secret string) bool {
			return signature.VerifyRequest([]string{secret}, d.header, d.body, time.Now(), time.Minute) == nil
		}

		// An hour of grace: both secrets sign.
		h.mustDo(http.StatusNoContent, "POST", rotate, testAdminToken, `{"gracePeriodSeconds":3600}`, nil)
		second := secret()
		d := send("after.grace.rotation")
		if !verifies(d, first) || !verifies(d, second) {
			t.Fatalf("within the grace period: old secret verifies %v, new %v", verifies(d, first), verifies(d, second))
		}
		app, _ := h.st.GetApplication(ctx, hookrelay.DefaultEnvironment, "app-a")
		ep, _ := h.st.GetEndpoint(ctx, app.ID, "ep-a")
		if len(ep.OldSecrets) != 1 || time.Until(ep.OldSecrets[0].ExpiresAt) > time.Hour || time.Until(ep.OldSecrets[0].ExpiresAt) < 59*time.Minute {
			t.Fatalf("old secrets after a rotation with an hour of grace: %+v", ep.OldSecrets)
		}

		// No grace: the second secret stops signing at once; the first
		// still has its hour.
		h.mustDo(http.StatusNoContent, "POST", rotate, testAdminToken, `{"gracePeriodSeconds":0}`, nil)
		third := secret()
		d = send("after.immediate.rotation")
		if verifies(d, second) || !verifies(d, third) || !verifies(d, first) {
			t.Fatalf("after a rotation with no grace: second verifies %v, third %v, first %v",
				verifies(d, second), verifies(d, third), verifies(d, first))
		}

		// The operational endpoints' rotation takes it too.
		status, body := h.do("POST", "/api/v1/operational-webhook/endpoint/nope/secret/rotate", testAdminToken, `{"gracePeriodSeconds":604801}`)
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("operational rotation out of range: %d %s", status, body)
		}
	})
}

// capabilities on portal access: any set of Svix's that holds ViewBase;
// only ManageEndpoint creates endpoints, and it reads and rotates the
// signing secret too (Svix: "including secrets"), as ViewEndpointSecret
// reads it; ViewBase alone or beside CreateAttempts reaches neither. A
// sessionId is refused.
func TestPortalAccessCapabilities(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"app-a"}`, nil)
		var ep struct {
			ID string `json:"id"`
		}
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app/app-a/endpoint", testAdminToken, `{"url":"https://example.com/s"}`, &ep)
		secretPath := "/api/v1/app/app-a/endpoint/" + ep.ID + "/secret"
		all := `["ViewBase","ViewEndpointSecret","ManageEndpointSecret","ManageTransformations","CreateAttempts","ManageEndpoint"]`
		for _, tt := range []struct {
			name, body string
			status     int
			loc        []string
			creates    bool // the token may create an endpoint
			reads      bool // the token may read the endpoint's secret
			rotates    bool // the token may rotate it
		}{
			{"none given", `{}`, 200, nil, true, true, true},
			{"null", `{"capabilities":null}`, 200, nil, true, true, true},
			{"every capability", `{"capabilities":` + all + `}`, 200, nil, true, true, true},
			{"read-only set", `{"capabilities":["ViewEndpointSecret","ViewBase"]}`, 200, nil, false, true, false},
			{"read-only set and readOnly", `{"capabilities":["ViewBase","ViewEndpointSecret"],"readOnly":true}`, 200, nil, false, true, false},
			{"readOnly alone", `{"readOnly":true}`, 200, nil, false, true, false},
			{"ViewBase alone", `{"capabilities":["ViewBase"]}`, 200, nil, false, false, false},
			{"ViewBase and CreateAttempts", `{"capabilities":["ViewBase","CreateAttempts"]}`, 200, nil, false, false, false},
			{"ViewBase and ManageEndpointSecret", `{"capabilities":["ViewBase","ManageEndpointSecret"]}`, 200, nil, false, true, true},
			{"ViewBase and ManageEndpoint", `{"capabilities":["ViewBase","ManageEndpoint"]}`, 200, nil, true, true, true},
			{"without ViewBase", `{"capabilities":["ViewEndpointSecret"]}`, 422, []string{"body", "capabilities"}, false, false, false},
			{"unknown", `{"capabilities":["ViewBase","Everything"]}`, 422, []string{"body", "capabilities", "1"}, false, false, false},
			{"contradicts readOnly", `{"capabilities":` + all + `,"readOnly":true}`, 422, []string{"body", "readOnly"}, false, false, false},
			{"empty list", `{"capabilities":[]}`, 422, []string{"body", "capabilities"}, false, false, false},
			{"sessionId", `{"sessionId":"user_1"}`, 422, []string{"body", "sessionId"}, false, false, false},
		} {
			status, body := h.do("POST", "/api/v1/auth/app-portal-access/app-a", testAdminToken, tt.body)
			if status != tt.status {
				t.Fatalf("%s: %d %s", tt.name, status, body)
			}
			if tt.loc != nil {
				assertErrorBody(t, status, body, "", tt.loc)
				continue
			}
			var out appPortalAccessOut
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatal(err)
			}
			status, body = h.do("POST", "/api/v1/app/app-a/endpoint", out.Token, `{"url":"https://example.com/x"}`)
			if want := allowed(tt.creates, http.StatusCreated); status != want {
				t.Fatalf("%s: the token creates an endpoint with %d %s, want %d", tt.name, status, body, want)
			}
			if status, body := h.do("GET", "/api/v1/app/app-a/endpoint", out.Token, nil); status != http.StatusOK {
				t.Fatalf("%s: the token lists endpoints with %d %s", tt.name, status, body)
			}

			var before, after struct {
				Key string `json:"key"`
			}
			h.mustDo(http.StatusOK, "GET", secretPath, testAdminToken, nil, &before)
			status, body = h.do("GET", secretPath, out.Token, nil)
			if want := allowed(tt.reads, http.StatusOK); status != want {
				t.Fatalf("%s: the token reads the secret with %d %s, want %d", tt.name, status, body, want)
			}
			if tt.reads && !strings.Contains(string(body), before.Key) {
				t.Errorf("%s: the token read %s, want the key %s", tt.name, body, before.Key)
			}
			status, body = h.do("POST", secretPath+"/rotate", out.Token, `{}`)
			if want := allowed(tt.rotates, http.StatusNoContent); status != want {
				t.Fatalf("%s: the token rotates the secret with %d %s, want %d", tt.name, status, body, want)
			}
			h.mustDo(http.StatusOK, "GET", secretPath, testAdminToken, nil, &after)
			if rotated := after.Key != before.Key; rotated != tt.rotates {
				t.Errorf("%s: the secret changed: %v, want %v", tt.name, rotated, tt.rotates)
			}
		}
	})
}

// allowed is the status a request answers: ok when granted, else 403.
func allowed(granted bool, ok int) int {
	if granted {
		return ok
	}
	return http.StatusForbidden
}

// Each client gets the fields of its own generation: the Go SDK v1.44.0
// decodes its strict models, a 1.99 client gets statusText and friends
// beside the old names, a 2.x (or unnamed) client the current names only.
func TestShapesPerClient(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		ctx := context.Background()
		app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "A", Uid: ptr("app-a"), RateLimit: ptr(int32(4))})
		if err != nil {
			t.Fatal(err)
		}
		ep, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/x", Uid: ptr("ep-a"),
			FilterTypes: []string{"a.b"}, RateLimit: ptr(int32(3))})
		if err != nil {
			t.Fatal(err)
		}
		msg, err := h.sdk.Message.Create(ctx, app.Id, &svix.MessageIn{EventType: "a.b", Payload: map[string]any{"k": 1}})
		if err != nil {
			t.Fatal(err)
		}
		h.makeAttempts(hookrelay.StatusFail, 500, "no")

		// The Go SDK v1.44.0 decodes every route whose shape changed.
		if _, err := h.sdk.MessageAttempt.ListByEndpoint(ctx, app.Id, ep.Id, nil); err != nil {
			t.Errorf("Go SDK v1.44.0 attempts by endpoint: %v", err)
		}
		atts, err := h.sdk.MessageAttempt.ListByMsg(ctx, app.Id, msg.Id, nil)
		if err != nil || len(atts.Data) != 1 {
			t.Fatalf("Go SDK v1.44.0 attempts by message: %+v, %v", atts, err)
		}
		if _, err := h.sdk.MessageAttempt.Get(ctx, app.Id, msg.Id, atts.Data[0].Id); err != nil {
			t.Errorf("Go SDK v1.44.0 attempt: %v", err)
		}
		if _, err := h.sdk.MessageAttempt.ListAttemptedMessages(ctx, app.Id, ep.Id, nil); err != nil {
			t.Errorf("Go SDK v1.44.0 attempted messages: %v", err)
		}
		if _, err := h.sdk.MessageAttempt.ListAttemptedDestinations(ctx, app.Id, msg.Id, nil); err != nil {
			t.Errorf("Go SDK v1.44.0 attempted destinations: %v", err)
		}
		if _, err := h.sdk.Endpoint.GetStats(ctx, app.Id, ep.Id); err != nil {
			t.Errorf("Go SDK v1.44.0 endpoint stats: %v", err)
		}
		rec, err := h.sdk.Endpoint.Recover(ctx, app.Id, ep.Id, &svix.RecoverIn{Since: time.Now().Add(-time.Hour)})
		if err != nil {
			t.Fatalf("Go SDK v1.44.0 recover: %v", err)
		}
		h.waitTask(rec.Id) // the delivery is pending again, with a next attempt

		if _, err := h.sdk.Application.Get(ctx, app.Id); err != nil {
			t.Errorf("Go SDK v1.44.0 application: %v", err)
		}
		if _, err := h.sdk.Endpoint.List(ctx, app.Id, nil); err != nil {
			t.Errorf("Go SDK v1.44.0 endpoints: %v", err)
		}
		if _, err := h.sdk.Message.List(ctx, app.Id, nil); err != nil {
			t.Errorf("Go SDK v1.44.0 messages: %v", err)
		}

		base := "/api/v1/app/" + app.Id
		attempt := atts.Data[0].Id
		var tasks listResponse[json.RawMessage]
		h.mustDo(http.StatusOK, "GET", "/api/v1/background-task", testAdminToken, nil, &tasks)
		if len(tasks.Data) != 1 {
			t.Fatalf("background tasks: %d", len(tasks.Data))
		}
		var task struct{ ID string }
		_ = json.Unmarshal(tasks.Data[0], &task)

		// Each object's keys per shape, from the v1.44.0 document, the
		// JavaScript SDK 1.99.1's models and the current document (the
		// optional fields that are unset here left out).
		type want struct{ v144, v1, current string }
		endpointKeys := want{
			"createdAt description disabled filterTypes id metadata rateLimit uid updatedAt url version",
			"createdAt description disabled filterTypes id metadata rateLimit throttleRate uid updatedAt url version",
			"createdAt description disabled eventTypes id metadata throttleRate uid updatedAt url",
		}
		attemptKeys := want{
			"endpointId id msgId response responseDurationMs responseStatusCode status timestamp triggerType url",
			"endpointId id msgId response responseDurationMs responseStatusCode status statusText timestamp triggerType url",
			"endpointId id msgId response responseDurationMs responseStatusCode status statusText timestamp triggerType url",
		}
		for _, tt := range []struct {
			name, method, path, body string
			list                     bool
			keys                     want
		}{
			{"application", "GET", base, "", false, want{
				"createdAt id metadata name rateLimit uid updatedAt",
				"createdAt id metadata name rateLimit throttleRate uid updatedAt",
				"createdAt id metadata name throttleRate uid updatedAt"}},
			{"endpoint", "GET", base + "/endpoint/" + ep.Id, "", false, endpointKeys},
			{"endpoints", "GET", base + "/endpoint", "", true, endpointKeys},
			{"message", "GET", base + "/msg/" + msg.Id, "", false, want{
				"eventType id payload timestamp", "eventType id payload timestamp", "eventType id payload timestamp"}},
			{"attempts by endpoint", "GET", base + "/attempt/endpoint/" + ep.Id, "", true, attemptKeys},
			{"attempts by message", "GET", base + "/attempt/msg/" + msg.Id, "", true, attemptKeys},
			{"attempts by application (hookrelay's)", "GET", base + "/attempt?status=2", "", true, attemptKeys},
			{"attempt", "GET", base + "/msg/" + msg.Id + "/attempt/" + attempt, "", false, attemptKeys},
			{"attempted messages", "GET", base + "/endpoint/" + ep.Id + "/msg", "", true, want{
				"eventType id nextAttempt payload status timestamp",
				"eventType id nextAttempt payload status statusText timestamp",
				"eventType id nextAttempt payload status statusText timestamp"}},
			{"attempted destinations", "GET", base + "/msg/" + msg.Id + "/endpoint", "", true, want{
				"createdAt description disabled filterTypes id nextAttempt rateLimit status uid updatedAt url version",
				"createdAt description disabled filterTypes id nextAttempt rateLimit status statusText throttleRate uid updatedAt url version",
				"createdAt description disabled eventTypes id nextAttempt status statusText throttleRate uid updatedAt url"}},
			{"endpoint stats", "GET", base + "/endpoint/" + ep.Id + "/stats", "", false, want{
				"fail pending sending success", "canceled fail pending sending success", "canceled fail pending sending success"}},
			{"recover", "POST", base + "/endpoint/" + ep.Id + "/recover", `{"since":"2020-01-01T00:00:00Z"}`, false, want{
				"id status task", "id status task updatedAt", "id status task updatedAt"}},
			{"replay", "POST", base + "/endpoint/" + ep.Id + "/replay-missing", `{"since":"2020-01-01T00:00:00Z"}`, false, want{
				"id status task", "id status task updatedAt", "id status task updatedAt"}},
			{"background task", "GET", "/api/v1/background-task/" + task.ID, "", false, want{
				"data id status task", "data id status task updatedAt", "data id status task updatedAt"}},
			{"background tasks", "GET", "/api/v1/background-task", "", true, want{
				"data id status task", "data id status task updatedAt", "data id status task updatedAt"}},
		} {
			for _, c := range []struct {
				ua   string
				keys string
			}{
				{goSDKUserAgent, tt.keys.v144}, {jsSDK1UserAgent, tt.keys.v1}, {jsSDK2UserAgent, tt.keys.current}, {"", tt.keys.current},
			} {
				var body any
				if tt.body != "" {
					body = tt.body
				}
				status, out := h.do(tt.method, tt.path, testAdminToken, body, "User-Agent", c.ua)
				if status >= 300 {
					t.Fatalf("%s as %q: %d %s", tt.name, c.ua, status, out)
				}
				obj := out
				if tt.list {
					var l listResponse[json.RawMessage]
					if err := json.Unmarshal(out, &l); err != nil || len(l.Data) == 0 {
						t.Fatalf("%s as %q: %s", tt.name, c.ua, out)
					}
					obj = l.Data[0]
				}
				want := strings.Fields(c.keys)
				sort.Strings(want)
				if got := keysOf(t, obj); !slices.Equal(got, want) {
					t.Errorf("%s as %q: keys %v, want %v", tt.name, c.ua, got, want)
				}
				var st struct {
					Status     *int    `json:"status"`
					StatusText *string `json:"statusText"`
				}
				_ = json.Unmarshal(obj, &st)
				if st.StatusText != nil && (st.Status == nil || *st.StatusText != []string{"success", "pending", "fail", "sending"}[*st.Status]) {
					t.Errorf("%s as %q: statusText does not name the status: %s", tt.name, c.ua, obj)
				}
			}
		}
	})
}

// The 2.x SDKs' upsert is PUT on an application, an endpoint or an event
// type: it creates what does not exist (201) and replaces what does (200).
// Their event types carry featureFlags, a list, where hookrelay keeps one
// flag (featureFlag).
func TestUpsertAndFeatureFlags(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		ctx := context.Background()
		for _, tt := range []struct {
			name, method, path, body string
			status                   int
			loc                      []string
		}{
			{"create app", "PUT", "/api/v1/app/app-up", `{"name":"Up","throttleRate":2}`, 201, nil},
			{"replace app", "PUT", "/api/v1/app/app-up", `{"name":"Up again"}`, 200, nil},
			{"create endpoint", "PUT", "/api/v1/app/app-up/endpoint/ep-up", `{"url":"https://example.com/u","eventTypes":["u.v"],"throttleRate":4}`, 201, nil},
			{"replace endpoint", "PUT", "/api/v1/app/app-up/endpoint/ep-up", `{"url":"https://example.com/w","eventTypes":["u.w"]}`, 200, nil},
			{"create event type", "PUT", "/api/v1/event-type/u.v", `{"description":"U","featureFlags":["beta"]}`, 201, nil},
			{"replace event type", "PUT", "/api/v1/event-type/u.v", `{"description":"U2","featureFlags":["beta2"]}`, 200, nil},
			{"two flags", "PATCH", "/api/v1/event-type/u.v", `{"featureFlags":["a","b"]}`, 422, []string{"body", "featureFlags"}},
			{"empty flags", "PATCH", "/api/v1/event-type/u.v", `{"featureFlags":[]}`, 422, []string{"body", "featureFlags"}},
			{"bad flag", "PATCH", "/api/v1/event-type/u.v", `{"featureFlags":["a b"]}`, 422, []string{"body", "featureFlags", "0"}},
			{"flags against flag", "PATCH", "/api/v1/event-type/u.v", `{"featureFlags":["a"],"featureFlag":"b"}`, 422, []string{"body", "featureFlags"}},
			{"flags and flag alike", "PATCH", "/api/v1/event-type/u.v", `{"featureFlags":["beta3"],"featureFlag":"beta3"}`, 200, nil},
		} {
			status, body := h.do(tt.method, tt.path, testAdminToken, tt.body, "User-Agent", jsSDK2UserAgent)
			if status != tt.status {
				t.Fatalf("%s: %d %s", tt.name, status, body)
			}
			if tt.loc != nil {
				assertErrorBody(t, status, body, "", tt.loc)
			}
		}
		app, err := h.st.GetApplication(ctx, hookrelay.DefaultEnvironment, "app-up")
		if err != nil || app.Name != "Up again" || app.RateLimit != nil {
			t.Fatalf("upserted application: %+v, %v", app, err)
		}
		ep, err := h.st.GetEndpoint(ctx, app.ID, "ep-up")
		if err != nil || ep.URL != "https://example.com/w" || !slices.Equal(ep.FilterTypes, []string{"u.w"}) || ep.RateLimit != nil {
			t.Fatalf("upserted endpoint: %+v, %v", ep, err)
		}
		et, err := h.st.GetEventType(ctx, hookrelay.DefaultEnvironment, "u.v")
		if err != nil || et.Description != "U2" || et.FeatureFlag == nil || *et.FeatureFlag != "beta3" {
			t.Fatalf("upserted event type: %+v, %v", et, err)
		}
		// Each shape names the flag as its documents do; null clears it.
		for ua, want := range map[string]string{goSDKUserAgent: "featureFlag", jsSDK1UserAgent: "featureFlag featureFlags", "": "featureFlag featureFlags"} {
			var out map[string]any
			h.mustDo(http.StatusOK, "GET", "/api/v1/event-type/u.v", testAdminToken, nil, &out, "User-Agent", ua)
			var got []string
			for _, k := range []string{"featureFlag", "featureFlags"} {
				if _, ok := out[k]; ok {
					got = append(got, k)
				}
			}
			if strings.Join(got, " ") != want {
				t.Errorf("event type as %q has %v, want %s", ua, got, want)
			}
		}
		if _, err := h.sdk.EventType.Get(ctx, "u.v"); err != nil {
			t.Errorf("Go SDK v1.44.0 get event type: %v", err)
		}
		h.mustDo(http.StatusOK, "PATCH", "/api/v1/event-type/u.v", testAdminToken, `{"featureFlags":null}`, nil)
		if et, _ := h.st.GetEventType(ctx, hookrelay.DefaultEnvironment, "u.v"); et.FeatureFlag != nil {
			t.Fatalf("featureFlags null left %q", *et.FeatureFlag)
		}
	})
}
