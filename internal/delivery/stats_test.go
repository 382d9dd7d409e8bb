package delivery_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/metrics"
	"github.com/hookrelay/hookrelay/internal/store"
)

// TestStatsAndRefusalLog: while a receiver holds a request, Stats shows it
// in flight and its delivery leased; a result the store refuses is counted
// as a record error and logged with the IDs of its attempt; once it is
// recorded nothing is in flight or leased.
func TestStatsAndRefusalLog(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		<-release
		_, _ = w.Write([]byte("bad\x00body"))
	})
	ep := f.endpoint(rc.URL, nil)
	rs := &refusingStore{Store: f.st}
	rs.setRefuse(func(r store.AttemptResult) bool { return strings.IndexByte(r.Attempt.Response, 0) >= 0 })
	var logs logBuffer
	cfg := baseConfig(rs)
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	d, _ := startDispatcher(t, cfg)
	if s := d.Stats(); s.InFlight != 0 || s.Leased != 0 || s.RecordErrors != 0 || s.ClaimErrors != 0 {
		t.Fatalf("stats before any work: %+v", s)
	}
	m := f.publish(ep.ID, `{}`)
	d.Wake()
	waitFor(t, 10*time.Second, "the request in flight", func() bool { return d.Stats().InFlight == 1 })
	if s := d.Stats(); s.Leased != 1 || !s.Running || s.LiveNodes != 1 {
		t.Errorf("stats while sending: %+v, want one leased, running, one live node", s)
	}
	close(release)
	waitFor(t, 10*time.Second, "the delivery to succeed", func() bool {
		return f.deliveryOf(m.ID, ep.ID).Status == hookrelay.StatusSuccess
	})
	waitFor(t, 10*time.Second, "nothing held", func() bool {
		s := d.Stats()
		return s.InFlight == 0 && s.Leased == 0
	})
	if s := d.Stats(); s.RecordErrors == 0 {
		t.Errorf("stats after a refused result: %+v, want record errors counted", s)
	}
	recs := logs.records(t, "the store refused an attempt result; recording it without its response body")
	if len(recs) != 1 {
		t.Fatalf("%d refusal log lines, want 1", len(recs))
	}
	as := f.attempts(m.ID)
	if len(as) != 1 {
		t.Fatalf("%d attempts, want 1", len(as))
	}
	a := as[0]
	for k, v := range map[string]string{"app_id": a.AppID, "endpoint_id": ep.ID, "msg_id": m.ID, "delivery_id": a.DeliveryID, "attempt_id": a.ID} {
		if recs[0][k] != v || v == "" {
			t.Errorf("refusal log %s = %v, want %q", k, recs[0][k], v)
		}
	}
}

// BenchmarkDispatchWithMetrics is BenchmarkDispatch with the Prometheus
// metrics observing every attempt, as `hookrelay serve` runs by default.
func BenchmarkDispatchWithMetrics(b *testing.B) {
	benchmarkDispatch(b, metrics.New(metrics.Config{}))
}
