package delivery_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
)

// A URL stored with credentials is delivered with them as Basic
// authentication, as net/http makes it (the userinfo decoded), directly and
// through each kind of proxy; the attempt records the URL without them, and
// nothing the proxy is asked carries them.
func TestURLCredentialsDeliveredAsBasicAuth(t *testing.T) {
	const password = "s3cr%40t" // "s3cr@t", escaped in the URL
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("relay:s3cr@t"))
	f := newFixture(t)
	plain := newReceiver(t, nil)
	secure := newReceiverOn(t, listen(t, "127.0.0.1:0"), true, nil)
	tests := []struct {
		name   string
		proxy  func(t testing.TB, user, pass string) *testProxy // nil: direct
		target *receiver
	}{
		{"direct http", nil, plain},
		{"direct https", nil, secure},
		{"http proxy, http target (forwarded)", startHTTPProxy, plain},
		{"http proxy, https target (CONNECT)", startHTTPProxy, secure},
		{"socks5 proxy", startSOCKS5Proxy, plain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig(f.st)
			cfg.RootCAs = certPool(secure.Server)
			var proxy *testProxy
			if tt.proxy != nil {
				proxy = tt.proxy(t, "", "")
				u, err := url.Parse(proxy.URL)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Proxy = u
			}
			d, _ := startDispatcher(t, cfg)
			before := tt.target.count()
			shown := tt.target.URL + "/hook?x=1"
			withCreds := hookrelay.JoinURLUserinfo(shown, "relay:"+password)
			a := deliverOnce(t, f, d, withCreds)
			if a.Status != hookrelay.StatusSuccess {
				t.Fatalf("attempt: code %d %q, want a delivery", a.ResponseStatusCode, a.Response)
			}
			got := tt.target.requests()[before:]
			if len(got) != 1 || got[0].header.Get("Authorization") != wantAuth {
				t.Fatalf("requests %+v, want one with Authorization %q", got, wantAuth)
			}
			if a.URL != shown {
				t.Fatalf("attempt URL %q, want %q", a.URL, shown)
			}
			if proxy != nil {
				for _, asked := range proxy.requests() {
					if strings.Contains(asked, "relay") || strings.Contains(asked, "s3cr") {
						t.Fatalf("the proxy was asked %q", asked)
					}
				}
			}
		})
	}
}

// An Authorization header configured on the endpoint wins over credentials
// in its URL.
func TestAuthorizationHeaderWinsOverURLCredentials(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	ep := f.endpoint(hookrelay.JoinURLUserinfo(rc.URL+"/own", "relay:pw"), func(ep *hookrelay.Endpoint) {
		ep.Headers = map[string]string{"authorization": "Bearer mine"}
	})
	d, _ := startDispatcher(t, baseConfig(f.st))
	m := f.publish(ep.ID, `{}`)
	d.Wake()
	waitFor(t, 5*time.Second, "the request", func() bool { return rc.count() == 1 })
	if got := rc.requests()[0].header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer mine" {
		t.Fatalf("Authorization %q, want only the configured header", got)
	}
	waitFor(t, 5*time.Second, "the attempt", func() bool { return len(f.attempts(m.ID)) == 1 })
	if a := f.attempts(m.ID)[0]; a.URL != rc.URL+"/own" {
		t.Fatalf("attempt URL %q", a.URL)
	}
}

// Whatever URL is stored, delivery writes a valid request line: the bytes
// a request target cannot carry are percent-encoded, directly and through
// a proxy. (The API refuses such URLs; older rows may hold them.) A URL that
// does not parse fails its attempt with a reason that does not quote it.
func TestStoredURLNeverBreaksTheRequestLine(t *testing.T) {
	var mu sync.Mutex
	var targets []string
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		mu.Lock()
		targets = append(targets, r.RequestURI)
		mu.Unlock()
	})
	f := newFixture(t)
	for _, viaProxy := range []bool{false, true} {
		name := "direct"
		if viaProxy {
			name = "http proxy"
		}
		t.Run(name, func(t *testing.T) {
			cfg := baseConfig(f.st)
			if viaProxy {
				u, _ := url.Parse(startHTTPProxy(t, "", "").URL)
				cfg.Proxy = u
			}
			d, stop := startDispatcher(t, cfg)
			defer stop()
			mu.Lock()
			targets = nil
			mu.Unlock()
			a := deliverOnce(t, f, d, rc.URL+"/a b/café?q=a b&r=é")
			if a.Status != hookrelay.StatusSuccess {
				t.Fatalf("attempt: code %d %q, want a delivery", a.ResponseStatusCode, a.Response)
			}
			mu.Lock()
			got := append([]string(nil), targets...)
			mu.Unlock()
			const want = "/a%20b/caf%C3%A9?q=a%20b&r=%C3%A9"
			if len(got) != 1 || !strings.HasSuffix(got[0], want) {
				t.Fatalf("request targets %q, want one ending %q", got, want)
			}

			a = deliverOnce(t, f, d, "http://relay:pw-never-shown@127.0.0.1:99x/hook")
			if a.Status != hookrelay.StatusFail || !strings.Contains(a.Response, "invalid endpoint URL") ||
				strings.Contains(a.Response, "pw-never-shown") || strings.Contains(a.URL, "pw-never-shown") {
				t.Fatalf("attempt %q at %q, want a failure that shows no password", a.Response, a.URL)
			}
		})
	}
}
