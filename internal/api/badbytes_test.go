package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

const (
	msgNUL  = "must not contain the NUL character"
	msgUTF8 = "must be valid UTF-8"
)

type badBytesCase struct {
	name   string
	method string
	path   string
	token  string // "" means the admin token; "none" sends no Authorization
	body   string
	status int
	code   string   // for HttpErrorOut bodies
	loc    []string // for 422: the entry that must be there
	msg    string   // for 422: the message of that entry
}

// TestBadBytesChangeNothing sends NUL characters and invalid UTF-8 to every
// route family, in bodies, paths and query parameters, on both databases:
// the answer is the same on each (422 naming the field, 404 for a path
// that can name nothing), in Svix's error shape, and nothing changes.
func TestBadBytesChangeNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) store.Store) {
		f := fixtureOn(t, newHarnessOn(t, open(t)))
		runBadBytes(t, f, badBytesCases(f))
	})
}

func badBytesCases(f *fixture) []badBytesCase {
	const (
		app  = "/api/v1/app"
		et   = "/api/v1/event-type"
		appA = app + "/app-a"
		ep   = appA + "/endpoint/ep-a"
	)
	msg := appA + "/msg/" + f.msgA
	body := func(s string) []string { return append([]string{"body"}, strings.Split(s, ".")...) }
	nul := func(name, method, path, b string, loc ...string) badBytesCase {
		return badBytesCase{name: name, method: method, path: path, body: b, status: 422, loc: loc, msg: msgNUL}
	}
	bad := func(name, method, path, b string, loc ...string) badBytesCase {
		return badBytesCase{name: name, method: method, path: path, body: b, status: 422, loc: loc, msg: msgUTF8}
	}
	notFound := func(name, method, path, b string) badBytesCase {
		return badBytesCase{name: name, method: method, path: path, body: b, status: 404, code: "not_found"}
	}
	query := func(name, path, param, msg string) badBytesCase {
		return badBytesCase{name: name, method: "GET", path: path, status: 422, loc: []string{"query", param}, msg: msg}
	}
	return []badBytesCase{
		// Applications.
		nul("app name NUL", "POST", app, `{"name":"a\u0000b"}`, body("name")...),
		bad("app name invalid", "POST", app, "{\"name\":\"a\xffb\"}", body("name")...),
		nul("app uid NUL", "POST", app, `{"name":"x","uid":"u\u0000"}`, body("uid")...),
		nul("app uid NUL get_if_exists", "POST", app+"?get_if_exists=true", `{"name":"x","uid":"app-a\u0000"}`, body("uid")...),
		nul("app metadata value NUL", "POST", app, `{"name":"x","metadata":{"k":"v\u0000"}}`, body("metadata.k")...),
		nul("app metadata key NUL", "POST", app, `{"name":"x","metadata":{"k\u0000":"v"}}`, "body", "metadata", "k\x00"),
		bad("app metadata value truncated", "POST", app, "{\"name\":\"x\",\"metadata\":{\"k\":\"\xc3\"}}", body("metadata.k")...),
		bad("app metadata key invalid", "POST", app, "{\"name\":\"x\",\"metadata\":{\"k\xff\":\"v\"}}", body("metadata")...),
		bad("app bytes after the object", "POST", app, "{\"name\":\"x\"}\xff", "body"),
		bad("app invalid in unknown field", "POST", app, "{\"name\":\"x\",\"extra\":[\"\xfe\"]}", body("extra.0")...),
		bad("app body a bad string", "POST", app, "\"\xff\"", "body"),
		nul("app put name NUL", "PUT", appA, `{"name":"\u0000"}`, body("name")...),
		nul("app put creating name NUL", "PUT", app+"/new-app", `{"name":"\u0000"}`, body("name")...),
		bad("app patch surrogate bytes", "PATCH", appA, "{\"metadata\":{\"k\":\"\xed\xa0\x80\"}}", body("metadata.k")...),
		nul("app patch uid NUL", "PATCH", appA, `{"uid":"\u0000"}`, body("uid")...),
		notFound("app get path NUL", "GET", app+"/%00", ""),
		notFound("app get path invalid", "GET", app+"/%FF", ""),
		notFound("app get path invalid without token", "GET", app+"/%FF", "").withToken("none"),
		notFound("app put path invalid", "PUT", app+"/%FF", `{"name":"x"}`),
		notFound("app put path NUL", "PUT", app+"/new%00", `{"name":"x"}`),
		notFound("app patch path NUL", "PATCH", appA+"%00", `{"name":"x"}`),
		notFound("app delete path invalid", "DELETE", app+"/%C3%28", ""),
		query("app list iterator invalid", app+"?iterator=%FF", "iterator", msgUTF8),
		query("app list iterator NUL", app+"?iterator=%00", "iterator", msgNUL),

		// Event types.
		nul("et name NUL", "POST", et, `{"name":"a\u0000","description":"d"}`, body("name")...),
		nul("et description NUL", "POST", et, `{"name":"a.b","description":"d\u0000"}`, body("description")...),
		bad("et description invalid", "POST", et, "{\"name\":\"a.b\",\"description\":\"\xff\"}", body("description")...),
		nul("et feature flag NUL", "POST", et, `{"name":"a.b","description":"d","featureFlag":"\u0000"}`, body("featureFlag")...),
		bad("et group name invalid", "POST", et, "{\"name\":\"a.b\",\"description\":\"d\",\"groupName\":\"\x80\"}", body("groupName")...),
		bad("et schemas invalid", "POST", et, "{\"name\":\"a.b\",\"description\":\"d\",\"schemas\":{\"1\":{\"title\":\"\xff\"}}}", body("schemas.1.title")...),
		nul("et put description NUL", "PUT", et+"/contact.created", `{"description":"\u0000"}`, body("description")...),
		nul("et put creating description NUL", "PUT", et+"/new.type", `{"description":"\u0000"}`, body("description")...),
		bad("et patch description invalid", "PATCH", et+"/contact.created", "{\"description\":\"\xff\"}", body("description")...),
		notFound("et get path NUL", "GET", et+"/%00", ""),
		notFound("et put path invalid", "PUT", et+"/%FF", `{"description":"d"}`),
		notFound("et patch path NUL", "PATCH", et+"/contact.created%00", `{"description":"d"}`),
		notFound("et delete path invalid", "DELETE", et+"/contact.created%FF", ""),
		query("et list iterator invalid", et+"?iterator=%FF", "iterator", msgUTF8),
		query("et list iterator NUL", et+"?iterator=a%00", "iterator", msgNUL),

		// Endpoints.
		nul("ep url NUL", "POST", appA+"/endpoint", `{"url":"https://x.example/\u0000"}`, body("url")...),
		bad("ep url invalid", "POST", appA+"/endpoint", "{\"url\":\"https://x.example/\xff\"}", body("url")...),
		nul("ep description NUL", "POST", appA+"/endpoint", `{"url":"https://x.example","description":"\u0000"}`, body("description")...),
		bad("ep description invalid", "POST", appA+"/endpoint", "{\"url\":\"https://x.example\",\"description\":\"\xff\"}", body("description")...),
		nul("ep uid NUL", "POST", appA+"/endpoint", `{"url":"https://x.example","uid":"e\u0000"}`, body("uid")...),
		nul("ep metadata value NUL", "POST", appA+"/endpoint", `{"url":"https://x.example","metadata":{"k":"\u0000"}}`, body("metadata.k")...),
		nul("ep metadata key NUL", "POST", appA+"/endpoint", `{"url":"https://x.example","metadata":{"\u0000":"v"}}`, "body", "metadata", "\x00"),
		nul("ep channel NUL", "POST", appA+"/endpoint", `{"url":"https://x.example","channels":["c\u0000"]}`, body("channels.0")...),
		bad("ep filter type invalid", "POST", appA+"/endpoint", "{\"url\":\"https://x.example\",\"filterTypes\":[\"a\",\"\xff\"]}", body("filterTypes.1")...),
		nul("ep secret NUL", "POST", appA+"/endpoint", `{"url":"https://x.example","secret":"whsec_\u0000"}`, body("secret")...),
		nul("ep options NUL", "POST", appA+"/endpoint", `{"url":"https://x.example","options":{"method":"P\u0000"}}`, body("options.method")...),
		nul("ep put description NUL", "PUT", ep, `{"url":"https://x.example","description":"\u0000"}`, body("description")...),
		nul("ep put creating metadata NUL", "PUT", appA+"/endpoint/new-ep", `{"url":"https://x.example","metadata":{"k":"\u0000"}}`, body("metadata.k")...),
		nul("ep patch channel NUL", "PATCH", ep, `{"channels":["c\u0000"]}`, body("channels.0")...),
		bad("ep patch description invalid", "PATCH", ep, "{\"description\":\"\xc0\xaf\"}", body("description")...),
		notFound("ep get path invalid", "GET", appA+"/endpoint/%FF", ""),
		notFound("ep put path NUL", "PUT", appA+"/endpoint/%00", `{"url":"https://x.example"}`),
		notFound("ep patch path NUL", "PATCH", ep+"%00", `{"description":"x"}`),
		notFound("ep delete path invalid", "DELETE", ep+"%FF", ""),
		notFound("ep create app path invalid", "POST", app+"/%FF/endpoint", `{"url":"https://x.example"}`),
		query("ep list iterator invalid", appA+"/endpoint?iterator=%FF", "iterator", msgUTF8),
		query("ep list iterator NUL", appA+"/endpoint?iterator=%00", "iterator", msgNUL),

		// Routes and fields added for the portal and today's SDKs.
		nul("send-test event type NUL", "POST", ep+"/send-test", `{"eventType":"a\u0000","payload":{}}`, body("eventType")...),
		bad("send-test payload invalid", "POST", ep+"/send-test", "{\"eventType\":\"contact.created\",\"payload\":{\"k\":\"\xff\"}}", body("payload.k")...),
		{name: "endpoint summary ID invalid", method: "GET", path: appA + "/endpoint-summary?endpoint=" + f.epA + "&endpoint=ep_%FF",
			status: 422, loc: []string{"query", "endpoint", "1"}, msg: msgUTF8},
		{name: "endpoint summary ID NUL", method: "GET", path: appA + "/endpoint-summary?endpoint=ep_%00",
			status: 422, loc: []string{"query", "endpoint", "0"}, msg: msgNUL},
		nul("portal theme product name NUL", "PUT", appA+"/portal-theme", `{"productName":"a\u0000"}`, body("productName")...),
		bad("portal theme logo invalid", "PUT", appA+"/portal-theme", "{\"logoUrl\":\"https://x.example/\xff\"}", body("logoUrl")...),
		nul("import openapi specRaw NUL", "POST", et+"/import/openapi", `{"specRaw":"a\u0000"}`, body("specRaw")...),
		{name: "import openapi description NUL", method: "POST", path: et + "/import/openapi",
			body:   `{"spec":{"webhooks":{"a.b":{"post":{"description":"x\u0000y"}}}}}`,
			status: 422, loc: []string{"body", "spec", "webhooks", "a.b"}, msg: "description (or summary) " + msgNUL},
		{name: "import openapi summary NUL", method: "POST", path: et + "/import/openapi",
			body:   `{"spec":{"x-webhooks":{"a.b":{"put":{"summary":"\u0000"}}}}}`,
			status: 422, loc: []string{"body", "spec", "x-webhooks", "a.b"}, msg: "description (or summary) " + msgNUL},
		{name: "import openapi specRaw description NUL escape", method: "POST", path: et + "/import/openapi",
			body:   `{"specRaw":"webhooks:\n  a.b:\n    post:\n      description: \"x\\0y\"\n"}`,
			status: 422, loc: []string{"body", "specRaw", "webhooks", "a.b"}, msg: "description (or summary) " + msgNUL},
		nul("deleteHeaders NUL", "PATCH", ep+"/headers", `{"headers":{},"deleteHeaders":["X-\u0000"]}`, body("deleteHeaders.0")...),
		nul("bulk-replay event type NUL", "POST", ep+"/bulk-replay", `{"since":"2020-01-01T00:00:00Z","eventTypes":["a\u0000"]}`, body("eventTypes.0")...),
		nul("portal access capability NUL", "POST", "/api/v1/auth/app-portal-access/app-a", `{"capabilities":["View\u0000"]}`, body("capabilities.0")...),
		notFound("send-test path invalid", "POST", appA+"/endpoint/%FF/send-test", `{"eventType":"contact.created","payload":{}}`),
		notFound("portal theme path NUL", "PUT", app+"/%00/portal-theme", `{"productName":"x"}`),

		// Endpoint headers, options, secret, stats, recover, send-example.
		nul("headers value NUL", "PUT", ep+"/headers", `{"headers":{"X-A":"v\u0000"}}`, body("headers.X-A")...),
		nul("headers name NUL", "PUT", ep+"/headers", `{"headers":{"X-\u0000":"v"}}`, "body", "headers", "X-\x00"),
		bad("headers value invalid", "PATCH", ep+"/headers", "{\"headers\":{\"X-A\":\"\xff\"}}", body("headers.X-A")...),
		bad("headers name invalid", "PATCH", ep+"/headers", "{\"headers\":{\"X-\xff\":\"v\"}}", body("headers")...),
		notFound("headers path invalid", "GET", appA+"/endpoint/%FF/headers", ""),
		nul("options method NUL", "PUT", ep+"/options", `{"method":"P\u0000ST"}`, body("method")...),
		bad("options method invalid", "PATCH", ep+"/options", "{\"method\":\"\xff\"}", body("method")...),
		notFound("options path NUL", "PATCH", appA+"/endpoint/%00/options", `{}`),
		notFound("secret path invalid", "GET", appA+"/endpoint/%FF/secret", ""),
		nul("rotate key NUL", "POST", ep+"/secret/rotate", `{"key":"whsec_\u0000"}`, body("key")...),
		notFound("rotate path NUL", "POST", appA+"/endpoint/%00/secret/rotate", `{}`),
		query("stats since invalid", ep+"/stats?since=%FF", "since", msgUTF8),
		notFound("stats path invalid", "GET", appA+"/endpoint/%FF/stats", ""),
		nul("recover since NUL", "POST", ep+"/recover", `{"since":"2024-01-01T00:00:00Z\u0000"}`, body("since")...),
		notFound("recover path invalid", "POST", appA+"/endpoint/%FF/recover", `{"since":"2024-01-01T00:00:00Z"}`),
		nul("example event type NUL", "POST", ep+"/send-example", `{"eventType":"contact.created\u0000"}`, body("eventType")...),
		notFound("example path NUL", "POST", appA+"/endpoint/%00/send-example", `{"eventType":"contact.created"}`),

		// Messages.
		nul("msg event type NUL", "POST", appA+"/msg", `{"eventType":"a\u0000","payload":{}}`, body("eventType")...),
		bad("msg event id invalid", "POST", appA+"/msg", "{\"eventType\":\"a\",\"eventId\":\"\xff\",\"payload\":{}}", body("eventId")...),
		nul("msg channel NUL", "POST", appA+"/msg", `{"eventType":"a","payload":{},"channels":["\u0000"]}`, body("channels.0")...),
		bad("msg tag invalid", "POST", appA+"/msg", "{\"eventType\":\"a\",\"payload\":{},\"tags\":[\"\xff\"]}", body("tags.0")...),
		bad("msg payload invalid", "POST", appA+"/msg", "{\"eventType\":\"a\",\"payload\":{\"x\":[\"ok\",\"\xff\"]}}", body("payload.x.1")...),
		bad("msg payload key invalid", "POST", appA+"/msg", "{\"eventType\":\"a\",\"payload\":{\"\xff\":1}}", body("payload")...),
		bad("msg raw payload invalid", "POST", appA+"/msg", "{\"eventType\":\"a\",\"payload\":{},\"transformationsParams\":{\"rawPayload\":\"{\\\"x\\\":\\\"\xff\\\"}\"}}", body("transformationsParams.rawPayload")...),
		nul("msg application name NUL", "POST", app+"/new-app/msg", `{"eventType":"a","payload":{},"application":{"name":"\u0000"}}`, body("application.name")...),
		bad("msg application metadata invalid", "POST", app+"/new-app/msg", "{\"eventType\":\"a\",\"payload\":{},\"application\":{\"name\":\"n\",\"metadata\":{\"k\":\"\xff\"}}}", body("application.metadata.k")...),
		notFound("msg create app path invalid", "POST", app+"/%FF/msg", `{"eventType":"a","payload":{},"application":{"name":"n"}}`),
		notFound("msg create app path NUL", "POST", app+"/new%00/msg", `{"eventType":"a","payload":{},"application":{"name":"n"}}`),
		notFound("msg get path invalid", "GET", appA+"/msg/%FF", ""),
		notFound("msg get path NUL", "GET", appA+"/msg/evt-1%00", ""),
		notFound("msg expunge path invalid", "DELETE", appA+"/msg/%FF/content", ""),
		query("msg list iterator invalid", appA+"/msg?iterator=%FF", "iterator", msgUTF8),
		query("msg list channel NUL", appA+"/msg?channel=%00", "channel", msgNUL),
		query("msg list tag invalid", appA+"/msg?tag=%FF", "tag", msgUTF8),
		query("msg list event types invalid", appA+"/msg?event_types=a,%FF", "event_types", msgUTF8),
		query("msg list before NUL", appA+"/msg?before=2024-01-01T00:00:00Z%00", "before", msgNUL),
		query("msg list with_content invalid", appA+"/msg?with_content=%FF", "with_content", msgUTF8),

		// Attempts and deliveries.
		notFound("att by endpoint path invalid", "GET", appA+"/attempt/endpoint/%FF", ""),
		query("att by endpoint iterator invalid", appA+"/attempt/endpoint/ep-a?iterator=%FF", "iterator", msgUTF8),
		query("att by endpoint channel invalid", appA+"/attempt/endpoint/ep-a?channel=%FF", "channel", msgUTF8),
		query("att by endpoint event types NUL", appA+"/attempt/endpoint/ep-a?event_types=%00", "event_types", msgNUL),
		query("att by app iterator invalid", appA+"/attempt?status=2&iterator=%FF", "iterator", msgUTF8),
		query("att by app status NUL", appA+"/attempt?status=2%00", "status", msgNUL),
		query("att by app event types invalid", appA+"/attempt?status=2&event_types=%FF", "event_types", msgUTF8),
		notFound("att by msg path NUL", "GET", appA+"/attempt/msg/%00", ""),
		query("att by msg endpoint filter invalid", appA+"/attempt/msg/"+f.msgA+"?endpoint_id=%FF", "endpoint_id", msgUTF8),
		query("att by msg iterator NUL", appA+"/attempt/msg/"+f.msgA+"?iterator=%00", "iterator", msgNUL),
		notFound("att get path invalid", "GET", msg+"/attempt/%FF", ""),
		notFound("att expunge path NUL", "DELETE", msg+"/attempt/%00/content", ""),
		query("attempted msgs iterator invalid", ep+"/msg?iterator=%FF", "iterator", msgUTF8),
		notFound("attempted msgs path invalid", "GET", appA+"/endpoint/%FF/msg", ""),
		query("destinations iterator NUL", msg+"/endpoint?iterator=%00", "iterator", msgNUL),
		notFound("destinations path invalid", "GET", appA+"/msg/%FF/endpoint", ""),
		notFound("resend endpoint path invalid", "POST", msg+"/endpoint/%FF/resend", ""),
		notFound("resend msg path NUL", "POST", appA+"/msg/%00/endpoint/ep-a/resend", ""),

		// Portal access.
		notFound("portal access path invalid", "POST", "/api/v1/auth/app-portal-access/%FF", `{}`),
		notFound("portal access creating path NUL", "POST", "/api/v1/auth/app-portal-access/new%00", `{"application":{"name":"n"}}`),
		nul("portal access feature flag NUL", "POST", "/api/v1/auth/app-portal-access/app-a", `{"featureFlags":["f\u0000"]}`, body("featureFlags.0")...),
		bad("portal access application invalid", "POST", "/api/v1/auth/app-portal-access/new-app", "{\"application\":{\"name\":\"\xff\"}}", body("application.name")...),
	}
}

func (c badBytesCase) withToken(tok string) badBytesCase {
	c.token = tok
	return c
}

func runBadBytes(t *testing.T, f *fixture, cases []badBytesCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			before := f.snapshot()
			token := testAdminToken
			switch tt.token {
			case "none":
				token = ""
			case "":
			default:
				token = tt.token
			}
			var body any
			if tt.body != "" {
				body = tt.body
			}
			status, out := f.do(tt.method, tt.path, token, body)
			if status != tt.status {
				t.Fatalf("%s %q: status %d, want %d; body %s", tt.method, tt.path, status, tt.status, out)
			}
			if !utf8.Valid(out) {
				t.Errorf("response is not valid UTF-8: %q", out)
			}
			assertErrorBody(t, status, out, tt.code, tt.loc)
			if tt.loc != nil {
				assertLocMsg(t, out, tt.loc, tt.msg)
			}
			if after := f.snapshot(); after != before {
				t.Errorf("state changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// assertLocMsg checks that the 422 body has an entry at loc whose message
// is msg.
func assertLocMsg(t *testing.T, body []byte, loc []string, msg string) {
	t.Helper()
	var ve struct {
		Detail []fieldError `json:"detail"`
	}
	if err := json.Unmarshal(body, &ve); err != nil {
		t.Fatalf("422 body %s: %v", body, err)
	}
	for _, d := range ve.Detail {
		if slices.Equal(d.Loc, loc) {
			if d.Msg != msg || d.Type != "value_error" {
				t.Errorf("entry at %q: msg %q type %q, want %q, value_error", loc, d.Msg, d.Type, msg)
			}
			return
		}
	}
	t.Errorf("422 body %s has no entry at loc %q", body, loc)
}

// TestNULInPayloadRoundTrips publishes payloads holding \u0000 escapes (in
// values and keys, and through rawPayload) on both databases: they are
// accepted, stored byte for byte, and every response that shows them is
// valid UTF-8 JSON carrying the same bytes. Event type schemas keep them
// too.
func TestNULInPayloadRoundTrips(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"a"}`, nil)
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app/a/endpoint", testAdminToken, `{"url":"https://example.com/h","uid":"e"}`, nil)

		payloads := []struct{ name, body, want string }{
			{"in a value", `{"eventType":"t","payload":{"a":"x\u0000y","b":["\u0000"]}}`, `{"a":"x\u0000y","b":["\u0000"]}`},
			{"in a key", `{"eventType":"t","payload":{"\u0000":1,"k\u0000k":{"\u0000":"\u0000"}}}`, `{"\u0000":1,"k\u0000k":{"\u0000":"\u0000"}}`},
			{"through rawPayload", `{"eventType":"t","payload":{},"transformationsParams":{"rawPayload":"{\"r\":\"\\u0000\"}"}}`, `{"r":"\u0000"}`},
		}
		for _, p := range payloads {
			t.Run(p.name, func(t *testing.T) {
				status, out := h.do("POST", "/api/v1/app/a/msg", testAdminToken, p.body)
				if status != http.StatusAccepted {
					t.Fatalf("publish: %d %s", status, out)
				}
				var created messageOut
				if err := json.Unmarshal(out, &created); err != nil {
					t.Fatal(err)
				}
				paths := []string{
					"/api/v1/app/a/msg/" + created.ID,
					"/api/v1/app/a/msg",
					"/api/v1/app/a/endpoint/e/msg",
				}
				for _, path := range paths {
					status, got := h.do("GET", path, testAdminToken, nil)
					if status != http.StatusOK {
						t.Fatalf("GET %s: %d %s", path, status, got)
					}
					if !utf8.Valid(got) {
						t.Errorf("GET %s: not valid UTF-8: %q", path, got)
					}
					if !bytes.Contains(got, []byte(`"payload":`+p.want)) {
						t.Errorf("GET %s: %s does not carry payload %s", path, got, p.want)
					}
				}
				if !bytes.Contains(out, []byte(`"payload":`+p.want)) {
					t.Errorf("publish answered %s, want payload %s", out, p.want)
				}
			})
		}

		t.Run("event type schemas", func(t *testing.T) {
			schemas := `{"1":{"type":"object","examples":[{"nul":"\u0000"}]}}`
			h.mustDo(http.StatusCreated, "POST", "/api/v1/event-type", testAdminToken, `{"name":"nul.t","description":"d","schemas":`+schemas+`}`, nil)
			status, got := h.do("GET", "/api/v1/event-type/nul.t", testAdminToken, nil)
			if status != http.StatusOK || !bytes.Contains(got, []byte(`"schemas":`+schemas)) || !utf8.Valid(got) {
				t.Errorf("GET event type: %d %s, want schemas %s", status, got, schemas)
			}
			status, got = h.do("POST", "/api/v1/app/a/endpoint/e/send-example", testAdminToken, `{"eventType":"nul.t"}`)
			if status != http.StatusAccepted || !bytes.Contains(got, []byte(`"payload":{"nul":"\u0000"}`)) {
				t.Errorf("send-example: %d %s", status, got)
			}
		})
	})
}

// TestStoredInvalidPayloadAnswersValidJSON stores a payload with invalid
// UTF-8 directly (as an older version could have) and checks that every
// response showing it is valid UTF-8 JSON, the bad bytes replaced.
func TestStoredInvalidPayloadAnswersValidJSON(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		var app applicationOut
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"a"}`, &app)
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app/a/endpoint", testAdminToken, `{"url":"https://example.com/h","uid":"e"}`, nil)
		m := &hookrelay.Message{
			ID: hookrelay.NewID(hookrelay.PrefixMessage), AppID: app.ID, EventType: "t",
			Payload:   []byte("{\"a\":\"x\xffy\",\"b\":\"\xed\xa0\x80\"}"),
			CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
		}
		if _, err := h.st.CreateMessage(context.Background(), store.CreateMessageParams{Message: m}); err != nil {
			t.Fatal(err)
		}
		h.makeAttempts(hookrelay.StatusSuccess, 200, "ok")
		paths := []string{
			"/api/v1/app/a/msg/" + m.ID,
			"/api/v1/app/a/msg",
			"/api/v1/app/a/endpoint/e/msg",
			"/api/v1/app/a/attempt/endpoint/e?with_msg=true",
			"/api/v1/app/a/attempt?status=0&with_msg=true",
		}
		for _, path := range paths {
			status, got := h.do("GET", path, testAdminToken, nil)
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, status, got)
			}
			if !utf8.Valid(got) || !json.Valid(got) {
				t.Errorf("GET %s: not valid UTF-8 JSON: %q", path, got)
			}
			if !strings.Contains(string(got), "\"a\":\"x\uFFFDy\"") {
				t.Errorf("GET %s: %q does not show the payload with the bad byte replaced", path, got)
			}
		}
	})
}
