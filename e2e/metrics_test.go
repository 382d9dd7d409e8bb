package e2e

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	svix "github.com/svix/svix-webhooks/go"
)

// scrape GETs url and parses the text exposition. It reports the status
// code, and nil families unless it is 200.
func scrape(t *testing.T, url string) (int, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return resp.StatusCode, fams
}

// series returns the value of every series of the family name, keyed by
// its labels as "k=v,k=v" (sorted): a counter's or gauge's value, a
// histogram's sample count.
func series(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	f := fams[name]
	if f == nil {
		return out
	}
	for _, m := range f.Metric {
		var labels []string
		for _, l := range m.Label {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(labels)
		key := strings.Join(labels, ",")
		switch {
		case m.Counter != nil:
			out[key] = m.Counter.GetValue()
		case m.Gauge != nil:
			out[key] = m.Gauge.GetValue()
		case m.Histogram != nil:
			out[key] = float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			out[key] = m.Untyped.GetValue()
		}
	}
	return out
}

func sum(m map[string]float64) float64 {
	var s float64
	for _, v := range m {
		s += v
	}
	return s
}

func wantSeries(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]float64) {
	t.Helper()
	got := series(fams, name)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\n got %v\nwant %v", name, got, want)
	}
}

// refusedURL is an http URL on 127.0.0.1 where nothing listens.
func refusedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/hook"
}

// TestMetricsCountAttemptsAndPublishes sends a known set of attempts
// through the real server (a receiver answering 200, one answering 500, an
// address that refuses connections; no retries) and reads /metrics on the
// API listener: the counts are exactly those attempts and publishes.
func TestMetricsCountAttemptsAndPublishes(t *testing.T) {
	forEachDatabase(t, testMetricsCounts)
}

func testMetricsCounts(t *testing.T, db string) {
	srv := startServer(t, serverOptions{DB: db, Args: []string{"--retry-schedule", "none"}})
	client := srv.SDK()
	ctx := ctxT(t)
	ok, failing := newReceiver(t), newReceiver(t)
	failing.setRespond(func(int, *http.Request) (int, http.Header) { return http.StatusInternalServerError, nil })
	appID, _ := setupApp(t, client, ok.URL)
	for _, u := range []string{failing.URL, refusedURL(t)} {
		if _, err := client.Endpoint.Create(ctx, appID, &svix.EndpointIn{Url: u}); err != nil {
			t.Fatalf("create endpoint: %v", err)
		}
	}
	const messages = 4
	for i := range messages {
		if _, err := client.Message.Create(ctx, appID, &svix.MessageIn{EventType: "a.b", Payload: map[string]any{"n": i}}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	// One refused publish: no event type.
	if code, body := srv.do("POST", "/api/v1/app/"+appID+"/msg", srv.Token, `{"payload":{}}`); code != http.StatusUnprocessableEntity {
		t.Fatalf("publish without eventType: %d %s", code, body)
	}

	var fams map[string]*dto.MetricFamily
	waitFor(t, 30*time.Second, "every attempt counted", func() bool {
		code, f := scrape(t, srv.URL+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("GET /metrics: %d", code)
		}
		fams = f
		return sum(series(f, "hookrelay_attempts_total")) >= 3*messages
	})
	// Settle: nothing more may arrive, and the node lets go of everything.
	waitFor(t, 10*time.Second, "leases let go", func() bool {
		_, fams = scrape(t, srv.URL+"/metrics")
		return sum(series(fams, "hookrelay_dispatcher_leases_held")) == 0
	})
	if n := len(ok.requests()); n != messages {
		t.Errorf("the 2xx receiver got %d requests, want %d", n, messages)
	}
	if n := len(failing.requests()); n != messages {
		t.Errorf("the 500 receiver got %d requests, want %d", n, messages)
	}
	wantSeries(t, fams, "hookrelay_attempts_total", map[string]float64{
		"code_class=2xx,outcome=success":     messages,
		"code_class=5xx,outcome=rejected":    messages,
		"code_class=none,outcome=unanswered": messages,
	})
	wantSeries(t, fams, "hookrelay_attempt_duration_seconds", map[string]float64{
		"outcome=success": messages, "outcome=rejected": messages, "outcome=unanswered": messages,
	})
	wantSeries(t, fams, "hookrelay_publish_duration_seconds", map[string]float64{
		"result=accepted": messages, "result=rejected": 1, "result=failed": 0,
	})
	wantSeries(t, fams, "hookrelay_store_errors_total", map[string]float64{
		"source=api": 0, "source=claim": 0, "source=record": 0, "source=scrape": 0,
	})
	wantSeries(t, fams, "hookrelay_due_deliveries", map[string]float64{"": 0})
	wantSeries(t, fams, "hookrelay_oldest_due_age_seconds", map[string]float64{"": 0})
	wantSeries(t, fams, "hookrelay_dispatcher_in_flight", map[string]float64{"": 0})
	wantSeries(t, fams, "hookrelay_dispatcher_live_nodes", map[string]float64{"": 1})
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("no %s: the Go runtime and process collectors are missing", name)
		}
	}
	// No tenant data in any label.
	for name, f := range fams {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if strings.Contains(l.GetValue(), appID) || strings.Contains(l.GetValue(), "127.0.0.1") {
					t.Errorf("%s carries tenant data in label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

var metricsListenRE = regexp.MustCompile(`msg="metrics listening".* addr=(\S+)`)

// TestMetricsListenerAndOffSwitch serves /metrics on a listener of its
// own (then not on the API's), and not at all when turned off.
func TestMetricsListenerAndOffSwitch(t *testing.T) {
	t.Run("own listener", func(t *testing.T) {
		srv := startServer(t, serverOptions{Env: []string{"HOOKRELAY_METRICS_LISTEN=127.0.0.1:0"}})
		var addr string
		waitFor(t, 10*time.Second, "the metrics listener's address in the log", func() bool {
			if m := metricsListenRE.FindStringSubmatch(srv.logs.String()); m != nil {
				addr = m[1]
				return true
			}
			return false
		})
		code, fams := scrape(t, "http://"+addr+"/metrics")
		if code != http.StatusOK || fams["hookrelay_store_errors_total"] == nil {
			t.Fatalf("GET /metrics on %s: %d, families %d", addr, code, len(fams))
		}
		if code, _ := scrape(t, srv.URL+"/metrics"); code != http.StatusNotFound {
			t.Errorf("GET /metrics on the API listener: %d, want 404", code)
		}
		if code, _ := srv.do("GET", "/api/v1/health", "", nil); code != http.StatusNoContent {
			t.Errorf("health on the API listener: %d", code)
		}
	})
	t.Run("off", func(t *testing.T) {
		srv := startServer(t, serverOptions{Args: []string{"--metrics=false"}})
		if code, _ := scrape(t, srv.URL+"/metrics"); code != http.StatusNotFound {
			t.Errorf("GET /metrics with --metrics=false: %d, want 404", code)
		}
		if strings.Contains(srv.logs.String(), "metrics listening") {
			t.Error("a metrics listener was started although metrics are off")
		}
	})
	t.Run("off by environment, listener ignored", func(t *testing.T) {
		srv := startServer(t, serverOptions{Env: []string{"HOOKRELAY_METRICS=false", "HOOKRELAY_METRICS_LISTEN=127.0.0.1:0"}})
		if code, _ := scrape(t, srv.URL+"/metrics"); code != http.StatusNotFound {
			t.Errorf("GET /metrics with HOOKRELAY_METRICS=false: %d, want 404", code)
		}
		if strings.Contains(srv.logs.String(), "metrics listening") {
			t.Error("a metrics listener was started although metrics are off")
		}
	})
}

// TestMetricsDNSCache: the DNS cache's metrics are served with the cache
// (the default; at zero here, as deliveries to 127.0.0.1 ask no name
// server) and left out with --dns-cache=false.
func TestMetricsDNSCache(t *testing.T) {
	families := []string{"hookrelay_dns_cache_queries_total", "hookrelay_dns_cache_uncached_answers_total",
		"hookrelay_dns_cache_entries", "hookrelay_dns_cache_bytes"}
	t.Run("on", func(t *testing.T) {
		srv := startServer(t, serverOptions{})
		code, fams := scrape(t, srv.URL+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("GET /metrics: %d", code)
		}
		wantSeries(t, fams, "hookrelay_dns_cache_queries_total", map[string]float64{"result=hit": 0, "result=miss": 0})
		wantSeries(t, fams, "hookrelay_dns_cache_uncached_answers_total", map[string]float64{
			"reason=error": 0, "reason=malformed": 0, "reason=no_soa": 0, "reason=too_large": 0, "reason=truncated": 0, "reason=zero_ttl": 0,
		})
		wantSeries(t, fams, "hookrelay_dns_cache_entries", map[string]float64{"": 0})
		wantSeries(t, fams, "hookrelay_dns_cache_bytes", map[string]float64{"": 0})
		for _, name := range families {
			if f := fams[name]; f == nil || f.GetHelp() == "" {
				t.Errorf("%s has no HELP text", name)
			}
		}
	})
	t.Run("off", func(t *testing.T) {
		srv := startServer(t, serverOptions{Args: []string{"--dns-cache=false"}})
		code, fams := scrape(t, srv.URL+"/metrics")
		if code != http.StatusOK || fams["hookrelay_store_errors_total"] == nil {
			t.Fatalf("GET /metrics: %d, families %d", code, len(fams))
		}
		for _, name := range families {
			if fams[name] != nil {
				t.Errorf("%s served with --dns-cache=false", name)
			}
		}
	})
}
