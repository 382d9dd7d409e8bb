package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
)

const opBase = "/api/v1/operational-webhook/endpoint"

// withEvents gives the API an emitter on its own store.
func withEvents(cfg *Config) {
	cfg.Events = ops.NewEmitter(ops.EmitterConfig{Store: cfg.Store, Waker: cfg.Waker})
}

// opEvent is one operational event as stored for delivery.
type opEvent struct {
	EventType string
	Payload   map[string]any
}

// opEvents returns the operational events stored for envID, oldest first.
func (h *harness) opEvents(envID string) []opEvent {
	h.t.Helper()
	app, err := h.st.GetInternalApplication(context.Background(), envID)
	if errors.Is(err, hookrelay.ErrNotFound) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	msgs, err := h.st.ListMessages(context.Background(), store.ListMessagesParams{AppID: app.ID, Page: store.Page{Limit: 250}})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []opEvent
	for i := len(msgs) - 1; i >= 0; i-- {
		ev := opEvent{EventType: msgs[i].EventType}
		if err := json.Unmarshal(msgs[i].Payload, &ev.Payload); err != nil {
			h.t.Fatalf("payload %s: %v", msgs[i].Payload, err)
		}
		out = append(out, ev)
	}
	return out
}

func eventTypesOf(evs []opEvent) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.EventType)
	}
	return out
}

func TestOperationalEndpointsWithTheSDK(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t), withEvents)
		ctx := context.Background()
		c := h.sdk.OperationalWebhookEndpoint

		list, err := c.List(ctx, nil)
		if err != nil || len(list.Data) != 0 || !list.Done {
			t.Fatalf("list before any: %+v, %v", list, err)
		}
		const key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		created, err := c.Create(ctx, &svix.OperationalWebhookEndpointIn{
			Url:         "https://ops.example.com/hook",
			Uid:         ptr("ops-main"),
			Description: ptr("pager"),
			FilterTypes: []string{"endpoint.created", "message.attempt.*"},
			Metadata:    &map[string]string{"team": "sre"},
			RateLimit:   ptr(int32(5)),
			Secret:      ptr(key),
		})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if !strings.HasPrefix(created.Id, "ep_") || created.Url != "https://ops.example.com/hook" || created.Description != "pager" ||
			*created.Uid != "ops-main" || *created.RateLimit != 5 || created.Metadata["team"] != "sre" ||
			strings.Join(created.FilterTypes, ",") != "endpoint.created,message.attempt.*" || created.Disabled == nil || *created.Disabled {
			t.Fatalf("created = %+v", created)
		}
		for _, id := range []string{created.Id, "ops-main"} {
			got, err := c.Get(ctx, id)
			if err != nil || got.Id != created.Id {
				t.Fatalf("get %s: %+v, %v", id, got, err)
			}
		}
		secret, err := c.GetSecret(ctx, created.Id)
		if err != nil || secret.Key != key {
			t.Fatalf("secret: %+v, %v", secret, err)
		}
		const key2 = "whsec_QWxhZGRpbjpvcGVuIHNlc2FtZUFsYWRkaW46b3A="
		if err := c.RotateSecret(ctx, created.Id, &svix.OperationalWebhookEndpointSecretIn{Key: ptr(key2)}); err != nil {
			t.Fatalf("rotate: %v", err)
		}
		if secret, err = c.GetSecret(ctx, created.Id); err != nil || secret.Key != key2 {
			t.Fatalf("secret after rotate: %+v, %v", secret, err)
		}
		ep, err := h.st.GetEndpoint(ctx, mustInternalApp(t, h.st, hookrelay.DefaultEnvironment).ID, created.Id)
		if err != nil || len(ep.OldSecrets) != 1 || ep.OldSecrets[0].Secret != key {
			t.Fatalf("the rotated-out secret keeps signing: %+v, %v", ep, err)
		}

		// PUT replaces: what it leaves out takes its default.
		updated, err := c.Update(ctx, created.Id, &svix.OperationalWebhookEndpointUpdate{Url: "https://ops.example.com/v2", Disabled: ptr(true)})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		if updated.Url != "https://ops.example.com/v2" || !*updated.Disabled || updated.Description != "" || updated.FilterTypes != nil ||
			updated.RateLimit != nil || len(updated.Metadata) != 0 || *updated.Uid != "ops-main" {
			t.Fatalf("updated = %+v", updated)
		}
		if _, err := c.Create(ctx, &svix.OperationalWebhookEndpointIn{Url: "https://ops.example.com/dup", Uid: ptr("ops-main")}); sdkStatus(err) != http.StatusConflict {
			t.Fatalf("taken uid: want 409, got %v", err)
		}
		second, err := c.Create(ctx, &svix.OperationalWebhookEndpointIn{Url: "https://ops.example.com/second"})
		if err != nil {
			t.Fatalf("create second: %v", err)
		}
		list, err = c.List(ctx, &svix.OperationalWebhookEndpointListOptions{Limit: ptr(int32(1))})
		if err != nil || len(list.Data) != 1 || list.Done || !list.Iterator.IsSet() {
			t.Fatalf("first page: %+v, %v", list, err)
		}
		list, err = c.List(ctx, &svix.OperationalWebhookEndpointListOptions{Limit: ptr(int32(1)), Iterator: list.Iterator.Get()})
		if err != nil || len(list.Data) != 1 || !list.Done {
			t.Fatalf("second page: %+v, %v", list, err)
		}
		if err := c.Delete(ctx, second.Id); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if _, err := c.Get(ctx, second.Id); sdkStatus(err) != http.StatusNotFound {
			t.Fatalf("get deleted: want 404, got %v", err)
		}
		if err := c.Delete(ctx, second.Id); sdkStatus(err) != http.StatusNotFound {
			t.Fatalf("delete deleted: want 404, got %v", err)
		}
	})
}

func mustInternalApp(t *testing.T, st store.Store, envID string) *hookrelay.Application {
	t.Helper()
	app, err := st.GetInternalApplication(context.Background(), envID)
	if err != nil {
		t.Fatalf("internal application of %s: %v", envID, err)
	}
	return app
}

func TestOperationalEndpointHeadersAndNewerNames(t *testing.T) {
	h := newHarness(t, withEvents)
	var ep opEndpointOut
	h.mustDo(http.StatusCreated, "POST", opBase, testAdminToken, map[string]any{
		"url":          "https://ops.example.com/hook",
		"eventTypes":   []string{"endpoint.deleted"},
		"throttleRate": 3,
		"headers":      map[string]string{"X-Team": "sre", "Authorization": "Bearer s3cret"},
	}, &ep)
	// A client naming no SDK version reads the current shape: the newer
	// names only.
	if strings.Join(ep.EventTypes, ",") != "endpoint.deleted" || ep.ThrottleRate == nil || *ep.ThrottleRate != 3 ||
		ep.FilterTypes != nil || ep.RateLimit != nil {
		t.Fatalf("created with the newer names: %+v", ep)
	}
	var hd endpointHeadersOut
	h.mustDo(http.StatusOK, "GET", opBase+"/"+ep.ID+"/headers", testAdminToken, nil, &hd)
	if hd.Headers["X-Team"] != "sre" || len(hd.Headers) != 1 || strings.Join(hd.Sensitive, ",") != "Authorization" {
		t.Fatalf("headers = %+v", hd)
	}
	h.mustDo(http.StatusNoContent, "PUT", opBase+"/"+ep.ID+"/headers", testAdminToken, `{"headers":{"X-Other":"1"}}`, nil)
	hd = endpointHeadersOut{}
	h.mustDo(http.StatusOK, "GET", opBase+"/"+ep.ID+"/headers", testAdminToken, nil, &hd)
	if len(hd.Headers) != 1 || hd.Headers["X-Other"] != "1" || len(hd.Sensitive) != 0 {
		t.Fatalf("headers after PUT = %+v", hd)
	}
	stored, err := h.st.GetEndpoint(context.Background(), mustInternalApp(t, h.st, hookrelay.DefaultEnvironment).ID, ep.ID)
	if err != nil || len(stored.Headers) != 1 || stored.Headers["X-Other"] != "1" {
		t.Fatalf("stored headers: %+v, %v", stored, err)
	}

	// PUT of an endpoint that does not exist creates it, with the path's
	// endpoint_id as its uid.
	var up opEndpointOut
	h.mustDo(http.StatusOK, "PUT", opBase+"/pager", testAdminToken, `{"url":"https://ops.example.com/pager","filterTypes":["endpoint.*"]}`, &up)
	if up.UID == nil || *up.UID != "pager" || strings.Join(up.EventTypes, ",") != "endpoint.*" {
		t.Fatalf("upserted = %+v", up)
	}
	h.mustDo(http.StatusOK, "GET", opBase+"/pager", testAdminToken, nil, &up)
}

func TestOperationalEndpointBadInput(t *testing.T) {
	h := newHarness(t, withEvents)
	var ep opEndpointOut
	h.mustDo(http.StatusCreated, "POST", opBase, testAdminToken, `{"url":"https://ops.example.com/hook"}`, &ep)
	tests := []struct {
		name, method, path, body string
		wantLoc                  []string
	}{
		{"no url", "POST", opBase, `{}`, []string{"body", "url"}},
		{"bad url", "POST", opBase, `{"url":"ftp://x"}`, []string{"body", "url"}},
		{"unknown event type", "POST", opBase, `{"url":"https://x.example","filterTypes":["contact.created"]}`, []string{"body", "filterTypes", "0"}},
		{"family of nothing", "POST", opBase, `{"url":"https://x.example","filterTypes":["message.*.x"]}`, []string{"body", "filterTypes", "0"}},
		{"empty filterTypes", "POST", opBase, `{"url":"https://x.example","filterTypes":[]}`, []string{"body", "filterTypes"}},
		{"both filter names, different", "POST", opBase, `{"url":"https://x.example","filterTypes":["endpoint.created"],"eventTypes":["endpoint.deleted"]}`, []string{"body", "eventTypes"}},
		{"both rate names, different", "POST", opBase, `{"url":"https://x.example","rateLimit":1,"throttleRate":2}`, []string{"body", "throttleRate"}},
		{"rate limit zero", "POST", opBase, `{"url":"https://x.example","rateLimit":0}`, []string{"body", "rateLimit"}},
		{"bad secret", "POST", opBase, `{"url":"https://x.example","secret":"short"}`, []string{"body", "secret"}},
		{"uid shaped like an ID", "POST", opBase, `{"url":"https://x.example","uid":"ep_x"}`, []string{"body", "uid"}},
		{"reserved header", "POST", opBase, `{"url":"https://x.example","headers":{"webhook-id":"x"}}`, []string{"body", "headers", "webhook-id"}},
		{"null description", "PUT", opBase + "/" + "EPID", `{"url":"https://x.example","description":null}`, []string{"body", "description"}},
		{"PUT creating with an ID-shaped path", "PUT", opBase + "/ep_nope", `{"url":"https://x.example"}`, []string{"path", "endpoint_id"}},
		{"PUT with a secret", "PUT", opBase + "/EPID", `{"url":"https://x.example","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`, []string{"body", "secret"}},
		{"PUT creating with a secret", "PUT", opBase + "/new-ops", `{"url":"https://x.example","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`, []string{"body", "secret"}},
		{"PUT with headers", "PUT", opBase + "/EPID", `{"url":"https://x.example","headers":{"X-A":"1"}}`, []string{"body", "headers"}},
		{"bad rotate key", "POST", opBase + "/EPID/secret/rotate", `{"key":"nope"}`, []string{"body", "key"}},
		{"headers without headers", "PUT", opBase + "/EPID/headers", `{}`, []string{"body", "headers"}},
		{"headers too many", "PUT", opBase + "/EPID/headers", headersBody(maxEndpointHeaders+1, 5, 5), []string{"body", "headers"}},
		{"bad headers before unknown endpoint", "PUT", opBase + "/nope/headers", `{"headers":{"Host":"x"}}`, []string{"body", "headers", "Host"}},
		{"rotate grace out of range", "POST", opBase + "/EPID/secret/rotate", `{"gracePeriodSeconds":-1}`, []string{"body", "gracePeriodSeconds"}},
	}
	before := h.opSnapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.do(tt.method, strings.ReplaceAll(tt.path, "EPID", ep.ID), testAdminToken, tt.body)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422; body %s", status, body)
			}
			assertErrorBody(t, status, body, "", tt.wantLoc)
		})
	}
	if after := h.opSnapshot(); after != before {
		t.Fatalf("bad input changed operational endpoints:\nbefore %s\nafter  %s", before, after)
	}
	if evs := h.opEvents(hookrelay.DefaultEnvironment); len(evs) != 0 {
		t.Fatalf("operational endpoint writes emitted %v", eventTypesOf(evs))
	}
}

// Operational bodies are checked with the checks of customer endpoints,
// each in its own order, which is the order of the problems in the answer.
func TestEndpointBodyProblemsInOrder(t *testing.T) {
	h := newHarness(t, withEvents)
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"app-a"}`, nil)
	const body = `{"url":null,"description":null,"rateLimit":0,"uid":"ep_x","filterTypes":[],"secret":"short"}`
	for _, tt := range []struct {
		name, path string
		want       string
	}{
		{"customer", "/api/v1/app/app-a/endpoint", "url description rateLimit uid filterTypes secret"},
		{"operational", opBase, "url description filterTypes rateLimit uid secret"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, out := h.do("POST", tt.path, testAdminToken, body)
			assertErrorBody(t, status, out, "", nil)
			var ve struct {
				Detail []fieldError `json:"detail"`
			}
			if err := json.Unmarshal(out, &ve); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range ve.Detail {
				got = append(got, strings.Join(d.Loc[1:], "."))
			}
			if strings.Join(got, " ") != tt.want {
				t.Fatalf("problems at %v, want %s; body %s", got, tt.want, out)
			}
		})
	}
}

// version, channels and options are fields of customer endpoints only: an
// operational body's are ignored, as any unknown field is, even when they
// would not be valid.
func TestOperationalBodiesIgnoreCustomerOnlyFields(t *testing.T) {
	h := newHarness(t, withEvents)
	const extra = `"version":"x","channels":5,"options":{"timeoutSeconds":0}`
	var ep opEndpointOut
	h.mustDo(http.StatusCreated, "POST", opBase, testAdminToken, `{"url":"https://ops.example.com/a",`+extra+`}`, &ep)
	h.mustDo(http.StatusOK, "PUT", opBase+"/"+ep.ID, testAdminToken, `{"url":"https://ops.example.com/b",`+extra+`}`, nil)
	h.mustDo(http.StatusOK, "PUT", opBase+"/ops-new", testAdminToken, `{"url":"https://ops.example.com/c",`+extra+`}`, nil)
	internal := mustInternalApp(t, h.st, hookrelay.DefaultEnvironment)
	for _, id := range []string{ep.ID, "ops-new"} {
		stored, err := h.st.GetEndpoint(context.Background(), internal.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Version != 1 || len(stored.Channels) != 0 || !reflect.DeepEqual(stored.Options, hookrelay.EndpointOptions{}) {
			t.Fatalf("%s stored with version %d, channels %v, options %+v", id, stored.Version, stored.Channels, stored.Options)
		}
	}
}

// Operational endpoints are created and renamed by the code of customer
// endpoints (newEndpoint, endpointsFull, uidTaken), with their own limit
// message and conflict message.
func TestOperationalEndpointLimitAndUIDConflict(t *testing.T) {
	h := newHarness(t, withEvents, func(c *Config) { c.MaxEndpointsPerApp = 2 })
	var a, b opEndpointOut
	h.mustDo(http.StatusCreated, "POST", opBase, testAdminToken, `{"url":"https://ops.example.com/a","uid":"ops-a"}`, &a)
	h.mustDo(http.StatusCreated, "POST", opBase, testAdminToken, `{"url":"https://ops.example.com/b","uid":"ops-b"}`, &b)
	before := h.opSnapshot()
	for _, tt := range []struct{ name, method, path string }{
		{"create", "POST", opBase},
		{"put creating", "PUT", opBase + "/ops-c"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.do(tt.method, tt.path, testAdminToken, `{"url":"https://ops.example.com/c"}`)
			if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "an environment has at most 2 operational webhook endpoints") {
				t.Fatalf("over the limit: %d %s", status, body)
			}
			assertErrorBody(t, status, body, "", []string{"body"})
		})
	}
	status, body := h.do("PUT", opBase+"/ops-b", testAdminToken, `{"url":"https://ops.example.com/b","uid":"ops-a"}`)
	if status != http.StatusConflict || !strings.Contains(string(body), "an operational webhook endpoint with this uid already exists") {
		t.Fatalf("PUT to a taken uid: %d %s", status, body)
	}
	assertErrorBody(t, status, body, "conflict", nil)
	if after := h.opSnapshot(); after != before {
		t.Fatalf("refused writes changed operational endpoints:\nbefore %s\nafter  %s", before, after)
	}
	// Deleting one makes room.
	h.mustDo(http.StatusNoContent, "DELETE", opBase+"/ops-a", testAdminToken, nil, nil)
	h.mustDo(http.StatusOK, "PUT", opBase+"/ops-c", testAdminToken, `{"url":"https://ops.example.com/c"}`, nil)
}

// Custom headers given at creation are checked as a set once the endpoint
// is made (newEndpoint): a set over the limits is refused on both kinds of
// endpoint, and nothing is created.
func TestCreateWithHeadersOverTheLimits(t *testing.T) {
	h := newHarness(t, withEvents)
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"app-a"}`, nil)
	body := strings.Replace(headersBody(maxEndpointHeaders+1, 5, 5), "{", `{"url":"https://x.example",`, 1)
	before := h.snapshot() + h.opSnapshot()
	for _, path := range []string{"/api/v1/app/app-a/endpoint", opBase} {
		status, out := h.do("POST", path, testAdminToken, body)
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(out), "at most 20 custom headers") {
			t.Fatalf("POST %s with %d headers: %d %s", path, maxEndpointHeaders+1, status, out)
		}
		assertErrorBody(t, status, out, "", []string{"body", "headers"})
	}
	if after := h.snapshot() + h.opSnapshot(); after != before {
		t.Fatalf("refused creates changed state:\nbefore %s\nafter  %s", before, after)
	}
}

// A rotation without a key generates one, on both kinds of endpoint, and
// the rotated-out secret keeps signing for the grace period.
func TestRotationGeneratesAKey(t *testing.T) {
	h := newHarness(t, withEvents)
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"app-a"}`, nil)
	const key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := `{"url":"https://x.example","uid":"ep-a","secret":"` + key + `"}`
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app/app-a/endpoint", testAdminToken, body, nil)
	h.mustDo(http.StatusCreated, "POST", opBase, testAdminToken, body, nil)
	app, err := h.st.GetApplication(context.Background(), hookrelay.DefaultEnvironment, "app-a")
	if err != nil {
		t.Fatal(err)
	}
	internal := mustInternalApp(t, h.st, hookrelay.DefaultEnvironment)
	for _, tt := range []struct{ path, appID string }{
		{"/api/v1/app/app-a/endpoint/ep-a", app.ID},
		{opBase + "/ep-a", internal.ID},
	} {
		h.mustDo(http.StatusNoContent, "POST", tt.path+"/secret/rotate", testAdminToken, `{"gracePeriodSeconds":60}`, nil)
		var s endpointSecretOut
		h.mustDo(http.StatusOK, "GET", tt.path+"/secret", testAdminToken, nil, &s)
		if s.Key == key || checkSecret(s.Key) != "" || !strings.HasPrefix(s.Key, "whsec_") {
			t.Fatalf("%s: secret after rotation %q", tt.path, s.Key)
		}
		ep, err := h.st.GetEndpoint(context.Background(), tt.appID, "ep-a")
		if err != nil {
			t.Fatal(err)
		}
		if len(ep.OldSecrets) != 1 || ep.OldSecrets[0].Secret != key || time.Until(ep.OldSecrets[0].ExpiresAt) > time.Minute {
			t.Fatalf("%s: old secrets %+v", tt.path, ep.OldSecrets)
		}
	}
}

// An operational endpoint reads as a customer endpoint does in each shape,
// less version and channels, which OperationalWebhookEndpointOut has in
// none.
func TestOperationalEndpointShapes(t *testing.T) {
	h := newHarness(t, withEvents)
	h.mustDo(http.StatusCreated, "POST", opBase, testAdminToken,
		`{"url":"https://ops.example.com/a","uid":"ops-a","rateLimit":3,"filterTypes":["endpoint.*"]}`, nil)
	for _, tt := range []struct{ userAgent, want string }{
		{"", "id uid url description throttleRate eventTypes disabled metadata createdAt updatedAt"},
		{"svix-libs/1.44.0/go", "id uid url description rateLimit filterTypes disabled metadata createdAt updatedAt"},
		{"svix-libs/1.45.0/go", "id uid url description rateLimit throttleRate filterTypes disabled metadata createdAt updatedAt"},
	} {
		for _, path := range []string{opBase + "/ops-a", opBase} {
			status, body := h.do("GET", path, testAdminToken, nil, "User-Agent", tt.userAgent)
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, status, body)
			}
			if path == opBase {
				var list struct{ Data []json.RawMessage }
				if err := json.Unmarshal(body, &list); err != nil || len(list.Data) != 1 {
					t.Fatalf("list %s (%v)", body, err)
				}
				body = list.Data[0]
			}
			if got := strings.Join(objectKeys(t, body), " "); got != tt.want {
				t.Errorf("%q GET %s: fields %s, want %s", tt.userAgent, path, got, tt.want)
			}
		}
	}
}

// objectKeys returns the names of a JSON object's fields in their order.
func objectKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s is not an object (%v)", body, err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// opSnapshot lists the default environment's operational endpoints with
// their secrets and headers.
func (h *harness) opSnapshot() string {
	h.t.Helper()
	var b strings.Builder
	status, body := h.do("GET", opBase+"?limit=250", testAdminToken, nil)
	b.Write(body)
	var list listResponse[opEndpointOut]
	if status != http.StatusOK || json.Unmarshal(body, &list) != nil {
		h.t.Fatalf("list: %d %s", status, body)
	}
	for _, e := range list.Data {
		for _, sub := range []string{"/secret", "/headers"} {
			_, body := h.do("GET", opBase+"/"+e.ID+sub, testAdminToken, nil)
			b.Write(body)
		}
	}
	return b.String()
}

func TestOperationalEndpointsAreTheOperators(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t), withEvents)
		ctx := context.Background()
		app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "Acme", Uid: ptr("acme")})
		if err != nil {
			t.Fatal(err)
		}
		visible, err := h.sdk.Application.List(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var ep opEndpointOut
		h.mustDo(http.StatusCreated, "POST", opBase, testAdminToken, `{"url":"https://ops.example.com/hook","uid":"ops"}`, &ep)
		internal := mustInternalApp(t, h.st, hookrelay.DefaultEnvironment)
		portal := h.portalToken(app.Id)
		otherEnv, other := h.newEnvToken("other")

		// Portal tokens are refused every route.
		for _, rt := range []struct{ method, path string }{
			{"GET", opBase}, {"POST", opBase}, {"GET", opBase + "/ops"}, {"PUT", opBase + "/ops"}, {"DELETE", opBase + "/ops"},
			{"GET", opBase + "/ops/secret"}, {"POST", opBase + "/ops/secret/rotate"}, {"GET", opBase + "/ops/headers"}, {"PUT", opBase + "/ops/headers"},
		} {
			status, body := h.do(rt.method, rt.path, portal, `{"url":"https://x.example","headers":{}}`)
			assertErrorBody(t, status, body, "forbidden", nil)
		}

		// Another environment sees none of them, and its own are its own.
		var list listResponse[opEndpointOut]
		h.mustDo(http.StatusOK, "GET", opBase, other, nil, &list)
		if len(list.Data) != 0 {
			t.Fatalf("another environment lists %+v", list.Data)
		}
		for _, id := range []string{ep.ID, "ops"} {
			for _, sub := range []string{"", "/secret", "/headers"} {
				status, body := h.do("GET", opBase+"/"+id+sub, other, nil)
				assertErrorBody(t, status, body, "not_found", nil)
			}
			status, body := h.do("DELETE", opBase+"/"+id, other, nil)
			assertErrorBody(t, status, body, "not_found", nil)
		}
		var otherEp opEndpointOut
		h.mustDo(http.StatusCreated, "POST", opBase, other, `{"url":"https://ops.example.com/other","uid":"ops"}`, &otherEp)
		if mustInternalApp(t, h.st, otherEnv).ID == internal.ID {
			t.Fatal("two environments share an internal application")
		}
		h.mustDo(http.StatusOK, "GET", opBase, testAdminToken, nil, &list)
		if len(list.Data) != 1 || list.Data[0].ID != ep.ID {
			t.Fatalf("default lists %+v", list.Data)
		}

		// The internal application is nowhere among the applications.
		after, err := h.sdk.Application.List(ctx, nil)
		if err != nil || len(after.Data) != len(visible.Data) {
			t.Fatalf("applications after creating operational endpoints: %+v, %v", after, err)
		}
		for _, tok := range []string{testAdminToken, other, portal} {
			for _, rt := range []struct{ method, path, body string }{
				{"GET", "/api/v1/app/" + internal.ID, ""},
				{"PATCH", "/api/v1/app/" + internal.ID, `{"name":"x"}`},
				{"DELETE", "/api/v1/app/" + internal.ID, ""},
				{"GET", "/api/v1/app/" + internal.ID + "/endpoint", ""},
				{"POST", "/api/v1/app/" + internal.ID + "/endpoint", `{"url":"https://x.example"}`},
				{"GET", "/api/v1/app/" + internal.ID + "/endpoint/" + ep.ID, ""},
				{"GET", "/api/v1/app/" + internal.ID + "/endpoint/" + ep.ID + "/secret", ""},
				{"PATCH", "/api/v1/app/" + internal.ID + "/endpoint/" + ep.ID, `{"url":"https://x.example"}`},
				{"DELETE", "/api/v1/app/" + internal.ID + "/endpoint/" + ep.ID, ""},
				{"GET", "/api/v1/app/" + internal.ID + "/msg", ""},
				{"POST", "/api/v1/app/" + internal.ID + "/msg", `{"eventType":"endpoint.created","payload":{}}`},
				{"GET", "/api/v1/app/" + internal.ID + "/attempt/endpoint/" + ep.ID, ""},
				{"POST", "/api/v1/auth/app-portal-access/" + internal.ID, `{}`},
			} {
				status, body := h.do(rt.method, rt.path, tok, rt.body)
				if status != http.StatusNotFound && status != http.StatusForbidden {
					t.Errorf("%s %s with token %.8s…: %d %s, want 404 (or 403 for a portal token)", rt.method, rt.path, tok, status, body)
				}
				if strings.Contains(string(body), ep.ID) {
					t.Errorf("%s %s shows the operational endpoint: %s", rt.method, rt.path, body)
				}
			}
		}
		// PUT of an application named by the internal one's ID cannot
		// create it either: uids shaped like IDs are refused.
		status, body := h.do("PUT", "/api/v1/app/"+internal.ID, testAdminToken, `{"name":"x"}`)
		assertErrorBody(t, status, body, "", []string{"path", "app_id"})
		if _, err := h.st.GetEndpoint(ctx, internal.ID, ep.ID); err != nil {
			t.Fatalf("operational endpoint after the attempts: %v", err)
		}
	})
}

func TestEndpointChangesEmitOperationalEvents(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t), withEvents)
		ctx := context.Background()
		app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "Acme", Uid: ptr("acme")})
		if err != nil {
			t.Fatal(err)
		}
		// Without an operational endpoint nothing is stored, not even the
		// internal application.
		early, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/early"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.st.GetInternalApplication(ctx, hookrelay.DefaultEnvironment); !errors.Is(err, hookrelay.ErrNotFound) {
			t.Fatalf("internal application before any operational endpoint: %v", err)
		}

		h.mustDo(http.StatusCreated, "POST", opBase, testAdminToken, `{"url":"https://ops.example.com/all"}`, nil)
		ep, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/hook", Uid: ptr("hook")})
		if err != nil {
			t.Fatal(err)
		}
		path := "/api/v1/app/" + app.Id + "/endpoint/" + ep.Id
		h.mustDo(http.StatusOK, "PATCH", path, testAdminToken, `{"description":"d"}`, nil)
		h.mustDo(http.StatusOK, "PATCH", path, testAdminToken, `{"disabled":true}`, nil)
		h.mustDo(http.StatusOK, "PATCH", path, testAdminToken, `{"disabled":true}`, nil) // no flip
		h.mustDo(http.StatusOK, "PUT", path, testAdminToken, `{"url":"https://example.com/hook"}`, nil)
		h.mustDo(http.StatusOK, "PUT", path, testAdminToken, `{"url":"https://example.com/hook","disabled":true}`, nil)
		h.mustDo(http.StatusOK, "PATCH", path, testAdminToken, `{"disabled":false}`, nil)
		h.mustDo(http.StatusNoContent, "POST", path+"/secret/rotate", testAdminToken, `{}`, nil)
		h.mustDo(http.StatusCreated, "PUT", "/api/v1/app/"+app.Id+"/endpoint/made-by-put", testAdminToken, `{"url":"https://example.com/put"}`, nil)
		h.mustDo(http.StatusNoContent, "DELETE", path, testAdminToken, nil, nil)
		// Writes that fail emit nothing.
		h.do("PATCH", path, testAdminToken, `{"disabled":true}`)
		h.do("PATCH", "/api/v1/app/"+app.Id+"/endpoint/"+early.Id, testAdminToken, `{"url":"nope"}`)

		evs := h.opEvents(hookrelay.DefaultEnvironment)
		want := []string{
			"endpoint.created",
			"endpoint.updated",
			"endpoint.updated", "endpoint.disabled",
			"endpoint.updated",
			"endpoint.updated", "endpoint.enabled",
			"endpoint.updated", "endpoint.disabled",
			"endpoint.updated", "endpoint.enabled",
			"endpoint.updated",
			"endpoint.created",
			"endpoint.deleted",
		}
		if got := eventTypesOf(evs); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("events:\n got %v\nwant %v", got, want)
		}
		for i, ev := range evs {
			if ev.Payload["type"] != ev.EventType {
				t.Errorf("event %d: payload type %v, want %s", i, ev.Payload["type"], ev.EventType)
			}
			if _, ok := ev.Payload["timestamp"].(string); !ok {
				t.Errorf("event %d: no timestamp in %v", i, ev.Payload)
			}
		}
		data := evs[0].Payload["data"].(map[string]any)
		if data["appId"] != app.Id || data["appUid"] != "acme" || data["endpointId"] != ep.Id || data["endpointUid"] != "hook" || len(data) != 4 {
			t.Fatalf("endpoint.created data = %v", data)
		}
		dis := evs[3].Payload["data"].(map[string]any)
		if dis["trigger"] != "manual" || dis["endpointId"] != ep.Id || dis["failSince"] != nil || len(dis) != 6 {
			t.Fatalf("endpoint.disabled data = %v", dis)
		}
	})
}

func TestOperationalFilterTypesChooseEvents(t *testing.T) {
	h := newHarness(t, withEvents)
	ctx := context.Background()
	h.mustDo(http.StatusCreated, "POST", opBase, testAdminToken, `{"url":"https://ops.example.com/a","filterTypes":["endpoint.deleted"]}`, nil)
	app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/hook"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sdk.Endpoint.Delete(ctx, app.Id, ep.Id); err != nil {
		t.Fatal(err)
	}
	if got := eventTypesOf(h.opEvents(hookrelay.DefaultEnvironment)); strings.Join(got, " ") != "endpoint.deleted" {
		t.Fatalf("events for an endpoint filtering endpoint.deleted: %v", got)
	}
	// A disabled operational endpoint takes nothing, so nothing is stored.
	var list listResponse[opEndpointOut]
	h.mustDo(http.StatusOK, "GET", opBase, testAdminToken, nil, &list)
	h.mustDo(http.StatusOK, "PUT", opBase+"/"+list.Data[0].ID, testAdminToken, `{"url":"https://ops.example.com/a","disabled":true}`, nil)
	if _, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/hook"}); err != nil {
		t.Fatal(err)
	}
	if got := eventTypesOf(h.opEvents(hookrelay.DefaultEnvironment)); len(got) != 1 {
		t.Fatalf("events after disabling the operational endpoint: %v", got)
	}
}
