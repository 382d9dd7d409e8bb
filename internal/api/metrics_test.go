package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// recordingMetrics remembers what the API tells its Metrics.
type recordingMetrics struct {
	mu        sync.Mutex
	published []int
	failed    int
}

func (m *recordingMetrics) Published(status int, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if took <= 0 {
		status = -status // shows up as a wrong status in the test
	}
	m.published = append(m.published, status)
}

func (m *recordingMetrics) StoreFailed() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failed++
}

func TestMetricsAndLogsOfStoreFailures(t *testing.T) {
	st := &failingGetEndpoint{Store: openSQLite(t)}
	var logs bytes.Buffer
	var mu sync.Mutex
	m := &recordingMetrics{}
	h := newHarnessOn(t, st, func(c *Config) {
		c.Metrics = m
		c.Logger = slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil))
	})
	var app applicationOut
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, map[string]any{"name": "m"}, &app)
	var ep endpointOut
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app/"+app.ID+"/endpoint", testAdminToken,
		map[string]any{"url": "https://example.com/hook"}, &ep)

	h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+app.ID+"/msg", testAdminToken,
		map[string]any{"eventType": "a.b", "payload": map[string]any{}}, nil)
	if code, body := h.do("POST", "/api/v1/app/"+app.ID+"/msg", testAdminToken, `{"payload":{}}`); code != http.StatusUnprocessableEntity {
		t.Fatalf("publish without eventType: %d %s", code, body)
	}
	st.fail.Store(true)
	if code, body := h.do("GET", "/api/v1/app/"+app.ID+"/endpoint/"+ep.ID, testAdminToken, nil); code != http.StatusInternalServerError {
		t.Fatalf("get endpoint on a failing store: %d %s", code, body)
	}

	m.mu.Lock()
	published, failed := m.published, m.failed
	m.mu.Unlock()
	if len(published) != 2 || published[0] != http.StatusAccepted || published[1] != http.StatusUnprocessableEntity {
		t.Errorf("publishes told: %v, want [202 422]", published)
	}
	if failed != 1 {
		t.Errorf("store failures told: %d, want 1", failed)
	}

	mu.Lock()
	defer mu.Unlock()
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if rec["msg"] != "api request failed" {
			continue
		}
		found = true
		if rec["app_id"] != app.ID || rec["endpoint_id"] != ep.ID {
			t.Errorf("log of the failure names app_id %v and endpoint_id %v, want %s and %s", rec["app_id"], rec["endpoint_id"], app.ID, ep.ID)
		}
	}
	if !found {
		t.Errorf("no log of the failure:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// failingGetEndpoint fails GetEndpoint with an unexpected error once fail
// is set, while the store answers pings: the API answers 500.
type failingGetEndpoint struct {
	store.Store
	fail atomic.Bool
}

func (s *failingGetEndpoint) GetEndpoint(ctx context.Context, appID, idOrUID string) (*hookrelay.Endpoint, error) {
	if s.fail.Load() {
		return nil, errors.New("get endpoint: disk on fire")
	}
	return s.Store.GetEndpoint(ctx, appID, idOrUID)
}
