package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hookrelay/hookrelay/internal/metrics"
)

// metricsPath is where the Prometheus metrics are served.
const metricsPath = "/metrics"

// metricsFlags registers --metrics and --metrics-listen.
func metricsFlags(f *flagSet, c *config) {
	f.boolean(&c.Metrics, "metrics", "HOOKRELAY_METRICS", "true", "serve Prometheus metrics at "+metricsPath)
	f.str(&c.MetricsListen, "metrics-listen", "HOOKRELAY_METRICS_LISTEN", "",
		"address of a listener of its own for "+metricsPath+" (default: the API's listener)")
}

// withMetrics serves m at metricsPath, and everything else with h.
func withMetrics(h http.Handler, m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+metricsPath, m.Handler())
	mux.Handle("/", h)
	return mux
}

// serveMetrics serves m at metricsPath on a listener of its own at addr
// until the returned stop is called.
func serveMetrics(addr string, m *metrics.Metrics, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+metricsPath, m.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			logger.Warn("metrics server stopped", "err", err)
		}
	}()
	logger.Info("metrics listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
