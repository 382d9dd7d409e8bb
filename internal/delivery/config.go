// Package delivery sends queued messages to their endpoints: a Dispatcher
// claims due deliveries from the store under a lease, sends each one as a
// signed HTTP request through an SSRF-safe dialer, and records the attempt
// with the delivery's next step (success, a retry on the schedule, or fail).
//
// A slow or dead endpoint never delays the others: every endpoint has its own
// cap of requests in flight and its own optional rate limit, and work that
// waits for either waits in a small local queue without holding a worker.
package delivery

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Queue is the part of store.Store the dispatcher uses; see store.Store for
// the contract of each method.
type Queue interface {
	Ping(ctx context.Context) error
	ClaimDeliveries(ctx context.Context, p store.ClaimParams) ([]store.Task, error)
	CompleteAttempts(ctx context.Context, results []store.AttemptResult) error
	ExtendLeases(ctx context.Context, owner string, before, until time.Time) error
	ReleaseDeliveries(ctx context.Context, owner string, deliveryIDs []string) error
	NextDue(ctx context.Context) (time.Time, bool, error)
	ReserveSendSlots(ctx context.Context, endpointID string, perSecond, n int, now time.Time) (time.Time, error)
	Heartbeat(ctx context.Context, node string, now time.Time, ttl time.Duration) (int, error)
	DeleteNode(ctx context.Context, node string) error
}

// Observer is told about every attempt once it is committed to the store.
// It is called from one goroutine, in commit order, and must not block for
// long: the next batch of results waits for it. result.Attempt.Outcome says
// what became of the attempt (always set; see hookrelay.OutcomeKind and its
// AgainstReceiver), result.Status what became of the delivery.
type Observer interface {
	AttemptRecorded(task store.Task, result store.AttemptResult)
}

// Observers is an Observer that tells each of its members in turn.
type Observers []Observer

// AttemptRecorded tells every member, in order.
func (os Observers) AttemptRecorded(task store.Task, result store.AttemptResult) {
	for _, o := range os {
		o.AttemptRecorded(task, result)
	}
}

// Defaults used for zero Config fields.
const (
	DefaultWorkers                = 4096 // see WorkersFor
	DefaultMaxInFlightPerEndpoint = 16
	DefaultJitter                 = 0.2 // not applied to a zero Config.Jitter
	DefaultTimeout                = 30 * time.Second
	DefaultLeaseTTL               = 30 * time.Second
	DefaultPollInterval           = time.Second
	DefaultClaimBatch             = 256
	DefaultMaxHeldBytes           = 64 << 20
	DefaultResponseBodyLimit      = 16 << 10
	DefaultShutdownGrace          = 10 * time.Second
	DefaultMaxIdleConns           = 1024
)

// Sizing the node by its file descriptors (see WorkersFor).
const (
	// fdReserve is the descriptors kept for everything but deliveries: the
	// API's connections (see --max-connections), the database, logs.
	fdReserve = 1024
	// minWorkers is the least WorkersFor gives, whatever the limit.
	minWorkers = 64
)

// WorkersFor returns the default number of requests in flight for a
// process that may open nofile descriptors (its RLIMIT_NOFILE soft limit;
// 0 when unknown gives DefaultWorkers). Every request in flight holds one
// connection and may leave one idle behind it (idle connections are
// capped at the same number by default), so it is half of what is left
// after fdReserve, at most DefaultWorkers and at least minWorkers. Memory
// is not the bound: a request in flight costs about 20 KB of heap and
// stack (TestMemoryPerRequestInFlight), 80 MB at DefaultWorkers.
func WorkersFor(nofile uint64) int {
	if nofile == 0 {
		return DefaultWorkers
	}
	budget := int(min(nofile, 1<<30)) - fdReserve
	return min(max(budget/2, minWorkers), DefaultWorkers)
}

// DefaultRetrySchedule is the wait before each retry after the first
// attempt: eight attempts in all over about 28 hours.
var DefaultRetrySchedule = []time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// Config configures a Dispatcher. Zero fields take the defaults above.
type Config struct {
	// Store holds the queue (a store.Store satisfies Queue).
	Store Queue
	// NodeID names this node in leases; the dispatcher appends a random
	// suffix per Run so that a restarted node never mistakes the leases of
	// its previous life for its own. Default: the host name.
	NodeID string
	// Workers is the most HTTP requests in flight on this node.
	Workers int
	// MaxInFlightPerEndpoint is the most requests in flight to one endpoint
	// on this node; an endpoint's Options.MaxInFlight overrides it when > 0.
	MaxInFlightPerEndpoint int
	// RetrySchedule is the wait before each retry, after the first attempt;
	// len(RetrySchedule)+1 scheduled attempts are made in all. nil means
	// DefaultRetrySchedule; an empty non-nil slice means no retries. An
	// endpoint's Options.RetrySchedule overrides it when non-nil.
	RetrySchedule []time.Duration
	// Jitter is the fraction (0 to 1) of each scheduled retry delay added
	// or removed at random. Unlike the other fields its zero value is taken
	// as is: 0 means no jitter, so callers set DefaultJitter explicitly.
	Jitter float64
	// Timeout bounds one request, response body included; an endpoint's
	// Options.TimeoutSeconds overrides it when > 0.
	Timeout time.Duration
	// LeaseTTL is the lease given to claimed deliveries, renewed every
	// LeaseTTL/3 while this node holds them.
	LeaseTTL time.Duration
	// PollInterval is the longest the dispatcher sleeps when nothing is due.
	PollInterval time.Duration
	// ClaimBatch is the most deliveries claimed at once.
	ClaimBatch int
	// MaxHeldBytes bounds the payloads this node holds at once, waiting or
	// in flight: past it, it takes no more work until sends finish. The
	// node also holds no more than four deliveries per worker.
	MaxHeldBytes int
	// SvixHeaders sends svix-id, svix-timestamp and svix-signature instead
	// of the webhook-* headers.
	SvixHeaders bool
	// AllowPrivate lists destinations that the SSRF guard lets through even
	// though they are loopback, private or otherwise special.
	AllowPrivate []netip.Prefix
	// URLPolicy is checked on every attempt's URL before anything is
	// dialled (https-only); a refusal is a failed attempt.
	URLPolicy URLPolicy
	// Proxy, when set, carries every request: an http:// or https:// proxy
	// (CONNECT for https targets, forwarding for http targets) or a
	// socks5:// (same as socks5h://) proxy, with optional user:password.
	// The SSRF guard then cannot see the address the proxy connects to: the
	// target's host is resolved here before each request and refused when
	// any of its addresses is, and the proxy is trusted to connect to what
	// the name resolves to (not to rebind it). The proxy's own address is
	// not checked. See CheckProxyURL.
	Proxy *url.URL
	// SourceAddr, when valid, is the local address of every outbound
	// connection (to endpoints, or to the proxy), so that deliveries leave
	// from a known egress IP.
	SourceAddr netip.Addr
	// RootCAs verifies endpoints' certificates; nil means the system pool.
	RootCAs *x509.CertPool
	// DangerouslySkipTLSVerify accepts any certificate, so anyone on the
	// path can read and forge deliveries. For testing only.
	DangerouslySkipTLSVerify bool
	// Resolver looks up endpoint host names (and the proxy's); nil means
	// net.DefaultResolver, which asks again for every new connection.
	// hookrelay serve passes a dnscache resolver, which keeps answers for
	// their TTL. Whatever it answers, every address is checked by the SSRF
	// guard before it is dialled.
	Resolver *net.Resolver
	// HTTP2 offers HTTP/2 in the TLS handshake of https deliveries made
	// without a proxy: a receiver that chooses it gets each host's
	// requests as streams of one connection (more when it allows fewer
	// streams than there are requests), the others HTTP/1.1 as without
	// it. Plain http is always HTTP/1.1. Through a proxy, net/http
	// decides.
	HTTP2 bool
	// ResponseBodyLimit is the most bytes of a response read and kept.
	ResponseBodyLimit int
	// MaxIdleConns is the most idle connections kept for further requests,
	// all hosts together; past it the least recently used one is closed.
	// (Each host keeps at most max(Workers, MaxInFlightPerEndpoint).)
	MaxIdleConns int
	// ShutdownGrace is how long requests in flight may finish after the
	// Run context is cancelled before they are cancelled and released.
	ShutdownGrace time.Duration
	// UserAgent of every request. Default "hookrelay/" + hookrelay.Version.
	UserAgent string
	Logger    *slog.Logger
	// Now is the clock of attempts, claims and leases. Default time.Now.
	Now func() time.Time
	// Observer, when set, is told about every committed attempt.
	Observer Observer

	// viaNetHTTP sends without a proxy through net/http's transport too,
	// instead of the h1 client: for tests and benchmarks that hold the two
	// side by side.
	viaNetHTTP bool
}

func (c Config) withDefaults() Config {
	if c.NodeID == "" {
		c.NodeID, _ = os.Hostname()
		if c.NodeID == "" {
			c.NodeID = "node"
		}
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.MaxInFlightPerEndpoint <= 0 {
		c.MaxInFlightPerEndpoint = DefaultMaxInFlightPerEndpoint
	}
	if c.RetrySchedule == nil {
		c.RetrySchedule = DefaultRetrySchedule
	}
	c.Jitter = min(max(c.Jitter, 0), 1)
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxHeldBytes <= 0 {
		c.MaxHeldBytes = DefaultMaxHeldBytes
	}
	if c.ClaimBatch <= 0 {
		c.ClaimBatch = DefaultClaimBatch
	}
	if c.ResponseBodyLimit <= 0 {
		c.ResponseBodyLimit = DefaultResponseBodyLimit
	}
	if c.MaxIdleConns <= 0 {
		c.MaxIdleConns = DefaultMaxIdleConns
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = DefaultShutdownGrace
	}
	if c.UserAgent == "" {
		c.UserAgent = "hookrelay/" + hookrelay.Version
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
