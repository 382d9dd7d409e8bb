package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/dnscache"
	"github.com/hookrelay/hookrelay/internal/dnstest"
	"github.com/hookrelay/hookrelay/internal/metrics"
	"github.com/hookrelay/hookrelay/internal/pgtest"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/postgres"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

// scrape serves m over HTTP, GETs /metrics and returns every series as
// "name{k=v,...}" (labels sorted) → value: a counter's or gauge's value, a
// histogram's sample count.
func scrape(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		if !strings.HasPrefix(name, "hookrelay_") {
			continue
		}
		for _, s := range f.Metric {
			var labels []string
			for _, l := range s.Label {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			key := name + "{" + strings.Join(labels, ",") + "}"
			out[key] = value(s)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return m.GetUntyped().GetValue()
}

// want fails unless every series of want has its value in got, and got has
// no other series of the families named in want.
func want(t *testing.T, got, want map[string]float64) {
	t.Helper()
	fams := map[string]bool{}
	for k := range want {
		fams[k[:strings.IndexByte(k, '{')]] = true
	}
	filtered := map[string]float64{}
	for k, v := range got {
		if fams[k[:strings.IndexByte(k, '{')]] {
			filtered[k] = v
		}
	}
	if fmt.Sprint(filtered) != fmt.Sprint(want) {
		t.Errorf("metrics:\n got %v\nwant %v", filtered, want)
	}
}

func forEachStore(t *testing.T, test func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		test(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(t.Context(), newPostgresDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		test(t, st)
	})
}

// newPostgresDatabase is a database of the test's own on the server of
// HOOKRELAY_TEST_DATABASE_URL (skipped without it), dropped when the test ends.
func newPostgresDatabase(t *testing.T) string {
	t.Helper()
	return pgtest.NewDatabase(t, "hookrelay_metrics")
}

// TestQueueBacklog publishes messages due 90s and 30s ago and one due in
// an hour, to two endpoints, and reads the backlog gauges at a fixed now.
func TestQueueBacklog(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		now := time.Now().UTC().Truncate(time.Second)
		app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "a", CreatedAt: now, UpdatedAt: now}
		if err := st.CreateApplication(ctx, app); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			ep := &hookrelay.Endpoint{AppID: app.ID, URL: fmt.Sprintf("https://example.com/%d", i), Version: 1,
				Secret: "whsec_" + strings.Repeat("A", 32), CreatedAt: now, UpdatedAt: now}
			if err := st.CreateEndpoint(ctx, ep); err != nil {
				t.Fatal(err)
			}
		}
		for _, at := range []time.Time{now.Add(-30 * time.Second), now.Add(-90 * time.Second), now.Add(time.Hour)} {
			_, err := st.CreateMessage(ctx, store.CreateMessageParams{Message: &hookrelay.Message{
				AppID: app.ID, EventType: "a.b", Payload: []byte(`{}`), CreatedAt: at}})
			if err != nil {
				t.Fatal(err)
			}
		}
		clock := func() time.Time { return now }
		m := metrics.New(metrics.Config{Store: st, Now: clock})
		want(t, scrape(t, m), map[string]float64{
			"hookrelay_due_deliveries{}":         4,
			"hookrelay_oldest_due_age_seconds{}": 90,
		})
		capped := metrics.New(metrics.Config{Store: st, Now: clock, DueLimit: 3})
		want(t, scrape(t, capped), map[string]float64{
			"hookrelay_due_deliveries{}":         3,
			"hookrelay_oldest_due_age_seconds{}": 90,
		})
		early := metrics.New(metrics.Config{Store: st, Now: func() time.Time { return now.Add(-time.Hour) }})
		want(t, scrape(t, early), map[string]float64{
			"hookrelay_due_deliveries{}":         0,
			"hookrelay_oldest_due_age_seconds{}": 0,
		})
	})
}

type failingQueue struct{}

func (failingQueue) QueueDepth(context.Context, time.Time, int) (store.QueueDepth, error) {
	return store.QueueDepth{}, errors.New("database down")
}

type fixedStats delivery.Stats

func (s fixedStats) Stats() delivery.Stats { return delivery.Stats(s) }

// TestStateAndErrors: a failing queue query leaves the backlog gauges out
// and counts a scrape error; the dispatcher's state and error counts, and
// the API's store failures, are read as they are.
func TestStateAndErrors(t *testing.T) {
	m := metrics.New(metrics.Config{Store: failingQueue{}, Logger: slog.New(slog.DiscardHandler),
		Dispatcher: fixedStats{Running: true, InFlight: 3, Leased: 7, LiveNodes: 2, ClaimErrors: 4, RecordErrors: 5}})
	m.StoreFailed()
	m.StoreFailed()
	got := scrape(t, m)
	want(t, got, map[string]float64{
		"hookrelay_dispatcher_in_flight{}":            3,
		"hookrelay_dispatcher_leases_held{}":          7,
		"hookrelay_dispatcher_live_nodes{}":           2,
		"hookrelay_store_errors_total{source=api}":    2,
		"hookrelay_store_errors_total{source=claim}":  4,
		"hookrelay_store_errors_total{source=record}": 5,
		"hookrelay_store_errors_total{source=scrape}": 1,
	})
	for _, name := range []string{"hookrelay_due_deliveries{}", "hookrelay_oldest_due_age_seconds{}"} {
		if v, ok := got[name]; ok {
			t.Errorf("%s = %v although the queue query failed; want it left out", name, v)
		}
	}
}

// TestDNSCache resolves names through a DNS cache in front of a dnstest
// server and scrapes its metrics after each step: a miss, then a hit
// within the TTL, a miss again once it has passed, and answers with a TTL
// of 0 counted as misses and as uncached.
func TestDNSCache(t *testing.T) {
	srv := dnstest.Start(t)
	addr := netip.MustParseAddr("192.0.2.1")
	// Trailing dots: no search domain is tried, one query per lookup.
	srv.Set("a.hooks.test.", dnstest.Name{Addrs: []netip.Addr{addr}, TTL: 60})
	srv.Set("zero.hooks.test.", dnstest.Name{Addrs: []netip.Addr{addr}, TTL: 0})
	start := time.Now()
	var elapsed atomic.Int64
	cache := dnscache.New(dnscache.Config{Dial: srv.Dial, Now: func() time.Time {
		return start.Add(time.Duration(elapsed.Load()))
	}})
	m := metrics.New(metrics.Config{DNSCache: cache})
	lookup := func(name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		got, err := cache.Resolver().LookupNetIP(ctx, "ip4", name)
		if err != nil || len(got) != 1 || got[0] != addr {
			t.Fatalf("lookup %s: %v, %v", name, got, err)
		}
	}
	// check scrapes m and compares the DNS cache's series; bytes is only
	// said to be zero or not.
	check := func(hits, misses, zeroTTL, entries float64) {
		t.Helper()
		got := scrape(t, m)
		want(t, got, map[string]float64{
			"hookrelay_dns_cache_queries_total{result=hit}":                hits,
			"hookrelay_dns_cache_queries_total{result=miss}":               misses,
			"hookrelay_dns_cache_uncached_answers_total{reason=error}":     0,
			"hookrelay_dns_cache_uncached_answers_total{reason=malformed}": 0,
			"hookrelay_dns_cache_uncached_answers_total{reason=no_soa}":    0,
			"hookrelay_dns_cache_uncached_answers_total{reason=too_large}": 0,
			"hookrelay_dns_cache_uncached_answers_total{reason=truncated}": 0,
			"hookrelay_dns_cache_uncached_answers_total{reason=zero_ttl}":  zeroTTL,
			"hookrelay_dns_cache_entries{}":                                entries,
		})
		if b, ok := got["hookrelay_dns_cache_bytes{}"]; !ok || (b > 0) != (entries > 0) {
			t.Errorf("hookrelay_dns_cache_bytes = %v (exposed %v) with %v entries", b, ok, entries)
		}
	}

	check(0, 0, 0, 0)
	lookup("a.hooks.test.")
	check(0, 1, 0, 1)
	lookup("a.hooks.test.")
	check(1, 1, 0, 1)
	elapsed.Store(int64(59 * time.Second))
	lookup("a.hooks.test.")
	check(2, 1, 0, 1)
	elapsed.Store(int64(60 * time.Second))
	lookup("a.hooks.test.")
	check(2, 2, 0, 1)
	if n := srv.Count("a.hooks.test", dnsmessage.TypeA, ""); n != 2 {
		t.Fatalf("the server was asked %d times, want 2 (the misses)", n)
	}
	lookup("zero.hooks.test.")
	lookup("zero.hooks.test.")
	check(2, 4, 2, 1)
}

// TestDNSCacheOff: without a cache (--dns-cache=false) the DNS cache's
// metrics are left out, not reported as zero.
func TestDNSCacheOff(t *testing.T) {
	got := scrape(t, metrics.New(metrics.Config{}))
	if len(got) == 0 {
		t.Fatal("no hookrelay_ series at all")
	}
	for k := range got {
		if strings.HasPrefix(k, "hookrelay_dns_cache_") {
			t.Errorf("%s exposed without a DNS cache", k)
		}
	}
}

// TestProgress counts background task batches and ends, and the
// cleaner's removals by kind.
func TestProgress(t *testing.T) {
	m := metrics.New(metrics.Config{})
	m.TaskBatch("endpoint.recover", 5)
	m.TaskBatch("endpoint.recover", 2)
	m.TaskEnded("endpoint.recover", store.TaskFinished)
	m.TaskEnded("endpoint.replay", store.TaskFailed)
	m.TaskEnded("mystery", store.TaskFailed)
	var c metrics.Cleaner = m
	c.CleanerRemoved("payloads", 10)
	c.CleanerRemoved("attempts", 3)
	c.CleanerRemoved("attempts", 0)
	want(t, scrape(t, m), map[string]float64{
		"hookrelay_background_task_changed_total{task=endpoint.recover}":                7,
		"hookrelay_background_tasks_ended_total{status=finished,task=endpoint.recover}": 1,
		"hookrelay_background_tasks_ended_total{status=failed,task=endpoint.replay}":    1,
		"hookrelay_background_tasks_ended_total{status=failed,task=other}":              1,
		"hookrelay_cleaner_removed_total{kind=attempts}":                                3,
		"hookrelay_cleaner_removed_total{kind=payloads}":                                10,
	})
}

// TestAttemptRecordedAllocatesNothing: the observer runs on the
// dispatcher's recorder goroutine for every attempt.
func TestAttemptRecordedAllocatesNothing(t *testing.T) {
	m := metrics.New(metrics.Config{})
	res := store.AttemptResult{Attempt: hookrelay.Attempt{Outcome: hookrelay.OutcomeRejected, ResponseStatusCode: 503, ResponseDurationMs: 42}}
	m.AttemptRecorded(store.Task{}, res) // creates the series
	// AllocsPerRun calls once more to warm up: 1002 calls in all.
	if n := testing.AllocsPerRun(1000, func() { m.AttemptRecorded(store.Task{}, res) }); n != 0 {
		t.Errorf("AttemptRecorded allocates %v times per call, want 0", n)
	}
	m.AttemptRecorded(store.Task{}, store.AttemptResult{Attempt: hookrelay.Attempt{Outcome: 99, ResponseStatusCode: 999}})
	want(t, scrape(t, m), map[string]float64{
		"hookrelay_attempts_total{code_class=5xx,outcome=rejected}":  1002,
		"hookrelay_attempts_total{code_class=other,outcome=unknown}": 1,
	})
}

// BenchmarkAttemptRecorded is the metrics' cost per attempt on the
// dispatcher's recorder goroutine.
func BenchmarkAttemptRecorded(b *testing.B) {
	m := metrics.New(metrics.Config{})
	res := store.AttemptResult{Attempt: hookrelay.Attempt{Outcome: hookrelay.OutcomeSuccess, ResponseStatusCode: 200, ResponseDurationMs: 12}}
	b.ReportAllocs()
	for b.Loop() {
		m.AttemptRecorded(store.Task{}, res)
	}
}
