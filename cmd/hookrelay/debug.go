package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
)

// HOOKRELAY_PPROF_LISTEN, when set, serves Go's profiler (net/http/pprof)
// on that address, apart from the API: for operators chasing a slowdown.
// It should stay on a loopback address.
func init() {
	addr := os.Getenv("HOOKRELAY_PPROF_LISTEN")
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		if err := http.ListenAndServe(addr, mux); err != nil {
			slog.Error("pprof listener", "addr", addr, "err", err)
		}
	}()
}
