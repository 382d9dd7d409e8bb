package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hookrelay/hookrelay/internal/bench"
)

// benchCmd runs the load tool. By default it starts a fresh `hookrelay
// serve` (this same binary) per scenario on a temporary SQLite file, or on
// --database-url; with --url it measures a server that is already running.
func benchCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlagSet("bench", getenv, stderr)
	var (
		cfg       bench.Config
		scenarios string
		dbURL     string
		jsonOut   string
		serverArg string
		wipe      bool
		delay     string
		serverBin string
		tlsOn     bool
	)
	f.StringVar(&scenarios, "scenarios", "ceiling,throughput,fanout,latency,isolation", "comma-separated scenarios: ceiling, throughput, fanout, latency, isolation, backlog, struggle")
	f.StringVar(&dbURL, "database-url", "", "database for the servers the tool starts (default: a fresh SQLite file per scenario); a postgres:// database is emptied before each scenario, and refused if it holds data bench did not create (see --wipe-database)")
	f.BoolVar(&wipe, "wipe-database", false, "let --database-url name a PostgreSQL database holding data bench did not create: EVERYTHING in its public schema is dropped")
	f.StringVar(&cfg.URL, "url", "", "measure this running server instead of starting one")
	f.StringVar(&cfg.Token, "token", getenv("HOOKRELAY_ADMIN_TOKEN"), "admin token of the server given by --url")
	f.IntVar(&cfg.Messages, "messages", 20000, "messages in the throughput and ceiling runs")
	f.IntVar(&cfg.FanoutMsgs, "fanout-messages", 2000, "messages in the fan-out run")
	f.IntVar(&cfg.Endpoints, "endpoints", 10, "endpoints in the fan-out run")
	f.IntVar(&cfg.Publishers, "publishers", 32, "concurrent publishers")
	f.IntVar(&cfg.PayloadSize, "payload-bytes", 200, "payload size")
	f.IntVar(&cfg.Rate, "rate", 200, "messages per second in the latency and isolation runs")
	f.DurationVar(&cfg.Duration, "duration", 20*time.Second, "length of the latency and isolation runs")
	f.IntVar(&cfg.Backlog, "backlog-messages", 1000000, "messages queued for a dead endpoint in the backlog run")
	f.DurationVar(&cfg.Wait, "wait", 120*time.Second, "longest wait for deliveries after publishing")
	f.StringVar(&jsonOut, "json", "", "also write the results as JSON to this file (- for stdout)")
	f.StringVar(&serverArg, "server-args", "", "extra flags for the servers the tool starts, space-separated")
	f.StringVar(&serverBin, "server-binary", "", "the hookrelay binary whose `serve` the tool starts (default: this one), to measure another build with this load tool")
	f.StringVar(&delay, "receiver-delay", "0", "how long the receiver takes to answer: a duration (200ms) or a range picked from at random per request (50ms-500ms)")
	f.IntVar(&cfg.Apps, "apps", 1, "applications the fan-out run's endpoints are spread over (each gets --fanout-messages messages)")
	f.StringVar(&cfg.Struggle, "struggle", "503", "how the struggle run's struggling endpoint fails a third of the way in: 503 (answers 503) or slow (50 ms answers become 5 s)")
	f.BoolVar(&tlsOn, "receiver-tls", false, "the receiver serves https, with a certificate made for the run that the servers the tool starts trust (--ca-file)")
	f.BoolVar(&cfg.ReceiverH2, "receiver-h2", true, "with --receiver-tls, the receiver offers HTTP/2 as well as HTTP/1.1 (false: HTTP/1.1 only)")
	f.IntVar(&cfg.ReceiverHosts, "receiver-hosts", 1, "listeners (ports, each a host of its own) the fan-out and struggle runs' endpoints are spread over")
	if err := f.Parse(args); err != nil {
		return err
	}
	if cfg.ReceiverHosts < 1 {
		return errors.New("bench: --receiver-hosts must be at least 1")
	}
	if tlsOn && cfg.URL != "" {
		return errors.New("bench: --receiver-tls needs a server the tool starts (not --url): the server must trust the run's certificate")
	}
	if cfg.Publishers < 1 || cfg.Messages < 1 || cfg.Rate < 1 || cfg.Endpoints < 1 || cfg.FanoutMsgs < 1 || cfg.Backlog < 1 || cfg.Apps < 1 {
		return errors.New("bench: counts must be at least 1")
	}
	if cfg.Apps > cfg.Endpoints {
		return fmt.Errorf("bench: --apps %d is more than --endpoints %d: every application needs an endpoint", cfg.Apps, cfg.Endpoints)
	}
	var err error
	if cfg.ReceiverDelayMin, cfg.ReceiverDelayMax, err = parseDelay(delay); err != nil {
		return fmt.Errorf("bench: --receiver-delay: %w", err)
	}
	if cfg.Struggle != "503" && cfg.Struggle != "slow" {
		return fmt.Errorf("bench: --struggle %q: want 503 or slow", cfg.Struggle)
	}
	cfg.Scenarios = strings.Split(scenarios, ",")
	cfg.Log = stderr
	if cfg.URL == "" {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench: find own binary: %w", err)
		}
		if serverBin != "" {
			self = serverBin
		}
		if dbURL != "" {
			// Refuse a database bench may not empty before any scenario
			// runs; once emptied, it is bench's.
			if err := resetBenchDatabase(ctx, dbURL, wipe); err != nil {
				return err
			}
		}
		caFile := ""
		if tlsOn {
			cert, pem, err := bench.NewCert()
			if err != nil {
				return fmt.Errorf("bench: receiver certificate: %w", err)
			}
			dir, err := os.MkdirTemp("", "hookrelay-bench-ca-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			caFile = filepath.Join(dir, "receiver-ca.pem")
			if err := os.WriteFile(caFile, pem, 0o600); err != nil {
				return err
			}
			cfg.ReceiverCert = &cert
		}
		cfg.Start = func(ctx context.Context, scenario string) (*bench.Server, error) {
			return startBenchServer(ctx, self, dbURL, caFile, strings.Fields(serverArg), stderr)
		}
	}
	results := bench.Run(ctx, cfg)
	fmt.Fprint(stdout, bench.Summary(results))
	if jsonOut != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		if jsonOut == "-" {
			fmt.Fprintln(stdout, string(b))
		} else if err := os.WriteFile(jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	for _, r := range results {
		if r.Error != "" {
			return fmt.Errorf("bench: scenario %s failed", r.Scenario)
		}
	}
	return nil
}

var benchListenRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startBenchServer starts `hookrelay serve` as a child process on a fresh
// database, trusting the certificates of caFile when set, and waits until
// it listens.
func startBenchServer(ctx context.Context, self, dbURL, caFile string, extra []string, logw io.Writer) (*bench.Server, error) {
	dir, err := os.MkdirTemp("", "hookrelay-bench-")
	if err != nil {
		return nil, err
	}
	if dbURL == "" {
		dbURL = filepath.Join(dir, "bench.db")
	} else if err := resetBenchDatabase(ctx, dbURL, false); err != nil {
		return nil, err
	}
	token := "hr_bench_" + randomBase62(24)
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--timeout", "10s"}, extra...)
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(),
		"HOOKRELAY_DATABASE_URL="+dbURL,
		"HOOKRELAY_ADMIN_TOKEN="+token,
		"HOOKRELAY_ALLOW_PRIVATE_CIDRS=127.0.0.0/8",
		"HOOKRELAY_LOG_LEVEL=info",
	)
	if caFile != "" {
		cmd.Env = append(cmd.Env, "HOOKRELAY_CA_FILE="+caFile)
	}
	out, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if m := benchListenRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
				continue
			}
			if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
				fmt.Fprintln(logw, "server:", line)
			}
		}
	}()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(dir)
	}
	select {
	case a := <-addr:
		pid := cmd.Process.Pid
		return &bench.Server{
			URL:     "http://" + a,
			Token:   token,
			PeakRSS: func() int64 { return peakRSS(pid) },
			CPUTime: func() time.Duration { return cpuTime(pid) },
			FDs:     func() int { return openFDs(pid) },
			Stop:    stop,
		}, nil
	case <-time.After(30 * time.Second):
		stop()
		return nil, errors.New("bench: server did not start within 30s")
	}
}

// cpuTime reads a process's CPU time, user and system, from /proc (fields
// 14 and 15 of stat, in clock ticks of 1/100 s on Linux); 0 when unknown.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields after it do not.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// peakRSS reads a process's peak resident set size (VmHWM) from /proc.
// openFDs returns how many descriptors process pid has open, -1 when
// unknown.
func openFDs(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// parseDelay reads --receiver-delay: a duration, or two joined by a dash
// (the least first).
func parseDelay(s string) (lo, hi time.Duration, err error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "-")
	if lo, err = time.ParseDuration(strings.TrimSpace(a)); err != nil {
		return 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = time.ParseDuration(strings.TrimSpace(b)); err != nil {
			return 0, 0, err
		}
	}
	if lo < 0 || hi < lo {
		return 0, 0, fmt.Errorf("%q: want a duration of 0 or more, or a range from the least to the most", s)
	}
	return lo, hi, nil
}

func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
