package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/internal/api"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

// dialFrom connects to addr from the loopback address local (127.0.0.x),
// so one test can play several clients.
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestConnLimiter(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newConnLimiter(inner, 3, 2, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { _ = l.Close() })
	// Each accepted connection is greeted, then held until the client
	// closes it.
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				_, _ = c.Write([]byte("ok\n"))
				_, _ = io.Copy(io.Discard, c)
				_ = c.Close()
			}()
		}
	}()
	addr := inner.Addr().String()
	// admitted reports whether the server greeted the connection (true) or
	// closed it unanswered (false).
	admitted := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil && err != io.EOF && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("read greeting: %v", err)
		}
		return line == "ok\n"
	}
	open := func() int {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.open
	}

	a1 := dialFrom(t, "127.0.0.1", addr)
	a2 := dialFrom(t, "127.0.0.1", addr)
	if !admitted(a1) || !admitted(a2) {
		t.Fatal("first two connections of a client refused")
	}
	if admitted(dialFrom(t, "127.0.0.1", addr)) {
		t.Error("third connection of one client admitted over the per-client cap of 2")
	}
	if !admitted(dialFrom(t, "127.0.0.2", addr)) {
		t.Error("another client refused below both caps")
	}
	if admitted(dialFrom(t, "127.0.0.3", addr)) {
		t.Error("fourth connection admitted over the cap of 3")
	}
	// A closed connection gives its place back, to its client and in all.
	waitOpen := func(want int) {
		deadline := time.Now().Add(5 * time.Second)
		for open() != want {
			if time.Now().After(deadline) {
				t.Fatalf("open connections %d, want %d", open(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	_ = a1.Close()
	waitOpen(2)
	if !admitted(dialFrom(t, "127.0.0.1", addr)) {
		t.Error("client refused after one of its connections closed")
	}
	_ = a2.Close()
	waitOpen(2)
	if !admitted(dialFrom(t, "127.0.0.3", addr)) {
		t.Error("connection refused after a place freed")
	}
}

func TestClientOf(t *testing.T) {
	for _, tt := range []struct{ addr, want string }{
		{"192.0.2.7:4000", "192.0.2.7/32"},
		{"[::ffff:192.0.2.7]:4000", "192.0.2.7/32"},
		{"[2001:db8:1:2:3:4:5:6]:4000", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:4000", "fe80::/64"},
	} {
		ap := netip.MustParseAddrPort(tt.addr)
		if got := clientOf(net.TCPAddrFromAddrPort(ap)).String(); got != tt.want {
			t.Errorf("clientOf(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}

// TestSlowClientsCannotTakeTheAPIDown opens many connections that trickle
// their headers or bodies against a server built as serve builds it: each
// is cut within the read timeouts, one client never holds more than its
// share of connections, and the health check of another client answers
// throughout.
func TestSlowClientsCannotTakeTheAPIDown(t *testing.T) {
	const token = "hr_slow_clients_test"
	cfg, err := parseServe([]string{
		"--listen", "127.0.0.1:0",
		"--read-header-timeout", "1s",
		"--read-timeout", "2s",
		"--max-connections", "100",
		"--max-connections-per-ip", "20",
	}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	logger := slog.New(slog.DiscardHandler)
	handler := api.New(api.Config{Store: st, AdminToken: token, MaxBodyBytes: cfg.MaxBodyBytes,
		MaxBodyBytesInFlight: cfg.MaxBodyBytesInFlight, Logger: logger})
	srv, ln, err := newHTTPServer(cfg, handler, logger)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().String()
	limiter := ln.(*connLimiter)
	attacker := clientOf(&net.TCPAddr{IP: net.ParseIP("127.0.0.1")})

	// 60 connections from one client: half send an authenticated publish
	// announcing 200,000 bytes and trickle them, half trickle their
	// headers. Each records how long the server kept it.
	const attackers = 60
	var wg sync.WaitGroup
	lifetimes := make([]time.Duration, attackers)
	stop := make(chan struct{})
	for i := range attackers {
		c := dialFrom(t, "127.0.0.1", addr)
		start := time.Now()
		head := "POST /api/v1/app/app_x/msg HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\nContent-Length: 200000\r\n\r\n{"
		if i%2 == 1 {
			head = "POST /api/v1/app/app_x/msg HTTP/1.1\r\nHost: x\r\nX-Slow: "
		}
		wg.Add(2)
		go func() { // trickle a byte every 100 ms until the write fails
			defer wg.Done()
			if _, err := c.Write([]byte(head)); err != nil {
				return
			}
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := c.Write([]byte("a")); err != nil {
					return
				}
			}
		}()
		go func() { // read until the server closes the connection
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, _ = io.Copy(io.Discard, c)
			lifetimes[i] = time.Since(start)
		}()
	}

	// Meanwhile another client checks health, each time on a new
	// connection, until every attacking connection is gone.
	health := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext:       (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext,
	}}
	attackDone := make(chan struct{})
	var checks, failures atomic.Int64
	go func() {
		wg.Wait()
		close(attackDone)
	}()
	deadline := time.After(15 * time.Second)
	maxHeld := 0
loop:
	for {
		resp, err := health.Get("http://" + addr + "/api/v1/health")
		checks.Add(1)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			failures.Add(1)
			t.Errorf("health during the attack: %v", describe(resp, err))
		}
		if resp != nil {
			resp.Body.Close()
		}
		limiter.mu.Lock()
		maxHeld = max(maxHeld, limiter.byClient[attacker])
		limiter.mu.Unlock()
		select {
		case <-attackDone:
			break loop
		case <-deadline:
			close(stop)
			t.Fatal("attacking connections still open after 15 s")
		case <-time.After(50 * time.Millisecond):
		}
	}
	if checks.Load() < 5 {
		t.Errorf("only %d health checks ran during the attack", checks.Load())
	}
	if maxHeld > 20 {
		t.Errorf("one client held %d connections, over its cap of 20", maxHeld)
	}
	// The longest any connection lived: the read timeout (2 s) and some
	// slack, though every one would have trickled on for minutes.
	var longest time.Duration
	for _, d := range lifetimes {
		longest = max(longest, d)
	}
	if longest > 5*time.Second {
		t.Errorf("a trickling connection lived %s, want about the 2 s read timeout", longest)
	}
	t.Logf("%d health checks, %d failed; longest attacking connection %s; most held by the attacker %d",
		checks.Load(), failures.Load(), longest.Round(time.Millisecond), maxHeld)
}

func describe(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("status %d", resp.StatusCode)
}

func TestHTTPLimitFlags(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := parseServe(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ReadHeaderTimeout != 10*time.Second || cfg.ReadTimeout != 30*time.Second || cfg.IdleTimeout != 2*time.Minute ||
		cfg.MaxConnections != 512 || cfg.MaxConnectionsPerIP != 128 || cfg.MaxBodyBytesInFlight != 32<<20 {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = parseServe([]string{"--read-timeout", "5s", "--max-connections", "0"}, env(map[string]string{
		"HOOKRELAY_READ_TIMEOUT":             "7s",
		"HOOKRELAY_IDLE_TIMEOUT":             "1m",
		"HOOKRELAY_MAX_CONNECTIONS_PER_IP":   "0",
		"HOOKRELAY_MAX_BODY_BYTES_IN_FLIGHT": "2097152",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ReadTimeout != 5*time.Second || cfg.IdleTimeout != time.Minute || cfg.MaxConnections != 0 ||
		cfg.MaxConnectionsPerIP != 0 || cfg.MaxBodyBytesInFlight != 2<<20 {
		t.Errorf("flags and environment: %+v", cfg)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"zero read timeout", []string{"--read-timeout", "0s"}, "read-timeout must be positive"},
		{"zero header timeout", []string{"--read-header-timeout", "0s"}, "read-header-timeout must be positive"},
		{"negative cap", []string{"--max-connections-per-ip", "-1"}, "must not be negative"},
		{"budget below one body", []string{"--max-body-bytes", "2000000", "--max-body-bytes-in-flight", "1000000"}, "below max body bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseServe(tt.args, env(nil), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}
