package delivery_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/dnscache"
	"github.com/hookrelay/hookrelay/internal/dnstest"
)

// TestDNSCacheAcrossConnections delivers twice to one host name, each time
// on a new connection (the receiver closes every one): through the cache
// the name is asked once, without it once per connection.
func TestDNSCacheAcrossConnections(t *testing.T) {
	f := newFixture(t)
	var conns atomic.Int64
	rc := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusNoContent)
	}))
	rc.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	rc.Start()
	t.Cleanup(rc.Close)

	for _, tt := range []struct {
		name    string
		cached  bool
		queries int // A queries for two deliveries
	}{
		{"cached", true, 1},
		{"uncached", false, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := dnstest.Start(t)
			srv.Set("receiver.hooks.test", dnstest.Name{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, TTL: 300, NegativeTTL: 60})
			cfg := baseConfig(f.st)
			cfg.Resolver = srv.Resolver()
			if tt.cached {
				cfg.Resolver = dnscache.New(dnscache.Config{Dial: srv.Dial}).Resolver()
			}
			d, _ := startDispatcher(t, cfg)
			before := conns.Load()
			for i := range 2 {
				a := deliverOnce(t, f, d, "http://receiver.hooks.test:"+port(rc.URL)+"/hook")
				if a.Status != hookrelay.StatusSuccess {
					t.Fatalf("delivery %d: %d %q", i+1, a.ResponseStatusCode, a.Response)
				}
			}
			if n := conns.Load() - before; n != 2 {
				t.Fatalf("%d connections, want 2 (one per delivery)", n)
			}
			if n := srv.Count("receiver.hooks.test", dnsmessage.TypeA, ""); n != tt.queries {
				t.Fatalf("%d A queries for 2 connections, want %d", n, tt.queries)
			}
			if n := srv.Count("receiver.hooks.test", dnsmessage.TypeAAAA, ""); n != tt.queries {
				t.Fatalf("%d AAAA queries for 2 connections, want %d", n, tt.queries)
			}
		})
	}
}

// TestDNSCacheGuarded checks that an answer from the cache is judged by the
// SSRF guard like a fresh one: a name resolving to a loopback address is
// refused on every attempt, the second from the cache.
func TestDNSCacheGuarded(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	for _, mode := range []string{"direct", "http proxy"} {
		t.Run(mode, func(t *testing.T) {
			srv := dnstest.Start(t)
			srv.Set("inside.hooks.test", dnstest.Name{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, TTL: 300, NegativeTTL: 60})
			cache := dnscache.New(dnscache.Config{Dial: srv.Dial})
			cfg := baseConfig(f.st)
			cfg.AllowPrivate = nil
			cfg.Resolver = cache.Resolver()
			var proxy *testProxy
			if mode == "http proxy" {
				proxy = startHTTPProxy(t, "", "")
				cfg.Proxy, _ = url.Parse(proxy.URL)
			}
			d, _ := startDispatcher(t, cfg)
			before := rc.count()
			for i := range 2 {
				a := deliverOnce(t, f, d, "http://inside.hooks.test:"+port(rc.URL)+"/")
				if a.Status != hookrelay.StatusFail || !strings.Contains(a.Response, "destination 127.0.0.1 refused: loopback address") {
					t.Fatalf("attempt %d: status %d %q, want a refusal", i+1, a.Status, a.Response)
				}
			}
			if n := rc.count() - before; n != 0 {
				t.Fatalf("the receiver got %d requests", n)
			}
			if proxy != nil && proxy.conns.Load() != 0 {
				t.Fatalf("the proxy was asked %v", proxy.requests())
			}
			if n := srv.Count("inside.hooks.test", dnsmessage.TypeA, ""); n != 1 {
				t.Fatalf("%d A queries, want 1: the second refusal should come from the cache", n)
			}
			if s := cache.Stats(); s.Hits == 0 {
				t.Fatalf("no cache hit: %+v", s)
			}
		})
	}
}
