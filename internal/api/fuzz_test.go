package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

// The fuzz tests send arbitrary bodies to the real handlers on a real
// SQLite store, opened once per fuzz test. Whatever the body, the answer is
// never a 5xx (a panic in a handler is a 500) and every error has Svix's
// shape. `go test` runs the seeds; `go test -fuzz=FuzzDecodeEndpointIn
// ./api/` explores.

// fuzzTarget is the API with one application (uid fz) holding one endpoint,
// one message and one event type with an example.
type fuzzTarget struct {
	h                  http.Handler
	appID, epID, msgID string
}

func newFuzzTarget(f *testing.F) *fuzzTarget {
	f.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "db"))
	if err != nil {
		f.Fatalf("open store: %v", err)
	}
	f.Cleanup(func() { _ = st.Close() })
	ft := &fuzzTarget{h: New(Config{
		Store:      st,
		AdminToken: testAdminToken,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		// Created endpoints are deleted again, but a body may also rename
		// the fixture's: leave room.
		MaxEndpointsPerApp: 1000,
	})}
	setup := func(method, path, body string, out any) {
		status, b := ft.send(method, path, []byte(body))
		if status >= 300 {
			f.Fatalf("setup %s %s: %d %s", method, path, status, b)
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				f.Fatal(err)
			}
		}
	}
	var app applicationOut
	setup("POST", "/api/v1/app", `{"name":"fuzz","uid":"fz"}`, &app)
	ft.appID = app.ID
	var ep endpointOut
	setup("POST", "/api/v1/app/fz/endpoint", `{"url":"https://example.com/fz"}`, &ep)
	ft.epID = ep.ID
	schemas, _ := json.Marshal(exampleSchemas())
	setup("POST", "/api/v1/event-type", `{"name":"contact.created","description":"d","schemas":`+string(schemas)+`}`, nil)
	var msg messageOut
	setup("POST", "/api/v1/app/fz/msg", `{"eventType":"contact.created","payload":{"a":1}}`, &msg)
	ft.msgID = msg.ID
	return ft
}

// send runs one request as the admin through the handler.
func (ft *fuzzTarget) send(method, path string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	ft.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// check sends body and asserts the answer is well-formed and not a server
// error. It returns the status and body.
func (ft *fuzzTarget) check(t *testing.T, method, path string, body []byte) (int, []byte) {
	t.Helper()
	status, out := ft.send(method, path, body)
	if status >= 500 {
		t.Fatalf("%s %s with body %q: status %d: %s", method, path, body, status, out)
	}
	if status >= 400 {
		assertErrorBody(t, status, out, "", nil)
	} else if len(out) > 0 && !json.Valid(out) {
		t.Fatalf("%s %s: %d with invalid JSON %q", method, path, status, out)
	}
	return status, out
}

// paths of the fixture's objects, by ID so that a body changing a uid does
// not lose them.
func (ft *fuzzTarget) appPath() string { return "/api/v1/app/" + ft.appID }
func (ft *fuzzTarget) epPath() string  { return ft.appPath() + "/endpoint/" + ft.epID }

// seeds adds each body as a seed.
func seeds(f *testing.F, bodies ...string) {
	for _, b := range bodies {
		f.Add([]byte(b))
	}
}

// brokenBodies are seeds every decoder gets.
var brokenBodies = []string{
	``, `{}`, `null`, `[]`, `"x"`, `1`, `{`, `{"a":}`, `{"a":1}{}`, "\x00", "{\"\xff\":1}",
	`{"url":null,"uid":null,"options":null}`, strings.Repeat(`[`, 10000),
	`{"a":` + strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 101),
}

func FuzzDecodeEndpointIn(f *testing.F) {
	ft := newFuzzTarget(f)
	seeds(f, brokenBodies...)
	seeds(f,
		`{"url":"https://example.com/x"}`,
		`{"url":"https://example.com/x","uid":"u-1","description":"d","version":2,"rateLimit":10,"filterTypes":["a.*","b"],"channels":["c:1"],"disabled":true,"metadata":{"k":"v"},"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`,
		`{"url":"https://example.com/x","options":{"method":"put","timeoutSeconds":5,"retrySchedule":[1,2],"maxInFlight":3}}`,
		`{"url":"https://example.com/x","options":{"retrySchedule":[]}}`,
		`{"url":"ftp://x"}`, `{"url":"https://"}`, `{"url":5}`, `{"url":"https://x","filterTypes":[]}`,
		`{"url":"https://x","channels":[1]}`, `{"url":"https://x","metadata":{"a":1}}`, `{"url":"https://x","version":-1}`,
		`{"url":"https://x","options":{"timeoutSeconds":1e400}}`, `{"url":"https://x","options":{"retrySchedule":[1.5]}}`,
		`{"url":"https://x","options":[]}`, `{"rateLimit":null,"uid":null,"filterTypes":null,"channels":null}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		status, out := ft.check(t, "POST", ft.appPath()+"/endpoint", body)
		if status == http.StatusCreated {
			var ep endpointOut
			if err := json.Unmarshal(out, &ep); err != nil || ep.ID == "" {
				t.Fatalf("create answered %s", out)
			}
			ft.check(t, "DELETE", ft.appPath()+"/endpoint/"+ep.ID, nil)
		}
		ft.check(t, "PUT", ft.epPath(), body)
		ft.check(t, "PATCH", ft.epPath(), body)
	})
}

func FuzzDecodeOptions(f *testing.F) {
	ft := newFuzzTarget(f)
	seeds(f, brokenBodies...)
	seeds(f,
		`{"method":"POST","timeoutSeconds":30,"retrySchedule":[5,300],"maxInFlight":16}`,
		`{"method":"put"}`, `{"method":"GET"}`, `{"method":null,"timeoutSeconds":null,"retrySchedule":null,"maxInFlight":null}`,
		`{"timeoutSeconds":0}`, `{"timeoutSeconds":-1}`, `{"timeoutSeconds":9223372036854775807}`, `{"timeoutSeconds":9223372036854775808}`,
		`{"retrySchedule":[]}`, `{"retrySchedule":[86400,1]}`, `{"retrySchedule":[0]}`, `{"retrySchedule":"5s"}`,
		`{"retrySchedule":[`+strings.Repeat("1,", 100)+`1]}`, `{"maxInFlight":1000}`, `{"maxInFlight":1001}`, `{"maxInFlight":true}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, method := range []string{"PUT", "PATCH"} {
			status, out := ft.check(t, method, ft.epPath()+"/options", body)
			if status == http.StatusOK {
				var o endpointOptionsOut
				dec := json.NewDecoder(bytes.NewReader(out))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&o); err != nil || (o.Method != "POST" && o.Method != "PUT") {
					t.Fatalf("%s options answered %s (%v)", method, out, err)
				}
			}
		}
		ft.check(t, "GET", ft.epPath()+"/options", nil)
	})
}

func FuzzDecodeEndpointHeaders(f *testing.F) {
	ft := newFuzzTarget(f)
	seeds(f, brokenBodies...)
	seeds(f,
		`{"headers":{"X-A":"1","Authorization":"Bearer t","X-Webhook-Token":"s"}}`,
		`{"headers":{"X-A":null}}`, `{"headers":{"Host":"x"}}`, `{"headers":{"bad name":"x"}}`,
		`{"headers":{"X-A":"a\nb"}}`, `{"headers":{"X-A":"1","x-a":"2"}}`, `{"headers":[]}`, `{"headers":{"X-A":1}}`,
		headersBody(21, 5, 5), headersBody(1, 257, 1), headersBody(1, 5, 4097), headersBody(5, 100, 4000),
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		ft.check(t, "PUT", ft.epPath()+"/headers", body)
		ft.check(t, "PATCH", ft.epPath()+"/headers", body)
		ft.check(t, "GET", ft.epPath()+"/headers", nil)
	})
}

func FuzzDecodeMessageIn(f *testing.F) {
	ft := newFuzzTarget(f)
	seeds(f, brokenBodies...)
	seeds(f,
		`{"eventType":"contact.created","payload":{"a":1}}`,
		`{"eventType":"contact.created","eventId":"e-1","payload":{},"channels":["c"],"tags":["t"],"payloadRetentionPeriod":90}`,
		`{"eventType":"a","payload":{},"transformationsParams":{"rawPayload":"{\"x\": 1.000}"}}`,
		`{"eventType":"a","payload":{},"transformationsParams":{"rawPayload":"[1]"}}`,
		`{"eventType":"a","payload":{},"transformationsParams":{"rawPayload":7}}`,
		`{"eventType":"a","payload":{},"application":{"name":"x","uid":"y"}}`,
		`{"eventType":"a","payload":[]}`, `{"eventType":"a b","payload":{}}`, `{"eventType":"a","payload":null}`,
		`{"eventType":"a","payload":{},"tags":["a","b","c","d","e","f"]}`, `{"eventType":"a","payload":"{}"}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		ft.check(t, "POST", ft.appPath()+"/msg", body)
		// Through a path that may create the application from the body.
		ft.check(t, "POST", "/api/v1/app/fz-new/msg", body)
	})
}

func FuzzDecodeApplicationIn(f *testing.F) {
	ft := newFuzzTarget(f)
	seeds(f, brokenBodies...)
	seeds(f,
		`{"name":"x"}`, `{"name":"x","uid":"u","rateLimit":5,"metadata":{"k":"v"}}`, `{"name":""}`,
		`{"name":"x","uid":"bad uid"}`, `{"name":"x","rateLimit":0}`, `{"name":1}`, `{"metadata":null}`, `{"uid":null}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		status, out := ft.check(t, "POST", "/api/v1/app", body)
		if status == http.StatusCreated {
			var app applicationOut
			if err := json.Unmarshal(out, &app); err != nil || app.ID == "" {
				t.Fatalf("create answered %s", out)
			}
			ft.check(t, "DELETE", "/api/v1/app/"+app.ID, nil)
		}
		ft.check(t, "PUT", ft.appPath(), body)
		ft.check(t, "PATCH", ft.appPath(), body)
		ft.check(t, "POST", "/api/v1/auth/app-portal-access/fz", body)
	})
}

func FuzzDecodeEventTypeIn(f *testing.F) {
	ft := newFuzzTarget(f)
	seeds(f, brokenBodies...)
	seeds(f,
		`{"name":"a.b","description":"d"}`,
		`{"name":"a.b","description":"d","archived":false,"deprecated":true,"featureFlag":"f","groupName":"g","schemas":{"1":{"examples":[{}]}}}`,
		`{"name":"a b","description":"d"}`, `{"description":"d","schemas":[]}`, `{"featureFlag":null,"groupName":null,"schemas":null}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		status, out := ft.check(t, "POST", "/api/v1/event-type", body)
		if status == http.StatusCreated {
			var et eventTypeOut
			if err := json.Unmarshal(out, &et); err != nil || et.Name == "" {
				t.Fatalf("create answered %s", out)
			}
			if et.Name != "contact.created" {
				ft.check(t, "DELETE", "/api/v1/event-type/"+et.Name, nil)
			}
		}
		ft.check(t, "PUT", "/api/v1/event-type/fz.type", body)
		ft.check(t, "PATCH", "/api/v1/event-type/contact.created", body)
	})
}

// FuzzDecodeEndpointActions covers the small bodies: secret rotation,
// recover and send-example.
func FuzzDecodeEndpointActions(f *testing.F) {
	ft := newFuzzTarget(f)
	seeds(f, brokenBodies...)
	seeds(f,
		`{"key":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`, `{"key":"short"}`, `{"key":null}`,
		`{"since":"2024-01-01T00:00:00Z","until":"2024-01-02T00:00:00.5+02:00"}`, `{"since":"yesterday"}`, `{"since":1}`,
		`{"eventType":"contact.created","exampleIndex":1}`, `{"eventType":"contact.created","exampleIndex":99}`,
		`{"eventType":"contact.created","exampleIndex":-1}`, `{"eventType":"nope"}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		ft.check(t, "POST", ft.epPath()+"/secret/rotate", body)
		ft.check(t, "POST", ft.epPath()+"/recover", body)
		ft.check(t, "POST", ft.epPath()+"/send-example", body)
	})
}
