package delivery_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func testLogger() *slog.Logger {
	if os.Getenv("HOOKRELAY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// baseConfig delivers to loopback receivers, makes one attempt only, has no
// jitter, and polls so rarely that only Wake, NextDue and retries this node
// scheduled can explain a prompt delivery.
func baseConfig(st store.Store) delivery.Config {
	return delivery.Config{
		Store:         st,
		NodeID:        "node-a",
		RetrySchedule: []time.Duration{},
		PollInterval:  time.Minute,
		AllowPrivate:  loopback,
		Timeout:       5 * time.Second,
		ShutdownGrace: 2 * time.Second,
		Logger:        testLogger(),
	}
}

// startDispatcher runs a dispatcher until the test ends, then checks that
// Run returns cleanly.
func startDispatcher(t testing.TB, cfg delivery.Config) (*delivery.Dispatcher, context.CancelFunc) {
	t.Helper()
	d := delivery.NewDispatcher(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("Run did not return 30s after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return d, stop
}

func newSecret(t testing.TB) string {
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

type fixture struct {
	t   testing.TB
	st  *sqlite.Store
	app *hookrelay.Application
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st := openStore(t)
	app := &hookrelay.Application{ID: hookrelay.NewID(hookrelay.PrefixApp), EnvID: hookrelay.DefaultEnvironment, Name: "test app"}
	if err := st.CreateApplication(context.Background(), app); err != nil {
		t.Fatalf("create application: %v", err)
	}
	return &fixture{t: t, st: st, app: app}
}

// endpoint creates an endpoint for url; mod adjusts it before it is stored.
func (f *fixture) endpoint(url string, mod func(*hookrelay.Endpoint)) *hookrelay.Endpoint {
	f.t.Helper()
	ep := &hookrelay.Endpoint{
		ID:      hookrelay.NewID(hookrelay.PrefixEndpoint),
		AppID:   f.app.ID,
		URL:     url,
		Version: 1,
		Secret:  newSecret(f.t),
	}
	if mod != nil {
		mod(ep)
	}
	if err := f.st.CreateEndpoint(context.Background(), ep); err != nil {
		f.t.Fatalf("create endpoint: %v", err)
	}
	return ep
}

// publish stores a message for one endpoint (or every matching endpoint when
// endpointID is empty) and returns it.
func (f *fixture) publish(endpointID string, payload string) *hookrelay.Message {
	f.t.Helper()
	m := &hookrelay.Message{
		ID:        hookrelay.NewID(hookrelay.PrefixMessage),
		AppID:     f.app.ID,
		EventType: "call.completed",
		Payload:   []byte(payload),
		CreatedAt: time.Now(),
	}
	if _, err := f.st.CreateMessage(context.Background(), store.CreateMessageParams{Message: m, OnlyEndpointID: endpointID}); err != nil {
		f.t.Fatalf("create message: %v", err)
	}
	return m
}

// attempts lists the attempts of a message, oldest first.
func (f *fixture) attempts(msgID string) []hookrelay.Attempt {
	f.t.Helper()
	as, err := f.st.ListAttempts(context.Background(), store.ListAttemptsParams{AppID: f.app.ID, MsgID: msgID, Page: store.Page{Limit: 250}})
	if err != nil {
		f.t.Fatalf("list attempts: %v", err)
	}
	for i, j := 0, len(as)-1; i < j; i, j = i+1, j-1 {
		as[i], as[j] = as[j], as[i]
	}
	return as
}

// deliveryOf returns the delivery of a message to an endpoint.
func (f *fixture) deliveryOf(msgID, endpointID string) hookrelay.Delivery {
	f.t.Helper()
	ds, err := f.st.ListMessageDestinations(context.Background(), store.ListDeliveriesParams{AppID: f.app.ID, MsgID: msgID, Page: store.Page{Limit: 250}})
	if err != nil {
		f.t.Fatalf("list destinations: %v", err)
	}
	for _, d := range ds {
		if d.Endpoint.ID == endpointID {
			return d.Delivery
		}
	}
	f.t.Fatalf("no delivery of %s to %s", msgID, endpointID)
	return hookrelay.Delivery{}
}

// waitFor polls cond every 10ms until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// received is one request a receiver got.
type received struct {
	at     time.Time
	method string
	path   string
	header http.Header
	body   []byte
}

// receiver is an httptest server that records every request and answers
// with its handler (200 when nil).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []received
	handler func(w http.ResponseWriter, r *http.Request, n int) // n counts from 1
}

func newReceiver(t testing.TB, handler func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	rc := &receiver{handler: handler}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, received{at: time.Now(), method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body})
		n := len(rc.reqs)
		rc.mu.Unlock()
		if rc.handler != nil {
			rc.handler(w, r, n)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}
