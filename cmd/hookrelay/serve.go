package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/api"
	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/dnscache"
	"github.com/hookrelay/hookrelay/internal/metrics"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/portal"
	"github.com/hookrelay/hookrelay/internal/store"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger, err := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	if err != nil {
		return err
	}
	if getenv("GOMEMLIMIT") == "" {
		limit := memoryLimit(cfg)
		debug.SetMemoryLimit(limit)
		logger.Debug("soft memory limit set", "bytes", limit)
	}
	rootCAs, err := checkEgress(cfg, logger)
	if err != nil {
		return err
	}

	st, notes, err := openStoreNotifier(ctx, cfg.DatabaseURL, getenv, logger.With("component", "store"))
	if err != nil {
		return err
	}
	defer st.Close()

	if cfg.AdminToken == "" {
		if err := bootstrapAdminToken(ctx, st, stdout); err != nil {
			return err
		}
	}
	logAdminTokens(ctx, st, cfg.AdminToken != "", logger)

	nodeID := newNodeID()
	alerts := ops.NewAlerts(ops.AlertsConfig{Store: st, DisableAfter: cfg.DisableAfter, RetrySchedule: cfg.RetrySchedule,
		Logger: logger.With("component", "ops")})
	observers := delivery.Observers{alerts}
	var resolver *net.Resolver
	var dnsCache *dnscache.Cache
	if cfg.DNSCache {
		dnsCache = dnscache.New(dnscache.Config{})
		resolver = dnsCache.Resolver()
	}
	var mx *metrics.Metrics
	if cfg.Metrics {
		mcfg := metrics.Config{Store: st, Logger: logger.With("component", "metrics")}
		if dnsCache != nil { // not a nil *Cache in the interface
			mcfg.DNSCache = dnsCache
		}
		mx = metrics.New(mcfg)
		observers = append(observers, mx)
	}
	disp := delivery.NewDispatcher(delivery.Config{
		Store:                    st,
		NodeID:                   nodeID,
		Workers:                  cfg.Workers,
		MaxInFlightPerEndpoint:   cfg.MaxInFlight,
		MaxIdleConns:             cfg.MaxIdleConns,
		RetrySchedule:            cfg.RetrySchedule,
		Jitter:                   cfg.RetryJitter,
		Timeout:                  cfg.Timeout,
		LeaseTTL:                 cfg.LeaseTTL,
		PollInterval:             cfg.PollInterval,
		ShutdownGrace:            cfg.ShutdownGrace,
		SvixHeaders:              cfg.SvixHeaders,
		AllowPrivate:             cfg.AllowPrivateCIDRs,
		URLPolicy:                cfg.URLPolicy,
		Proxy:                    cfg.ProxyURL,
		SourceAddr:               cfg.SourceAddress,
		RootCAs:                  rootCAs,
		DangerouslySkipTLSVerify: cfg.DangerouslySkipTLSVerify,
		Resolver:                 resolver,
		HTTP2:                    cfg.HTTP2,
		Logger:                   logger.With("component", "delivery"),
		Observer:                 observers,
	})
	var progress ops.Progress
	var apiMetrics api.Metrics
	if mx != nil {
		mx.ReadDispatcher(disp)
		progress, apiMetrics = mx, mx
	}
	tasks := ops.NewRunner(ops.Config{Store: st, NodeID: nodeID, LeaseTTL: cfg.LeaseTTL, Waker: disp, BatchSize: cfg.TaskBatchSize,
		Logger: logger.With("component", "tasks"), Progress: progress})

	events := ops.NewEmitter(ops.EmitterConfig{Store: st, Waker: disp, Logger: logger.With("component", "ops")})
	handler := api.New(api.Config{
		Store:                st,
		Waker:                disp,
		Handoff:              disp,
		Windows:              disp,
		Tasks:                tasks,
		Events:               events,
		AdminToken:           cfg.AdminToken,
		PublicURL:            cfg.PublicURL,
		MaxBodyBytes:         cfg.MaxBodyBytes,
		MaxBodyBytesInFlight: cfg.MaxBodyBytesInFlight,
		MaxEndpointsPerApp:   cfg.MaxEndpointsPerApp,
		URLPolicy:            cfg.URLPolicy.Check,
		PayloadRetention:     cfg.Retention,
		Logger:               logger.With("component", "api"),
		Metrics:              apiMetrics,
		AllowedOrigins:       cfg.PortalAllowedOrigins,
	})
	portalHandler, err := portal.New(portal.Config{
		Store:           st,
		API:             handler,
		AdminToken:      cfg.AdminToken,
		PublicURL:       cfg.PublicURL,
		AllowedOrigins:  cfg.PortalAllowedOrigins,
		Theme:           cfg.PortalTheme,
		HTTPSOnly:       cfg.URLPolicy.HTTPSOnly,
		HTTPSOnlyExempt: cfg.URLPolicy.Exempt,
		Logger:          logger.With("component", "portal"),
	})
	if err != nil {
		return err
	}
	handler = portalHandler.Mount(handler)
	switch {
	case mx != nil && cfg.MetricsListen != "":
		stopMetrics, err := serveMetrics(cfg.MetricsListen, mx, logger.With("component", "metrics"))
		if err != nil {
			return err
		}
		defer stopMetrics()
	case mx != nil:
		handler = withMetrics(handler, mx)
	}

	srv, ln, err := newHTTPServer(cfg, handler, logger)
	if err != nil {
		return err
	}

	dispCtx, stopDispatcher := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDispatcher()
	dispDone := make(chan error, 1)
	go func() { dispDone <- disp.Run(dispCtx) }()
	// Background tasks stop with the dispatcher, handing theirs back.
	tasksDone := make(chan error, 1)
	go func() { tasksDone <- tasks.Run(dispCtx) }()
	defer func() { stopDispatcher(); <-tasksDone }()
	go alerts.Run(dispCtx, events)
	// The retention cleaner, on one node at a time (a lease).
	var cleanerReport ops.CleanerReport
	if mx != nil {
		cleanerReport = mx
	}
	cleaner := ops.NewCleaner(ops.CleanerConfig{Store: st, NodeID: nodeID, HistoryRetention: cfg.HistoryRetention,
		Interval: cfg.CleanInterval, LeaseTTL: cfg.LeaseTTL, Logger: logger.With("component", "cleaner"), Report: cleanerReport})
	cleanerDone := make(chan error, 1)
	go func() { cleanerDone <- cleaner.Run(dispCtx) }()
	defer func() { stopDispatcher(); <-cleanerDone }()

	// A store that can tell when other nodes queued work (PostgreSQL's
	// LISTEN/NOTIFY) wakes this node's dispatcher at once.
	if notes != nil {
		go func() {
			if err := notes.Subscribe(dispCtx, disp.Wake); err != nil && dispCtx.Err() == nil {
				logger.Warn("work notifications stopped; relying on polling", "err", err)
			}
		}()
	}

	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String(), "database", redactURL(cfg.DatabaseURL), "node", nodeID, "version", hookrelay.Version)

	select {
	case <-ctx.Done():
	case err := <-srvDone:
		stopDispatcher()
		<-dispDone
		return fmt.Errorf("serve http: %w", err)
	case err := <-dispDone:
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		return fmt.Errorf("dispatcher: %w", err)
	}

	// Stop taking requests first so nothing new is published, then let the
	// dispatcher finish or release what it holds.
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	stopDispatcher()
	if err := <-dispDone; err != nil && !errors.Is(err, context.Canceled) {
		logger.Warn("dispatcher stopped", "err", err)
	}
	logger.Info("stopped")
	return nil
}

// newHTTPServer listens on cfg.Listen and returns the API's server and the
// listener to serve, within cfg's limits: a client has ReadHeaderTimeout to
// send a request's headers and ReadTimeout for the whole request (a
// trickled body is cut there), a kept-alive connection waits IdleTimeout
// for its next request, and connections beyond MaxConnections, or beyond
// MaxConnectionsPerIP from one client, are closed as soon as accepted.
func newHTTPServer(cfg *config, handler http.Handler, logger *slog.Logger) (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    maxRequestHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return srv, newConnLimiter(ln, cfg.MaxConnections, cfg.MaxConnectionsPerIP, logger.With("component", "http")), nil
}

// memoryLimit is the Go runtime's soft memory limit (GOMEMLIMIT) unless the
// environment sets one. What the server holds is bounded: request bodies by
// MaxBodyBytesInFlight (each held about twice, as the body and as the
// response that echoes it), payloads waiting for delivery by the
// dispatcher's 64 MiB, and a few tens of MB besides. With GOGC at 200 the
// heap would still grow to three times that before a collection; the limit
// makes the collector run sooner instead, so a burst of large publishes
// peaks at about 250 MB of RSS rather than three times its live bytes.
func memoryLimit(cfg *config) int64 {
	return 96<<20 + 2*cfg.MaxBodyBytesInFlight
}

// maxRequestHeaderBytes bounds the headers of an API request; larger ones
// get 431 from net/http.
const maxRequestHeaderBytes = 64 << 10

// bootstrapAdminToken makes sure the default environment has an admin token
// when HOOKRELAY_ADMIN_TOKEN is not set: the first start generates one,
// stores only its hash and prints it once.
func bootstrapAdminToken(ctx context.Context, st store.Store, out io.Writer) error {
	n, err := st.CountTokens(ctx, hookrelay.DefaultEnvironment, store.TokenAdmin)
	if err != nil {
		return fmt.Errorf("count admin tokens: %w", err)
	}
	if n > 0 {
		return nil
	}
	token := "hr_" + randomBase62(40)
	sum := sha256.Sum256([]byte(token))
	err = st.CreateToken(ctx, &store.Token{
		ID:        hookrelay.NewID(hookrelay.PrefixToken),
		EnvID:     hookrelay.DefaultEnvironment,
		Kind:      store.TokenAdmin,
		Hash:      sum[:],
		CreatedAt: time.Now().UTC(),
	})
	if err != nil {
		return fmt.Errorf("store admin token: %w", err)
	}
	fmt.Fprintf(out, "Generated an admin API token. It is shown only this once; only its hash is stored:\n\n    %s\n\n", token)
	return nil
}

const base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomBase62 returns n characters drawn uniformly from base62Digits.
func randomBase62(n int) string {
	out := make([]byte, n)
	buf := make([]byte, 1)
	for i := 0; i < n; {
		_, _ = rand.Read(buf)
		if buf[0] >= 248 { // 248 = 4*62: reject to keep the draw uniform
			continue
		}
		out[i] = base62Digits[buf[0]%62]
		i++
	}
	return string(out)
}

func newNodeID() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "node"
	}
	return host + "-" + randomBase62(8)
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlagSet("migrate", getenv, stderr)
	var url string
	databaseFlag(f, &url)
	if err := f.Parse(args); err != nil {
		return err
	}
	if len(f.errs) > 0 {
		return f.errs[0]
	}
	st, err := openStore(ctx, url)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "database %s is up to date\n", redactURL(url))
	return nil
}
