package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Credentials in an endpoint URL are kept for delivery but never shown:
// every response that carries the endpoint's URL, or an attempt's, has it
// without them.
func TestURLCredentialsNeverShown(t *testing.T) {
	const (
		password = "pw-51f0a9d3c8"
		withCred = "https://relay:" + password + "@example.com/hook?tenant=7"
		shown    = "https://example.com/hook?tenant=7"
	)
	h := newHarness(t)
	var app struct{ ID string }
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, map[string]any{"name": "a", "uid": "a"}, &app)
	h.mustDo(http.StatusCreated, "POST", "/api/v1/event-type", testAdminToken, map[string]any{"name": "e.x", "description": "x"}, nil)

	// Every answer below is checked whole for the password.
	call := func(want int, method, path string, body any) []byte {
		t.Helper()
		status, b := h.do(method, path, testAdminToken, body)
		if status != want {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
		}
		if strings.Contains(string(b), password) || strings.Contains(string(b), "relay:") {
			t.Fatalf("%s %s shows the URL credentials: %s", method, path, b)
		}
		return b
	}
	urlOf := func(b []byte) string {
		t.Helper()
		var out struct{ URL string }
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out.URL
	}
	stored := func(id string) string {
		t.Helper()
		ep, err := h.st.GetEndpoint(context.Background(), app.ID, id)
		if err != nil {
			t.Fatalf("get stored endpoint: %v", err)
		}
		return ep.URL
	}

	created := call(http.StatusCreated, "POST", "/api/v1/app/a/endpoint", map[string]any{"url": withCred, "uid": "one"})
	if got := urlOf(created); got != shown {
		t.Fatalf("create answers url %q, want %q", got, shown)
	}
	var ep struct{ ID string }
	_ = json.Unmarshal(created, &ep)
	if got := stored(ep.ID); got != withCred {
		t.Fatalf("stored URL %q, want the credentials kept for delivery", got)
	}
	base := "/api/v1/app/a/endpoint/" + ep.ID
	if got := urlOf(call(http.StatusOK, "GET", base, nil)); got != shown {
		t.Fatalf("get answers url %q", got)
	}
	call(http.StatusOK, "GET", "/api/v1/app/a/endpoint", nil)
	// An upsert (PUT of an unknown uid) creates with credentials too.
	if got := urlOf(call(http.StatusCreated, "PUT", "/api/v1/app/a/endpoint/two", map[string]any{"url": withCred})); got != shown {
		t.Fatalf("upsert answers url %q", got)
	}
	if got := urlOf(call(http.StatusOK, "PUT", base, map[string]any{"url": withCred, "uid": "one"})); got != shown {
		t.Fatalf("update answers url %q", got)
	}
	// A patch that leaves the URL alone keeps the credentials.
	if got := urlOf(call(http.StatusOK, "PATCH", base, map[string]any{"description": "d"})); got != shown {
		t.Fatalf("patch answers url %q", got)
	}
	if got := stored(ep.ID); got != withCred {
		t.Fatalf("a patch without url changed the stored URL to %q", got)
	}

	// Published, attempted: the destinations and the attempts show the
	// URL without credentials, even for attempts recorded with them (as
	// attempts recorded before this release were).
	var msg struct{ ID string }
	_ = json.Unmarshal(call(http.StatusAccepted, "POST", "/api/v1/app/a/msg", map[string]any{"eventType": "e.x", "payload": map[string]any{}}), &msg)
	atts := h.makeAttempts(2, 500, "no")
	if len(atts) != 2 || !strings.Contains(atts[0].URL, password) {
		t.Fatalf("fixture: attempts %+v, want two recorded with the credentials", atts)
	}
	call(http.StatusOK, "GET", "/api/v1/app/a/msg/"+msg.ID+"/endpoint", nil)
	call(http.StatusOK, "GET", "/api/v1/app/a/attempt/msg/"+msg.ID, nil)
	attempts := call(http.StatusOK, "GET", "/api/v1/app/a/attempt/endpoint/"+ep.ID, nil)
	if !strings.Contains(string(attempts), `"url":"`+shown+`"`) {
		t.Fatalf("attempts by endpoint: %s, want url %s", attempts, shown)
	}
	call(http.StatusOK, "GET", "/api/v1/app/a/msg/"+msg.ID+"/attempt/"+atts[0].ID, nil)
	call(http.StatusOK, "GET", base+"/msg", nil)

	// The URL given replaces the stored one whole: without credentials,
	// it drops them, by PUT as by PATCH.
	call(http.StatusOK, "PUT", base, map[string]any{"url": shown, "uid": "one"})
	if got := stored(ep.ID); got != shown {
		t.Fatalf("PUT without credentials: stored %q, want %q", got, shown)
	}
	call(http.StatusOK, "PATCH", base, map[string]any{"url": withCred})
	call(http.StatusOK, "PATCH", base, map[string]any{"url": shown})
	if got := stored(ep.ID); got != shown {
		t.Fatalf("PATCH without credentials: stored %q, want %q", got, shown)
	}
}
