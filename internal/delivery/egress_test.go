package delivery_test

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/delivery"
)

// Every test here targets 127.0.0.0/8 and ::1 only.

// deliverOnce publishes one message to a new endpoint for rawURL, waits for
// its delivery to leave pending (one attempt: the base config has no
// retries) and returns the attempt.
func deliverOnce(t *testing.T, f *fixture, d *delivery.Dispatcher, rawURL string) hookrelay.Attempt {
	t.Helper()
	ep := f.endpoint(rawURL, nil)
	m := f.publish(ep.ID, `{"type":"call.completed"}`)
	d.Wake()
	waitFor(t, 5*time.Second, "the attempt to "+rawURL, func() bool {
		return f.deliveryOf(m.ID, ep.ID).Status != hookrelay.StatusPending
	})
	as := f.attempts(m.ID)
	if len(as) != 1 {
		t.Fatalf("%d attempts, want 1", len(as))
	}
	return as[0]
}

func TestSSRFRefusals(t *testing.T) {
	f := newFixture(t)
	v4 := newReceiver(t, nil) // 127.0.0.1
	v4b := newReceiverOn(t, listen(t, "127.0.0.2:0"), false, nil)
	v6 := newReceiverOn(t, listen(t, "[::1]:0"), false, nil)
	receivers := []*receiver{v4, v4b, v6}
	p4, p4b, p6 := port(v4.URL), port(v4b.URL), port(v6.URL)
	resolver := startDNS(t, map[string][]netip.Addr{
		"v4.hooks.test":     {netip.MustParseAddr("127.0.0.1")},
		"v4b.hooks.test":    {netip.MustParseAddr("127.0.0.2")},
		"v6.hooks.test":     {netip.MustParseAddr("::1")},
		"mapped.hooks.test": {netip.MustParseAddr("::ffff:127.0.0.1")},
	})
	loop4 := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

	tests := []struct {
		name  string
		url   string
		allow []netip.Prefix
		want  string // the refusal, or "" for a delivery
	}{
		{"ipv4 loopback", "http://127.0.0.1:" + p4 + "/", nil, "destination 127.0.0.1 refused: loopback address"},
		{"other ipv4 loopback", "http://127.0.0.2:" + p4b + "/", nil, "destination 127.0.0.2 refused: loopback address"},
		{"ipv6 loopback", "http://[::1]:" + p6 + "/", nil, "destination ::1 refused: loopback address"},
		{"ipv4-mapped ipv6", "http://[::ffff:127.0.0.1]:" + p4 + "/", nil, "destination 127.0.0.1 refused: loopback address"},
		{"ipv4-mapped ipv6, hex", "http://[::ffff:7f00:1]:" + p4 + "/", nil, "destination 127.0.0.1 refused: loopback address"},
		{"localhost", "http://localhost:" + p4 + "/", nil, "refused: loopback address"},
		{"name resolving to 127.0.0.1", "http://v4.hooks.test:" + p4 + "/", nil, "destination 127.0.0.1 refused: loopback address"},
		{"name resolving to 127.0.0.2", "http://V4B.hooks.test.:" + p4b + "/", nil, "destination 127.0.0.2 refused: loopback address"},
		{"name resolving to ::1", "http://v6.hooks.test:" + p6 + "/", nil, "destination ::1 refused: loopback address"},
		{"name resolving to an ipv4-mapped address", "http://mapped.hooks.test:" + p4 + "/", nil, "destination 127.0.0.1 refused: loopback address"},
		{"ipv4 allow-list does not cover ::1", "http://[::1]:" + p6 + "/", loop4, "destination ::1 refused: loopback address"},
		{"ipv4 allow-list does not cover a name resolving to ::1", "http://v6.hooks.test:" + p6 + "/", loop4, "destination ::1 refused: loopback address"},
		{"allowed ipv4", "http://127.0.0.1:" + p4 + "/", loop4, ""},
		{"allowed ipv4-mapped", "http://[::ffff:127.0.0.1]:" + p4 + "/", loop4, ""},
		{"allowed name", "http://v4b.hooks.test:" + p4b + "/", loop4, ""},
	}
	for _, mode := range []string{"direct", "http proxy", "socks5 proxy"} {
		t.Run(mode, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var proxy *testProxy
					cfg := baseConfig(f.st)
					cfg.AllowPrivate = tt.allow
					cfg.Resolver = resolver
					switch mode {
					case "http proxy":
						proxy = startHTTPProxy(t, "", "")
					case "socks5 proxy":
						proxy = startSOCKS5Proxy(t, "", "")
					}
					if proxy != nil {
						cfg.Proxy, _ = url.Parse(proxy.URL)
						if tt.want == "" && strings.Contains(tt.url, ".hooks.test") {
							t.Skip("the test proxy cannot resolve test names")
						}
					}
					before := make([]int, len(receivers))
					for i, rc := range receivers {
						before[i] = rc.count()
					}
					d, _ := startDispatcher(t, cfg)
					a := deliverOnce(t, f, d, tt.url)
					if tt.want == "" {
						if a.Status != hookrelay.StatusSuccess {
							t.Fatalf("attempt %d %q, want a delivery", a.ResponseStatusCode, a.Response)
						}
						if proxy != nil && proxy.conns.Load() == 0 {
							t.Fatalf("delivered without the proxy")
						}
						return
					}
					if a.Status != hookrelay.StatusFail || a.ResponseStatusCode != 0 || !strings.Contains(a.Response, tt.want) {
						t.Fatalf("attempt: status %d code %d response %q, want a failure %q", a.Status, a.ResponseStatusCode, a.Response, tt.want)
					}
					for i, rc := range receivers {
						if n := rc.count() - before[i]; n != 0 {
							t.Fatalf("receiver %s got %d requests", rc.URL, n)
						}
					}
					if proxy != nil && proxy.conns.Load() != 0 {
						t.Fatalf("the proxy was asked %v", proxy.requests())
					}
				})
			}
		})
	}
}

func TestRedirectsNotFollowed(t *testing.T) {
	f := newFixture(t)
	target := newReceiver(t, nil)
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
				http.Redirect(w, r, target.URL+"/elsewhere", code)
			})
			d, _ := startDispatcher(t, baseConfig(f.st))
			a := deliverOnce(t, f, d, rc.URL)
			if a.Status != hookrelay.StatusFail || a.ResponseStatusCode != code {
				t.Fatalf("attempt: status %d code %d, want a failed %d", a.Status, a.ResponseStatusCode, code)
			}
			if rc.count() != 1 || target.count() != 0 {
				t.Fatalf("receiver got %d requests, redirect target %d; want 1 and 0", rc.count(), target.count())
			}
		})
	}
}

func TestDeliverThroughProxy(t *testing.T) {
	f := newFixture(t)
	plain := newReceiver(t, nil)
	secure := newReceiverOn(t, listen(t, "127.0.0.1:0"), true, nil)
	tests := []struct {
		name   string
		start  func(t testing.TB, user, pass string) *testProxy
		user   string
		target *receiver
		asked  string // what the proxy must have been asked, %s the target's host:port
	}{
		{"http proxy, http target (forwarded)", startHTTPProxy, "", plain, "POST http://%s/hook"},
		{"http proxy, https target (CONNECT)", startHTTPProxy, "", secure, "CONNECT %s"},
		{"http proxy with credentials", startHTTPProxy, "relay", secure, "CONNECT %s"},
		{"socks5 proxy, http target", startSOCKS5Proxy, "", plain, "SOCKS %s"},
		{"socks5 proxy, https target", startSOCKS5Proxy, "", secure, "SOCKS %s"},
		{"socks5 proxy with credentials", startSOCKS5Proxy, "relay", plain, "SOCKS %s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := tt.start(t, tt.user, "s3cret")
			u, err := url.Parse(proxy.URL)
			if err != nil {
				t.Fatal(err)
			}
			if tt.user != "" {
				u.User = url.UserPassword(tt.user, "s3cret")
			}
			cfg := baseConfig(f.st)
			cfg.Proxy = u
			cfg.RootCAs = certPool(secure.Server)
			d, _ := startDispatcher(t, cfg)
			before := tt.target.count()
			a := deliverOnce(t, f, d, tt.target.URL+"/hook")
			if a.Status != hookrelay.StatusSuccess {
				t.Fatalf("attempt: code %d response %q, want a delivery", a.ResponseStatusCode, a.Response)
			}
			if tt.target.count() != before+1 {
				t.Fatalf("the receiver got %d requests, want 1", tt.target.count()-before)
			}
			hostPort := strings.TrimPrefix(strings.TrimPrefix(tt.target.URL, "http://"), "https://")
			want := strings.Replace(tt.asked, "%s", hostPort, 1)
			if got := proxy.requests(); len(got) != 1 || got[0] != want {
				t.Fatalf("the proxy was asked %q, want [%q]", got, want)
			}
			if proxy.conns.Load() != 1 {
				t.Fatalf("the proxy got %d connections, want 1", proxy.conns.Load())
			}
		})
	}

	t.Run("wrong credentials", func(t *testing.T) {
		for _, start := range []func(testing.TB, string, string) *testProxy{startHTTPProxy, startSOCKS5Proxy} {
			proxy := start(t, "relay", "s3cret")
			u, _ := url.Parse(proxy.URL)
			u.User = url.UserPassword("relay", "wrong")
			cfg := baseConfig(f.st)
			cfg.Proxy = u
			cfg.RootCAs = certPool(secure.Server)
			d, stop := startDispatcher(t, cfg)
			before := secure.count()
			a := deliverOnce(t, f, d, secure.URL)
			stop()
			if a.Status != hookrelay.StatusFail || a.ResponseStatusCode != 0 || secure.count() != before {
				t.Fatalf("%s: attempt code %d %q, receiver got %d; want a failure before the receiver",
					u.Scheme, a.ResponseStatusCode, a.Response, secure.count()-before)
			}
			if strings.Contains(a.Response, "s3cret") || strings.Contains(a.Response, "wrong") {
				t.Fatalf("the reason %q shows a password", a.Response)
			}
		}
	})

	t.Run("proxy down", func(t *testing.T) {
		ln := listen(t, "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		cfg := baseConfig(f.st)
		cfg.Proxy = &url.URL{Scheme: "http", Host: addr}
		d, _ := startDispatcher(t, cfg)
		a := deliverOnce(t, f, d, plain.URL)
		if a.Status != hookrelay.StatusFail || !strings.Contains(a.Response, "connection refused") {
			t.Fatalf("attempt: code %d %q, want a refused connection", a.ResponseStatusCode, a.Response)
		}
	})
}

func TestSourceAddress(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var remotes []string
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		mu.Lock()
		remotes = append(remotes, r.RemoteAddr)
		mu.Unlock()
	})
	host := func(hostPort string) string {
		h, _, _ := net.SplitHostPort(hostPort)
		return h
	}
	for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
		t.Run("direct from "+src, func(t *testing.T) {
			cfg := baseConfig(f.st)
			cfg.SourceAddr = netip.MustParseAddr(src)
			d, _ := startDispatcher(t, cfg)
			if a := deliverOnce(t, f, d, rc.URL); a.Status != hookrelay.StatusSuccess {
				t.Fatalf("attempt %d %q", a.ResponseStatusCode, a.Response)
			}
			mu.Lock()
			got := host(remotes[len(remotes)-1])
			mu.Unlock()
			if got != src {
				t.Fatalf("the receiver saw %s, want %s", got, src)
			}
		})
	}
	t.Run("through a proxy", func(t *testing.T) {
		proxy := startHTTPProxy(t, "", "")
		cfg := baseConfig(f.st)
		cfg.Proxy, _ = url.Parse(proxy.URL)
		cfg.SourceAddr = netip.MustParseAddr("127.0.0.4")
		d, _ := startDispatcher(t, cfg)
		if a := deliverOnce(t, f, d, rc.URL); a.Status != hookrelay.StatusSuccess {
			t.Fatalf("attempt %d %q", a.ResponseStatusCode, a.Response)
		}
		if got := proxy.remotes(); len(got) != 1 || host(got[0]) != "127.0.0.4" {
			t.Fatalf("the proxy saw connections from %v, want 127.0.0.4", got)
		}
	})
}

func TestHTTPSOnly(t *testing.T) {
	f := newFixture(t)
	plain := newReceiver(t, nil)
	secure := newReceiverOn(t, listen(t, "127.0.0.1:0"), true, nil)
	tests := []struct {
		name   string
		policy delivery.URLPolicy
		target *receiver
		url    string
		want   string // the failure, or "" for a delivery
	}{
		{"http refused", delivery.URLPolicy{HTTPSOnly: true}, plain, plain.URL, "https required"},
		{"http refused, another host exempt", delivery.URLPolicy{HTTPSOnly: true, Exempt: []string{"localhost", "10.0.0.0/8"}}, plain, plain.URL, "https required"},
		{"https delivered", delivery.URLPolicy{HTTPSOnly: true}, secure, secure.URL, ""},
		{"http to an exempt address", delivery.URLPolicy{HTTPSOnly: true, Exempt: []string{"127.0.0.1"}}, plain, plain.URL, ""},
		{"http to an exempt prefix", delivery.URLPolicy{HTTPSOnly: true, Exempt: []string{"127.0.0.0/8"}}, plain, plain.URL, ""},
		{"http to an exempt name", delivery.URLPolicy{HTTPSOnly: true, Exempt: []string{"LocalHost"}}, plain, "http://localhost:" + port(plain.URL), ""},
		{"http without https-only", delivery.URLPolicy{}, plain, plain.URL, ""},
		{"not http", delivery.URLPolicy{}, plain, "ftp://127.0.0.1:" + port(plain.URL), `invalid endpoint URL: scheme "ftp" is not http or https`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig(f.st)
			cfg.URLPolicy = tt.policy
			cfg.RootCAs = certPool(secure.Server)
			d, _ := startDispatcher(t, cfg)
			before := tt.target.count()
			a := deliverOnce(t, f, d, tt.url)
			if tt.want == "" {
				if a.Status != hookrelay.StatusSuccess || tt.target.count() != before+1 {
					t.Fatalf("attempt %d %q, receiver got %d; want a delivery", a.ResponseStatusCode, a.Response, tt.target.count()-before)
				}
				return
			}
			if a.Status != hookrelay.StatusFail || a.ResponseStatusCode != 0 || a.Response != tt.want {
				t.Fatalf("attempt: status %d code %d %q, want a failure %q", a.Status, a.ResponseStatusCode, a.Response, tt.want)
			}
			if tt.target.count() != before {
				t.Fatalf("the receiver got a request")
			}
		})
	}
}

func TestTLSVerification(t *testing.T) {
	f := newFixture(t)
	secure := newReceiverOn(t, listen(t, "127.0.0.1:0"), true, nil)
	plain := newReceiver(t, nil)
	tests := []struct {
		name       string
		trust      bool // trust the receiver's self-signed certificate
		skipVerify bool
		url        string
		want       string // part of the failure, or "" for a delivery
	}{
		{"self-signed certificate", false, false, secure.URL, "certificate signed by unknown authority"},
		{"trusted certificate", true, false, secure.URL, ""},
		{"trusted certificate for another name", true, false, "https://localhost:" + port(secure.URL), "certificate is valid for"},
		{"verification skipped", false, true, secure.URL, ""},
		{"plain http server", true, false, "https://127.0.0.1:" + port(plain.URL), "server gave HTTP response to HTTPS client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig(f.st)
			if tt.trust {
				cfg.RootCAs = certPool(secure.Server)
			}
			cfg.DangerouslySkipTLSVerify = tt.skipVerify
			d, _ := startDispatcher(t, cfg)
			before := secure.count()
			a := deliverOnce(t, f, d, tt.url)
			if tt.want == "" {
				if a.Status != hookrelay.StatusSuccess || secure.count() != before+1 {
					t.Fatalf("attempt %d %q; want a delivery", a.ResponseStatusCode, a.Response)
				}
				return
			}
			if a.Status != hookrelay.StatusFail || a.ResponseStatusCode != 0 || !strings.Contains(a.Response, tt.want) {
				t.Fatalf("attempt: status %d code %d %q, want a failure with %q", a.Status, a.ResponseStatusCode, a.Response, tt.want)
			}
			if secure.count() != before {
				t.Fatalf("the receiver got the request")
			}
		})
	}
}
