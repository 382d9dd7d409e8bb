package portal

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// LoginLimit bounds failed sign-ins: console logins with a token that is
// not an admin token, and magic links with a code this server never made.
// Each client (an IPv4 address, or an IPv6 /64, which one client usually
// holds whole) may fail PerClient times in a row; after that, one more
// try is allowed every Window/PerClient. Global is the same bound for all
// clients together, against guessing spread over many addresses: over
// it, every client is refused, even one with the right token, until the
// level drains. A refused request is answered 429 with Retry-After, is
// not looked at and does not count. Successful sign-ins neither count nor
// are slowed while under the limits.
//
// The counts are kept in memory, per node: a client that spreads its
// tries over N nodes gets N times the bound, and a restart forgets them.
// The client is the connection's remote address; behind a reverse proxy
// every client is the proxy, and the per-client bound acts as a global one.
type LoginLimit struct {
	PerClient int
	Global    int
	Window    time.Duration
}

// DefaultLoginLimit is the bound when Config.LoginLimit is zero: ten
// failures of one client, then one a minute; two hundred of all clients,
// then one every three seconds.
var DefaultLoginLimit = LoginLimit{PerClient: 10, Global: 200, Window: 10 * time.Minute}

// loginLimit fills l's zero fields from DefaultLoginLimit and refuses a
// negative one.
func loginLimit(l LoginLimit) (LoginLimit, error) {
	if l.PerClient < 0 || l.Global < 0 || l.Window < 0 {
		return LoginLimit{}, fmt.Errorf("portal login limit %+v: negative", l)
	}
	if l.PerClient == 0 {
		l.PerClient = DefaultLoginLimit.PerClient
	}
	if l.Global == 0 {
		l.Global = DefaultLoginLimit.Global
	}
	if l.Window == 0 {
		l.Window = DefaultLoginLimit.Window
	}
	return l, nil
}

// maxTrackedClients bounds the memory of a failure limiter: past it, a
// new client's failures count only towards the global bound.
const maxTrackedClients = 10000

// failureLimiter keeps one leaky bucket per client and one for all: each
// failure adds one, and a bucket drains at limit/Window per second. A
// bucket without room for one more failure under its limit refuses until
// it has.
type failureLimiter struct {
	limit LoginLimit

	mu        sync.Mutex
	clients   map[netip.Prefix]*bucket
	global    bucket
	lastPrune time.Time
}

type bucket struct {
	level float64
	at    time.Time
}

func newFailureLimiter(l LoginLimit) *failureLimiter {
	return &failureLimiter{limit: l, clients: map[netip.Prefix]*bucket{}}
}

// levelAt returns b's level at now, after draining at rate per second.
func (b *bucket) levelAt(now time.Time, rate float64) float64 {
	if b.at.IsZero() {
		return 0
	}
	l := b.level - now.Sub(b.at).Seconds()*rate
	return math.Max(l, 0)
}

// drainTime is how long until a bucket holding level has room for one
// more failure under limit (a level of limit-1 or less).
func drainTime(level float64, limit int, rate float64) time.Duration {
	over := level - float64(limit-1)
	if over <= 1e-9 {
		return 0
	}
	return time.Duration(over / rate * float64(time.Second))
}

func (l *failureLimiter) rate(max int) float64 {
	return float64(max) / l.limit.Window.Seconds()
}

// wait returns how long client must wait before its next try; 0 means it
// may try now.
func (l *failureLimiter) wait(client netip.Prefix, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	gr := l.rate(l.limit.Global)
	d := drainTime(l.global.levelAt(now, gr), l.limit.Global, gr)
	if b, ok := l.clients[client]; ok {
		cr := l.rate(l.limit.PerClient)
		d = max(d, drainTime(b.levelAt(now, cr), l.limit.PerClient, cr))
	}
	return d
}

// fail counts a failed try of client.
func (l *failureLimiter) fail(client netip.Prefix, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	gr, cr := l.rate(l.limit.Global), l.rate(l.limit.PerClient)
	l.global = bucket{level: l.global.levelAt(now, gr) + 1, at: now}
	b, ok := l.clients[client]
	if !ok {
		if len(l.clients) >= maxTrackedClients {
			l.prune(now, cr)
		}
		if len(l.clients) >= maxTrackedClients {
			return
		}
		b = &bucket{}
		l.clients[client] = b
	}
	*b = bucket{level: b.levelAt(now, cr) + 1, at: now}
}

// prune forgets the clients whose buckets have drained, at most once a
// second.
func (l *failureLimiter) prune(now time.Time, rate float64) {
	if now.Sub(l.lastPrune) < time.Second {
		return
	}
	l.lastPrune = now
	for c, b := range l.clients {
		if b.levelAt(now, rate) == 0 {
			delete(l.clients, c)
		}
	}
}

// clientOf is the client a request counts under: its remote address, an
// IPv6 one as its /64.
func clientOf(r *http.Request) netip.Prefix {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.Prefix(64)
	return p
}

// tooMany sets the Retry-After of a 429: whole seconds, rounded up.
func tooMany(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(wait)))
}

func retrySeconds(wait time.Duration) int {
	return int(math.Ceil(wait.Seconds()))
}

// inWords says a wait for people: "in 40 seconds", "in 3 minutes".
func inWords(wait time.Duration) string {
	s := retrySeconds(wait)
	switch {
	case s <= 1:
		return "in a second"
	case s < 60:
		return "in " + strconv.Itoa(s) + " seconds"
	case s < 120:
		return "in a minute"
	}
	return "in " + strconv.Itoa((s+59)/60) + " minutes"
}
