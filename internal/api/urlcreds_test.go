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

// The forms of endpoint URL accepted and refused, alike on create, PUT and
// PATCH: a refused URL is 422 at ["body","url"] and changes nothing; an
// accepted one is stored as given and shown without credentials.
func TestEndpointURLForms(t *testing.T) {
	tests := []struct {
		name, url string
		shown     string // "" when refused
		why       string // when refused, a part of the message
	}{
		{"plain", "https://example.com/hook", "https://example.com/hook", ""},
		{"port 0", "http://example.com:0/hook", "", "port"},
		{"port 1", "http://example.com:1/hook", "http://example.com:1/hook", ""},
		{"port 65535", "http://example.com:65535/hook", "http://example.com:65535/hook", ""},
		{"port 65536", "http://example.com:65536/hook", "", "port"},
		{"port 99999", "http://example.com:99999/", "", "port"},
		{"port with leading zeros", "http://example.com:08080/", "http://example.com:08080/", ""},
		{"port not a number", "http://example.com:8o8o/", "", "invalid port"},
		{"empty port", "http://example.com:/hook", "http://example.com:/hook", ""},
		{"space in path", "https://example.com/a b", "", "spaces"},
		{"space in query", "https://example.com/x?q=a b", "", "spaces"},
		{"space in fragment", "https://example.com/x#a b", "", "spaces"},
		{"escaped space", "https://example.com/a%20b?q=a%20b", "https://example.com/a%20b?q=a%20b", ""},
		{"tab", "https://example.com/a\tb", "", "control"},
		{"CR LF", "https://example.com/x\r\nX-Injected: 1", "", "control"},
		{"LF in query", "https://example.com/x?q=1\nHost: evil", "", "control"},
		{"NUL", "https://example.com/x\x00", "", "NUL"},
		{"DEL", "https://example.com/x\x7f", "", "control"},
		{"leading space", " https://example.com/", "", "spaces"},
		{"userinfo", "https://user:pa%40ss@example.com/hook", "https://example.com/hook", ""},
		{"user only", "https://user@example.com/hook", "https://example.com/hook", ""},
		{"userinfo that looks sealed", "https://sealed:v1:k:abc@example.com/", "", "sealed:"},
		{"IPv6 literal with port", "http://[2001:db8::1]:8080/hook", "http://[2001:db8::1]:8080/hook", ""},
		{"IPv6 literal with bad port", "http://[2001:db8::1]:70000/hook", "", "port"},
		{"IDN", "https://bücher.example/hook", "", "punycode"},
		{"IDN in punycode", "https://xn--bcher-kva.example/hook", "https://xn--bcher-kva.example/hook", ""},
		{"non-ASCII path and query", "https://example.com/café?q=é", "https://example.com/café?q=é", ""},
		{"no host", "https:///hook", "", "absolute"},
		{"other scheme", "ftp://example.com/", "", "absolute"},
	}
	h := newHarness(t)
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, map[string]any{"name": "a", "uid": "a"}, nil)
	const before = "https://before.example.com/hook"
	var ep struct{ ID string }
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app/a/endpoint", testAdminToken, map[string]any{"url": before}, &ep)
	base := "/api/v1/app/a/endpoint/" + ep.ID
	for _, tt := range tests {
		for _, m := range []struct{ method, path string }{
			{"POST", "/api/v1/app/a/endpoint"}, {"PUT", base}, {"PATCH", base},
		} {
			t.Run(tt.name+"/"+m.method, func(t *testing.T) {
				snap := h.snapshot()
				status, body := h.do(m.method, m.path, testAdminToken, map[string]any{"url": tt.url})
				if tt.shown == "" {
					assertErrorBody(t, status, body, "", []string{"body", "url"})
					if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), tt.why) {
						t.Fatalf("status %d, want 422 saying %q: %s", status, tt.why, body)
					}
					if after := h.snapshot(); after != snap {
						t.Fatalf("a refused URL changed something:\n%s\n---\n%s", snap, after)
					}
					return
				}
				want := http.StatusOK
				if m.method == "POST" {
					want = http.StatusCreated
				}
				if status != want {
					t.Fatalf("status %d, want %d: %s", status, want, body)
				}
				var out struct{ ID, URL string }
				if err := json.Unmarshal(body, &out); err != nil {
					t.Fatal(err)
				}
				if out.URL != tt.shown {
					t.Fatalf("url shown %q, want %q", out.URL, tt.shown)
				}
				if m.method == "POST" {
					h.mustDo(http.StatusNoContent, "DELETE", "/api/v1/app/a/endpoint/"+out.ID, testAdminToken, nil, nil)
				} else {
					h.mustDo(http.StatusOK, "PUT", base, testAdminToken, map[string]any{"url": before}, nil)
				}
			})
		}
	}
}
