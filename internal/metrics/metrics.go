// Package metrics exposes hookrelay's Prometheus metrics: attempts as the
// dispatcher records them (a delivery.Observer), publishes and store
// failures as the API sees them (an api.Metrics), the dispatcher's state
// (read from delivery.Dispatcher.Stats at scrape time), the queue's backlog
// (store.Store.QueueDepth at scrape time), the delivery DNS cache's
// counters (dnscache.Cache.Stats at scrape time), background task and
// cleaner progress, and the Go runtime and process collectors.
//
// Labels never carry tenant data: no endpoint, application or message IDs,
// URLs or event types. Per-endpoint figures are the endpoint stats and
// health routes' business; per-endpoint series would grow with the number
// of endpoints (a histogram per endpoint is hundreds of series each) and
// never shrink as endpoints are deleted.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/dnscache"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
)

// DefaultDueLimit is where the count of due deliveries stops when
// Config.DueLimit is 0: past it, hookrelay_due_deliveries reads the limit.
const DefaultDueLimit = 1_000_000

// scrapeTimeout bounds the queue query of one scrape.
const scrapeTimeout = 5 * time.Second

// Queue is the part of store.Store the metrics read at scrape time.
type Queue interface {
	QueueDepth(ctx context.Context, now time.Time, limit int) (store.QueueDepth, error)
}

// Dispatcher is the part of delivery.Dispatcher the metrics read at
// scrape time.
type Dispatcher interface {
	Stats() delivery.Stats
}

// DNSCache is the part of dnscache.Cache the metrics read at scrape time.
type DNSCache interface {
	Stats() dnscache.Stats
}

// Cleaner is what the retention cleaner reports its progress to; *Metrics
// implements it.
type Cleaner interface {
	// CleanerRemoved counts n items of kind removed or emptied (kinds such
	// as "payloads", "responses", "messages", "attempts", "idempotency",
	// "tokens", "tasks": a short fixed set, never tenant data).
	CleanerRemoved(kind string, n int)
}

// Config configures New. Every source is optional: the metrics it feeds
// are then not exposed.
type Config struct {
	Store      Queue
	Dispatcher Dispatcher
	// DNSCache is the cache of the dispatcher's resolver. Without it (no
	// cache: --dns-cache=false) the hookrelay_dns_cache_* metrics are left
	// out, not reported as zero.
	DNSCache DNSCache
	// DueLimit is where the count of due deliveries stops; 0 means
	// DefaultDueLimit.
	DueLimit int
	// Logger receives scrape failures; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock of the oldest due delivery's age; nil means
	// time.Now.
	Now func() time.Time
}

// codeClasses are the values of the code_class label, by status code / 100
// (index 0: no response; 6: a code outside 100..599).
var codeClasses = [...]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx", "other"}

// outcomes is the number of outcome kinds labelled (hookrelay.OutcomeKind
// 0..5); other values count as "unknown".
const outcomes = int(hookrelay.OutcomeInternal) + 1

// publishResults are the values of the publish histogram's result label.
var publishResults = [...]string{"accepted", "rejected", "failed"}

// Metrics holds hookrelay's collectors and serves them. Its methods are
// safe for concurrent use.
type Metrics struct {
	cfg        Config
	reg        *prometheus.Registry
	dispatcher atomic.Pointer[dispatcherRef]

	attemptsVec  *prometheus.CounterVec
	durationsVec *prometheus.HistogramVec
	// Series of attemptsVec and durationsVec, created on first use so that
	// only combinations that happen are exposed; loading one is an atomic
	// load, with no allocation.
	attempts  [outcomes][len(codeClasses)]atomic.Pointer[prometheus.Counter]
	durations [outcomes]atomic.Pointer[prometheus.Observer]

	publishes   [len(publishResults)]prometheus.Observer
	apiErrors   atomic.Uint64
	scrapeFails atomic.Uint64

	cleanerRemoved *prometheus.CounterVec
	taskChanged    *prometheus.CounterVec
	tasksEnded     *prometheus.CounterVec
}

// New returns the metrics of cfg, registered with a registry of their own
// together with the Go runtime and process collectors.
func New(cfg Config) *Metrics {
	if cfg.DueLimit <= 0 {
		cfg.DueLimit = DefaultDueLimit
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Metrics{cfg: cfg, reg: prometheus.NewRegistry()}
	if cfg.Dispatcher != nil {
		m.ReadDispatcher(cfg.Dispatcher)
	}
	m.attemptsVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookrelay_attempts_total",
		Help: "Delivery attempts recorded by this node, by outcome kind and response status class (none: no response).",
	}, []string{"outcome", "code_class"})
	m.durationsVec = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hookrelay_attempt_duration_seconds",
		Help:    "Duration of delivery attempts recorded by this node, request and response together, by outcome kind.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"outcome"})
	publish := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "hookrelay_publish_duration_seconds",
		Help: "Duration of publish requests (POST /api/v1/app/{app_id}/msg) answered by this node, by result: accepted (2xx), rejected (4xx), failed (5xx). Its _count is the number of publishes.",
	}, []string{"result"})
	for i, r := range publishResults {
		m.publishes[i] = publish.WithLabelValues(r)
	}
	m.cleanerRemoved = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookrelay_cleaner_removed_total",
		Help: "Items the retention cleaner removed or emptied on this node, by kind.",
	}, []string{"kind"})
	m.taskChanged = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookrelay_background_task_changed_total",
		Help: "Deliveries recovered or created by background task batches committed on this node, by task kind.",
	}, []string{"task"})
	m.tasksEnded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookrelay_background_tasks_ended_total",
		Help: "Background tasks that ended on this node, by task kind and status (finished, failed).",
	}, []string{"task", "status"})
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.attemptsVec, m.durationsVec, publish, m.cleanerRemoved, m.taskChanged, m.tasksEnded,
		&stateCollector{m},
	)
	if cfg.DNSCache != nil {
		m.reg.MustRegister(dnsCacheCollector{cfg.DNSCache})
	}
	return m
}

type dispatcherRef struct{ d Dispatcher }

// ReadDispatcher makes the metrics read d's state at every scrape, in place
// of Config.Dispatcher: the dispatcher is made with the metrics as its
// observer, so it comes after them.
func (m *Metrics) ReadDispatcher(d Dispatcher) {
	m.dispatcher.Store(&dispatcherRef{d})
}

// Handler serves the metrics in the Prometheus text (or OpenMetrics)
// exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(m.cfg.Logger.Handler(), slog.LevelWarn),
	})
}

// Registry is the registry the metrics are in, for tests and for adding
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// AttemptRecorded counts a committed attempt; it makes *Metrics a
// delivery.Observer. It allocates nothing once the attempt's series exist.
func (m *Metrics) AttemptRecorded(_ store.Task, r store.AttemptResult) {
	k := int(r.Attempt.Outcome)
	if k < 0 || k >= outcomes {
		k = int(hookrelay.OutcomeUnknown)
	}
	c := codeClass(r.Attempt.ResponseStatusCode)
	counter := m.attempts[k][c].Load()
	if counter == nil {
		counter = m.attemptCounter(k, c)
	}
	(*counter).Inc()
	obs := m.durations[k].Load()
	if obs == nil {
		obs = m.durationObserver(k)
	}
	(*obs).Observe(float64(r.Attempt.ResponseDurationMs) / 1000)
}

func (m *Metrics) attemptCounter(k, c int) *prometheus.Counter {
	counter := m.attemptsVec.WithLabelValues(hookrelay.OutcomeKind(k).String(), codeClasses[c])
	m.attempts[k][c].CompareAndSwap(nil, &counter)
	return m.attempts[k][c].Load()
}

func (m *Metrics) durationObserver(k int) *prometheus.Observer {
	obs := m.durationsVec.WithLabelValues(hookrelay.OutcomeKind(k).String())
	m.durations[k].CompareAndSwap(nil, &obs)
	return m.durations[k].Load()
}

// codeClass is the index in codeClasses of a response status code.
func codeClass(code int) int {
	switch {
	case code == 0:
		return 0
	case code >= 100 && code < 600:
		return code / 100
	default:
		return len(codeClasses) - 1
	}
}

// Published counts a publish request; it makes *Metrics an api.Metrics.
func (m *Metrics) Published(status int, took time.Duration) {
	i := 0
	switch {
	case status >= 500:
		i = 2
	case status >= 400:
		i = 1
	}
	m.publishes[i].Observe(took.Seconds())
}

// StoreFailed counts an API request that failed on a store error; it makes
// *Metrics an api.Metrics.
func (m *Metrics) StoreFailed() { m.apiErrors.Add(1) }

// CleanerRemoved counts n items of kind removed by the retention cleaner.
func (m *Metrics) CleanerRemoved(kind string, n int) {
	if n > 0 {
		m.cleanerRemoved.WithLabelValues(kind).Add(float64(n))
	}
}

// TaskBatch counts a committed background task batch; with TaskEnded it
// makes *Metrics an ops.Progress.
func (m *Metrics) TaskBatch(kind string, changed int) {
	m.taskChanged.WithLabelValues(taskLabel(kind)).Add(float64(changed))
}

// TaskEnded counts a background task that ended.
func (m *Metrics) TaskEnded(kind, status string) {
	m.tasksEnded.WithLabelValues(taskLabel(kind), status).Inc()
}

// taskLabel is kind when it is a kind hookrelay runs, else "other": a
// task's kind is read from the database, and a label takes no value from
// there unchecked.
func taskLabel(kind string) string {
	switch kind {
	case ops.KindRecover, ops.KindReplay:
		return kind
	}
	return "other"
}

// stateCollector reads the dispatcher's state and the queue's backlog at
// scrape time.
type stateCollector struct{ m *Metrics }

var (
	descInFlight = prometheus.NewDesc("hookrelay_dispatcher_in_flight",
		"Delivery requests being sent by this node now.", nil, nil)
	descLeased = prometheus.NewDesc("hookrelay_dispatcher_leases_held",
		"Deliveries this node holds under lease: waiting here, in flight, or with a result not yet recorded.", nil, nil)
	descLiveNodes = prometheus.NewDesc("hookrelay_dispatcher_live_nodes",
		"Dispatchers alive on the database at this node's last heartbeat, this one included.", nil, nil)
	descStoreErrors = prometheus.NewDesc("hookrelay_store_errors_total",
		"Failed database calls seen by this node, by where: claim (claiming due deliveries), record (recording attempt results), api (API requests answered 500/503), scrape (the queue query of a scrape).",
		[]string{"source"}, nil)
	descDue = prometheus.NewDesc("hookrelay_due_deliveries",
		"Deliveries due now that no node holds, counted up to a limit (the same figure on every node: it is the database's).", nil, nil)
	descOldest = prometheus.NewDesc("hookrelay_oldest_due_age_seconds",
		"How long the oldest due delivery that no node holds has waited past its time; 0 when none is due.", nil, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInFlight, descLeased, descLiveNodes, descStoreErrors, descDue, descOldest} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	var claimErrs, recordErrs uint64
	if ref := m.dispatcher.Load(); ref != nil {
		s := ref.d.Stats()
		ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(s.InFlight))
		ch <- prometheus.MustNewConstMetric(descLeased, prometheus.GaugeValue, float64(s.Leased))
		ch <- prometheus.MustNewConstMetric(descLiveNodes, prometheus.GaugeValue, float64(s.LiveNodes))
		claimErrs, recordErrs = s.ClaimErrors, s.RecordErrors
	}
	if q := m.cfg.Store; q != nil {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		now := m.cfg.Now()
		depth, err := q.QueueDepth(ctx, now, m.cfg.DueLimit)
		cancel()
		if err != nil {
			// Leave the gauges out rather than report a wrong zero.
			m.scrapeFails.Add(1)
			m.cfg.Logger.Warn("metrics: queue depth", "err", err)
		} else {
			age := 0.0
			if depth.Due > 0 {
				age = max(now.Sub(depth.OldestDue).Seconds(), 0)
			}
			ch <- prometheus.MustNewConstMetric(descDue, prometheus.GaugeValue, float64(depth.Due))
			ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, age)
		}
	}
	for _, e := range []struct {
		source string
		n      uint64
	}{
		{"claim", claimErrs},
		{"record", recordErrs},
		{"api", m.apiErrors.Load()},
		{"scrape", m.scrapeFails.Load()},
	} {
		ch <- prometheus.MustNewConstMetric(descStoreErrors, prometheus.CounterValue, float64(e.n), e.source)
	}
}

// dnsCacheCollector reads the DNS cache's counters at scrape time.
type dnsCacheCollector struct{ c DNSCache }

var (
	descDNSQueries = prometheus.NewDesc("hookrelay_dns_cache_queries_total",
		"DNS queries for endpoint (and proxy) host names through this node's DNS cache, by result: hit (answered from the cache, no packet sent), miss (sent to the name server: no unexpired answer kept, or over UDP only one larger than the asker takes). A host name lookup is one query per address type (A, AAAA) and per search domain tried; negative answers (NXDOMAIN, no record of the type) count as any other.",
		[]string{"result"}, nil)
	descDNSUncached = prometheus.NewDesc("hookrelay_dns_cache_uncached_answers_total",
		"Name server answers to this node's DNS cache misses that were not kept, so the same query is a miss again, by reason: truncated (cut short over UDP; asked again over TCP, whose answer may be kept), error (SERVFAIL, REFUSED or another error but NXDOMAIN), zero_ttl (a TTL of 0), no_soa (a negative answer without the SOA record that says how long it holds), too_large (over a sixty-fourth of the cache's memory bound), malformed (not a well-formed answer to the question).",
		[]string{"reason"}, nil)
	descDNSEntries = prometheus.NewDesc("hookrelay_dns_cache_entries",
		"DNS answers kept in this node's cache, negative ones included; an expired answer counts until it is dropped, when next asked for or as the least recently used.", nil, nil)
	descDNSBytes = prometheus.NewDesc("hookrelay_dns_cache_bytes",
		"Memory the answers kept in this node's DNS cache count for against its bound (4 MiB in hookrelay serve; past it the least recently used are dropped): each answer's bytes and a fixed overhead.", nil, nil)
)

func (dnsCacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDNSQueries, descDNSUncached, descDNSEntries, descDNSBytes} {
		ch <- d
	}
}

func (c dnsCacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.c.Stats()
	ch <- prometheus.MustNewConstMetric(descDNSQueries, prometheus.CounterValue, float64(s.Hits), "hit")
	ch <- prometheus.MustNewConstMetric(descDNSQueries, prometheus.CounterValue, float64(s.Misses), "miss")
	for r, n := range s.Uncached {
		ch <- prometheus.MustNewConstMetric(descDNSUncached, prometheus.CounterValue, float64(n), dnscache.Reason(r).String())
	}
	ch <- prometheus.MustNewConstMetric(descDNSEntries, prometheus.GaugeValue, float64(s.Entries))
	ch <- prometheus.MustNewConstMetric(descDNSBytes, prometheus.GaugeValue, float64(s.Bytes))
}

var (
	_ delivery.Observer = (*Metrics)(nil)
	_ ops.Progress      = (*Metrics)(nil)
	_ Cleaner           = (*Metrics)(nil)
)
