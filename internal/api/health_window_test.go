package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

// TestEndpointHealthWindow: the health route shows the answering node's
// concurrency window of an endpoint while its dispatcher sends to it (here
// growing as a slow receiver answers a backlog), and null for an endpoint
// it has sent nothing to.
func TestEndpointHealthWindow(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	disp := delivery.NewDispatcher(delivery.Config{
		Store:                  st,
		NodeID:                 "test-node",
		MaxInFlightPerEndpoint: 4,
		AllowPrivate:           []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		RetrySchedule:          []time.Duration{},
		ShutdownGrace:          100 * time.Millisecond,
		Logger:                 slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- disp.Run(runCtx) }()
	defer func() { stop(); <-done }()

	srv := httptest.NewServer(New(Config{Store: st, Waker: disp, Handoff: disp, Windows: disp, AdminToken: testAdminToken,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	h := &harness{t: t, st: st, srv: srv}
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"app-a"}`, nil)
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app/app-a/endpoint", testAdminToken,
		`{"url":"`+recv.URL+`/hook","uid":"ep-a","filterTypes":["a.b"]}`, nil)
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app/app-a/endpoint", testAdminToken,
		`{"url":"`+recv.URL+`/idle","uid":"ep-idle","filterTypes":["never"]}`, nil)

	var idle endpointHealthOut
	h.mustDo(http.StatusOK, "GET", "/api/v1/app/app-a/endpoint/ep-idle/health", testAdminToken, nil, &idle)
	if idle.Window != nil {
		t.Fatalf("window of an endpoint sent nothing: %+v, want null", idle.Window)
	}
	for range 200 {
		h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/app-a/msg", testAdminToken, `{"eventType":"a.b","payload":{}}`, nil)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var out endpointHealthOut
		h.mustDo(http.StatusOK, "GET", "/api/v1/app/app-a/endpoint/ep-a/health", testAdminToken, nil, &out)
		if w := out.Window; w != nil && w.Size == 4 {
			if w.Max != 4 || !strings.HasPrefix(w.Node, "test-node-") || w.InFlight < 0 || w.InFlight > 4 {
				t.Fatalf("window %+v, want max 4 on node test-node-…", w)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 15s for the window to reach the cap of 4; last %+v", out.Window)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
