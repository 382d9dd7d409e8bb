package delivery_test

import (
	"bytes"
	"context"
	"encoding/base64"
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
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/sealed"
)

// sealedKeys returns a keyring of one key, id, of 32 bytes equal to b.
func sealedKeys(t *testing.T, id string, b byte) *sealed.Keyring {
	t.Helper()
	k, err := sealed.ParseKeys(id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, sealed.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// closedPort returns a loopback address:port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestRecordedOutcomeKinds delivers to endpoints that answer, fail, do not
// answer, are refused by policy, or whose sealed secrets this node cannot
// open: every recorded attempt, and what the Observer is told, carries the
// kind. The last is recorded as hookrelay's own failure and postponed five
// minutes without using up the retry schedule.
func TestRecordedOutcomeKinds(t *testing.T) {
	f := newFixture(t)
	ok := newReceiver(t, nil)
	failing := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(http.StatusInternalServerError) })
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	hanging := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	other := newReceiverOn(t, listen(t, "127.0.0.2:0"), false, nil)
	unseen := newReceiver(t, nil)

	// The node's store opens what key "ka" sealed; one endpoint was sealed
	// with "kb", which it does not have.
	st := sealed.Wrap(f.st, sealedKeys(t, "ka", 1), sealed.WithLogger(testLogger()))
	lost := &hookrelay.Endpoint{ID: hookrelay.NewID(hookrelay.PrefixEndpoint), AppID: f.app.ID, URL: unseen.URL + "/hook",
		Version: 1, Secret: newSecret(t), Headers: map[string]string{"Authorization": "Bearer x"}, Sensitive: []string{"Authorization"}}
	if err := sealed.Wrap(f.st, sealedKeys(t, "kb", 2)).CreateEndpoint(context.Background(), lost); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		ep       *hookrelay.Endpoint
		want     hookrelay.OutcomeKind
		response string // the start of the recorded response
	}{
		{"2xx", f.endpoint(ok.URL, nil), hookrelay.OutcomeSuccess, ""},
		{"500", f.endpoint(failing.URL, nil), hookrelay.OutcomeRejected, ""},
		{"connection refused", f.endpoint("http://"+closedPort(t)+"/hook", nil), hookrelay.OutcomeUnanswered, ""},
		{"timeout", f.endpoint(hanging.URL, func(ep *hookrelay.Endpoint) { ep.Options.TimeoutSeconds = 1 }),
			hookrelay.OutcomeUnanswered, "request timed out after 1s"},
		{"ssrf refused", f.endpoint(other.URL, nil), hookrelay.OutcomeRefused, "destination 127.0.0.2 refused: loopback address"},
		{"https only", f.endpoint("http://hooks.example.com/in", nil), hookrelay.OutcomeRefused, "https required"},
		{"sealed secrets that do not open", lost, hookrelay.OutcomeInternal,
			"not sent: the server cannot decrypt this endpoint's stored secrets; the delivery will be tried again"},
	}

	var mu sync.Mutex
	observed := map[string]hookrelay.OutcomeKind{} // by endpoint
	cfg := baseConfig(st)
	cfg.AllowPrivate = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	cfg.URLPolicy = delivery.URLPolicy{HTTPSOnly: true, Exempt: []string{"127.0.0.0/8"}}
	cfg.Observer = observerFunc(func(task store.Task, r store.AttemptResult) {
		mu.Lock()
		observed[task.Endpoint.ID] = r.Attempt.Outcome
		mu.Unlock()
	})
	d, _ := startDispatcher(t, cfg)

	msgs := map[string]*hookrelay.Message{}
	for _, tt := range tests {
		msgs[tt.name] = f.publish(tt.ep.ID, `{"type":"call.completed"}`)
	}
	start := time.Now()
	d.Wake()
	waitFor(t, 10*time.Second, "an attempt of every delivery", func() bool {
		for _, tt := range tests {
			if len(f.attempts(msgs[tt.name].ID)) == 0 {
				return false
			}
		}
		return true
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := msgs[tt.name]
			as := f.attempts(m.ID)
			if len(as) != 1 {
				t.Fatalf("%d attempts, want 1", len(as))
			}
			a := as[0]
			if a.Outcome != tt.want || !strings.HasPrefix(a.Response, tt.response) {
				t.Fatalf("attempt %v (code %d, %q), want %v (%q...)", a.Outcome, a.ResponseStatusCode, a.Response, tt.want, tt.response)
			}
			waitFor(t, 5*time.Second, "the observer to be told", func() bool {
				mu.Lock()
				defer mu.Unlock()
				_, ok := observed[tt.ep.ID]
				return ok
			})
			mu.Lock()
			got := observed[tt.ep.ID]
			mu.Unlock()
			if got != tt.want {
				t.Fatalf("observer told %v, want %v", got, tt.want)
			}
		})
	}

	// The delivery whose endpoint does not open waits five minutes, its
	// schedule untouched, and nothing was sent.
	dl := f.deliveryOf(msgs["sealed secrets that do not open"].ID, lost.ID)
	if dl.Status != hookrelay.StatusPending || dl.Attempts != 0 || dl.NextAttempt == nil {
		t.Fatalf("delivery of the unreadable endpoint: %+v", dl)
	}
	if wait := dl.NextAttempt.Sub(start); wait < 5*time.Minute-5*time.Second || wait > 5*time.Minute+15*time.Second {
		t.Fatalf("the delivery of the unreadable endpoint is due %v after the attempt, want 5m", wait)
	}
	if n := unseen.count(); n != 0 {
		t.Fatalf("the unreadable endpoint's receiver got %d requests", n)
	}
	if a := f.attempts(msgs["sealed secrets that do not open"].ID)[0]; a.URL != unseen.URL+"/hook" || a.Status != hookrelay.StatusFail {
		t.Fatalf("attempt of the unreadable endpoint: %+v", a)
	}
}

// TestRefusedThroughProxy: with a proxy, the target's address is checked
// before the proxy is asked; a refusal there is a refusal by policy too.
func TestRefusedThroughProxy(t *testing.T) {
	f := newFixture(t)
	other := newReceiverOn(t, listen(t, "127.0.0.2:0"), false, nil)
	proxy := startHTTPProxy(t, "", "")
	u, err := url.Parse(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(f.st)
	cfg.Proxy = u
	cfg.AllowPrivate = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	d, _ := startDispatcher(t, cfg)
	a := deliverOnce(t, f, d, other.URL+"/hook")
	if a.Outcome != hookrelay.OutcomeRefused || !strings.HasPrefix(a.Response, "destination 127.0.0.2 refused") {
		t.Fatalf("attempt %v %q, want refused", a.Outcome, a.Response)
	}
	if n := len(proxy.requests()); n != 0 {
		t.Fatalf("the proxy was asked %d times", n)
	}
}
