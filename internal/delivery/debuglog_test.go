package delivery_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// records returns the JSON log records whose msg is msg.
func (l *logBuffer) records(t testing.TB, msg string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(l.b.String(), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// TestAttemptsAreLoggedAtDebugLevel delivers a message whose first attempt
// gets a 503 and whose second succeeds: with a debug-level logger, each
// attempt is one line naming the message, endpoint, attempt number, status
// code, duration and outcome, and nothing of the payload, URL or secret.
func TestAttemptsAreLoggedAtDebugLevel(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("busy-body-text"))
		}
	})
	ep := f.endpoint(rc.URL+"/hook?token=url-secret", nil)

	var logs logBuffer
	cfg := baseConfig(f.st)
	cfg.RetrySchedule = []time.Duration{10 * time.Millisecond}
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, _ := startDispatcher(t, cfg)
	m := f.publish(ep.ID, `{"card":"payload-secret"}`)
	d.Wake()

	var recs []map[string]any
	waitFor(t, 10*time.Second, "two attempt lines", func() bool {
		recs = logs.records(t, "delivery attempt")
		return len(recs) == 2
	})
	want := []struct {
		attempt, status float64
		outcome         string
	}{{1, 503, "retry"}, {2, 200, "success"}}
	for i, rec := range recs {
		if rec["level"] != "DEBUG" || rec["msg_id"] != m.ID || rec["endpoint_id"] != ep.ID ||
			rec["attempt"] != want[i].attempt || rec["status_code"] != want[i].status || rec["outcome"] != want[i].outcome {
			t.Errorf("line %d = %v; want message %s, endpoint %s, attempt %v, status %v, outcome %s",
				i+1, rec, m.ID, ep.ID, want[i].attempt, want[i].status, want[i].outcome)
		}
		if _, ok := rec["duration"]; !ok {
			t.Errorf("line %d has no duration: %v", i+1, rec)
		}
	}
	logs.mu.Lock()
	text := logs.b.String()
	logs.mu.Unlock()
	for _, secret := range []string{"payload-secret", "url-secret", "busy-body-text", ep.Secret, "/hook"} {
		if strings.Contains(text, secret) {
			t.Errorf("the log shows %q:\n%s", secret, text)
		}
	}
}
