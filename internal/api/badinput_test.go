package api

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// fixture is a populated server: app-a with endpoint ep-a, a message evt-1
// delivered to it with one attempt, event type contact.created, app-b, and
// tokens of every kind.
type fixture struct {
	*harness
	appA, appB   string // IDs
	epA          string
	msgA         string
	attA         string
	otherEnv     string // admin token of another environment
	portalB      string // portal token of app-b
	expiredToken string // expired portal token of app-a
}

func newFixture(t *testing.T, mods ...func(*Config)) *fixture {
	return fixtureOn(t, newHarness(t, mods...))
}

// fixtureOn populates h as newFixture does.
func fixtureOn(t *testing.T, h *harness) *fixture {
	ctx := context.Background()
	c := h.sdk
	f := &fixture{harness: h}
	a, err := c.Application.Create(ctx, &svix.ApplicationIn{Name: "A", Uid: ptr("app-a")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Application.Create(ctx, &svix.ApplicationIn{Name: "B", Uid: ptr("app-b")})
	if err != nil {
		t.Fatal(err)
	}
	f.appA, f.appB = a.Id, b.Id
	ep, err := c.Endpoint.Create(ctx, a.Id, &svix.EndpointIn{Url: "https://example.com/a", Uid: ptr("ep-a")})
	if err != nil {
		t.Fatal(err)
	}
	f.epA = ep.Id
	if err := c.Endpoint.UpdateHeaders(ctx, a.Id, ep.Id, &svix.EndpointHeadersIn{Headers: map[string]string{"X-Tenant": "a", "X-Webhook-Token": "t"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EventType.Create(ctx, &svix.EventTypeIn{Name: "contact.created", Description: "d", Schemas: exampleSchemas()}); err != nil {
		t.Fatal(err)
	}
	msg, err := c.Message.Create(ctx, a.Id, &svix.MessageIn{EventType: "contact.created", EventId: ptr("evt-1"), Payload: map[string]any{"a": 1}})
	if err != nil {
		t.Fatal(err)
	}
	f.msgA = msg.Id
	atts := h.makeAttempts(hookrelay.StatusSuccess, 200, "ok")
	if len(atts) != 1 {
		t.Fatalf("made %d attempts, want 1", len(atts))
	}
	f.attA = atts[0].ID
	_, f.otherEnv = h.newEnvToken("other")
	f.portalB = h.portalToken("app-b")

	f.expiredToken = "hrp_expiredexpiredexpiredexpired00"
	sum := sha256.Sum256([]byte(f.expiredToken))
	past := time.Now().Add(-time.Minute)
	if err := h.st.CreateToken(ctx, &store.Token{
		ID: hookrelay.NewID(hookrelay.PrefixToken), EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenPortal,
		AppID: a.Id, Hash: sum[:], ExpiresAt: &past, CreatedAt: past.Add(-time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

type badCase struct {
	name   string
	method string
	path   string
	token  string // "" means no Authorization header; "admin" the admin token
	body   string
	status int
	code   string // for HttpErrorOut bodies
	loc    string // for 422: one entry must have this loc, dot-joined
}

func TestBadInputChangesNothing(t *testing.T) {
	f := newFixture(t)
	const admin = "admin"
	appA := "/api/v1/app/app-a"
	ep := appA + "/endpoint/ep-a"
	msg := appA + "/msg/" + f.msgA
	long := strings.Repeat("x", 257)
	elevenChannels := `["a","b","c","d","e","f","g","h","i","j","k"]`

	cases := []badCase{
		// Authentication, on every family.
		{"no token", "GET", "/api/v1/app", "", "", 401, "authentication_failed", ""},
		{"unknown token", "GET", "/api/v1/event-type", "nope", "", 401, "authentication_failed", ""},
		{"expired token", "GET", ep, f.expiredToken, "", 401, "authentication_failed", ""},
		{"no token on publish", "POST", appA + "/msg", "", `{"eventType":"a","payload":{}}`, 401, "authentication_failed", ""},
		{"no token on attempts", "GET", appA + "/attempt/endpoint/ep-a", "", "", 401, "authentication_failed", ""},
		{"no token on portal access", "POST", "/api/v1/auth/app-portal-access/app-a", "", `{}`, 401, "authentication_failed", ""},
		{"no token on logout", "POST", "/api/v1/auth/logout", "", "", 401, "authentication_failed", ""},

		// Another environment sees nothing of this one.
		{"foreign env app", "GET", appA, f.otherEnv, "", 404, "not_found", ""},
		{"foreign env delete app", "DELETE", appA, f.otherEnv, "", 404, "not_found", ""},
		{"foreign env endpoint", "PATCH", ep, f.otherEnv, `{"url":"https://evil.example"}`, 404, "not_found", ""},
		{"foreign env publish", "POST", appA + "/msg", f.otherEnv, `{"eventType":"a","payload":{}}`, 404, "not_found", ""},
		{"foreign env event type", "DELETE", "/api/v1/event-type/contact.created", f.otherEnv, "", 404, "not_found", ""},
		{"foreign env attempts", "GET", appA + "/attempt/msg/" + f.msgA, f.otherEnv, "", 404, "not_found", ""},
		{"foreign env portal access", "POST", "/api/v1/auth/app-portal-access/app-a", f.otherEnv, `{}`, 404, "not_found", ""},

		// A portal token reaches its own app only.
		{"portal other app", "GET", appA, f.portalB, "", 404, "not_found", ""},
		{"portal other app endpoint", "DELETE", ep, f.portalB, "", 404, "not_found", ""},
		{"portal other app headers", "PUT", ep + "/headers", f.portalB, `{"headers":{}}`, 404, "not_found", ""},
		{"portal publishes", "POST", appA + "/msg", f.portalB, `{"eventType":"a","payload":{}}`, 403, "forbidden", ""},
		{"portal other app resend", "POST", msg + "/endpoint/ep-a/resend", f.portalB, "", 404, "not_found", ""},
		{"portal lists apps", "GET", "/api/v1/app", f.portalB, "", 403, "forbidden", ""},
		{"portal creates app", "POST", "/api/v1/app", f.portalB, `{"name":"x"}`, 403, "forbidden", ""},
		{"portal deletes own app", "DELETE", "/api/v1/app/app-b", f.portalB, "", 403, "forbidden", ""},
		{"portal event types", "POST", "/api/v1/event-type", f.portalB, `{"name":"x","description":"d"}`, 403, "forbidden", ""},
		{"portal portal access", "POST", "/api/v1/auth/app-portal-access/app-b", f.portalB, `{}`, 403, "forbidden", ""},

		// Applications.
		{"app malformed json", "POST", "/api/v1/app", admin, `{"name":`, 400, "bad_request", ""},
		{"app body not object", "POST", "/api/v1/app", admin, `["x"]`, 422, "", "body"},
		{"app name wrong type", "POST", "/api/v1/app", admin, `{"name":5}`, 422, "", "body.name"},
		{"app name missing", "POST", "/api/v1/app", admin, `{}`, 422, "", "body.name"},
		{"app name empty", "POST", "/api/v1/app", admin, `{"name":""}`, 422, "", "body.name"},
		{"app uid pattern", "POST", "/api/v1/app", admin, `{"name":"x","uid":"bad uid"}`, 422, "", "body.uid"},
		{"app uid too long", "POST", "/api/v1/app", admin, `{"name":"x","uid":"` + long + `"}`, 422, "", "body.uid"},
		{"app rate limit zero", "POST", "/api/v1/app", admin, `{"name":"x","rateLimit":0}`, 422, "", "body.rateLimit"},
		{"app metadata not strings", "POST", "/api/v1/app", admin, `{"name":"x","metadata":{"a":1}}`, 422, "", "body.metadata"},
		{"app uid taken", "POST", "/api/v1/app", admin, `{"name":"x","uid":"app-a"}`, 409, "conflict", ""},
		{"app bad get_if_exists", "POST", "/api/v1/app?get_if_exists=maybe", admin, `{"name":"x"}`, 422, "", "query.get_if_exists"},
		{"app list limit zero", "GET", "/api/v1/app?limit=0", admin, "", 422, "", "query.limit"},
		{"app list limit too big", "GET", "/api/v1/app?limit=251", admin, "", 422, "", "query.limit"},
		{"app list limit text", "GET", "/api/v1/app?limit=ten", admin, "", 422, "", "query.limit"},
		{"app list bad order", "GET", "/api/v1/app?order=sideways", admin, "", 422, "", "query.order"},
		{"app get unknown", "GET", "/api/v1/app/nope", admin, "", 404, "not_found", ""},
		{"app put null name", "PUT", appA, admin, `{"name":null}`, 422, "", "body.name"},
		{"app put creating bad uid", "PUT", "/api/v1/app/bad%20id", admin, `{"name":"x"}`, 422, "", "path.app_id"},
		{"app patch empty name", "PATCH", appA, admin, `{"name":""}`, 422, "", "body.name"},
		{"app patch null metadata", "PATCH", appA, admin, `{"metadata":null}`, 422, "", "body.metadata"},
		{"app patch uid taken", "PATCH", appA, admin, `{"uid":"app-b"}`, 409, "conflict", ""},
		{"app patch unknown", "PATCH", "/api/v1/app/nope", admin, `{"name":"x"}`, 404, "not_found", ""},
		{"app delete unknown", "DELETE", "/api/v1/app/nope", admin, "", 404, "not_found", ""},

		// Event types.
		{"et malformed json", "POST", "/api/v1/event-type", admin, `{`, 400, "bad_request", ""},
		{"et name pattern", "POST", "/api/v1/event-type", admin, `{"name":"bad name","description":"d"}`, 422, "", "body.name"},
		{"et name too long", "POST", "/api/v1/event-type", admin, `{"name":"` + long + `","description":"d"}`, 422, "", "body.name"},
		{"et description missing", "POST", "/api/v1/event-type", admin, `{"name":"a.b"}`, 422, "", "body.description"},
		{"et schemas not object", "POST", "/api/v1/event-type", admin, `{"name":"a.b","description":"d","schemas":[]}`, 422, "", "body.schemas"},
		{"et archived wrong type", "POST", "/api/v1/event-type", admin, `{"name":"a.b","description":"d","archived":"yes"}`, 422, "", "body.archived"},
		{"et group pattern", "POST", "/api/v1/event-type", admin, `{"name":"a.b","description":"d","groupName":"a b"}`, 422, "", "body.groupName"},
		{"et exists", "POST", "/api/v1/event-type", admin, `{"name":"contact.created","description":"d"}`, 409, "conflict", ""},
		{"et get unknown", "GET", "/api/v1/event-type/nope", admin, "", 404, "not_found", ""},
		{"et put no description", "PUT", "/api/v1/event-type/contact.created", admin, `{}`, 422, "", "body.description"},
		{"et put creating bad name", "PUT", "/api/v1/event-type/bad%20name", admin, `{"description":"d"}`, 422, "", "path.event_type_name"},
		{"et patch null description", "PATCH", "/api/v1/event-type/contact.created", admin, `{"description":null}`, 422, "", "body.description"},
		{"et patch unknown", "PATCH", "/api/v1/event-type/nope", admin, `{"description":"x"}`, 404, "not_found", ""},
		{"et delete unknown", "DELETE", "/api/v1/event-type/nope", admin, "", 404, "not_found", ""},
		{"et delete bad expunge", "DELETE", "/api/v1/event-type/contact.created?expunge=perhaps", admin, "", 422, "", "query.expunge"},
		{"et list bad iterator", "GET", "/api/v1/event-type?iterator=a%20b", admin, "", 422, "", "query.iterator"},
		{"et list bad with_content", "GET", "/api/v1/event-type?with_content=2", admin, "", 422, "", "query.with_content"},

		// Endpoints.
		{"ep malformed json", "POST", appA + "/endpoint", admin, `{"url":"https://x.example",}`, 400, "bad_request", ""},
		{"ep url missing", "POST", appA + "/endpoint", admin, `{}`, 422, "", "body.url"},
		{"ep url wrong type", "POST", appA + "/endpoint", admin, `{"url":["https://x.example"]}`, 422, "", "body.url"},
		{"ep url scheme", "POST", appA + "/endpoint", admin, `{"url":"ftp://x.example/a"}`, 422, "", "body.url"},
		{"ep url relative", "POST", appA + "/endpoint", admin, `{"url":"x.example/a"}`, 422, "", "body.url"},
		{"ep url no host", "POST", appA + "/endpoint", admin, `{"url":"https://"}`, 422, "", "body.url"},
		{"ep secret pattern", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","secret":"short"}`, 422, "", "body.secret"},
		{"ep channels empty", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","channels":[]}`, 422, "", "body.channels"},
		{"ep channels too many", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","channels":` + elevenChannels + `}`, 422, "", "body.channels"},
		{"ep channel pattern", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","channels":["a b"]}`, 422, "", "body.channels.0"},
		{"ep channel too long", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","channels":["` + strings.Repeat("c", 129) + `"]}`, 422, "", "body.channels.0"},
		{"ep filter empty", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","filterTypes":[]}`, 422, "", "body.filterTypes"},
		{"ep filter pattern", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","filterTypes":["a b"]}`, 422, "", "body.filterTypes.0"},
		{"ep filter bad family", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","filterTypes":["contact.*.x"]}`, 422, "", "body.filterTypes.0"},
		{"ep filter duplicate", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","filterTypes":["a","a"]}`, 422, "", "body.filterTypes.1"},
		{"ep rate limit zero", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","rateLimit":0}`, 422, "", "body.rateLimit"},
		{"ep rate limit too big", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","rateLimit":70000}`, 422, "", "body.rateLimit"},
		{"ep version zero", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","version":0}`, 422, "", "body.version"},
		{"ep uid taken", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","uid":"ep-a"}`, 409, "conflict", ""},
		{"ep unknown app", "POST", "/api/v1/app/nope/endpoint", admin, `{"url":"https://x.example"}`, 404, "not_found", ""},
		{"ep list bad limit", "GET", appA + "/endpoint?limit=-1", admin, "", 422, "", "query.limit"},
		{"ep get unknown", "GET", appA + "/endpoint/nope", admin, "", 404, "not_found", ""},
		{"ep put bad url", "PUT", ep, admin, `{"url":"nope"}`, 422, "", "body.url"},
		{"ep put secret", "PUT", ep, admin, `{"url":"https://x.example","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`, 422, "", "body.secret"},
		{"ep put creating with secret", "PUT", appA + "/endpoint/new-ep", admin, `{"url":"https://x.example","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`, 422, "", "body.secret"},
		{"ep put creating bad uid", "PUT", appA + "/endpoint/bad%20uid", admin, `{"url":"https://x.example"}`, 422, "", "path.endpoint_id"},
		{"ep patch null url", "PATCH", ep, admin, `{"url":null}`, 422, "", "body.url"},
		{"ep patch disabled type", "PATCH", ep, admin, `{"disabled":"x"}`, 422, "", "body.disabled"},
		{"ep patch unknown", "PATCH", appA + "/endpoint/nope", admin, `{"description":"x"}`, 404, "not_found", ""},
		{"ep delete unknown", "DELETE", appA + "/endpoint/nope", admin, "", 404, "not_found", ""},

		// Headers.
		{"headers missing", "PUT", ep + "/headers", admin, `{}`, 422, "", "body.headers"},
		{"headers not object", "PUT", ep + "/headers", admin, `{"headers":[]}`, 422, "", "body.headers"},
		{"headers reserved host", "PUT", ep + "/headers", admin, `{"headers":{"Host":"x"}}`, 422, "", "body.headers.Host"},
		{"headers reserved webhook-", "PUT", ep + "/headers", admin, `{"headers":{"webhook-id":"x"}}`, 422, "", "body.headers.webhook-id"},
		{"headers reserved svix-", "PATCH", ep + "/headers", admin, `{"headers":{"Svix-Id":"x"}}`, 422, "", "body.headers.Svix-Id"},
		{"headers reserved content-type", "PATCH", ep + "/headers", admin, `{"headers":{"Content-Type":"x"}}`, 422, "", "body.headers.Content-Type"},
		{"headers reserved te", "PUT", ep + "/headers", admin, `{"headers":{"TE":"trailers"}}`, 422, "", "body.headers.TE"},
		{"headers reserved upgrade", "PATCH", ep + "/headers", admin, `{"headers":{"Upgrade":"h2c"}}`, 422, "", "body.headers.Upgrade"},
		{"headers reserved trailer", "PATCH", ep + "/headers", admin, `{"headers":{"trailer":"x"}}`, 422, "", "body.headers.trailer"},
		{"headers bad name", "PUT", ep + "/headers", admin, `{"headers":{"bad name":"x"}}`, 422, "", "body.headers.bad name"},
		{"headers bad value", "PUT", ep + "/headers", admin, `{"headers":{"X-A":"a\nb"}}`, 422, "", "body.headers.X-A"},
		{"headers null in put", "PUT", ep + "/headers", admin, `{"headers":{"X-A":null}}`, 422, "", "body.headers.X-A"},
		{"headers case duplicate", "PUT", ep + "/headers", admin, `{"headers":{"X-A":"1","x-a":"2"}}`, 422, "", ""},
		{"headers unknown endpoint", "GET", appA + "/endpoint/nope/headers", admin, "", 404, "not_found", ""},
		{"headers too many", "PUT", ep + "/headers", admin, headersBody(21, 5, 5), 422, "", "body.headers"},
		{"headers too many after patch", "PATCH", ep + "/headers", admin, headersBody(19, 5, 5), 422, "", "body.headers"},
		{"headers name too long", "PUT", ep + "/headers", admin, headersBody(1, 257, 5), 422, "", "body.headers." + headerName(0, 257)},
		{"headers value too long", "PUT", ep + "/headers", admin, headersBody(1, 5, 4097), 422, "", "body.headers." + headerName(0, 5)},
		{"headers total too large", "PUT", ep + "/headers", admin, headersBody(5, 100, 4000), 422, "", "body.headers"},
		{"headers far too many", "PATCH", ep + "/headers", admin, headersBody(500, 5, 1), 422, "", "body.headers"},

		// Delivery options.
		{"options method", "PUT", ep + "/options", admin, `{"method":"GET"}`, 422, "", "body.method"},
		{"options method empty", "PATCH", ep + "/options", admin, `{"method":""}`, 422, "", "body.method"},
		{"options method type", "PUT", ep + "/options", admin, `{"method":1}`, 422, "", "body.method"},
		{"options timeout zero", "PUT", ep + "/options", admin, `{"timeoutSeconds":0}`, 422, "", "body.timeoutSeconds"},
		{"options timeout too big", "PATCH", ep + "/options", admin, `{"timeoutSeconds":61}`, 422, "", "body.timeoutSeconds"},
		{"options timeout fraction", "PUT", ep + "/options", admin, `{"timeoutSeconds":1.5}`, 422, "", "body.timeoutSeconds"},
		{"options timeout string", "PUT", ep + "/options", admin, `{"timeoutSeconds":"30s"}`, 422, "", "body.timeoutSeconds"},
		{"options timeout huge", "PUT", ep + "/options", admin, `{"timeoutSeconds":99999999999999999999}`, 422, "", "body.timeoutSeconds"},
		{"options schedule too long", "PUT", ep + "/options", admin, `{"retrySchedule":[` + strings.Repeat("1,", 20) + `1]}`, 422, "", "body.retrySchedule"},
		{"options schedule zero delay", "PATCH", ep + "/options", admin, `{"retrySchedule":[5,0]}`, 422, "", "body.retrySchedule.1"},
		{"options schedule delay too big", "PUT", ep + "/options", admin, `{"retrySchedule":[86401]}`, 422, "", "body.retrySchedule.0"},
		{"options schedule fraction", "PUT", ep + "/options", admin, `{"retrySchedule":[0.5]}`, 422, "", "body.retrySchedule"},
		{"options schedule string", "PUT", ep + "/options", admin, `{"retrySchedule":"5s,5m"}`, 422, "", "body.retrySchedule"},
		{"options in flight zero", "PUT", ep + "/options", admin, `{"maxInFlight":0}`, 422, "", "body.maxInFlight"},
		{"options in flight too big", "PATCH", ep + "/options", admin, `{"maxInFlight":1001}`, 422, "", "body.maxInFlight"},
		{"options not object", "PUT", ep + "/options", admin, `[1]`, 422, "", "body"},
		{"options malformed", "PATCH", ep + "/options", admin, `{"method":`, 400, "bad_request", ""},
		{"options unknown endpoint", "GET", appA + "/endpoint/nope/options", admin, "", 404, "not_found", ""},
		{"options put unknown endpoint", "PUT", appA + "/endpoint/nope/options", admin, `{}`, 404, "not_found", ""},
		{"options unknown app", "PATCH", "/api/v1/app/nope/endpoint/ep-a/options", admin, `{"method":"GET"}`, 404, "not_found", ""},
		{"options wrong method", "POST", ep + "/options", admin, `{}`, 405, "method_not_allowed", ""},
		{"ep create bad options", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","options":{"timeoutSeconds":0}}`, 422, "", "body.options.timeoutSeconds"},
		{"ep create options type", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","options":{"maxInFlight":"many"}}`, 422, "", "body.options.maxInFlight"},
		{"ep create options not object", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","options":5}`, 422, "", "body.options"},
		{"ep put bad options", "PUT", ep, admin, `{"url":"https://x.example","options":{"method":"DELETE"}}`, 422, "", "body.options.method"},
		{"ep patch bad options", "PATCH", ep, admin, `{"options":{"retrySchedule":[-1]}}`, 422, "", "body.options.retrySchedule.0"},
		{"options unknown field", "PUT", ep + "/options", admin, `{"timeout":10}`, 422, "", "body.timeout"},
		{"options unknown field in patch", "PATCH", ep + "/options", admin, `{"maxInFlight":5,"retry_schedule":[5]}`, 422, "", "body.retry_schedule"},
		{"ep create options unknown field", "POST", appA + "/endpoint", admin, `{"url":"https://x.example","options":{"timeout":10}}`, 422, "", "body.options.timeout"},
		{"ep patch options unknown field", "PATCH", ep, admin, `{"options":{"concurrency":4}}`, 422, "", "body.options.concurrency"},
		{"portal theme unknown field", "PUT", appA + "/portal-theme", admin, `{"productName":"P","primaryColor":"#ff0000"}`, 422, "", "body.primaryColor"},

		// Secret, stats, recover, send-example.
		{"secret unknown endpoint", "GET", appA + "/endpoint/nope/secret", admin, "", 404, "not_found", ""},
		{"rotate bad key", "POST", ep + "/secret/rotate", admin, `{"key":"bad"}`, 422, "", "body.key"},
		{"rotate malformed", "POST", ep + "/secret/rotate", admin, `{"key"`, 400, "bad_request", ""},
		{"rotate unknown endpoint", "POST", appA + "/endpoint/nope/secret/rotate", admin, `{}`, 404, "not_found", ""},
		{"stats bad since", "GET", ep + "/stats?since=yesterday", admin, "", 422, "", "query.since"},
		{"stats unknown endpoint", "GET", appA + "/endpoint/nope/stats", admin, "", 404, "not_found", ""},
		{"health bucket twice", "GET", ep + "/health?bucket=minute&bucket=day", admin, "", 422, "", "query.bucket"},
		{"health until twice", "GET", ep + "/health?until=2026-01-02T00:00:00Z&until=2026-01-03T00:00:00Z", admin, "", 422, "", "query.until"},
		{"health unknown parameter", "GET", ep + "/health?window=1", admin, "", 422, "", "query.window"},
		{"health stats parameters", "GET", ep + "/health?startDate=2026-01-01T00:00:00Z", admin, "", 422, "", "query.startDate"},
		{"health bad bucket", "GET", ep + "/health?bucket=week", admin, "", 422, "", "query.bucket"},
		{"app stats since twice", "GET", appA + "/stats?since=2020-01-01T00:00:00Z&since=2021-01-01T00:00:00Z&until=2030-01-01T00:00:00Z", admin, "", 422, "", "query.since"},
		{"background tasks status twice", "GET", "/api/v1/background-task?status=running&status=finished", admin, "", 422, "", "query.status"},
		{"background tasks order twice", "GET", "/api/v1/background-task?order=ascending&order=descending", admin, "", 422, "", "query.order"},
		{"op endpoints limit twice", "GET", "/api/v1/operational-webhook/endpoint?limit=1&limit=2", admin, "", 422, "", "query.limit"},
		{"et list include_archived twice", "GET", "/api/v1/event-type?include_archived=true&include_archived=false", admin, "", 422, "", "query.include_archived"},
		{"recover since missing", "POST", ep + "/recover", admin, `{}`, 422, "", "body.since"},
		{"recover since invalid", "POST", ep + "/recover", admin, `{"since":"last week"}`, 422, "", "body.since"},
		{"recover unknown endpoint", "POST", appA + "/endpoint/nope/recover", admin, `{"since":"2024-01-01T00:00:00Z"}`, 404, "not_found", ""},
		{"example type missing", "POST", ep + "/send-example", admin, `{}`, 422, "", "body.eventType"},
		{"example negative index", "POST", ep + "/send-example", admin, `{"eventType":"contact.created","exampleIndex":-1}`, 422, "", "body.exampleIndex"},
		{"example unknown endpoint", "POST", appA + "/endpoint/nope/send-example", admin, `{"eventType":"contact.created"}`, 404, "not_found", ""},
		{"send-test event type wrong type", "POST", ep + "/send-test", admin, `{"eventType":5,"payload":{}}`, 422, "", "body.eventType"},
		{"portal theme wrong type", "PUT", appA + "/portal-theme", admin, `{"mode":1}`, 422, "", "body.mode"},
		{"options wrong type in endpoint", "PATCH", ep, admin, `{"options":{"method":["POST"]}}`, 422, "", "body.options.method"},
		{"send-test unknown field", "POST", ep + "/send-test", admin, `{"eventType":"contact.created","payload":{},"eventId":"evt-9"}`, 422, "", "body.eventId"},

		// Messages.
		{"msg malformed json", "POST", appA + "/msg", admin, `{"eventType":"a","payload":{"x":}}`, 400, "bad_request", ""},
		{"msg body not json", "POST", appA + "/msg", admin, `nope`, 400, "bad_request", ""},
		{"msg body not an object", "POST", appA + "/msg", admin, `"text"`, 422, "", "body"},
		{"msg payload missing", "POST", appA + "/msg", admin, `{"eventType":"a"}`, 422, "", "body.payload"},
		{"msg payload array", "POST", appA + "/msg", admin, `{"eventType":"a","payload":[1]}`, 422, "", "body.payload"},
		{"msg payload string", "POST", appA + "/msg", admin, `{"eventType":"a","payload":"x"}`, 422, "", "body.payload"},
		{"msg payload null", "POST", appA + "/msg", admin, `{"eventType":"a","payload":null}`, 422, "", "body.payload"},
		{"msg event type missing", "POST", appA + "/msg", admin, `{"payload":{}}`, 422, "", "body.eventType"},
		{"msg event type pattern", "POST", appA + "/msg", admin, `{"eventType":"a b","payload":{}}`, 422, "", "body.eventType"},
		{"msg event id empty", "POST", appA + "/msg", admin, `{"eventType":"a","eventId":"","payload":{}}`, 422, "", "body.eventId"},
		{"msg tags too many", "POST", appA + "/msg", admin, `{"eventType":"a","payload":{},"tags":["a","b","c","d","e","f"]}`, 422, "", "body.tags"},
		{"msg tags wrong type", "POST", appA + "/msg", admin, `{"eventType":"a","payload":{},"tags":"a"}`, 422, "", "body.tags"},
		{"msg channels empty", "POST", appA + "/msg", admin, `{"eventType":"a","payload":{},"channels":[]}`, 422, "", "body.channels"},
		{"msg retention", "POST", appA + "/msg", admin, `{"eventType":"a","payload":{},"payloadRetentionPeriod":0}`, 422, "", "body.payloadRetentionPeriod"},
		{"msg raw payload not string", "POST", appA + "/msg", admin, `{"eventType":"a","payload":{},"transformationsParams":{"rawPayload":5}}`, 422, "", "body.transformationsParams.rawPayload"},
		{"msg raw payload not object", "POST", appA + "/msg", admin, `{"eventType":"a","payload":{},"transformationsParams":{"rawPayload":"[1]"}}`, 422, "", "body.transformationsParams.rawPayload"},
		{"msg event id taken", "POST", appA + "/msg", admin, `{"eventType":"a","eventId":"evt-1","payload":{}}`, 409, "conflict", ""},
		{"msg unknown app", "POST", "/api/v1/app/nope/msg", admin, `{"eventType":"a","payload":{}}`, 404, "not_found", ""},
		{"msg invalid application", "POST", "/api/v1/app/new-app/msg", admin, `{"eventType":"a","payload":{},"application":{"name":""}}`, 422, "", "body.application.name"},
		{"msg application wrong type", "POST", "/api/v1/app/new-app/msg", admin, `{"eventType":"a","payload":{},"application":{"name":1}}`, 422, "", "body.application.name"},
		{"msg application bad path uid", "POST", "/api/v1/app/bad%20uid/msg", admin, `{"eventType":"a","payload":{},"application":{"name":"x"}}`, 422, "", "path.app_id"},
		{"msg application other uid", "POST", "/api/v1/app/new-app/msg", admin, `{"eventType":"a","payload":{},"application":{"name":"x","uid":"other-app"}}`, 422, "", "body.application.uid"},
		{"msg bad with_content", "POST", appA + "/msg?with_content=nah", admin, `{"eventType":"a","payload":{}}`, 422, "", "query.with_content"},
		{"msg get unknown", "GET", appA + "/msg/nope", admin, "", 404, "not_found", ""},
		{"msg list bad before", "GET", appA + "/msg?before=tomorrow", admin, "", 422, "", "query.before"},
		{"msg list bad channel", "GET", appA + "/msg?channel=a%20b", admin, "", 422, "", "query.channel"},
		{"msg list bad event type", "GET", appA + "/msg?event_types=a%20b", admin, "", 422, "", "query.event_types"},
		{"msg list bad tag", "GET", appA + "/msg?tag=a:b", admin, "", 422, "", "query.tag"},
		{"msg list tag twice", "GET", appA + "/msg?tag=a&tag=b", admin, "", 422, "", "query.tag"},
		{"msg list before twice", "GET", appA + "/msg?before=2030-01-01T00:00:00Z&before=2020-01-01T00:00:00Z", admin, "", 422, "", "query.before"},
		{"msg list with_content twice", "GET", appA + "/msg?with_content=false&with_content=true", admin, "", 422, "", "query.with_content"},
		{"msg get with_content twice", "GET", msg + "?with_content=false&with_content=false", admin, "", 422, "", "query.with_content"},
		{"msg list iterator twice", "GET", appA + "/msg?iterator=a&iterator=b", admin, "", 422, "", "query.iterator"},
		// An iterator is an ID of the listing's own kind: another kind,
		// or no ID at all, would be read as a position it never gave.
		{"msg list iterator not an ID", "GET", appA + "/msg?iterator=zzz", admin, "", 422, "", "query.iterator"},
		{"msg list iterator of another listing", "GET", appA + "/msg?iterator=ep_" + strings.Repeat("0", 27), admin, "", 422, "", "query.iterator"},
		{"msg list iterator one short", "GET", appA + "/msg?iterator=" + f.msgA[:len(f.msgA)-1], admin, "", 422, "", "query.iterator"},
		{"app list iterator a message", "GET", "/api/v1/app?iterator=" + f.msgA, admin, "", 422, "", "query.iterator"},
		{"endpoint list iterator a uid", "GET", appA + "/endpoint?iterator=ep-a", admin, "", 422, "", "query.iterator"},
		{"op endpoint list iterator", "GET", "/api/v1/operational-webhook/endpoint?iterator=" + f.msgA, admin, "", 422, "", "query.iterator"},
		{"attempted messages iterator", "GET", appA + "/endpoint/ep-a/msg?iterator=ep_" + strings.Repeat("1", 27), admin, "", 422, "", "query.iterator"},
		{"destinations iterator", "GET", msg + "/endpoint?iterator=" + f.msgA, admin, "", 422, "", "query.iterator"},
		{"att by msg iterator", "GET", appA + "/attempt/msg/" + f.msgA + "?iterator=" + f.msgA, admin, "", 422, "", "query.iterator"},
		{"att by app iterator", "GET", appA + "/attempt?status=2&iterator=abc", admin, "", 422, "", "query.iterator"},
		{"background tasks iterator", "GET", "/api/v1/background-task?iterator=" + f.msgA, admin, "", 422, "", "query.iterator"},
		{"msg expunge unknown", "DELETE", appA + "/msg/nope/content", admin, "", 404, "not_found", ""},

		// Attempts.
		{"att by endpoint unknown", "GET", appA + "/attempt/endpoint/nope", admin, "", 404, "not_found", ""},
		{"att by endpoint bad status", "GET", appA + "/attempt/endpoint/ep-a?status=7", admin, "", 422, "", "query.status"},
		{"att by endpoint bad class", "GET", appA + "/attempt/endpoint/ep-a?status_code_class=201", admin, "", 422, "", "query.status_code_class"},
		{"att by endpoint bad with_msg", "GET", appA + "/attempt/endpoint/ep-a?with_msg=1x", admin, "", 422, "", "query.with_msg"},
		{"att by app no status", "GET", appA + "/attempt", admin, "", 422, "", "query.status"},
		{"att by app bad status", "GET", appA + "/attempt?status=succeeded", admin, "", 422, "", "query.status"},
		{"att by app status out of range", "GET", appA + "/attempt?status=4", admin, "", 422, "", "query.status"},
		{"att by app bad class", "GET", appA + "/attempt?status=2&status_code_class=201", admin, "", 422, "", "query.status_code_class"},
		{"att by app bad limit", "GET", appA + "/attempt?status=2&limit=251", admin, "", 422, "", "query.limit"},
		{"att by app bad after", "GET", appA + "/attempt?status=2&after=yesterday", admin, "", 422, "", "query.after"},
		{"att by app bad before", "GET", appA + "/attempt?status=2&before=2024-13-01T00:00:00Z", admin, "", 422, "", "query.before"},
		{"att by app bad event type", "GET", appA + "/attempt?status=2&event_types=a%20b", admin, "", 422, "", "query.event_types"},
		{"att by app bad channel", "GET", appA + "/attempt?status=2&channel=a%20b", admin, "", 422, "", "query.channel"},
		{"att by app bad tag", "GET", appA + "/attempt?status=2&tag=a:b", admin, "", 422, "", "query.tag"},
		{"att by app bad with_content", "GET", appA + "/attempt?status=2&with_content=nah", admin, "", 422, "", "query.with_content"},
		{"att by app bad with_msg", "GET", appA + "/attempt?status=2&with_msg=1x", admin, "", 422, "", "query.with_msg"},
		{"att by app endpoint_id", "GET", appA + "/attempt?status=2&endpoint_id=ep-a", admin, "", 422, "", "query.endpoint_id"},
		{"att by app unknown parameter", "GET", appA + "/attempt?status=2&statuses=2", admin, "", 422, "", "query.statuses"},
		{"att by app unknown app", "GET", "/api/v1/app/nope/attempt?status=2", admin, "", 404, "not_found", ""},
		{"att by app status twice", "GET", appA + "/attempt?status=2&status=0", admin, "", 422, "", "query.status"},
		{"att by app channel twice", "GET", appA + "/attempt?status=0&channel=a&channel=b", admin, "", 422, "", "query.channel"},
		{"att by app limit twice", "GET", appA + "/attempt?status=0&limit=1&limit=300", admin, "", 422, "", "query.limit"},
		{"att by endpoint tag twice", "GET", appA + "/attempt/endpoint/ep-a?tag=a&tag=b", admin, "", 422, "", "query.tag"},
		{"att by msg endpoint_id twice", "GET", appA + "/attempt/msg/" + f.msgA + "?endpoint_id=ep-a&endpoint_id=nope", admin, "", 422, "", "query.endpoint_id"},
		{"att by msg unknown", "GET", appA + "/attempt/msg/nope", admin, "", 404, "not_found", ""},
		{"att by msg unknown endpoint filter", "GET", appA + "/attempt/msg/" + f.msgA + "?endpoint_id=nope", admin, "", 404, "not_found", ""},
		{"att get unknown", "GET", msg + "/attempt/nope", admin, "", 404, "not_found", ""},
		{"att get unknown msg", "GET", appA + "/msg/nope/attempt/" + f.attA, admin, "", 404, "not_found", ""},
		{"att expunge unknown", "DELETE", msg + "/attempt/nope/content", admin, "", 404, "not_found", ""},
		{"attempted msgs bad status", "GET", ep + "/msg?status=9", admin, "", 422, "", "query.status"},
		{"attempted msgs unknown endpoint", "GET", appA + "/endpoint/nope/msg", admin, "", 404, "not_found", ""},
		{"destinations bad limit", "GET", msg + "/endpoint?limit=0", admin, "", 422, "", "query.limit"},
		{"destinations unknown msg", "GET", appA + "/msg/nope/endpoint", admin, "", 404, "not_found", ""},
		{"resend unknown msg", "POST", appA + "/msg/nope/endpoint/ep-a/resend", admin, "", 404, "not_found", ""},
		{"resend unknown endpoint", "POST", msg + "/endpoint/nope/resend", admin, "", 404, "not_found", ""},

		// Portal access.
		{"portal access unknown app", "POST", "/api/v1/auth/app-portal-access/nope", admin, `{}`, 404, "not_found", ""},
		{"portal access expiry small", "POST", "/api/v1/auth/app-portal-access/app-a", admin, `{"expiry":10}`, 422, "", "body.expiry"},
		{"portal access expiry big", "POST", "/api/v1/auth/app-portal-access/app-a", admin, `{"expiry":10000000}`, 422, "", "body.expiry"},
		{"portal access expiry type", "POST", "/api/v1/auth/app-portal-access/app-a", admin, `{"expiry":"1h"}`, 422, "", "body.expiry"},
		{"portal access bad application", "POST", "/api/v1/auth/app-portal-access/new-app", admin, `{"application":{"uid":"x"}}`, 422, "", "body.application.name"},
		{"portal access application other uid", "POST", "/api/v1/auth/app-portal-access/new-app", admin, `{"application":{"name":"x","uid":"other-app"}}`, 422, "", "body.application.uid"},
		{"portal access bad flags", "POST", "/api/v1/auth/app-portal-access/app-a", admin, `{"featureFlags":["a b"]}`, 422, "", "body.featureFlags"},
		{"portal access malformed", "POST", "/api/v1/auth/app-portal-access/app-a", admin, `{"expiry":}`, 400, "bad_request", ""},

		// The application is resolved before the body is looked at.
		{"unknown app, bad endpoint body", "POST", "/api/v1/app/nope/endpoint", admin, `{}`, 404, "not_found", ""},
		{"unknown app, bad patch", "PATCH", "/api/v1/app/nope", admin, `{"name":""}`, 404, "not_found", ""},
		{"unknown app, bad query", "GET", "/api/v1/app/nope/msg?limit=0", admin, "", 404, "not_found", ""},
		{"foreign env, bad headers", "PUT", ep + "/headers", f.otherEnv, `{"headers":{"Host":"x"}}`, 404, "not_found", ""},
		{"bad body before unknown endpoint", "PATCH", appA + "/endpoint/nope", admin, `{"url":"x"}`, 422, "", "body.url"},

		// Routing.
		{"unknown route", "GET", "/api/v1/nope", admin, "", 404, "not_found", ""},
		{"unknown route without token", "GET", "/api/v1/app/app-a/nope", "", "", 404, "not_found", ""},
		{"wrong method on collection", "DELETE", "/api/v1/app", admin, "", 405, "method_not_allowed", ""},
		{"wrong method on item", "POST", ep, admin, `{}`, 405, "method_not_allowed", ""},
	}

	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			before := f.snapshot()
			token := tt.token
			if token == admin {
				token = testAdminToken
			}
			var body any
			if tt.body != "" {
				body = tt.body
			}
			status, out := f.do(tt.method, tt.path, token, body)
			if status != tt.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", tt.method, tt.path, status, tt.status, out)
			}
			var loc []string
			if tt.loc != "" {
				loc = strings.Split(tt.loc, ".")
				if strings.HasPrefix(tt.loc, "body.headers.") {
					loc = []string{"body", "headers", strings.TrimPrefix(tt.loc, "body.headers.")}
				}
			}
			assertErrorBody(t, status, out, tt.code, loc)
			if after := f.snapshot(); after != before {
				t.Errorf("state changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}

	// The snapshot does see changes.
	before := f.snapshot()
	f.mustDo(http.StatusNoContent, "PATCH", ep+"/headers", testAdminToken, `{"headers":{"X-New":"1"}}`, nil)
	if f.snapshot() == before {
		t.Error("snapshot missed a header change")
	}
}

func TestPayloadTooLarge(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	big := fmt.Sprintf(`{"eventType":"a","payload":{"x":"%s"}}`, strings.Repeat("y", 2000))
	small := `{"eventType":"a","payload":{"x":"y"}}`

	tests := []struct {
		name    string
		body    string
		chunked bool
		want    int
	}{
		{"content-length over the limit", big, false, http.StatusRequestEntityTooLarge},
		{"chunked over the limit", big, true, http.StatusRequestEntityTooLarge},
		{"within the limit", small, false, http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.snapshot()
			var rd io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				rd = io.MultiReader(rd) // hides the length: sent chunked
			}
			req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/app/app-a/msg", rd)
			req.Header.Set("Authorization", "Bearer "+testAdminToken)
			resp, err := f.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, out)
			}
			if tt.want != http.StatusRequestEntityTooLarge {
				return
			}
			assertErrorBody(t, resp.StatusCode, out, "payload_too_large", nil)
			if after := f.snapshot(); after != before {
				t.Error("state changed by a rejected request")
			}
		})
	}
}

// headerName is the i-th name of headersBody, n bytes long.
func headerName(i, n int) string {
	name := fmt.Sprintf("X-H%d-", i)
	return name + strings.Repeat("n", max(0, n-len(name)))
}

// headersBody is a headers body with count headers whose names are
// nameLen and values valueLen bytes long.
func headersBody(count, nameLen, valueLen int) string {
	var b strings.Builder
	b.WriteString(`{"headers":{`)
	for i := 0; i < count; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%q", headerName(i, nameLen), strings.Repeat("v", valueLen))
	}
	b.WriteString("}}")
	return b.String()
}
