package api

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
)

// storedOptions reads an endpoint's options straight from the store.
func (h *harness) storedOptions(appID, epID string) hookrelay.EndpointOptions {
	h.t.Helper()
	ep, err := h.st.GetEndpoint(context.Background(), appID, epID)
	if err != nil {
		h.t.Fatalf("get endpoint: %v", err)
	}
	return ep.Options
}

func TestEndpointOptionsRoute(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "A", Uid: ptr("app-a")})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/a", Uid: ptr("ep-a")})
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/app/app-a/endpoint/ep-a/options"
	byID := "/api/v1/app/" + app.Id + "/endpoint/" + ep.Id + "/options"

	steps := []struct {
		name   string
		method string
		path   string
		body   string
		want   string // the exact response body
		stored hookrelay.EndpointOptions
	}{
		{"defaults", "GET", path, "",
			`{"method":"POST","timeoutSeconds":null,"retrySchedule":null,"maxInFlight":null}`,
			hookrelay.EndpointOptions{}},
		{"put every field, method in lower case", "PUT", path,
			`{"method":"put","timeoutSeconds":10,"retrySchedule":[5,300],"maxInFlight":4}`,
			`{"method":"PUT","timeoutSeconds":10,"retrySchedule":[5,300],"maxInFlight":4}`,
			hookrelay.EndpointOptions{Method: "PUT", TimeoutSeconds: 10, RetrySchedule: []time.Duration{5 * time.Second, 300 * time.Second}, MaxInFlight: 4}},
		{"get by id", "GET", byID, "",
			`{"method":"PUT","timeoutSeconds":10,"retrySchedule":[5,300],"maxInFlight":4}`,
			hookrelay.EndpointOptions{Method: "PUT", TimeoutSeconds: 10, RetrySchedule: []time.Duration{5 * time.Second, 300 * time.Second}, MaxInFlight: 4}},
		{"patch resets one field and changes another", "PATCH", path, `{"timeoutSeconds":null,"maxInFlight":8}`,
			`{"method":"PUT","timeoutSeconds":null,"retrySchedule":[5,300],"maxInFlight":8}`,
			hookrelay.EndpointOptions{Method: "PUT", RetrySchedule: []time.Duration{5 * time.Second, 300 * time.Second}, MaxInFlight: 8}},
		{"patch an empty schedule: no retries", "PATCH", byID, `{"retrySchedule":[]}`,
			`{"method":"PUT","timeoutSeconds":null,"retrySchedule":[],"maxInFlight":8}`,
			hookrelay.EndpointOptions{Method: "PUT", RetrySchedule: []time.Duration{}, MaxInFlight: 8}},
		{"empty patch changes nothing", "PATCH", path, `{}`,
			`{"method":"PUT","timeoutSeconds":null,"retrySchedule":[],"maxInFlight":8}`,
			hookrelay.EndpointOptions{Method: "PUT", RetrySchedule: []time.Duration{}, MaxInFlight: 8}},
		{"patch null schedule: server default again", "PATCH", path, `{"retrySchedule":null,"method":null}`,
			`{"method":"POST","timeoutSeconds":null,"retrySchedule":null,"maxInFlight":8}`,
			hookrelay.EndpointOptions{MaxInFlight: 8}},
		{"put replaces: missing fields take defaults", "PUT", path, `{"timeoutSeconds":60}`,
			`{"method":"POST","timeoutSeconds":60,"retrySchedule":null,"maxInFlight":null}`,
			hookrelay.EndpointOptions{TimeoutSeconds: 60}},
		{"put of the bounds", "PUT", path, `{"method":"POST","timeoutSeconds":1,"retrySchedule":[1,86400],"maxInFlight":1000}`,
			`{"method":"POST","timeoutSeconds":1,"retrySchedule":[1,86400],"maxInFlight":1000}`,
			hookrelay.EndpointOptions{Method: "POST", TimeoutSeconds: 1, RetrySchedule: []time.Duration{time.Second, 86400 * time.Second}, MaxInFlight: 1000}},
		{"empty put body resets everything", "PUT", path, ``,
			`{"method":"POST","timeoutSeconds":null,"retrySchedule":null,"maxInFlight":null}`,
			hookrelay.EndpointOptions{}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var body any
			if st.body != "" {
				body = st.body
			}
			status, out := h.do(st.method, st.path, testAdminToken, body)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, out)
			}
			if got := strings.TrimSpace(string(out)); got != st.want {
				t.Errorf("body %s, want %s", got, st.want)
			}
			if got := h.storedOptions(app.Id, ep.Id); !reflect.DeepEqual(got, st.stored) {
				t.Errorf("stored %#v, want %#v", got, st.stored)
			}
		})
	}

	// The endpoint object stays Svix's: the strict SDK still reads it.
	h.mustDo(http.StatusOK, "PUT", path, testAdminToken, `{"method":"PUT","maxInFlight":2}`, nil)
	if got, err := h.sdk.Endpoint.Get(ctx, app.Id, ep.Id); err != nil || got.Url != "https://example.com/a" {
		t.Errorf("SDK get after options: %+v %v", got, err)
	}
	if list, err := h.sdk.Endpoint.List(ctx, app.Id, nil); err != nil || len(list.Data) != 1 {
		t.Errorf("SDK list after options: %+v %v", list, err)
	}
}

func TestEndpointOptionsInEndpointBodies(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "A", Uid: ptr("app-a")})
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/app/app-a/endpoint"

	// Create with options: the response is exactly an EndpointOut.
	status, out := h.do("POST", base, testAdminToken,
		`{"url":"https://example.com/a","uid":"ep-a","options":{"method":"PUT","timeoutSeconds":5,"retrySchedule":[1,2],"maxInFlight":3}}`,
		"User-Agent", goSDKUserAgent)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, out)
	}
	var created svix.EndpointOut
	dec := json.NewDecoder(strings.NewReader(string(out)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&created); err != nil {
		t.Fatalf("create answered more than an EndpointOut: %s (%v)", out, err)
	}
	want := hookrelay.EndpointOptions{Method: "PUT", TimeoutSeconds: 5, RetrySchedule: []time.Duration{time.Second, 2 * time.Second}, MaxInFlight: 3}
	if got := h.storedOptions(app.Id, created.Id); !reflect.DeepEqual(got, want) {
		t.Fatalf("created with %#v, want %#v", got, want)
	}

	// PUT of the endpoint without options keeps them (Svix clients do not
	// know them); with options it replaces them.
	h.mustDo(http.StatusOK, "PUT", base+"/ep-a", testAdminToken, `{"url":"https://example.com/b"}`, nil)
	if got := h.storedOptions(app.Id, created.Id); !reflect.DeepEqual(got, want) {
		t.Errorf("PUT without options changed them to %#v", got)
	}
	h.mustDo(http.StatusOK, "PUT", base+"/ep-a", testAdminToken, `{"url":"https://example.com/b","options":{"maxInFlight":9}}`, nil)
	if got := h.storedOptions(app.Id, created.Id); !reflect.DeepEqual(got, hookrelay.EndpointOptions{MaxInFlight: 9}) {
		t.Errorf("PUT with options: %#v", got)
	}

	// PATCH merges; a null options object resets them all.
	h.mustDo(http.StatusOK, "PATCH", base+"/ep-a", testAdminToken, `{"options":{"timeoutSeconds":20}}`, nil)
	if got := h.storedOptions(app.Id, created.Id); !reflect.DeepEqual(got, hookrelay.EndpointOptions{TimeoutSeconds: 20, MaxInFlight: 9}) {
		t.Errorf("PATCH with options: %#v", got)
	}
	h.mustDo(http.StatusOK, "PATCH", base+"/ep-a", testAdminToken, `{"description":"x"}`, nil)
	if got := h.storedOptions(app.Id, created.Id); !reflect.DeepEqual(got, hookrelay.EndpointOptions{TimeoutSeconds: 20, MaxInFlight: 9}) {
		t.Errorf("PATCH without options changed them to %#v", got)
	}
	h.mustDo(http.StatusOK, "PATCH", base+"/ep-a", testAdminToken, `{"options":null}`, nil)
	if got := h.storedOptions(app.Id, created.Id); !reflect.DeepEqual(got, hookrelay.EndpointOptions{}) {
		t.Errorf("PATCH with null options: %#v", got)
	}

	// PUT creating an endpoint takes options too.
	h.mustDo(http.StatusCreated, "PUT", base+"/ep-new", testAdminToken, `{"url":"https://example.com/n","options":{"retrySchedule":[]}}`, nil)
	fresh, err := h.st.GetEndpoint(ctx, app.Id, "ep-new")
	if err != nil || fresh.Options.RetrySchedule == nil || len(fresh.Options.RetrySchedule) != 0 {
		t.Errorf("PUT creating with options: %+v %v", fresh, err)
	}
}

func TestPortalTokenReadsAndChangesOwnOptions(t *testing.T) {
	f := newFixture(t)
	portalA := f.portalToken("app-a")
	path := "/api/v1/app/app-a/endpoint/ep-a/options"
	h := f.harness
	h.mustDo(http.StatusOK, "PATCH", path, portalA, `{"timeoutSeconds":15}`, nil)
	var out endpointOptionsOut
	h.mustDo(http.StatusOK, "GET", path, portalA, nil, &out)
	if out.TimeoutSeconds == nil || *out.TimeoutSeconds != 15 {
		t.Errorf("portal reads %+v", out)
	}
	if status, body := h.do("GET", path, f.portalB, nil); status != http.StatusNotFound {
		t.Errorf("portal of another app: %d %s", status, body)
	}
}

func TestEndpointLimitPerApplication(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxEndpointsPerApp = 3 })
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"app-a"}`, nil)
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"B","uid":"app-b"}`, nil)
	var ids []string
	for i := 0; i < 3; i++ {
		var ep endpointOut
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app/app-a/endpoint", testAdminToken, `{"url":"https://example.com/a"}`, &ep)
		ids = append(ids, ep.ID)
	}
	before := h.snapshot()
	for _, tt := range []struct{ name, method, path string }{
		{"create", "POST", "/api/v1/app/app-a/endpoint"},
		{"put creating", "PUT", "/api/v1/app/app-a/endpoint/ep-four"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.do(tt.method, tt.path, testAdminToken, `{"url":"https://example.com/a"}`)
			if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "application has reached its limit of 3 endpoints") {
				t.Fatalf("over the limit: %d %s", status, body)
			}
			assertErrorBody(t, status, body, "", []string{"path", "app_id"})
		})
	}
	if h.snapshot() != before {
		t.Error("a refused create changed state")
	}
	// Updating an endpoint is not creating one.
	h.mustDo(http.StatusOK, "PUT", "/api/v1/app/app-a/endpoint/"+ids[0], testAdminToken, `{"url":"https://example.com/b"}`, nil)
	// Other applications have their own count.
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app/app-b/endpoint", testAdminToken, `{"url":"https://example.com/b"}`, nil)
	// Deleting one makes room.
	h.mustDo(http.StatusNoContent, "DELETE", "/api/v1/app/app-a/endpoint/"+ids[1], testAdminToken, nil, nil)
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app/app-a/endpoint", testAdminToken, `{"url":"https://example.com/a"}`, nil)
}

func TestEndpointHeaderLimitsAtTheBounds(t *testing.T) {
	f := newFixture(t)
	ep := "/api/v1/app/app-a/endpoint/ep-a/headers"
	// Exactly at every bound is accepted: 20 headers, one with a 256-byte
	// name, one with a 4096-byte value, 16 KiB in all.
	headers := map[string]string{}
	headers[headerName(0, 256)] = "v"
	headers[headerName(1, 10)] = strings.Repeat("v", 4096)
	total := 256 + 1 + 10 + 4096
	for i := 2; i < 19; i++ {
		headers[headerName(i, 10)] = strings.Repeat("v", 500)
		total += 10 + 500
	}
	last := headerName(19, 10)
	headers[last] = strings.Repeat("v", 16<<10-total-len(last))
	f.mustDo(http.StatusNoContent, "PUT", ep, testAdminToken, map[string]any{"headers": headers}, nil)
	stored, err := f.st.GetEndpoint(context.Background(), f.appA, f.epA)
	if err != nil || !reflect.DeepEqual(stored.Headers, headers) {
		t.Fatalf("stored headers differ: %v", err)
	}
	// One byte more is refused.
	headers[last] += "v"
	status, body := f.do("PUT", ep, testAdminToken, map[string]any{"headers": headers})
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "16384") {
		t.Errorf("one byte over: %d %s", status, body)
	}
	// So is a 21st header, even through PATCH.
	status, body = f.do("PATCH", ep, testAdminToken, `{"headers":{"X-One-More":"v"}}`)
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "at most 20 custom headers") {
		t.Errorf("21st header: %d %s", status, body)
	}
	// Removing and adding in one PATCH counts the result.
	f.mustDo(http.StatusNoContent, "PATCH", ep, testAdminToken, map[string]any{"headers": map[string]any{last: nil, "X-One-More": "v"}}, nil)
}

func TestPortalTokenScope(t *testing.T) {
	f := newFixture(t)
	portalA := f.portalToken("app-a")
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		want   int
	}{
		{"reads the event type catalog", "GET", "/api/v1/event-type", "", http.StatusOK},
		{"reads one event type", "GET", "/api/v1/event-type/contact.created", "", http.StatusOK},
		{"creates no event type", "POST", "/api/v1/event-type", `{"name":"x","description":"d"}`, http.StatusForbidden},
		{"changes no event type", "PATCH", "/api/v1/event-type/contact.created", `{"description":"x"}`, http.StatusForbidden},
		{"deletes no event type", "DELETE", "/api/v1/event-type/contact.created", "", http.StatusForbidden},
		{"does not publish", "POST", "/api/v1/app/app-a/msg", `{"eventType":"a","payload":{}}`, http.StatusForbidden},
		{"does not expunge messages", "DELETE", "/api/v1/app/app-a/msg/" + f.msgA + "/content", "", http.StatusForbidden},
		{"does not expunge attempts", "DELETE", "/api/v1/app/app-a/msg/" + f.msgA + "/attempt/" + f.attA + "/content", "", http.StatusForbidden},
		{"does not rename its app", "PUT", "/api/v1/app/app-a", `{"name":"x"}`, http.StatusForbidden},
		{"reads its app", "GET", "/api/v1/app/app-a", "", http.StatusOK},
		{"reads its messages", "GET", "/api/v1/app/app-a/msg", "", http.StatusOK},
		{"reads its attempts", "GET", "/api/v1/app/app-a/attempt/endpoint/ep-a", "", http.StatusOK},
		{"sends a test event", "POST", "/api/v1/app/app-a/endpoint/ep-a/send-example", `{"eventType":"contact.created"}`, http.StatusAccepted},
		{"resends", "POST", "/api/v1/app/app-a/msg/" + f.msgA + "/endpoint/ep-a/resend", "", http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			status, out := f.do(tt.method, tt.path, portalA, body)
			if status != tt.want {
				t.Fatalf("status %d, want %d: %s", status, tt.want, out)
			}
			if status >= 400 {
				assertErrorBody(t, status, out, "forbidden", nil)
			}
		})
	}
}
