package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay/internal/api"
	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/portal"
)

// config is everything `hookrelay serve` reads from flags and HOOKRELAY_*
// environment variables. A flag given on the command line wins over its
// environment variable, which wins over the default.
type config struct {
	Listen             string
	DatabaseURL        string
	AdminToken         string // environment only: never a flag, so it stays out of ps
	PublicURL          string
	RetrySchedule      []time.Duration
	RetryJitter        float64
	AllowPrivateCIDRs  []netip.Prefix
	SvixHeaders        bool
	Timeout            time.Duration
	Workers            int
	MaxInFlight        int
	MaxIdleConns       int
	LeaseTTL           time.Duration
	PollInterval       time.Duration
	ShutdownGrace      time.Duration
	MaxBodyBytes       int64
	MaxEndpointsPerApp int
	DisableAfter       time.Duration // 0: endpoints are never disabled automatically
	TaskBatchSize      int

	// Retention; see ops.Cleaner.
	Retention        time.Duration
	HistoryRetention time.Duration
	CleanInterval    time.Duration

	// The API's HTTP server; see newHTTPServer.
	ReadHeaderTimeout    time.Duration
	ReadTimeout          time.Duration
	IdleTimeout          time.Duration
	MaxConnections       int
	MaxConnectionsPerIP  int
	MaxBodyBytesInFlight int64
	LogLevel             string
	LogFormat            string

	// Prometheus metrics; see metricsFlags.
	Metrics       bool
	MetricsListen string

	// Outbound requests; see egressFlags.
	URLPolicy                delivery.URLPolicy
	DangerouslySkipTLSVerify bool
	CAFile                   string
	ProxyURL                 *url.URL
	SourceAddress            netip.Addr
	DNSCache                 bool
	HTTP2                    bool

	// The portal; see portalFlags.
	PortalAllowedOrigins []string
	PortalTheme          portal.Theme
}

// flagSet registers flags whose defaults come from the environment and
// collects parse errors of those environment values.
type flagSet struct {
	*flag.FlagSet
	getenv func(string) string
	errs   []error
}

func newFlagSet(name string, getenv func(string) string, out io.Writer) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return &flagSet{FlagSet: fs, getenv: getenv}
}

// value registers a flag parsed by parse, whose default is env's value when
// set, else def.
func (f *flagSet) value(name, env, def, help string, parse func(string) error) {
	start := def
	if v := f.getenv(env); v != "" {
		start = v
	}
	if err := parse(start); err != nil {
		f.errs = append(f.errs, fmt.Errorf("%s: %w", env, err))
	}
	f.Func(name, fmt.Sprintf("%s (env %s, default %q)", help, env, def), parse)
}

func (f *flagSet) str(p *string, name, env, def, help string) {
	f.value(name, env, def, help, func(s string) error { *p = s; return nil })
}

func (f *flagSet) duration(p *time.Duration, name, env, def, help string) {
	f.value(name, env, def, help, func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		if d < 0 {
			return fmt.Errorf("negative duration %s", s)
		}
		*p = d
		return nil
	})
}

func (f *flagSet) integer(p *int, name, env, def, help string) {
	f.value(name, env, def, help, func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		if n < 1 {
			return fmt.Errorf("must be at least 1, got %d", n)
		}
		*p = n
		return nil
	})
}

// count registers an integer flag that may be 0 (meaning no cap).
func (f *flagSet) count(p *int, name, env, def, help string) {
	f.value(name, env, def, help, func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		if n < 0 {
			return fmt.Errorf("must not be negative, got %d", n)
		}
		*p = n
		return nil
	})
}

func (f *flagSet) boolean(p *bool, name, env, def, help string) {
	f.value(name, env, def, help, func(s string) error {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		*p = b
		return nil
	})
	// Let "--svix-headers" alone mean true, like a flag.Bool.
	fl := f.Lookup(name)
	fl.Value = boolValue{fl.Value}
}

type boolValue struct{ flag.Value }

func (boolValue) IsBoolFlag() bool { return true }

// String is also called by the flag package on a zero boolValue, to tell
// whether a default is worth printing.
func (b boolValue) String() string {
	if b.Value == nil {
		return ""
	}
	return b.Value.String()
}

// parseSchedule reads a comma-separated list of durations such as
// "5s,5m,30m". An empty list means no retries.
func parseSchedule(s string) ([]time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return []time.Duration{}, nil
	}
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("retry schedule: %w", err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("retry schedule: delay %s is not positive", part)
		}
		out = append(out, d)
	}
	return out, nil
}

// parseCIDRs reads a comma-separated list of CIDRs or single addresses.
func parseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("allowed cidr %q: %w", part, err)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("allowed cidr %q: %w", part, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// databaseFlag registers --database-url.
func databaseFlag(f *flagSet, p *string) {
	f.str(p, "database-url", "HOOKRELAY_DATABASE_URL", "hookrelay.db",
		"database: a SQLite file path (or sqlite:PATH) or a postgres:// URL")
}

// parseServe reads the serve command's flags and environment.
func parseServe(args []string, getenv func(string) string, out io.Writer) (*config, error) {
	c := &config{AdminToken: getenv("HOOKRELAY_ADMIN_TOKEN")}
	f := newFlagSet("serve", getenv, out)
	f.str(&c.Listen, "listen", "HOOKRELAY_LISTEN", ":8071", "address to listen on")
	databaseFlag(f, &c.DatabaseURL)
	f.str(&c.PublicURL, "public-url", "HOOKRELAY_PUBLIC_URL", "", "the server's public base URL, used in portal links (default http://localhost:PORT)")
	f.value("retry-schedule", "HOOKRELAY_RETRY_SCHEDULE", formatSchedule(delivery.DefaultRetrySchedule),
		"comma-separated waits after each failed attempt", func(s string) error {
			sch, err := parseSchedule(s)
			c.RetrySchedule = sch
			return err
		})
	f.value("retry-jitter", "HOOKRELAY_RETRY_JITTER", strconv.FormatFloat(delivery.DefaultJitter, 'g', -1, 64), "random spread of each retry wait, as a fraction (0 to 1)", func(s string) error {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		if v < 0 || v > 1 {
			return fmt.Errorf("jitter %v is outside 0..1", v)
		}
		c.RetryJitter = v
		return nil
	})
	f.value("allow-private-cidrs", "HOOKRELAY_ALLOW_PRIVATE_CIDRS", "",
		"comma-separated CIDRs that may be delivered to although private or loopback", func(s string) error {
			p, err := parseCIDRs(s)
			c.AllowPrivateCIDRs = p
			return err
		})
	f.boolean(&c.SvixHeaders, "svix-headers", "HOOKRELAY_SVIX_HEADERS", "false", "sign with svix-id/svix-timestamp/svix-signature header names instead of webhook-*")
	f.duration(&c.Timeout, "timeout", "HOOKRELAY_TIMEOUT", shortDuration(delivery.DefaultTimeout), "default request timeout per attempt")
	// Both sized by the open-file limit: every request in flight holds a
	// connection and may leave an idle one behind (see delivery.WorkersFor).
	fdSized := strconv.Itoa(delivery.WorkersFor(openFileLimit()))
	f.integer(&c.Workers, "workers", "HOOKRELAY_WORKERS", fdSized, "most requests in flight on this node (default: from the open-file limit, at most 4096)")
	f.integer(&c.MaxInFlight, "max-in-flight", "HOOKRELAY_MAX_IN_FLIGHT", strconv.Itoa(delivery.DefaultMaxInFlightPerEndpoint), "default cap of concurrent requests per endpoint")
	f.integer(&c.MaxIdleConns, "max-idle-conns", "HOOKRELAY_MAX_IDLE_CONNS", fdSized, "most idle delivery connections kept, all hosts together (default: as --workers)")
	f.duration(&c.LeaseTTL, "lease-ttl", "HOOKRELAY_LEASE_TTL", shortDuration(delivery.DefaultLeaseTTL), "how long a claimed delivery stays reserved for a node that stops renewing it")
	f.duration(&c.PollInterval, "poll-interval", "HOOKRELAY_POLL_INTERVAL", shortDuration(delivery.DefaultPollInterval), "longest wait between looks for due deliveries")
	f.duration(&c.ShutdownGrace, "shutdown-grace", "HOOKRELAY_SHUTDOWN_GRACE", shortDuration(delivery.DefaultShutdownGrace), "how long in-flight requests may finish on shutdown")
	f.integer(&c.TaskBatchSize, "task-batch-size", "HOOKRELAY_TASK_BATCH_SIZE", strconv.Itoa(ops.DefaultBatchSize),
		"deliveries or messages one batch of a background task (recover, replay-missing) handles")
	f.duration(&c.DisableAfter, "disable-after", "HOOKRELAY_DISABLE_AFTER", shortDuration(ops.DefaultDisableAfter),
		"disable an endpoint that has failed without a success for this long (0: never)")
	f.duration(&c.Retention, "retention", "HOOKRELAY_RETENTION", shortDuration(api.DefaultPayloadRetention), "how long a message's payload is kept when the message names no retention (payloadRetentionPeriod/Hours)")
	f.duration(&c.HistoryRetention, "history-retention", "HOOKRELAY_HISTORY_RETENTION", shortDuration(ops.DefaultHistoryRetention), "how long messages, their attempts and ended background tasks are kept")
	f.duration(&c.CleanInterval, "clean-interval", "HOOKRELAY_CLEAN_INTERVAL", shortDuration(ops.DefaultCleanInterval), "time between two runs of the retention cleaner")
	f.integer(&c.MaxEndpointsPerApp, "max-endpoints-per-app", "HOOKRELAY_MAX_ENDPOINTS_PER_APP", strconv.Itoa(api.DefaultMaxEndpointsPerApp), "most endpoints one application may have")
	f.value("max-body-bytes", "HOOKRELAY_MAX_BODY_BYTES", strconv.Itoa(api.DefaultMaxBodyBytes), "largest API request body", func(s string) error {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		if n < 1024 {
			return fmt.Errorf("max body bytes %d is below 1024", n)
		}
		c.MaxBodyBytes = n
		return nil
	})
	f.value("max-body-bytes-in-flight", "HOOKRELAY_MAX_BODY_BYTES_IN_FLIGHT", strconv.Itoa(api.DefaultMaxBodyBytesInFlight),
		"most bytes of API request bodies held at once; a request that does not fit waits briefly, then gets 503", func(s string) error {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return err
			}
			c.MaxBodyBytesInFlight = n
			return nil
		})
	f.duration(&c.ReadHeaderTimeout, "read-header-timeout", "HOOKRELAY_READ_HEADER_TIMEOUT", "10s", "most time a client may take to send a request's headers")
	f.duration(&c.ReadTimeout, "read-timeout", "HOOKRELAY_READ_TIMEOUT", "30s", "most time a client may take to send a whole request, headers and body")
	f.duration(&c.IdleTimeout, "idle-timeout", "HOOKRELAY_IDLE_TIMEOUT", "2m", "how long a kept-alive API connection may wait for its next request")
	f.count(&c.MaxConnections, "max-connections", "HOOKRELAY_MAX_CONNECTIONS", "512", "most API connections open at once; more are closed at once (0: no cap)")
	f.count(&c.MaxConnectionsPerIP, "max-connections-per-ip", "HOOKRELAY_MAX_CONNECTIONS_PER_IP", "128", "most API connections open at once from one client IP (IPv6: one /64); more are closed at once (0: no cap)")
	egressFlags(f, c)
	metricsFlags(f, c)
	portalFlags(f, c)
	f.str(&c.LogLevel, "log-level", "HOOKRELAY_LOG_LEVEL", "info", "debug, info, warn or error")
	f.str(&c.LogFormat, "log-format", "HOOKRELAY_LOG_FORMAT", "text", "text or json")
	if err := f.Parse(args); err != nil {
		return nil, err
	}
	if len(f.errs) > 0 {
		return nil, f.errs[0]
	}
	if f.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", f.Arg(0))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"read-header-timeout", c.ReadHeaderTimeout}, {"read-timeout", c.ReadTimeout}, {"idle-timeout", c.IdleTimeout},
		{"retention", c.Retention}, {"history-retention", c.HistoryRetention}, {"clean-interval", c.CleanInterval}} {
		if d.v <= 0 {
			return nil, fmt.Errorf("%s must be positive", d.name)
		}
	}
	if c.MaxBodyBytesInFlight < c.MaxBodyBytes {
		return nil, fmt.Errorf("max body bytes in flight %d is below max body bytes %d: no body that large could ever be read", c.MaxBodyBytesInFlight, c.MaxBodyBytes)
	}
	if c.PublicURL == "" {
		c.PublicURL = defaultPublicURL(c.Listen)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c, nil
}

// defaultPublicURL turns a listen address into a URL a local browser can use.
func defaultPublicURL(listen string) string {
	host, port, ok := strings.Cut(listen, ":")
	if i := strings.LastIndex(listen, ":"); i >= 0 {
		host, port, ok = listen[:i], listen[i+1:], true
	}
	if !ok || port == "" {
		port = "8071"
	}
	switch host {
	case "", "0.0.0.0", "[::]", "::":
		host = "localhost"
	}
	return "http://" + host + ":" + port
}

// shortDuration writes d as a flag default: "2h" rather than "2h0m0s".
func shortDuration(d time.Duration) string {
	t := d.String()
	if strings.HasSuffix(t, "m0s") {
		t = t[:len(t)-2]
	}
	if strings.HasSuffix(t, "h0m") {
		t = t[:len(t)-2]
	}
	return t
}

// formatSchedule writes a retry schedule as parseSchedule reads it.
func formatSchedule(sch []time.Duration) string {
	parts := make([]string, len(sch))
	for i, d := range sch {
		parts[i] = shortDuration(d)
	}
	return strings.Join(parts, ",")
}
