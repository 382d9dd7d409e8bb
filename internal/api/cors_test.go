package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestCORS: over HTTP, a portal token is served to an allowed origin (with
// the CORS headers a browser needs, preflight included) and refused to any
// other; an admin token is refused to every browser.
func TestCORS(t *testing.T) {
	const allowed, other = "https://app.acme.test", "https://evil.test"
	h := newHarness(t, func(c *Config) { c.AllowedOrigins = []string{allowed} })
	status, body := h.do("POST", "/api/v1/auth/app-portal-access/acme", testAdminToken,
		map[string]any{"application": map[string]any{"name": "Acme"}})
	if status != http.StatusOK {
		t.Fatalf("portal access: %d %s", status, body)
	}
	var access struct{ Token string }
	_ = json.Unmarshal(body, &access)
	portalToken := access.Token

	request := func(method, path, token string, headers map[string]string) *http.Response {
		t.Helper()
		var rd io.Reader
		if method == "POST" {
			rd = strings.NewReader(`{"url":"https://example.com/hook"}`)
		}
		req, err := http.NewRequest(method, h.srv.URL+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if rd != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		return resp
	}
	read := func(resp *http.Response) string { b, _ := io.ReadAll(resp.Body); return string(b) }

	const list = "/api/v1/app/acme/endpoint"
	for _, tt := range []struct {
		name       string
		method     string
		token      string
		headers    map[string]string
		status     int
		acao       string
		bodyHas    string
		allowHdrs  string
		allowMeths bool
	}{
		{"portal token, allowed origin", "GET", portalToken, map[string]string{"Origin": allowed, "Sec-Fetch-Mode": "cors"}, 200, allowed, "", "", false},
		{"portal token, allowed origin, write", "POST", portalToken, map[string]string{"Origin": allowed}, 201, allowed, "", "", false},
		{"portal token, other origin", "GET", portalToken, map[string]string{"Origin": other}, 403, "", "may not call this API from a browser", "", false},
		{"portal token, null origin", "GET", portalToken, map[string]string{"Origin": "null"}, 403, "", "may not call", "", false},
		{"portal token, own origin", "GET", portalToken, map[string]string{"Origin": "https://hooks.example.test"}, 200, "", "", "", false},
		{"portal token, same-origin navigation", "GET", portalToken, map[string]string{"Sec-Fetch-Mode": "navigate"}, 200, "", "", "", false},
		{"portal token, no browser", "GET", portalToken, nil, 200, "", "", "", false},
		{"admin token, allowed origin", "GET", testAdminToken, map[string]string{"Origin": allowed}, 403, allowed, "admin tokens are not accepted from a browser", "", false},
		{"admin token, other origin", "GET", testAdminToken, map[string]string{"Origin": other}, 403, "", "admin tokens are not accepted", "", false},
		// Node's fetch (the JS SDK on a server) sends Sec-Fetch-Mode, no Origin.
		{"admin token, node fetch", "GET", testAdminToken, map[string]string{"Sec-Fetch-Mode": "cors"}, 200, "", "", "", false},
		{"admin token, no browser", "GET", testAdminToken, nil, 200, "", "", "", false},
		{"preflight, allowed origin", "OPTIONS", "", map[string]string{"Origin": allowed, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization, content-type, idempotency-key"}, 204, allowed, "", "authorization, content-type, idempotency-key", true},
		// What the JS SDK's POST asks for: Chromium drops the User-Agent it
		// sets; Firefox sends it, and svix-retry-count on a retry.
		{"preflight, the JS SDK in Chromium", "OPTIONS", "", map[string]string{"Origin": allowed, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization,content-type,idempotency-key,svix-req-id"}, 204, allowed, "",
			"authorization, content-type, idempotency-key, svix-req-id", true},
		{"preflight, the JS SDK in Firefox", "OPTIONS", "", map[string]string{"Origin": allowed, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization,content-type,idempotency-key,svix-req-id,svix-retry-count,user-agent"}, 204, allowed, "",
			"authorization, content-type, idempotency-key, svix-req-id, svix-retry-count, user-agent", true},
		{"preflight, other origin", "OPTIONS", "", map[string]string{"Origin": other, "Access-Control-Request-Method": "GET"}, 403, "", "may not call", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := request(tt.method, list, tt.token, tt.headers)
			body := read(resp)
			if resp.StatusCode != tt.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tt.status)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.acao {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tt.acao)
			}
			if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("credentials allowed")
			}
			if !strings.Contains(body, tt.bodyHas) {
				t.Errorf("body %s, want it to hold %q", body, tt.bodyHas)
			}
			if got := resp.Header.Get("Access-Control-Allow-Headers"); got != tt.allowHdrs {
				t.Errorf("Access-Control-Allow-Headers %q, want %q", got, tt.allowHdrs)
			}
			if got := resp.Header.Get("Access-Control-Allow-Methods"); (got != "") != tt.allowMeths || (tt.allowMeths && !strings.Contains(got, "PATCH")) {
				t.Errorf("Access-Control-Allow-Methods %q", got)
			}
			if tt.headers["Origin"] != "" && !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary %q", resp.Header.Values("Vary"))
			}
		})
	}
}

// TestBrowserShape: a browser's request whose User-Agent names no SDK (the
// JS SDK in Chromium, which drops the User-Agent a page sets) gets both
// generations' names of an endpoint's and an application's fields; one
// that names its SDK (Firefox sends it) gets that SDK's shape; requests
// without an Origin are as before.
func TestBrowserShape(t *testing.T) {
	const allowed = "https://app.acme.test"
	const chromium = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"
	h := newHarness(t, func(c *Config) { c.AllowedOrigins = []string{allowed} })
	status, body := h.do("POST", "/api/v1/auth/app-portal-access/acme", testAdminToken,
		map[string]any{"application": map[string]any{"name": "Acme", "rateLimit": 7}})
	if status != http.StatusOK {
		t.Fatalf("portal access: %d %s", status, body)
	}
	var access struct{ Token string }
	_ = json.Unmarshal(body, &access)
	if st, b := h.do("POST", "/api/v1/app/acme/endpoint", testAdminToken,
		map[string]any{"url": "https://example.com/hook", "filterTypes": []string{"a.b"}, "rateLimit": 3}); st != http.StatusCreated {
		t.Fatalf("create endpoint: %d %s", st, b)
	}
	keys := func(path, ua, origin string) string {
		t.Helper()
		headers := []string{"User-Agent", ua}
		if origin != "" {
			headers = append(headers, "Origin", origin)
		}
		st, b := h.do("GET", path, access.Token, nil, headers...)
		if st != http.StatusOK {
			t.Fatalf("GET %s (%s, %q): %d %s", path, ua, origin, st, b)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		if data, ok := v["data"].([]any); ok {
			v = data[0].(map[string]any)
		}
		var names []string
		for _, k := range []string{"filterTypes", "eventTypes", "version", "rateLimit", "throttleRate"} {
			if _, ok := v[k]; ok {
				names = append(names, k)
			}
		}
		return strings.Join(names, ",")
	}
	for _, tt := range []struct {
		name, ua, origin string
		endpoint, app    string
	}{
		{"Chromium page", chromium, allowed, "filterTypes,eventTypes,version,rateLimit,throttleRate", "rateLimit,throttleRate"},
		{"Firefox page, SDK 1.99.1", "svix-libs/1.99.1/javascript Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", allowed,
			"filterTypes,version,rateLimit,throttleRate", "rateLimit,throttleRate"},
		{"Firefox page, SDK 2.5.0", "svix-libs/2.5.0/javascript Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", allowed,
			"eventTypes,throttleRate", "throttleRate"},
		{"server, no SDK", "curl/8.5.0", "", "eventTypes,throttleRate", "throttleRate"},
		{"server, Go SDK 1.44", goSDKUserAgent, "", "filterTypes,version,rateLimit", "rateLimit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := keys("/api/v1/app/acme/endpoint", tt.ua, tt.origin); got != tt.endpoint {
				t.Errorf("endpoint fields %s, want %s", got, tt.endpoint)
			}
			if got := keys("/api/v1/app/acme", tt.ua, tt.origin); got != tt.app {
				t.Errorf("application fields %s, want %s", got, tt.app)
			}
		})
	}
}
