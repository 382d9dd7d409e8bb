// Package dnscache keeps DNS answers for as long as their TTL allows, in
// front of Go's own resolver. Cache.Resolver is a net.Resolver whose
// exchanges with the name servers pass through the cache: the standard
// library still reads /etc/hosts, resolv.conf and its search domains and
// asks its questions, and a question asked again within the TTL of its
// answer is answered from memory, with no packet sent.
//
// Only the wire is cached, never a decision: every address a lookup
// returns, from the cache or not, goes on to whatever checks its caller
// makes (the delivery SSRF guard checks each address it dials).
package dnscache

import (
	"container/list"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for zero Config fields.
const (
	DefaultMaxTTL         = 5 * time.Minute
	DefaultMaxNegativeTTL = 30 * time.Second
	DefaultMaxBytes       = 4 << 20
)

// entryOverhead is what an entry costs besides its answer and name, as
// counted against Config.MaxBytes: the entry, its list element, its map
// slot.
const entryOverhead = 160

// Config configures a Cache. Zero fields take the defaults above.
type Config struct {
	// Dial connects to a name server, as net.Resolver.Dial does; nil dials
	// it with a net.Dialer.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// MaxTTL bounds how long an answer is kept, whatever its TTL.
	MaxTTL time.Duration
	// MaxNegativeTTL bounds how long a negative answer (NXDOMAIN, or no
	// record of the type asked) is kept, whatever its SOA record says.
	MaxNegativeTTL time.Duration
	// MaxBytes bounds the memory the kept answers take, all together; past
	// it the least recently used are dropped. An answer larger than a
	// sixty-fourth of it is not kept.
	MaxBytes int
	// Now is the cache's clock. Default time.Now.
	Now func() time.Time
}

// Cache is a cache of DNS answers. It is safe for concurrent use.
//
// It does not merge concurrent identical questions itself: the resolver
// it gives already merges concurrent lookups of one host name (net.Resolver
// does so per Resolver value), so the same question is rarely in flight
// twice at once.
type Cache struct {
	cfg      Config
	resolver *net.Resolver

	hits, misses atomic.Int64
	uncached     [NumReasons]atomic.Int64

	mu      sync.Mutex
	entries map[key]*list.Element // of *entry
	lru     list.List             // front: most recently used
	bytes   int
}

// entry is one kept answer.
type entry struct {
	key     key
	answer  answer
	stored  time.Time
	expires time.Time
	size    int
}

// New returns an empty cache.
func New(cfg Config) *Cache {
	if cfg.Dial == nil {
		var d net.Dialer
		cfg.Dial = d.DialContext
	}
	if cfg.MaxTTL <= 0 {
		cfg.MaxTTL = DefaultMaxTTL
	}
	if cfg.MaxNegativeTTL <= 0 {
		cfg.MaxNegativeTTL = DefaultMaxNegativeTTL
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Cache{cfg: cfg, entries: make(map[key]*list.Element)}
	c.resolver = &net.Resolver{PreferGo: true, Dial: c.Dial}
	return c
}

// Resolver returns the resolver that asks through the cache: always the
// same one, so that concurrent lookups of a name share one exchange. It
// is Go's own resolver (PreferGo), whatever the platform's default.
func (c *Cache) Resolver() *net.Resolver { return c.resolver }

// Stats are a cache's counters.
type Stats struct {
	// Hits are queries answered from the cache, with no packet sent.
	// Misses are queries the cache might have answered but did not, and
	// so passed on to the server (whether or not it could be reached): it
	// held no unexpired answer to them, or (over UDP) only one larger than
	// the asker takes. Only standard queries of one question of class IN
	// count, as Go's resolver asks them; any other message goes to the
	// server uncounted. Negative answers count as any
	// other: a kept NXDOMAIN served again is a hit.
	Hits, Misses int64
	// Uncached counts, by reason, the server's answers to misses that were
	// not kept, so that the next such query is a miss again. An answer
	// kept, and a message that answers no question asked on its
	// connection, count in none.
	Uncached [NumReasons]int64
	// Entries and Bytes are the answers kept and the memory they count
	// for against Config.MaxBytes. Expired answers count until they are
	// dropped: when next asked for, or as the least recently used.
	Entries, Bytes int
}

// Reason is why an answer of the server was not kept.
type Reason int

// The reasons an answer is not kept, indexes of Stats.Uncached.
const (
	// ReasonTruncated is an answer cut short (the TC bit): the asker asks
	// again over TCP, and that answer may be kept.
	ReasonTruncated Reason = iota
	// ReasonError is an error other than NXDOMAIN: SERVFAIL, REFUSED...
	ReasonError
	// ReasonZeroTTL is an answer with a TTL of 0: one of its records', or
	// a negative answer's SOA TTL or MINIMUM.
	ReasonZeroTTL
	// ReasonNoSOA is a negative answer without the SOA record that tells
	// how long it holds.
	ReasonNoSOA
	// ReasonTooLarge is an answer that takes more than a sixty-fourth of
	// Config.MaxBytes.
	ReasonTooLarge
	// ReasonMalformed is a message that is not a well-formed answer to the
	// question asked (another question, a bad record...).
	ReasonMalformed
	// NumReasons is the number of reasons.
	NumReasons
)

// String is the reason as a metric label: "truncated", "error",
// "zero_ttl", "no_soa", "too_large", "malformed".
func (r Reason) String() string {
	switch r {
	case ReasonTruncated:
		return "truncated"
	case ReasonError:
		return "error"
	case ReasonZeroTTL:
		return "zero_ttl"
	case ReasonNoSOA:
		return "no_soa"
	case ReasonTooLarge:
		return "too_large"
	case ReasonMalformed:
		return "malformed"
	}
	return "unknown"
}

// Stats returns the cache's counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Entries: len(c.entries), Bytes: c.bytes}
	for r := range c.uncached {
		s.Uncached[r] = c.uncached[r].Load()
	}
	return s
}

// lookup appends to buf the kept answer to q and returns it, or nil when
// there is none, it has expired, or (over UDP) it is larger than the
// asker takes.
func (c *Cache) lookup(buf []byte, q query, udp bool) []byte {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[q.key]
	if ok && !now.Before(el.Value.(*entry).expires) {
		c.remove(el)
		ok = false
	}
	// Over UDP, an answer larger than the asker takes is left to the
	// server, which says it is truncated; the asker then asks over TCP and
	// gets it from here.
	if !ok || udp && len(el.Value.(*entry).answer.raw) > q.udpSize {
		c.misses.Add(1)
		return nil
	}
	c.hits.Add(1)
	c.lru.MoveToFront(el)
	e := el.Value.(*entry)
	return e.answer.serve(buf, q, now.Sub(e.stored))
}

// store keeps the server's answer b to q, when it may be kept.
func (c *Cache) store(q query, b []byte) {
	a, why, ok := checkAnswer(q, b, c.cfg.MaxTTL, c.cfg.MaxNegativeTTL)
	if !ok {
		c.uncached[why].Add(1)
		return
	}
	size := len(a.raw) + 8*len(a.ttls) + len(q.key.name) + entryOverhead
	if size > c.cfg.MaxBytes/64 {
		c.uncached[ReasonTooLarge].Add(1)
		return
	}
	now := c.cfg.Now()
	e := &entry{key: q.key, answer: a, stored: now, expires: now.Add(a.life), size: size}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[q.key]; ok {
		c.remove(old)
	}
	c.entries[q.key] = c.lru.PushFront(e)
	c.bytes += size
	for c.bytes > c.cfg.MaxBytes {
		c.remove(c.lru.Back())
	}
}

// remove drops el; c.mu is held.
func (c *Cache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*entry)
	delete(c.entries, e.key)
	c.bytes -= e.size
}
