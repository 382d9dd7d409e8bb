package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
)

// isolation is a fixture with a second message, an endpoint and a message
// in app-b, attempts for both, and distinctive values everywhere in app-a
// so that a response leaking any of them is caught.
type isolation struct {
	*fixture
	msgA2, attA2     string // app-a's message (eventId evt-2) with a marked payload, and its attempt
	epB, msgB, attB  string
	secretA, secretB string
	// leakA are values of app-a and the default environment that another
	// environment, another application or a portal token of app-b must
	// never see; catalogA those of the event type catalog, which only other
	// environments must not see.
	leakA    []string
	catalogA []string
	leakB    []string
}

func newIsolation(t *testing.T) *isolation {
	f := newFixture(t)
	ctx := context.Background()
	c := f.sdk
	iso := &isolation{fixture: f}

	f.mustDo(http.StatusOK, "PATCH", "/api/v1/app/"+f.appA, testAdminToken, `{"name":"app-name-marker-a"}`, nil)
	f.mustDo(http.StatusOK, "PATCH", "/api/v1/app/"+f.appA+"/endpoint/"+f.epA, testAdminToken, `{"description":"desc-marker-a"}`, nil)
	f.mustDo(http.StatusNoContent, "PUT", "/api/v1/app/"+f.appA+"/endpoint/"+f.epA+"/headers", testAdminToken,
		`{"headers":{"X-Tenant":"tenant-marker-a","Authorization":"Bearer auth-marker-a"}}`, nil)
	f.mustDo(http.StatusOK, "PUT", "/api/v1/app/"+f.appA+"/endpoint/"+f.epA+"/options", testAdminToken, `{"timeoutSeconds":17}`, nil)
	f.mustDo(http.StatusOK, "PATCH", "/api/v1/event-type/contact.created", testAdminToken, `{"description":"catalog-marker-a"}`, nil)

	epB, err := c.Endpoint.Create(ctx, f.appB, &svix.EndpointIn{Url: "https://example.com/b", Uid: ptr("ep-b"), Description: ptr("desc-marker-b")})
	if err != nil {
		t.Fatal(err)
	}
	iso.epB = epB.Id
	m2, err := c.Message.Create(ctx, f.appA, &svix.MessageIn{EventType: "contact.created", EventId: ptr("evt-2"), Payload: map[string]any{"marker": "payload-marker-a"}})
	if err != nil {
		t.Fatal(err)
	}
	iso.msgA2 = m2.Id
	mb, err := c.Message.Create(ctx, f.appB, &svix.MessageIn{EventType: "contact.created", EventId: ptr("evt-b"), Payload: map[string]any{"marker": "payload-marker-b"}})
	if err != nil {
		t.Fatal(err)
	}
	iso.msgB = mb.Id
	for _, a := range f.makeAttempts(hookrelay.StatusFail, 500, "response-marker") {
		switch a.MsgID {
		case iso.msgA2:
			iso.attA2 = a.ID
		case iso.msgB:
			iso.attB = a.ID
		}
	}
	if iso.attA2 == "" || iso.attB == "" {
		t.Fatal("no attempts for the new messages")
	}
	sa, err := c.Endpoint.GetSecret(ctx, f.appA, f.epA)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := c.Endpoint.GetSecret(ctx, f.appB, iso.epB)
	if err != nil {
		t.Fatal(err)
	}
	iso.secretA, iso.secretB = sa.Key, sb.Key
	iso.leakA = []string{f.appA, f.epA, f.msgA, f.attA, iso.msgA2, iso.attA2, iso.secretA,
		"app-name-marker-a", "desc-marker-a", "tenant-marker-a", "auth-marker-a", "payload-marker-a"}
	iso.catalogA = []string{"catalog-marker-a", "contactId"}
	iso.leakB = []string{f.appB, iso.epB, iso.msgB, iso.attB, iso.secretB, "desc-marker-b", "payload-marker-b"}
	return iso
}

// isoRoute is one operation, its path written with {app}, {ep}, {msg} and
// {att} for app-a's objects.
type isoRoute struct {
	method, path, body string
	admin              bool   // admin tokens only: 403 for every portal token
	catalog            bool   // an event type route: no application in the path
	list               bool   // a listing: other scopes get 200 showing nothing of app-a
	upsert             bool   // PUT that creates the missing object in the caller's scope
	leavesOut          bool   // names {ep} in its query: 200 leaving out what is not the application's
	want               int    // status for app-a's admin
	shows              string // what app-a's admin sees in the answer (checks the listing)
}

func (r isoRoute) has(ph string) bool { return strings.Contains(r.path, ph) }

func TestIsolationAcrossEnvironmentsAndApplications(t *testing.T) {
	iso := newIsolation(t)
	f := iso.fixture
	portalA := f.portalToken("app-a")
	readOnlyA := f.portalTokenWith("app-a", `{"readOnly":true}`)
	readOnlyB := f.portalTokenWith("app-b", `{"readOnly":true}`)
	schemas, _ := json.Marshal(exampleSchemas())
	const ep = "/api/v1/app/{app}/endpoint/{ep}"
	const msg = "/api/v1/app/{app}/msg/{msg}"

	// In an order in which app-a's admin can run them all, the destructive
	// ones last.
	routes := []isoRoute{
		{method: "GET", path: "/api/v1/app", admin: true, list: true, want: 200, shows: "{app}"},
		{method: "GET", path: "/api/v1/app/{app}", want: 200},
		{method: "PATCH", path: "/api/v1/app/{app}", body: `{"metadata":{"k":"v"}}`, admin: true, want: 200},
		{method: "PUT", path: "/api/v1/app/{app}", body: `{"name":"app-name-marker-a"}`, admin: true, upsert: true, want: 200},

		{method: "GET", path: "/api/v1/event-type", catalog: true, list: true, want: 200, shows: "contact.created"},
		{method: "GET", path: "/api/v1/event-type/contact.created", catalog: true, want: 200},
		{method: "PATCH", path: "/api/v1/event-type/contact.created", body: `{"deprecated":false}`, catalog: true, admin: true, want: 200},
		{method: "PUT", path: "/api/v1/event-type/contact.created", body: `{"description":"catalog-marker-a","schemas":` + string(schemas) + `}`, catalog: true, admin: true, upsert: true, want: 200},

		{method: "GET", path: "/api/v1/app/{app}/endpoint", list: true, want: 200, shows: "{ep}"},
		{method: "GET", path: "/api/v1/app/{app}/endpoint-summary?endpoint={ep}", leavesOut: true, want: 200, shows: "{ep}"},
		{method: "POST", path: "/api/v1/app/{app}/endpoint", body: `{"url":"https://example.com/new"}`, want: 201},
		{method: "GET", path: ep, want: 200},
		{method: "PUT", path: ep, body: `{"url":"https://example.com/a","description":"desc-marker-a"}`, upsert: true, want: 200},
		{method: "PATCH", path: ep, body: `{"description":"desc-marker-a"}`, want: 200},
		{method: "GET", path: ep + "/headers", want: 200, shows: "tenant-marker-a"},
		{method: "PUT", path: ep + "/headers", body: `{"headers":{"X-Tenant":"tenant-marker-a","Authorization":"Bearer auth-marker-a"}}`, want: 204},
		{method: "PATCH", path: ep + "/headers", body: `{"headers":{"X-Other":"1"}}`, want: 204},
		{method: "GET", path: ep + "/options", want: 200, shows: "17"},
		{method: "PUT", path: ep + "/options", body: `{"timeoutSeconds":17}`, want: 200},
		{method: "PATCH", path: ep + "/options", body: `{"maxInFlight":3}`, want: 200},
		{method: "GET", path: ep + "/secret", want: 200, shows: "{secret}"},
		{method: "GET", path: ep + "/stats", want: 200},
		{method: "GET", path: ep + "/msg", want: 200, shows: "{msg}"},
		{method: "POST", path: ep + "/send-example", body: `{"eventType":"contact.created"}`, want: 202},
		{method: "POST", path: ep + "/recover", body: `{"since":"2020-01-01T00:00:00Z"}`, want: 202},

		{method: "GET", path: "/api/v1/app/{app}/msg", list: true, want: 200, shows: "payload-marker-a"},
		{method: "POST", path: "/api/v1/app/{app}/msg", body: `{"eventType":"contact.created","payload":{}}`, admin: true, want: 202},
		{method: "GET", path: msg, want: 200, shows: "payload-marker-a"},
		{method: "GET", path: msg + "/endpoint", want: 200, shows: "{ep}"},
		{method: "GET", path: msg + "/attempt/{att}", want: 200, shows: "response-marker"},
		{method: "GET", path: msg + "/attempt/{att}/response", want: 200, shows: "response-marker"},
		{method: "GET", path: "/api/v1/app/{app}/attempt/endpoint/{ep}", want: 200, shows: "{att}"},
		{method: "GET", path: "/api/v1/app/{app}/attempt/msg/{msg}", want: 200, shows: "{att}"},
		{method: "GET", path: "/api/v1/app/{app}/attempt?status=2", list: true, want: 200, shows: "{att}"},
		{method: "POST", path: msg + "/endpoint/{ep}/resend", want: 202},
		{method: "POST", path: "/api/v1/auth/app-portal-access/{app}", body: `{}`, admin: true, want: 200},
		{method: "POST", path: ep + "/secret/rotate", body: `{}`, want: 204},

		{method: "DELETE", path: msg + "/attempt/{att}/content", admin: true, want: 204},
		{method: "DELETE", path: msg + "/content", admin: true, want: 204},
		{method: "DELETE", path: ep, want: 204},
		{method: "DELETE", path: "/api/v1/event-type/contact.created", catalog: true, admin: true, want: 204},
		{method: "DELETE", path: "/api/v1/app/{app}", admin: true, want: 204},
	}

	ids := func(app, ep, msg, att string) *strings.Replacer {
		return strings.NewReplacer("{app}", app, "{ep}", ep, "{msg}", msg, "{att}", att, "{secret}", iso.secretA)
	}
	own := ids(f.appA, f.epA, iso.msgA2, iso.attA2)
	ownUIDs := ids("app-a", "ep-a", "evt-2", iso.attA2)
	crossApp := ids(f.appB, f.epA, iso.msgA2, iso.attA2)
	foreignEp := ids(f.appA, iso.epB, iso.msgA2, iso.attA2)
	foreignMsg := ids(f.appA, f.epA, iso.msgB, iso.attA2)
	foreignAtt := ids(f.appA, f.epA, iso.msgA2, iso.attB)

	// variant is one way of reaching app-a's route from outside.
	type variant struct {
		name   string
		token  string
		paths  *strings.Replacer
		status func(isoRoute) int // 0: does not apply
		leaks  []string
	}
	outsideA := append(append([]string{}, iso.leakA...), iso.catalogA...)
	variants := []variant{
		{"expired token", f.expiredToken, own, func(isoRoute) int { return 401 }, outsideA},
		{"other environment by id", f.otherEnv, own, otherEnvStatus, outsideA},
		{"other environment by uid", f.otherEnv, ownUIDs, otherEnvStatus, outsideA},
		{"portal of another app", f.portalB, own, func(r isoRoute) int {
			switch {
			case r.admin:
				return 403
			case r.catalog:
				return 200 // the catalog is the environment's, not app-a's
			}
			return 404
		}, iso.leakA},
		{"portal of the app, admin route", portalA, own, func(r isoRoute) int {
			if r.admin {
				return 403
			}
			return 0
		}, iso.leakB},
		// A read-only portal token reads what a portal token reads; every
		// other method is 403, whichever application the path names.
		{"read-only portal of the app", readOnlyA, own, func(r isoRoute) int {
			if r.admin || r.method != "GET" {
				return 403
			}
			return r.want
		}, iso.leakB},
		{"read-only portal of another app", readOnlyB, own, func(r isoRoute) int {
			switch {
			case r.admin || r.method != "GET":
				return 403
			case r.catalog:
				return 200
			}
			return 404
		}, iso.leakA},
		{"app-a's objects under app-b", testAdminToken, crossApp, func(r isoRoute) int {
			switch {
			case !r.has("{app}") || r.upsert:
				return 0
			case r.leavesOut:
				return 200
			case r.has("{ep}") || r.has("{msg}"):
				return 404
			case r.list:
				return 200
			}
			return 0
		}, iso.leakA},
		{"app-b's endpoint under app-a", testAdminToken, foreignEp, foreignStatus("{ep}"), iso.leakB},
		{"app-b's message under app-a", testAdminToken, foreignMsg, foreignStatus("{msg}"), iso.leakB},
		{"app-b's attempt under app-a", testAdminToken, foreignAtt, foreignStatus("{att}"), iso.leakB},
	}

	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			before := f.snapshot()
			for _, v := range variants {
				want := v.status(rt)
				if want == 0 {
					continue
				}
				path := v.paths.Replace(rt.path)
				var body any
				if rt.body != "" {
					body = rt.body
				}
				status, out := f.do(rt.method, path, v.token, body)
				if status != want {
					t.Errorf("%s: %s %s: status %d, want %d: %s", v.name, rt.method, path, status, want, out)
					continue
				}
				if status >= 400 {
					assertErrorBody(t, status, out, "", nil)
				}
				for _, s := range v.leaks {
					if strings.Contains(string(out), s) {
						t.Errorf("%s: %s %s: answer shows %q: %s", v.name, rt.method, path, s, out)
					}
				}
			}
			if after := f.snapshot(); after != before {
				t.Errorf("state changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}

	// Control: app-a's own admin reaches every route, and the listings that
	// showed nothing above do show app-a's objects to it.
	for _, rt := range routes {
		path := own.Replace(rt.path)
		var body any
		if rt.body != "" {
			body = rt.body
		}
		status, out := f.do(rt.method, path, testAdminToken, body)
		if status != rt.want {
			t.Errorf("control %s %s: status %d, want %d: %s", rt.method, path, status, rt.want, out)
			continue
		}
		if rt.shows != "" && !strings.Contains(string(out), own.Replace(rt.shows)) {
			t.Errorf("control %s %s: answer lacks %q: %s", rt.method, path, own.Replace(rt.shows), out)
		}
	}
}

// otherEnvStatus is what an admin token of another environment gets: 404
// for anything of app-a or the catalog, an empty listing for listings.
func otherEnvStatus(r isoRoute) int {
	switch {
	case r.upsert:
		return 0 // creates in its own environment: TestUpsertsStayInTheirScope
	case r.list && !r.has("{app}"):
		return 200
	}
	return 404
}

// foreignStatus applies to routes with the placeholder ph, which then names
// an object of app-b: 404 (PUT of an endpoint would create one instead; the
// summary route leaves it out of a 200).
func foreignStatus(ph string) func(isoRoute) int {
	return func(r isoRoute) int {
		switch {
		case r.has(ph) && r.leavesOut:
			return 200 // app-b's object is left out: the answer shows nothing of it
		case r.has(ph) && !r.upsert:
			return 404
		}
		return 0
	}
}

// TestUpsertsStayInTheirScope: operations that create what they do not find
// create it in the caller's environment or application and leave the
// namesake elsewhere alone.
func TestUpsertsStayInTheirScope(t *testing.T) {
	iso := newIsolation(t)
	f := iso.fixture
	before := f.snapshot()

	check := func(name string, status int, out []byte, want int) {
		t.Helper()
		if status != want {
			t.Errorf("%s: status %d, want %d: %s", name, status, want, out)
		}
		for _, s := range append(append([]string{}, iso.leakA...), iso.catalogA...) {
			if strings.Contains(string(out), s) {
				t.Errorf("%s: answer shows %q: %s", name, s, out)
			}
		}
	}
	status, out := f.do("PUT", "/api/v1/app/app-a", f.otherEnv, `{"name":"sandbox copy"}`)
	check("PUT app in another environment", status, out, 201)
	status, out = f.do("PUT", "/api/v1/event-type/contact.created", f.otherEnv, `{"description":"sandbox"}`)
	check("PUT event type in another environment", status, out, 201)
	status, out = f.do("POST", "/api/v1/app/app-b2/msg", f.otherEnv, `{"eventType":"contact.created","payload":{},"application":{"name":"b2"}}`)
	check("publish creating an app in another environment", status, out, 202)
	var access appPortalAccessOut
	status, out = f.do("POST", "/api/v1/auth/app-portal-access/app-a", f.otherEnv, `{"application":{"name":"x"}}`)
	check("portal access in another environment", status, out, 200)
	if err := json.Unmarshal(out, &access); err != nil {
		t.Fatal(err)
	}
	status, out = f.do("GET", "/api/v1/app/app-a", access.Token, nil)
	check("that portal token reads its app", status, out, 200)
	status, out = f.do("PUT", "/api/v1/app/app-b/endpoint/ep-a", testAdminToken, `{"url":"https://example.com/b2"}`)
	check("PUT endpoint under another app", status, out, 201)

	// The default environment's app-a is as it was; app-b gained ep-a.
	after := f.snapshot()
	var eps listResponse[endpointOut]
	f.mustDo(http.StatusOK, "GET", "/api/v1/app/app-b/endpoint", testAdminToken, nil, &eps)
	if len(eps.Data) != 2 {
		t.Errorf("app-b has %d endpoints, want 2", len(eps.Data))
	}
	beforeA := sectionOf(before, "/api/v1/app/"+f.appA+"/")
	if afterA := sectionOf(after, "/api/v1/app/"+f.appA+"/"); afterA != beforeA || beforeA == "" {
		t.Errorf("app-a changed:\nbefore %s\nafter  %s", beforeA, afterA)
	}
	if !strings.Contains(after, "catalog-marker-a") {
		t.Error("the default environment's event type changed")
	}
}

// sectionOf returns the lines of a snapshot about paths starting with prefix.
func sectionOf(snapshot, prefix string) string {
	var b strings.Builder
	for _, line := range strings.Split(snapshot, "\n") {
		if strings.HasPrefix(line, prefix) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
