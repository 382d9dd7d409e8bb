package delivery_test

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/signature"
)

// tlsReceiver is an httptest TLS server, offering h2 or HTTP/1.1 only,
// that records every request with its protocol and counts the connections
// it accepted and the requests it answered at once.
type tlsReceiver struct {
	*httptest.Server
	conns    atomic.Int32
	inFlight atomic.Int32
	peak     atomic.Int32
	mu       sync.Mutex
	reqs     []received
	protos   []string
}

func newTLSReceiver(t testing.TB, h2 bool, handler func(w http.ResponseWriter, r *http.Request, n int)) *tlsReceiver {
	t.Helper()
	rc := &tlsReceiver{}
	rc.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rc.inFlight.Add(1)
		defer rc.inFlight.Add(-1)
		for p := rc.peak.Load(); n > p && !rc.peak.CompareAndSwap(p, n); p = rc.peak.Load() {
		}
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, received{at: time.Now(), method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body})
		rc.protos = append(rc.protos, r.Proto)
		count := len(rc.reqs)
		rc.mu.Unlock()
		if handler != nil {
			handler(w, r, count)
		}
	}))
	rc.EnableHTTP2 = h2
	rc.Config.ErrorLog = log.New(io.Discard, "", 0)
	rc.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rc.conns.Add(1)
		}
	}
	rc.StartTLS()
	t.Cleanup(rc.Close)
	return rc
}

func (rc *tlsReceiver) requests() ([]received, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...), append([]string(nil), rc.protos...)
}

func (rc *tlsReceiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

// h2Config is baseConfig with HTTP/2 offered and rc's certificate trusted.
func h2Config(f *fixture, rc *tlsReceiver, h2 bool) delivery.Config {
	cfg := baseConfig(f.st)
	cfg.HTTP2 = h2
	cfg.RootCAs = certPool(rc.Server)
	return cfg
}

// publishAll publishes n messages to ep and waits until every delivery
// has left pending.
func publishAll(t *testing.T, f *fixture, d *delivery.Dispatcher, ep *hookrelay.Endpoint, n int, within time.Duration) []*hookrelay.Message {
	t.Helper()
	msgs := make([]*hookrelay.Message, n)
	for i := range msgs {
		msgs[i] = f.publish(ep.ID, fmt.Sprintf(`{"type":"call.completed","seq":%d}`, i))
	}
	d.Wake()
	waitFor(t, within, "every delivery to end", func() bool {
		for _, m := range msgs {
			if f.deliveryOf(m.ID, ep.ID).Status == hookrelay.StatusPending {
				return false
			}
		}
		return true
	})
	return msgs
}

// TestHTTP2Delivery delivers through the real sender to receivers that
// offer h2 and to receivers that offer HTTP/1.1 only, with HTTP/2 on and
// off: the protocol is h2 only when both sides offer it, and either way the
// signed headers, the body and the recorded status are the same.
func TestHTTP2Delivery(t *testing.T) {
	tests := []struct {
		name           string
		serverH2, conf bool
		wantProto      string
	}{
		{"both offer h2", true, true, "HTTP/2.0"},
		{"receiver offers HTTP/1.1 only", false, true, "HTTP/1.1"},
		{"HTTP/2 off", true, false, "HTTP/1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			rc := newTLSReceiver(t, tt.serverH2, func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusCreated)
				fmt.Fprintf(w, "got %d", n)
			})
			ep := f.endpoint(rc.URL+"/hooks/in?tenant=a%20b&x=1", func(ep *hookrelay.Endpoint) {
				ep.Headers = map[string]string{"X-Tenant-Key": "k-123"}
			})
			d, _ := startDispatcher(t, h2Config(f, rc, tt.conf))
			msgs := publishAll(t, f, d, ep, 5, 10*time.Second)
			reqs, protos := rc.requests()
			if len(reqs) != len(msgs) {
				t.Fatalf("%d requests, want %d", len(reqs), len(msgs))
			}
			bodies := map[string]bool{}
			for i, req := range reqs {
				if protos[i] != tt.wantProto {
					t.Errorf("request %d came over %s, want %s", i, protos[i], tt.wantProto)
				}
				h := req.header
				if err := signature.Verify([]string{ep.Secret}, h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature"), req.body, time.Now(), 0); err != nil {
					t.Errorf("request %d: signature: %v", i, err)
				}
				if h.Get("X-Tenant-Key") != "k-123" || h.Get("Content-Type") != "application/json" || !strings.HasPrefix(h.Get("User-Agent"), "hookrelay/") {
					t.Errorf("request %d: headers %v", i, h)
				}
				if req.method != "POST" || req.path != "/hooks/in" {
					t.Errorf("request %d: %s %s", i, req.method, req.path)
				}
				bodies[string(req.body)] = true
			}
			for _, m := range msgs {
				if !bodies[string(m.Payload)] {
					t.Errorf("no request carried %s whole", m.Payload)
				}
				as := f.attempts(m.ID)
				if len(as) != 1 || as[0].Status != hookrelay.StatusSuccess || as[0].ResponseStatusCode != 201 || !strings.HasPrefix(as[0].Response, "got ") {
					t.Errorf("attempts of %s: %+v", m.ID, as)
				}
			}
		})
	}
}

// TestHTTP2StreamsShareAConnection sends an endpoint's concurrent requests
// as streams of one connection.
func TestHTTP2StreamsShareAConnection(t *testing.T) {
	f := newFixture(t)
	rc := newTLSReceiver(t, true, func(w http.ResponseWriter, r *http.Request, n int) {
		time.Sleep(30 * time.Millisecond)
	})
	ep := f.endpoint(rc.URL, func(ep *hookrelay.Endpoint) { ep.Options.MaxInFlight = 8 })
	d, _ := startDispatcher(t, h2Config(f, rc, true))
	msgs := publishAll(t, f, d, ep, 60, 20*time.Second)
	for _, m := range msgs {
		if st := f.deliveryOf(m.ID, ep.ID).Status; st != hookrelay.StatusSuccess {
			t.Fatalf("delivery of %s: status %v", m.ID, st)
		}
	}
	if peak := rc.peak.Load(); peak < 4 {
		t.Errorf("at most %d requests in flight at once, want the window to have grown to 4 or more", peak)
	}
	if n := rc.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1 carrying every stream", n)
	}
}

// TestHTTP2ConnectionLossLosesNothing cuts every connection mid-run, then
// has the receiver send GOAWAY after every request for a while: every
// message still arrives.
func TestHTTP2ConnectionLossLosesNothing(t *testing.T) {
	f := newFixture(t)
	const n = 60
	var rc *tlsReceiver
	rc = newTLSReceiver(t, true, func(w http.ResponseWriter, r *http.Request, count int) {
		time.Sleep(10 * time.Millisecond)
		switch count {
		case 15:
			// Cut every connection, this request's included.
			go rc.CloseClientConnections()
		case 30:
			// Every connection says GOAWAY once its streams end.
			rc.Config.SetKeepAlivesEnabled(false)
		case 45:
			rc.Config.SetKeepAlivesEnabled(true)
		}
	})
	ep := f.endpoint(rc.URL, func(ep *hookrelay.Endpoint) { ep.Options.MaxInFlight = 8 })
	cfg := h2Config(f, rc, true)
	cfg.RetrySchedule = []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}
	d, _ := startDispatcher(t, cfg)
	msgs := publishAll(t, f, d, ep, n, 30*time.Second)
	reqs, protos := rc.requests()
	got := map[string]bool{}
	for i, req := range reqs {
		got[req.header.Get("webhook-id")] = true
		if protos[i] != "HTTP/2.0" {
			t.Errorf("request %d came over %s", i, protos[i])
		}
	}
	for _, m := range msgs {
		if st := f.deliveryOf(m.ID, ep.ID).Status; st != hookrelay.StatusSuccess {
			t.Errorf("delivery of %s: status %v, attempts %+v", m.ID, st, f.attempts(m.ID))
		}
		if !got[m.ID] {
			t.Errorf("%s never arrived", m.ID)
		}
	}
	if c := rc.conns.Load(); c < 3 {
		t.Errorf("%d connections: the cut and the GOAWAYs should have needed more", c)
	}
	attempts := 0
	for _, m := range msgs {
		attempts += len(f.attempts(m.ID))
	}
	t.Logf("%d requests and %d attempts for %d messages over %d connections, at most %d at once", len(reqs), attempts, n, rc.conns.Load(), rc.peak.Load())
}

// TestHTTP2GuardRefuses checks that offering h2 changes nothing in what the
// SSRF guard refuses: an address, or a name that resolves to one.
func TestHTTP2GuardRefuses(t *testing.T) {
	f := newFixture(t)
	rc := newTLSReceiver(t, true, nil)
	p := port(rc.URL)
	resolver := startDNS(t, map[string][]netip.Addr{"h2.hooks.test": {netip.MustParseAddr("127.0.0.1")}})
	cfg := h2Config(f, rc, true)
	cfg.AllowPrivate = nil
	cfg.Resolver = resolver
	d, _ := startDispatcher(t, cfg)
	for _, u := range []string{"https://127.0.0.1:" + p + "/", "https://h2.hooks.test:" + p + "/", "https://[::ffff:127.0.0.1]:" + p + "/"} {
		a := deliverOnce(t, f, d, u)
		if a.Status != hookrelay.StatusFail || a.ResponseStatusCode != 0 || a.Response != "destination 127.0.0.1 refused: loopback address" {
			t.Errorf("%s: attempt %d %q, want refused as loopback", u, a.ResponseStatusCode, a.Response)
		}
	}
	if rc.count() != 0 || rc.conns.Load() != 0 {
		t.Errorf("the receiver got %d requests on %d connections", rc.count(), rc.conns.Load())
	}
}

// TestHTTP2LimitsApply checks the response body limit, the timeout (of the
// answer and of its body) and Retry-After over HTTP/2, and that a cut body
// costs the connection nothing.
func TestHTTP2LimitsApply(t *testing.T) {
	const bodyLimit = 4 << 10
	f := newFixture(t)
	rc := newTLSReceiver(t, true, func(w http.ResponseWriter, r *http.Request, n int) {
		switch r.URL.Path {
		case "/huge":
			w.WriteHeader(http.StatusInternalServerError)
			chunk := []byte(strings.Repeat("x", 32<<10))
			for i := 0; i < 64; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "/silent":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "/trickle":
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			for i := 0; i < 100; i++ {
				if _, err := w.Write([]byte("t")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		case "/busy":
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	cfg := h2Config(f, rc, true)
	cfg.ResponseBodyLimit = bodyLimit
	cfg.Timeout = time.Second
	d, stop := startDispatcher(t, cfg)
	tests := []struct {
		path     string
		code     int
		response string
	}{
		{"/huge", 500, strings.Repeat("x", bodyLimit)},
		{"/silent", 0, "request timed out after 1s"},
		{"/trickle", 200, "reading the response body: request timed out after 1s"},
		{"/ok", 200, ""},
	}
	for _, tt := range tests {
		a := deliverOnce(t, f, d, rc.URL+tt.path)
		if a.Status != hookrelay.StatusFail && tt.code != 200 || a.ResponseStatusCode != tt.code || a.Response != tt.response {
			t.Errorf("%s: attempt %v %d %.80q, want %d %.80q", tt.path, a.Status, a.ResponseStatusCode, a.Response, tt.code, tt.response)
		}
	}
	if c := rc.conns.Load(); c != 1 {
		t.Errorf("%d connections: a cut body or a timed-out stream should not cost the connection", c)
	}

	// Retry-After sets the wait before the next attempt.
	stop()
	cfg.RetrySchedule = []time.Duration{50 * time.Millisecond}
	d2, _ := startDispatcher(t, cfg)
	ep := f.endpoint(rc.URL+"/busy", nil)
	m := f.publish(ep.ID, `{}`)
	d2.Wake()
	waitFor(t, 10*time.Second, "both attempts", func() bool { return len(f.attempts(m.ID)) == 2 })
	as := f.attempts(m.ID)
	if gap := as[1].CreatedAt.Sub(as[0].CreatedAt); gap < 950*time.Millisecond || gap > 3*time.Second {
		t.Errorf("second attempt %v after a 503 with Retry-After: 1", gap)
	}
}
