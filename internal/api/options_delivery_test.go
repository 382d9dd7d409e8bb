package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

// TestOptionsReachTheReceiver sets options through the API and watches a
// real dispatcher deliver with them.
func TestOptionsReachTheReceiver(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })

	var mu sync.Mutex
	var methods []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		methods = append(methods, r.Method)
		mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer recv.Close()
	received := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), methods...)
	}

	disp := delivery.NewDispatcher(delivery.Config{
		Store:         st,
		NodeID:        "test-node",
		AllowPrivate:  []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		RetrySchedule: []time.Duration{time.Hour},
		PollInterval:  50 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- disp.Run(runCtx) }()
	defer func() { stop(); <-done }()

	srv := httptest.NewServer(New(Config{Store: st, Waker: disp, AdminToken: testAdminToken,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	h := &harness{t: t, st: st, srv: srv}

	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"app-a"}`, nil)
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app/app-a/endpoint", testAdminToken,
		`{"url":"`+recv.URL+`/hook","uid":"ep-a","options":{"method":"put","retrySchedule":[]}}`, nil)
	var msg messageOut
	h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/app-a/msg", testAdminToken, `{"eventType":"a.b","payload":{}}`, &msg)

	// waitStatus polls the delivery until it has the status and the receiver
	// got want requests, each recorded as an attempt (a request arrives
	// before its outcome is recorded).
	waitStatus := func(status int, want int) listResponse[messageEndpointOut] {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var dests listResponse[messageEndpointOut]
			var attempts listResponse[json.RawMessage]
			h.mustDo(http.StatusOK, "GET", "/api/v1/app/app-a/attempt/msg/"+msg.ID, testAdminToken, nil, &attempts)
			h.mustDo(http.StatusOK, "GET", "/api/v1/app/app-a/msg/"+msg.ID+"/endpoint", testAdminToken, nil, &dests)
			if len(dests.Data) == 1 && dests.Data[0].Status == status && len(received()) == want && len(attempts.Data) == want {
				return dests
			}
			if time.Now().After(deadline) {
				t.Fatalf("waited 10s for status %d after %d requests; have %+v, requests %v", status, want, dests.Data, received())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// PUT, and no retries: the first failure is final.
	dests := waitStatus(2, 1)
	if got := received(); got[0] != http.MethodPut {
		t.Errorf("receiver got %v, want PUT", got)
	}
	if dests.Data[0].NextAttempt != nil {
		t.Errorf("failed delivery has a next attempt: %+v", dests.Data[0])
	}

	// Back to the server defaults: POST, and a retry an hour later.
	h.mustDo(http.StatusOK, "PATCH", "/api/v1/app/app-a/endpoint/ep-a/options", testAdminToken, `{"method":null,"retrySchedule":null}`, nil)
	h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/app-a/msg/"+msg.ID+"/endpoint/ep-a/resend", testAdminToken, nil, nil)
	dests = waitStatus(1, 2)
	if got := received(); got[1] != http.MethodPost {
		t.Errorf("receiver got %v, want POST second", got)
	}
	if next := dests.Data[0].NextAttempt; next == nil || time.Until(time.Time(*next)) < 30*time.Minute {
		t.Errorf("retry after the server schedule: next attempt %v", next)
	}
}
