package api

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// capRoute is a route a portal token may call: the capability it needs
// (Svix's name; "" for the routes about the token itself) and a request
// that succeeds, with status want, for a token that holds it.
type capRoute struct {
	method, pattern string // as registered, and the query of the request
	need            string
	body            string
	want            int
}

// portalRoutes is every route a portal token may call, in an order in
// which one token can run them all (changes last, deleting the endpoint
// and logging out at the very end). TestPortalRoutesNeedTheirCapability
// fails for a registered route missing here.
func portalRoutes() []capRoute {
	const ep = "/api/v1/app/{app_id}/endpoint/{endpoint_id}"
	const msg = "/api/v1/app/{app_id}/msg/{msg_id}"
	const since = `{"since":"2020-01-01T00:00:00Z"}`
	const period = "since=2020-01-01T00:00:00Z&until=2030-01-01T00:00:00Z"
	return []capRoute{
		{"GET", "/api/v1/auth/whoami", "", "", 200},
		{"GET", "/api/v1/app/{app_id}", "ViewBase", "", 200},
		{"GET", "/api/v1/event-type", "ViewBase", "", 200},
		{"GET", "/api/v1/event-type/{event_type_name}", "ViewBase", "", 200},
		{"GET", "/api/v1/app/{app_id}/endpoint", "ViewBase", "", 200},
		{"GET", "/api/v1/app/{app_id}/endpoint-summary?endpoint={endpoint_id}", "ViewBase", "", 200},
		{"GET", ep, "ViewBase", "", 200},
		{"GET", ep + "/headers", "ViewBase", "", 200},
		{"GET", ep + "/options", "ViewBase", "", 200},
		{"GET", ep + "/stats", "ViewBase", "", 200},
		{"GET", ep + "/health", "ViewBase", "", 200},
		{"GET", ep + "/msg", "ViewBase", "", 200},
		{"GET", ep + "/rate-limit-status", "ViewBase", "", 200},
		{"GET", "/api/v1/app/{app_id}/msg", "ViewBase", "", 200},
		{"GET", msg, "ViewBase", "", 200},
		{"GET", msg + "/endpoint", "ViewBase", "", 200},
		{"GET", msg + "/attempt/{attempt_id}", "ViewBase", "", 200},
		{"GET", msg + "/attempt/{attempt_id}/response", "ViewBase", "", 200},
		{"GET", "/api/v1/app/{app_id}/attempt?status=2", "ViewBase", "", 200},
		{"GET", "/api/v1/app/{app_id}/attempt/endpoint/{endpoint_id}", "ViewBase", "", 200},
		{"GET", "/api/v1/app/{app_id}/attempt/msg/{msg_id}", "ViewBase", "", 200},
		{"GET", "/api/v1/app/{app_id}/stats?" + period, "ViewBase", "", 200},
		{"GET", "/api/v1/app/{app_id}/stats/attempts?" + period, "ViewBase", "", 200},
		{"GET", "/api/v1/stats/app/{app_id}/attempt", "ViewBase", "", 200},
		{"GET", "/api/v1/stats/app/{app_id}/ep/{endpoint_id}/attempt", "ViewBase", "", 200},
		{"GET", "/api/v1/app/{app_id}/portal-theme", "ViewBase", "", 200},
		{"GET", "/api/v1/app/{app_id}/background-task/{task_id}", "ViewBase", "", 200},

		{"GET", ep + "/secret", "ViewEndpointSecret", "", 200},
		{"POST", ep + "/secret/rotate", "ManageEndpointSecret", `{}`, 204},

		{"POST", ep + "/send-example", "CreateAttempts", `{"eventType":"contact.created"}`, 202},
		{"POST", ep + "/send-test", "CreateAttempts", `{"eventType":"contact.created","payload":{"a":1}}`, 202},
		{"POST", msg + "/endpoint/{endpoint_id}/resend", "CreateAttempts", ``, 202},
		{"POST", ep + "/recover", "CreateAttempts", since, 202},
		{"POST", ep + "/replay-missing", "CreateAttempts", since, 202},
		{"POST", ep + "/bulk-replay", "CreateAttempts", since, 202},

		{"POST", "/api/v1/app/{app_id}/endpoint", "ManageEndpoint", `{"url":"https://example.com/new"}`, 201},
		{"PUT", ep, "ManageEndpoint", `{"url":"https://example.com/a2"}`, 200},
		{"PATCH", ep, "ManageEndpoint", `{"description":"patched"}`, 200},
		{"PUT", ep + "/headers", "ManageEndpoint", `{"headers":{"X-A":"1"}}`, 204},
		{"PATCH", ep + "/headers", "ManageEndpoint", `{"headers":{"X-B":"2"}}`, 204},
		{"PUT", ep + "/options", "ManageEndpoint", `{"timeoutSeconds":17}`, 200},
		{"PATCH", ep + "/options", "ManageEndpoint", `{"maxInFlight":3}`, 200},
		{"POST", ep + "/cancel-msgs", "ManageEndpoint", `{"createdBefore":"2020-01-01T00:00:00Z"}`, 204},
		{"DELETE", ep, "ManageEndpoint", "", 204},

		{"POST", "/api/v1/auth/logout", "", "", 204},
	}
}

// capFixture is a fixture with a background task of app-a, and the
// placeholders of the routes' patterns filled with its objects.
type capFixture struct {
	*fixture
	paths *strings.Replacer
}

func newCapFixture(t *testing.T, st store.Store) *capFixture {
	f := fixtureOn(t, newHarnessOn(t, st))
	var task struct {
		ID string `json:"id"`
	}
	f.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+f.appA+"/endpoint/"+f.epA+"/recover", testAdminToken,
		`{"since":"2020-01-01T00:00:00Z"}`, &task)
	return &capFixture{fixture: f, paths: strings.NewReplacer("{app_id}", f.appA, "{endpoint_id}", f.epA,
		"{msg_id}", f.msgA, "{attempt_id}", f.attA, "{task_id}", task.ID, "{event_type_name}", "contact.created")}
}

// call makes rt's request with token.
func (f *capFixture) call(rt capRoute, token string) (int, []byte) {
	var body any
	if rt.body != "" {
		body = rt.body
	}
	return f.do(rt.method, f.paths.Replace(rt.pattern), token, body)
}

// tokenWith is a portal token of app-a with the capabilities caps.
func (f *capFixture) tokenWith(caps hookrelay.PortalCapabilities) string {
	f.t.Helper()
	b, _ := json.Marshal(map[string]any{"capabilities": caps.Names()})
	return f.portalTokenWith("app-a", string(b))
}

// assertRefused checks a 403 in Svix's error format naming the capability.
func assertRefused(t *testing.T, rt capRoute, status int, body []byte, need string) {
	t.Helper()
	if status != http.StatusForbidden {
		t.Errorf("%s %s: %d, want 403: %s", rt.method, rt.pattern, status, body)
		return
	}
	assertErrorBody(t, status, body, "forbidden", nil)
	var out errorBody
	if err := json.Unmarshal(body, &out); err != nil || !strings.Contains(out.Detail, need) {
		t.Errorf("%s %s: the refusal %s does not name %s", rt.method, rt.pattern, body, need)
	}
}

// TestPortalRoutesNeedTheirCapability walks every route a portal token may
// call, on both databases, with a token of ViewBase alone and one of
// ViewBase and ManageTransformations (which hookrelay grants nothing by):
// the reads answer, every other route is 403 naming the capability it
// needs, and nothing changes. Every registered route a portal token
// reaches must be listed in portalRoutes with the capability it is
// registered with.
func TestPortalRoutesNeedTheirCapability(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		f := newCapFixture(t, open(t))
		listed := map[string]capRoute{}
		for _, rt := range portalRoutes() {
			path, _, _ := strings.Cut(rt.pattern, "?")
			listed[rt.method+" "+path] = rt
		}
		var registered []string
		for _, r := range f.api.table {
			if r.acc.level != levelApp && r.acc.level != levelCatalog && r.acc.level != levelAny {
				continue
			}
			key := r.method + " " + r.path
			registered = append(registered, key)
			rt, ok := listed[key]
			switch {
			case !ok:
				t.Errorf("%s reaches portal tokens but is not in portalRoutes: say which capability covers it", key)
			case r.acc.need.String() != rt.need:
				t.Errorf("%s is registered needing %q, portalRoutes says %q", key, r.acc.need, rt.need)
			}
		}
		sort.Strings(registered)
		if len(registered) != len(listed) {
			t.Errorf("%d portal routes registered, %d listed: %v", len(registered), len(listed), registered)
		}

		for _, caps := range []hookrelay.PortalCapabilities{
			hookrelay.CapViewBase,
			hookrelay.CapViewBase | hookrelay.CapManageTransformations,
		} {
			t.Run(caps.String(), func(t *testing.T) {
				token := f.tokenWith(caps)
				before := f.snapshot()
				for _, rt := range portalRoutes() {
					status, body := f.call(rt, token)
					if rt.need == "" || rt.need == "ViewBase" {
						if status != rt.want {
							t.Errorf("%s %s: %d, want %d: %s", rt.method, rt.pattern, status, rt.want, body)
						}
						continue
					}
					assertRefused(t, rt, status, body, rt.need)
				}
				if after := f.snapshot(); after != before {
					t.Errorf("refused requests changed something:\n%s\n---\n%s", before, after)
				}
			})
		}
	})
}

// TestPortalCapabilitiesAllowAndRefuse: on both databases, each
// capability lets a portal token (of ViewBase and it alone) make every
// request of its routes, and a token of every other capability is 403 on
// them naming it. ManageEndpointSecret also reads the secret, and
// ManageEndpoint reads and rotates it: a token of ViewBase and either
// makes those requests too.
func TestPortalCapabilitiesAllowAndRefuse(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		f := newCapFixture(t, open(t))
		// ManageEndpoint last: it deletes the endpoint.
		for _, c := range []struct {
			need hookrelay.PortalCapabilities
			// also are the other capabilities that grant need's routes,
			// each of them alone.
			also []hookrelay.PortalCapabilities
		}{
			{hookrelay.CapViewEndpointSecret, []hookrelay.PortalCapabilities{hookrelay.CapManageEndpointSecret, hookrelay.CapManageEndpoint}},
			{hookrelay.CapManageEndpointSecret, []hookrelay.PortalCapabilities{hookrelay.CapManageEndpoint}},
			{hookrelay.CapCreateAttempts, nil},
			{hookrelay.CapManageEndpoint, nil},
		} {
			t.Run(c.need.String(), func(t *testing.T) {
				lacking := hookrelay.AllPortalCapabilities &^ c.need
				for _, a := range c.also {
					lacking &^= a
				}
				without := f.tokenWith(lacking)
				with := f.tokenWith(hookrelay.CapViewBase | c.need)
				n := 0
				for _, rt := range portalRoutes() {
					if rt.need != c.need.String() {
						continue
					}
					n++
					status, body := f.call(rt, without)
					assertRefused(t, rt, status, body, rt.need)
					if status, body := f.call(rt, with); status != rt.want {
						t.Errorf("%s %s with %s: %d, want %d: %s", rt.method, rt.pattern, c.need, status, rt.want, body)
					}
					for _, a := range c.also {
						if status, body := f.call(rt, f.tokenWith(hookrelay.CapViewBase|a)); status != rt.want {
							t.Errorf("%s %s with %s: %d, want %d: %s", rt.method, rt.pattern, a, status, rt.want, body)
						}
					}
				}
				if n == 0 {
					t.Fatalf("no route needs %s", c.need)
				}
			})
		}
	})
}

// TestPortalAccessCapabilitiesStored: on both databases, the token and the
// magic link's session carry the capabilities asked for, in any order,
// and the refusals create nothing.
func TestPortalAccessCapabilitiesStored(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		ctx := context.Background()
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"app-a"}`, nil)
		for _, tt := range []struct {
			body string
			want hookrelay.PortalCapabilities
		}{
			{`{}`, hookrelay.AllPortalCapabilities},
			{`{"capabilities":null}`, hookrelay.AllPortalCapabilities},
			{`{"readOnly":false}`, hookrelay.AllPortalCapabilities},
			{`{"readOnly":true}`, hookrelay.ReadOnlyPortalCapabilities},
			{`{"capabilities":["ViewBase"]}`, hookrelay.CapViewBase},
			{`{"capabilities":["ViewBase"],"readOnly":true}`, hookrelay.CapViewBase},
			{`{"capabilities":["ManageEndpoint","ViewBase"],"readOnly":false}`, hookrelay.CapViewBase | hookrelay.CapManageEndpoint},
			{`{"capabilities":["ViewBase","CreateAttempts","ManageEndpointSecret"]}`,
				hookrelay.CapViewBase | hookrelay.CapCreateAttempts | hookrelay.CapManageEndpointSecret},
			{`{"capabilities":["ViewBase","ManageTransformations"]}`, hookrelay.CapViewBase | hookrelay.CapManageTransformations},
		} {
			var out appPortalAccessOut
			h.mustDo(http.StatusOK, "POST", "/api/v1/auth/app-portal-access/app-a", testAdminToken, tt.body, &out)
			sum := hashToken(out.Token)
			tok, err := h.st.GetTokenByHash(ctx, sum[:])
			if err != nil {
				t.Fatal(err)
			}
			if tok.Capabilities != tt.want {
				t.Errorf("%s: token stored with %v, want %v", tt.body, tok.Capabilities, tt.want)
			}
			code := out.URL[strings.Index(out.URL, "code=")+len("code="):]
			codeSum := hashToken(code)
			ps, err := h.st.GetPortalSessionByCode(ctx, codeSum[:])
			if err != nil {
				t.Fatal(err)
			}
			if ps.Capabilities != tt.want {
				t.Errorf("%s: the magic link's session has %v, want %v", tt.body, ps.Capabilities, tt.want)
			}
		}

		before, err := h.st.CountTokens(ctx, hookrelay.DefaultEnvironment, store.TokenPortal)
		if err != nil {
			t.Fatal(err)
		}
		all := `["ViewBase","ViewEndpointSecret","ManageEndpointSecret","ManageTransformations","CreateAttempts","ManageEndpoint"]`
		for _, tt := range []struct {
			name, body string
			loc        []string
		}{
			{"unknown", `{"capabilities":["ViewBase","Everything"]}`, []string{"body", "capabilities", "1"}},
			{"lower case", `{"capabilities":["viewbase"]}`, []string{"body", "capabilities", "0"}},
			{"without ViewBase", `{"capabilities":["ViewEndpointSecret","ManageEndpoint"]}`, []string{"body", "capabilities"}},
			{"empty", `{"capabilities":[]}`, []string{"body", "capabilities"}},
			{"duplicate", `{"capabilities":["ViewBase","ManageEndpoint","ManageEndpoint"]}`, []string{"body", "capabilities", "2"}},
			{"a string", `{"capabilities":"ViewBase"}`, []string{"body", "capabilities"}},
			{"an object", `{"capabilities":{"ViewBase":true}}`, []string{"body", "capabilities"}},
			{"a number in the list", `{"capabilities":["ViewBase",1]}`, []string{"body", "capabilities"}},
			{"null in the list", `{"capabilities":["ViewBase",null]}`, []string{"body", "capabilities", "1"}},
			{"readOnly true beside every capability", `{"capabilities":` + all + `,"readOnly":true}`, []string{"body", "readOnly"}},
			{"readOnly true beside ManageEndpoint", `{"capabilities":["ViewBase","ManageEndpoint"],"readOnly":true}`, []string{"body", "readOnly"}},
			{"readOnly false beside reading alone", `{"capabilities":["ViewBase","ViewEndpointSecret"],"readOnly":false}`, []string{"body", "readOnly"}},
			{"readOnly of another type", `{"capabilities":["ViewBase"],"readOnly":"yes"}`, []string{"body", "readOnly"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				status, body := h.do("POST", "/api/v1/auth/app-portal-access/app-a", testAdminToken, tt.body)
				if status != http.StatusUnprocessableEntity {
					t.Fatalf("%d, want 422: %s", status, body)
				}
				assertErrorBody(t, status, body, "", tt.loc)
			})
		}
		// Nor is an application made by a refused request.
		status, body := h.do("POST", "/api/v1/auth/app-portal-access/new-app", testAdminToken,
			`{"application":{"name":"New"},"capabilities":["ManageEndpoint"]}`)
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("refused with an application: %d %s", status, body)
		}
		if status, _ := h.do("GET", "/api/v1/app/new-app", testAdminToken, nil); status != http.StatusNotFound {
			t.Errorf("a refused portal access created its application: %d", status)
		}
		after, err := h.st.CountTokens(ctx, hookrelay.DefaultEnvironment, store.TokenPortal)
		if err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Errorf("%d portal tokens after the refusals, want %d", after, before)
		}
	})
}
