// Package bench is hookrelay's load tool: it starts a local receiver, sets
// up an application and endpoints through the API, publishes, waits for the
// deliveries and reports throughput, latency, losses, duplicates and the
// server's peak memory. `hookrelay bench` runs it.
package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config selects what to measure and against what.
type Config struct {
	// Scenarios to run, in order: ceiling, throughput, fanout, latency,
	// isolation, backlog.
	Scenarios []string
	// Server is how to reach hookrelay. Start starts a fresh server for each
	// scenario when set; otherwise URL and Token address a running one.
	Start       func(ctx context.Context, scenario string) (*Server, error)
	URL, Token  string
	Messages    int           // messages per throughput and fan-out run
	FanoutMsgs  int           // messages in the fan-out run
	Endpoints   int           // endpoints in the fan-out run
	Publishers  int           // concurrent publishers
	PayloadSize int           // bytes of each payload
	Rate        int           // messages per second in the latency and isolation runs
	Duration    time.Duration // length of the latency and isolation runs
	Wait        time.Duration // how long to wait for deliveries after publishing
	Backlog     int           // messages queued for a dead endpoint in the backlog run
	// Apps is how many applications the fan-out run's endpoints are spread
	// over (each receives FanoutMsgs messages); 0 or 1 for one.
	Apps int
	// ReceiverDelayMin and ReceiverDelayMax bound how long the receiver
	// takes to answer each request, chosen at random between them (equal
	// for a fixed delay); zero answers at once.
	ReceiverDelayMin, ReceiverDelayMax time.Duration
	// Struggle is how the struggling endpoint of the struggle run fails a
	// third of the way in: "503" (it answers 503) or "slow" (its answers
	// take 5 s instead of 50 ms).
	Struggle string
	// ReceiverHosts is how many listeners (ports of 127.0.0.1, each a host
	// of its own to the server) the fan-out and struggle runs' endpoints
	// are spread over, in turn; 0 or 1 for one.
	ReceiverHosts int
	// ReceiverCert, when set, makes the receiver serve https with it (see
	// NewCert; the server must trust it), offering h2 as well as HTTP/1.1
	// when ReceiverH2 is set.
	ReceiverCert *tls.Certificate
	ReceiverH2   bool
	Log          io.Writer // progress lines; nil for none
}

// Server is a hookrelay the tool talks to.
type Server struct {
	URL, Token string
	// PeakRSS returns the server's peak resident memory in bytes, or 0
	// when unknown.
	PeakRSS func() int64
	// CPUTime returns the CPU time (user and system) the server has used
	// so far, or 0 when unknown. Per delivery it is a steadier figure than
	// a rate on a machine shared with other work.
	CPUTime func() time.Duration
	// FDs returns how many file descriptors the server has open now, or
	// -1 when unknown.
	FDs  func() int
	Stop func()
}

// Result is one scenario's figures.
type Result struct {
	Scenario        string  `json:"scenario"`
	Messages        int     `json:"messages"`
	Endpoints       int     `json:"endpoints"`
	Publishers      int     `json:"publishers"`
	PayloadBytes    int     `json:"payloadBytes"`
	Expected        int     `json:"expectedDeliveries"`
	Delivered       int     `json:"delivered"`
	Lost            int     `json:"lost"`
	Duplicates      int     `json:"duplicates"`
	AcceptedPerSec  float64 `json:"acceptedPerSec,omitempty"`
	DeliveredPerSec float64 `json:"deliveredPerSec,omitempty"`
	// OfCeiling is DeliveredPerSec as a share of the ceiling measured in
	// the same run (throughput and fan-out), 0 without one: on a shared
	// machine, the figure to compare across runs.
	OfCeiling float64  `json:"deliveredShareOfCeiling,omitempty"`
	Latency   *Latency `json:"latencyMs,omitempty"`
	// Isolation only: the share of the healthy endpoint's deliveries that
	// arrived while a hanging endpoint shared the application.
	HealthyArrived float64 `json:"healthyArrivedFraction,omitempty"`
	PeakRSSMB      float64 `json:"serverPeakRssMB,omitempty"`
	// CPU time per delivery, in microseconds, of the server and of this
	// tool (publishers and receiver), over the whole scenario.
	ServerCPUMicros float64 `json:"serverCpuMicrosPerDelivery,omitempty"`
	ToolCPUMicros   float64 `json:"toolCpuMicrosPerDelivery,omitempty"`
	Seconds         float64 `json:"seconds"`
	// Apps is how many applications the endpoints were spread over.
	Apps int `json:"apps,omitempty"`
	// ReceiverDelayMs is the receiver's answer delay, min and max.
	ReceiverDelayMs []float64 `json:"receiverDelayMs,omitempty"`
	// PeakInFlight is the most requests the receiver was answering at once;
	// PeakFDs the most descriptors the server had open (sampled every
	// 250 ms; 0 when unknown).
	PeakInFlight int64 `json:"peakInFlight,omitempty"`
	PeakFDs      int   `json:"serverPeakFds,omitempty"`
	// ReceiverTLS is what the receiver offered over https: "h2" (and
	// HTTP/1.1) or "http/1.1"; empty over plain http. ReceiverHosts is how
	// many listeners the endpoints were spread over, when more than one.
	ReceiverTLS   string `json:"receiverTls,omitempty"`
	ReceiverHosts int    `json:"receiverHosts,omitempty"`
	// Struggle is the struggle run's account, nil in other runs.
	Struggle *StruggleResult `json:"struggle,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// StruggleResult is what happened around the struggling endpoint.
type StruggleResult struct {
	Mode string `json:"mode"`
	// AtSec is when, from the first publish, it began to struggle.
	AtSec float64 `json:"atSec"`
	// Samples, every half second: its requests in flight and the other
	// endpoints' deliveries per second over the half second.
	Samples []StruggleSample `json:"samples"`
	// Its mean requests in flight, and the others' mean rate, before it
	// struggled (from the first second) and over the second half of the
	// rest of the publishing.
	InFlightBefore float64 `json:"inFlightBefore"`
	InFlightAfter  float64 `json:"inFlightAfter"`
	OthersBefore   float64 `json:"othersPerSecBefore"`
	OthersAfter    float64 `json:"othersPerSecAfter"`
	// FellAfterSec is how long after it began to struggle its requests in
	// flight first fell to half of their mean before (−1: never).
	FellAfterSec float64 `json:"fellAfterSec"`
}

// StruggleSample is one half-second sample of the struggle run.
type StruggleSample struct {
	AtSec         float64 `json:"atSec"`
	InFlight      int64   `json:"inFlight"`
	OthersPerSec  float64 `json:"othersPerSec"`
	TotalInFlight int64   `json:"totalInFlight"`
}

// Latency is publish-to-receipt time in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Run runs every configured scenario and returns their results; a failed
// scenario carries its error and the others still run.
func Run(ctx context.Context, cfg Config) []Result {
	rcv, err := newReceiverWith(receiverOptions{hosts: cfg.ReceiverHosts, cert: cfg.ReceiverCert, h2: cfg.ReceiverH2})
	if err != nil {
		return []Result{{Scenario: "setup", Error: err.Error()}}
	}
	defer rcv.close()
	rcv.delayMin, rcv.delayMax = cfg.ReceiverDelayMin, max(cfg.ReceiverDelayMax, cfg.ReceiverDelayMin)
	var out []Result
	for _, sc := range cfg.Scenarios {
		rcv.reset()
		cfg.logf("scenario %s: starting", sc)
		res := runOne(ctx, cfg, rcv, sc)
		cfg.logf("scenario %s: %s", sc, res.summary())
		out = append(out, res)
		if ctx.Err() != nil {
			break
		}
	}
	shareOfCeiling(out)
	return out
}

// shareOfCeiling sets OfCeiling of the throughput and fan-out results when
// results hold a ceiling.
func shareOfCeiling(results []Result) {
	ceiling := 0.0
	for _, r := range results {
		if r.Scenario == "ceiling" && r.Error == "" {
			ceiling = r.DeliveredPerSec
		}
	}
	if ceiling <= 0 {
		return
	}
	for i := range results {
		if r := &results[i]; r.Error == "" && (r.Scenario == "throughput" || r.Scenario == "fanout") {
			r.OfCeiling = r.DeliveredPerSec / ceiling
		}
	}
}

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

func runOne(ctx context.Context, cfg Config, rcv *receiver, scenario string) Result {
	res := Result{Scenario: scenario, Publishers: cfg.Publishers, PayloadBytes: cfg.PayloadSize}
	if cfg.ReceiverCert != nil {
		res.ReceiverTLS = "http/1.1"
		if cfg.ReceiverH2 {
			res.ReceiverTLS = "h2"
		}
	}
	if len(rcv.URLs) > 1 {
		res.ReceiverHosts = len(rcv.URLs)
	}
	if scenario == "ceiling" {
		if err := ceiling(ctx, cfg, rcv, &res); err != nil {
			res.Error = err.Error()
		}
		return res
	}
	srv := &Server{URL: cfg.URL, Token: cfg.Token}
	if cfg.Start != nil {
		s, err := cfg.Start(ctx, scenario)
		if err != nil {
			res.Error = err.Error()
			return res
		}
		defer s.Stop()
		srv = s
	}
	c := &client{base: strings.TrimRight(srv.URL, "/"), token: srv.Token, http: newHTTPClient(cfg.Publishers, nil)}
	var serverCPU0 time.Duration
	if srv.CPUTime != nil {
		serverCPU0 = srv.CPUTime()
	}
	toolCPU0 := ownCPUTime()
	if cfg.ReceiverDelayMax > 0 || cfg.ReceiverDelayMin > 0 {
		res.ReceiverDelayMs = []float64{ms(rcv.delayMin), ms(rcv.delayMax)}
	}
	stopPeaks := watchPeaks(rcv, srv, &res)
	var err error
	switch scenario {
	case "throughput":
		err = throughput(ctx, cfg, c, rcv, &res, cfg.Messages, 1)
	case "fanout":
		err = throughput(ctx, cfg, c, rcv, &res, cfg.FanoutMsgs, cfg.Endpoints)
	case "struggle":
		err = struggle(ctx, cfg, c, rcv, &res)
	case "latency":
		err = steady(ctx, cfg, c, rcv, &res, false)
	case "isolation":
		err = steady(ctx, cfg, c, rcv, &res, true)
	case "backlog":
		err = backlog(ctx, cfg, c, rcv, &res)
	default:
		err = fmt.Errorf("unknown scenario %q", scenario)
	}
	stopPeaks()
	if err != nil {
		res.Error = err.Error()
	}
	if srv.PeakRSS != nil {
		res.PeakRSSMB = float64(srv.PeakRSS()) / (1 << 20)
	}
	if res.Delivered > 0 {
		if srv.CPUTime != nil {
			res.ServerCPUMicros = float64((srv.CPUTime() - serverCPU0).Microseconds()) / float64(res.Delivered)
		}
		res.ToolCPUMicros = float64((ownCPUTime() - toolCPU0).Microseconds()) / float64(res.Delivered)
	}
	return res
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// watchPeaks samples, every 250 ms until the returned function is called,
// the receiver's requests in flight and the server's descriptors, and
// records their peaks in res.
func watchPeaks(rcv *receiver, srv *Server, res *Result) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := func() {
		res.PeakInFlight = max(res.PeakInFlight, rcv.peak.Load())
		if srv.FDs != nil {
			res.PeakFDs = max(res.PeakFDs, srv.FDs())
		}
	}
	go func() {
		defer close(finished)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			sample()
			select {
			case <-done:
				sample()
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// ownCPUTime is the CPU time this process has used, user and system.
func ownCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ceiling posts straight to the receiver, with no server in between: the
// most this machine and this tool can do.
func ceiling(ctx context.Context, cfg Config, rcv *receiver, res *Result) error {
	hc := newHTTPClient(cfg.Publishers, rcv.pool)
	res.Messages, res.Endpoints, res.Expected = cfg.Messages, 1, cfg.Messages
	start := time.Now()
	err := publishAll(ctx, cfg.Publishers, cfg.Messages, func(seq int) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, rcv.URL+"/ep/0", bytes.NewReader(payload(seq, cfg.PayloadSize)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	})
	if err != nil {
		return err
	}
	collect(rcv, res, []string{"/ep/0"}, cfg.Messages, start, nil)
	return nil
}

// throughput publishes n messages as fast as the publishers can, each to
// endpoints endpoints, and measures until the last receipt. For fan-out
// with cfg.Apps > 1, the endpoints are spread over that many applications
// and each application gets the n messages.
func throughput(ctx context.Context, cfg Config, c *client, rcv *receiver, res *Result, n, endpoints int) error {
	apps := 1
	if res.Scenario == "fanout" && cfg.Apps > 1 {
		apps = min(cfg.Apps, endpoints)
	}
	res.Messages, res.Endpoints, res.Expected = n*apps, endpoints, n*endpoints
	if apps > 1 {
		res.Apps = apps
	}
	appIDs, paths, err := setupApps(ctx, c, rcv, res.Scenario, apps, endpoints)
	if err != nil {
		return err
	}
	sent := make([]time.Time, n*apps) // by job: message seq of app a is job seq*apps+a
	start := time.Now()
	err = publishAll(ctx, cfg.Publishers, n*apps, func(job int) error {
		sent[job] = time.Now()
		return c.publish(ctx, appIDs[job%apps], payload(job/apps, cfg.PayloadSize))
	})
	if err != nil {
		return err
	}
	res.AcceptedPerSec = float64(n*apps) / time.Since(start).Seconds()
	waitDeliveries(ctx, rcv, paths, n, cfg.Wait)
	collect(rcv, res, paths, n, start, nil)
	res.Latency = allLatency(rcv, paths, apps, n, sent)
	return nil
}

// allLatency is the publish-to-receipt latency of every delivery that
// arrived at paths (endpoint i in application i mod apps), sent by job as
// throughput numbers them.
func allLatency(rcv *receiver, paths []string, apps, n int, sent []time.Time) *Latency {
	var lat []float64
	for i, p := range paths {
		first, _ := rcv.snapshot(p)
		for seq := 0; seq < n; seq++ {
			if at, ok := first[int64(seq)]; ok {
				lat = append(lat, float64(at.Sub(sent[seq*apps+i%apps]).Microseconds())/1000)
			}
		}
	}
	return quantiles(lat)
}

// quantiles summarizes latencies in milliseconds; nil for none.
func quantiles(lat []float64) *Latency {
	if len(lat) == 0 {
		return nil
	}
	sort.Float64s(lat)
	q := func(f float64) float64 { return lat[int(f*float64(len(lat)-1))] }
	return &Latency{P50: q(0.50), P95: q(0.95), P99: q(0.99), Max: lat[len(lat)-1]}
}

// setupApps creates apps applications and endpoints endpoints pointing at
// the receiver, endpoint i (path /ep/i) in application i mod apps, and
// returns the applications' IDs and the endpoints' paths.
func setupApps(ctx context.Context, c *client, rcv *receiver, scenario string, apps, endpoints int) ([]string, []string, error) {
	ids := make([]string, apps)
	for a := range ids {
		var app struct{ ID string }
		uid := fmt.Sprintf("bench-%s-%d-%d", scenario, a, time.Now().UnixNano())
		if err := c.call(ctx, "POST", "/api/v1/app", map[string]any{"name": "bench " + scenario, "uid": uid}, &app); err != nil {
			return nil, nil, fmt.Errorf("create app: %w", err)
		}
		ids[a] = app.ID
	}
	var paths []string
	for i := 0; i < endpoints; i++ {
		p := fmt.Sprintf("/ep/%d", i)
		if err := c.call(ctx, "POST", "/api/v1/app/"+ids[i%apps]+"/endpoint", map[string]any{"url": rcv.urlOf(i) + p}, nil); err != nil {
			return nil, nil, fmt.Errorf("create endpoint: %w", err)
		}
		paths = append(paths, p)
	}
	return ids, paths, nil
}

// struggleDelay is how long the struggling endpoint answers before it
// struggles.
const struggleDelay = 50 * time.Millisecond

// struggle publishes at cfg.Rate for cfg.Duration to cfg.Endpoints healthy
// endpoints and one more, /struggle, which answers in 50 ms until a third
// of the way in and then fails as cfg.Struggle says. It samples, every
// half second, the struggling endpoint's requests in flight and the
// others' delivery rate; losses, duplicates and latency are the healthy
// endpoints' (latency that of the first).
func struggle(ctx context.Context, cfg Config, c *client, rcv *receiver, res *Result) error {
	mode := int32(struggle503)
	switch cfg.Struggle {
	case "503", "":
		cfg.Struggle = "503"
	case "slow":
		mode = struggleSlow
	default:
		return fmt.Errorf("struggle %q: want 503 or slow", cfg.Struggle)
	}
	n := int(cfg.Duration.Seconds() * float64(cfg.Rate))
	res.Messages, res.Endpoints, res.Expected = n, cfg.Endpoints, n*cfg.Endpoints
	appIDs, paths, err := setupApps(ctx, c, rcv, res.Scenario, 1, cfg.Endpoints)
	if err != nil {
		return err
	}
	if err := c.call(ctx, "POST", "/api/v1/app/"+appIDs[0]+"/endpoint", map[string]any{"url": rcv.URL + "/struggle"}, nil); err != nil {
		return fmt.Errorf("create struggling endpoint: %w", err)
	}
	rcv.struggleDelay = struggleDelay
	sr := &StruggleResult{Mode: cfg.Struggle, AtSec: (cfg.Duration / 3).Seconds(), FellAfterSec: -1}
	res.Struggle = sr

	start := time.Now()
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		switched := time.NewTimer(cfg.Duration / 3)
		defer switched.Stop()
		prev, prevAt := rcv.others.Load(), time.Now()
		for {
			select {
			case <-stop:
				return
			case <-switched.C:
				rcv.struggle.Store(mode)
			case now := <-tick.C:
				got := rcv.others.Load()
				sr.Samples = append(sr.Samples, StruggleSample{
					AtSec:         now.Sub(start).Seconds(),
					InFlight:      rcv.struggling.Load(),
					OthersPerSec:  float64(got-prev) / now.Sub(prevAt).Seconds(),
					TotalInFlight: rcv.inFlight.Load(),
				})
				prev, prevAt = got, now
			}
		}
	}()
	sent := make([]time.Time, n)
	interval := time.Second / time.Duration(cfg.Rate)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	sem := make(chan struct{}, cfg.Publishers)
	for seq := 0; seq < n && ctx.Err() == nil; seq++ {
		if d := time.Until(start.Add(time.Duration(seq) * interval)); d > 0 {
			time.Sleep(d)
		}
		sem <- struct{}{}
		wg.Add(1)
		sent[seq] = time.Now()
		go func(seq int) {
			defer func() { <-sem; wg.Done() }()
			if err := c.publish(ctx, appIDs[0], payload(seq, cfg.PayloadSize)); err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		}(seq)
	}
	wg.Wait()
	waitDeliveries(ctx, rcv, paths, n, cfg.Wait)
	close(stop)
	<-sampled
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	collect(rcv, res, paths, n, start, sent)
	sr.summarize(cfg.Duration)
	return nil
}

// summarize computes the means before the struggle began and over the
// second half of the publishing after it (duration is the publishing's).
func (sr *StruggleResult) summarize(duration time.Duration) {
	var nb, na int
	for _, s := range sr.Samples {
		switch {
		case s.AtSec > duration.Seconds():
		case s.AtSec >= 1 && s.AtSec < sr.AtSec:
			sr.InFlightBefore += float64(s.InFlight)
			sr.OthersBefore += s.OthersPerSec
			nb++
		case s.AtSec >= (sr.AtSec+duration.Seconds())/2:
			sr.InFlightAfter += float64(s.InFlight)
			sr.OthersAfter += s.OthersPerSec
			na++
		}
	}
	if nb > 0 {
		sr.InFlightBefore /= float64(nb)
		sr.OthersBefore /= float64(nb)
	}
	if na > 0 {
		sr.InFlightAfter /= float64(na)
		sr.OthersAfter /= float64(na)
	}
	for _, s := range sr.Samples {
		if s.AtSec >= sr.AtSec && float64(s.InFlight) <= sr.InFlightBefore/2 {
			sr.FellAfterSec = s.AtSec - sr.AtSec
			break
		}
	}
}

// steady publishes at a fixed rate for cfg.Duration and measures each
// message's publish-to-receipt latency at the (first) healthy endpoint.
// With hang, a second endpoint that never answers shares the application.
func steady(ctx context.Context, cfg Config, c *client, rcv *receiver, res *Result, hang bool) error {
	n := int(cfg.Duration.Seconds() * float64(cfg.Rate))
	res.Messages, res.Endpoints, res.Expected = n, 1, n
	appID, paths, err := setup(ctx, c, rcv, res.Scenario, 1, hang)
	if err != nil {
		return err
	}
	sent := make([]time.Time, n)
	interval := time.Second / time.Duration(cfg.Rate)
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr atomic.Value
	sem := make(chan struct{}, cfg.Publishers)
	for seq := 0; seq < n; seq++ {
		at := start.Add(time.Duration(seq) * interval)
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		sem <- struct{}{}
		wg.Add(1)
		sent[seq] = time.Now()
		go func(seq int) {
			defer func() { <-sem; wg.Done() }()
			if err := c.publish(ctx, appID, payload(seq, cfg.PayloadSize)); err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		}(seq)
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	waitDeliveries(ctx, rcv, paths, n, cfg.Wait)
	collect(rcv, res, paths, n, start, sent)
	if hang {
		res.HealthyArrived = float64(res.Delivered) / float64(res.Expected)
	}
	return nil
}

// backlog queues cfg.Backlog messages for an endpoint that never answers,
// then measures a healthy endpoint of the same application at a steady
// rate: a large backlog must cost neither its latency nor the server's
// memory.
func backlog(ctx context.Context, cfg Config, c *client, rcv *receiver, res *Result) error {
	var app struct{ ID string }
	uid := fmt.Sprintf("bench-backlog-%d", time.Now().UnixNano())
	if err := c.call(ctx, "POST", "/api/v1/app", map[string]any{"name": "bench backlog", "uid": uid}, &app); err != nil {
		return fmt.Errorf("create app: %w", err)
	}
	for _, ep := range []map[string]any{
		{"url": rcv.URL + "/hang", "filterTypes": []string{"bench.backlog"}},
		{"url": rcv.URL + "/ep/0", "filterTypes": []string{"bench.tick"}},
	} {
		if err := c.call(ctx, "POST", "/api/v1/app/"+app.ID+"/endpoint", ep, nil); err != nil {
			return fmt.Errorf("create endpoint: %w", err)
		}
	}
	start := time.Now()
	err := publishAll(ctx, cfg.Publishers, cfg.Backlog, func(seq int) error {
		return c.publishType(ctx, app.ID, "bench.backlog", payload(seq, cfg.PayloadSize))
	})
	if err != nil {
		return err
	}
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, "backlog: %d messages queued for a dead endpoint in %s\n", cfg.Backlog, time.Since(start).Round(time.Second))
	}
	n := int(cfg.Duration.Seconds() * float64(cfg.Rate))
	res.Messages, res.Endpoints, res.Expected = n, 1, n
	sent := make([]time.Time, n)
	interval := time.Second / time.Duration(cfg.Rate)
	start = time.Now()
	for seq := 0; seq < n; seq++ {
		if d := time.Until(start.Add(time.Duration(seq) * interval)); d > 0 {
			time.Sleep(d)
		}
		sent[seq] = time.Now()
		if err := c.publish(ctx, app.ID, payload(seq, cfg.PayloadSize)); err != nil {
			return err
		}
	}
	waitDeliveries(ctx, rcv, []string{"/ep/0"}, n, cfg.Wait)
	collect(rcv, res, []string{"/ep/0"}, n, start, sent)
	res.HealthyArrived = float64(res.Delivered) / float64(res.Expected)
	return nil
}

// setup creates an application and endpoints pointing at the receiver and
// returns the app ID and the healthy endpoints' paths.
func setup(ctx context.Context, c *client, rcv *receiver, scenario string, endpoints int, hang bool) (string, []string, error) {
	var app struct{ ID string }
	uid := fmt.Sprintf("bench-%s-%d", scenario, time.Now().UnixNano())
	if err := c.call(ctx, "POST", "/api/v1/app", map[string]any{"name": "bench " + scenario, "uid": uid}, &app); err != nil {
		return "", nil, fmt.Errorf("create app: %w", err)
	}
	var paths []string
	for i := 0; i < endpoints; i++ {
		p := fmt.Sprintf("/ep/%d", i)
		if err := c.call(ctx, "POST", "/api/v1/app/"+app.ID+"/endpoint", map[string]any{"url": rcv.URL + p}, nil); err != nil {
			return "", nil, fmt.Errorf("create endpoint: %w", err)
		}
		paths = append(paths, p)
	}
	if hang {
		if err := c.call(ctx, "POST", "/api/v1/app/"+app.ID+"/endpoint", map[string]any{"url": rcv.URL + "/hang"}, nil); err != nil {
			return "", nil, fmt.Errorf("create hanging endpoint: %w", err)
		}
	}
	return app.ID, paths, nil
}

// publishAll runs n publishes over p goroutines and returns the first error.
func publishAll(ctx context.Context, p, n int, publish func(seq int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for i := 0; i < p; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				seq := int(next.Add(1) - 1)
				if seq >= n {
					return
				}
				if err := publish(seq); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	return ctx.Err()
}

// waitDeliveries waits until every path has n distinct messages, no new
// webhook arrived for a while after the wait elapsed, or ctx ends.
func waitDeliveries(ctx context.Context, rcv *receiver, paths []string, n int, wait time.Duration) {
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		done := true
		for _, p := range paths {
			if rcv.unique(p) < n {
				done = false
				break
			}
		}
		if done {
			// Linger briefly so late duplicates are counted too.
			time.Sleep(200 * time.Millisecond)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// collect fills in deliveries, losses, duplicates, rate and latency.
func collect(rcv *receiver, res *Result, paths []string, n int, start time.Time, sent []time.Time) {
	var last time.Time
	var lat []float64
	for i, p := range paths {
		first, count := rcv.snapshot(p)
		for seq := 0; seq < n; seq++ {
			at, ok := first[int64(seq)]
			if !ok {
				res.Lost++
				continue
			}
			res.Delivered++
			res.Duplicates += count[int64(seq)] - 1
			if at.After(last) {
				last = at
			}
			if sent != nil && i == 0 {
				lat = append(lat, float64(at.Sub(sent[seq]).Microseconds())/1000)
			}
		}
	}
	if !last.IsZero() {
		res.Seconds = last.Sub(start).Seconds()
		if res.Seconds > 0 {
			res.DeliveredPerSec = float64(res.Delivered) / res.Seconds
		}
	}
	res.Latency = quantiles(lat)
}

// payload returns a JSON object of about size bytes whose first field is
// the sequence number.
func payload(seq, size int) []byte {
	head := fmt.Sprintf(`{"seq":%d,"type":"bench.tick","pad":"`, seq)
	pad := size - len(head) - 2
	if pad < 0 {
		pad = 0
	}
	return []byte(head + strings.Repeat("x", pad) + `"}`)
}

func (r Result) summary() string {
	if r.Error != "" {
		return "error: " + r.Error
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d delivered, %d lost, %d duplicates", r.Delivered, r.Expected, r.Lost, r.Duplicates)
	if r.AcceptedPerSec > 0 {
		fmt.Fprintf(&b, ", accepted %.0f msg/s", r.AcceptedPerSec)
	}
	if r.DeliveredPerSec > 0 {
		fmt.Fprintf(&b, ", delivered %.0f/s", r.DeliveredPerSec)
	}
	if r.OfCeiling > 0 {
		fmt.Fprintf(&b, " (%.1f%% of the ceiling)", 100*r.OfCeiling)
	}
	if r.Latency != nil {
		fmt.Fprintf(&b, ", latency p50 %.1f ms p95 %.1f ms p99 %.1f ms max %.1f ms", r.Latency.P50, r.Latency.P95, r.Latency.P99, r.Latency.Max)
	}
	if r.Scenario == "isolation" || r.Scenario == "backlog" {
		fmt.Fprintf(&b, ", healthy arrived %.1f%%", 100*r.HealthyArrived)
	}
	if r.Apps > 1 {
		fmt.Fprintf(&b, ", %d endpoints in %d apps", r.Endpoints, r.Apps)
	}
	if len(r.ReceiverDelayMs) == 2 {
		fmt.Fprintf(&b, ", receiver delay %g-%g ms", r.ReceiverDelayMs[0], r.ReceiverDelayMs[1])
	}
	if r.ReceiverTLS != "" {
		fmt.Fprintf(&b, ", receiver https offering %s", r.ReceiverTLS)
	}
	if r.ReceiverHosts > 1 {
		fmt.Fprintf(&b, " on %d hosts", r.ReceiverHosts)
	}
	if r.PeakInFlight > 0 {
		fmt.Fprintf(&b, ", peak in flight %d", r.PeakInFlight)
	}
	if sr := r.Struggle; sr != nil {
		fmt.Fprintf(&b, ", struggling endpoint (%s at %.0f s): in flight %.1f before, %.1f after, fell to half %s; others %.0f/s before, %.0f/s after",
			sr.Mode, sr.AtSec, sr.InFlightBefore, sr.InFlightAfter, fellAfter(sr.FellAfterSec), sr.OthersBefore, sr.OthersAfter)
	}
	if r.PeakRSSMB > 0 {
		fmt.Fprintf(&b, ", server peak RSS %.1f MB", r.PeakRSSMB)
	}
	if r.PeakFDs > 0 {
		fmt.Fprintf(&b, ", peak descriptors %d", r.PeakFDs)
	}
	switch {
	case r.ServerCPUMicros > 0:
		fmt.Fprintf(&b, ", CPU per delivery: server %.0f µs, tool %.0f µs", r.ServerCPUMicros, r.ToolCPUMicros)
	case r.ToolCPUMicros > 0:
		fmt.Fprintf(&b, ", tool CPU %.0f µs per delivery", r.ToolCPUMicros)
	}
	return b.String()
}

func fellAfter(sec float64) string {
	if sec < 0 {
		return "never"
	}
	return fmt.Sprintf("after %.1f s", sec)
}

// Summary renders results as a readable table.
func Summary(results []Result) string {
	var b strings.Builder
	for _, r := range results {
		fmt.Fprintf(&b, "%-11s %s\n", r.Scenario, r.summary())
	}
	return b.String()
}

type client struct {
	base, token string
	http        *http.Client
}

// newHTTPClient returns the tool's client, trusting roots (nil: the
// system's) over https.
func newHTTPClient(conns int, roots *x509.CertPool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = conns * 2
	t.MaxIdleConnsPerHost = conns * 2
	t.TLSClientConfig = &tls.Config{RootCAs: roots}
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}

func (c *client) publish(ctx context.Context, appID string, payload []byte) error {
	return c.publishType(ctx, appID, "bench.tick", payload)
}

func (c *client) publishType(ctx context.Context, appID, eventType string, payload []byte) error {
	body := make([]byte, 0, len(payload)+60)
	body = append(body, `{"eventType":"`+eventType+`","payload":`...)
	body = append(body, payload...)
	body = append(body, '}')
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/app/"+appID+"/msg?with_content=false", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("publish: status %d: %s", resp.StatusCode, b)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

func (c *client) call(ctx context.Context, method, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
