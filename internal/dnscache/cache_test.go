package dnscache_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/hookrelay/hookrelay/internal/dnscache"
	"github.com/hookrelay/hookrelay/internal/dnstest"
)

func TestAnswerKeptForItsTTL(t *testing.T) {
	tests := []struct {
		name string
		set  dnstest.Name
		cfg  dnscache.Config
		life time.Duration // how long the answer is kept
	}{
		{"ttl", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 60}, dnscache.Config{}, 60 * time.Second},
		{"ttl over the cap", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 86400}, dnscache.Config{}, dnscache.DefaultMaxTTL},
		{"configured cap", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 600}, dnscache.Config{MaxTTL: 90 * time.Second}, 90 * time.Second},
		{"least ttl of a cname chain", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 300, CNAME: "target.hooks.test", CNAMETTL: 10}, dnscache.Config{}, 10 * time.Second},
		{"least ttl of the records", dnstest.Name{Addrs: []netip.Addr{addr1, addr2}, TTL: 30}, dnscache.Config{}, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dnstest.Start(t)
			srv.Set("a.hooks.test", tt.set)
			clk := newClock()
			c := newCache(srv, clk, tt.cfg)
			r := c.Resolver()
			want := tt.set.Addrs
			for range 5 {
				mustLookup4(t, r, "a.hooks.test", want...)
			}
			if n := srv.Count("a.hooks.test", dnsmessage.TypeA, ""); n != 1 {
				t.Fatalf("5 lookups asked the server %d times, want 1", n)
			}
			stats(t, c, 4, 1, 1)
			clk.Advance(tt.life - time.Second)
			mustLookup4(t, r, "a.hooks.test", want...)
			if n := srv.Count("a.hooks.test", dnsmessage.TypeA, ""); n != 1 {
				t.Fatalf("a lookup a second before expiry asked the server (%d queries)", n)
			}
			clk.Advance(time.Second)
			mustLookup4(t, r, "a.hooks.test", want...)
			if n := srv.Count("a.hooks.test", dnsmessage.TypeA, ""); n != 2 {
				t.Fatalf("a lookup at expiry: %d queries, want 2", n)
			}
			mustLookup4(t, r, "a.hooks.test", want...)
			if n := srv.Count("a.hooks.test", dnsmessage.TypeA, ""); n != 2 {
				t.Fatalf("the fresh answer was not kept: %d queries, want 2", n)
			}
		})
	}
}

func TestTTLZeroNeverKept(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("zero.hooks.test", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 0})
	c := newCache(srv, newClock(), dnscache.Config{})
	for i := 1; i <= 3; i++ {
		mustLookup4(t, c.Resolver(), "zero.hooks.test", addr1)
		if n := srv.Count("zero.hooks.test", dnsmessage.TypeA, ""); n != i {
			t.Fatalf("lookup %d: %d queries, want %d", i, n, i)
		}
	}
	stats(t, c, 0, 3, 0)

	// A zero TTL anywhere in the chain makes the whole answer unkept.
	srv.Set("chain.hooks.test", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 300, CNAME: "t.hooks.test", CNAMETTL: 0})
	mustLookup4(t, c.Resolver(), "chain.hooks.test", addr1)
	mustLookup4(t, c.Resolver(), "chain.hooks.test", addr1)
	if n := srv.Count("chain.hooks.test", dnsmessage.TypeA, ""); n != 2 {
		t.Fatalf("chain with a zero TTL: %d queries, want 2", n)
	}
}

func TestNegativeAnswers(t *testing.T) {
	tests := []struct {
		name string
		set  dnstest.Name
		cfg  dnscache.Config
		life time.Duration // 0: never kept
	}{
		{"nxdomain, soa minimum", dnstest.Name{RCode: dnsmessage.RCodeNameError, NegativeTTL: 10}, dnscache.Config{}, 10 * time.Second},
		{"nxdomain, capped", dnstest.Name{RCode: dnsmessage.RCodeNameError, NegativeTTL: 3600}, dnscache.Config{}, dnscache.DefaultMaxNegativeTTL},
		{"nxdomain, configured cap", dnstest.Name{RCode: dnsmessage.RCodeNameError, NegativeTTL: 3600}, dnscache.Config{MaxNegativeTTL: 5 * time.Second}, 5 * time.Second},
		{"nxdomain without soa", dnstest.Name{RCode: dnsmessage.RCodeNameError, NoSOA: true}, dnscache.Config{}, 0},
		{"nxdomain, soa ttl 0", dnstest.Name{RCode: dnsmessage.RCodeNameError, NegativeTTL: 0}, dnscache.Config{}, 0},
		{"no record of the type", dnstest.Name{Addrs: []netip.Addr{addr6}, TTL: 300, NegativeTTL: 20}, dnscache.Config{}, 20 * time.Second},
		{"no record of the type, without soa", dnstest.Name{Addrs: []netip.Addr{addr6}, TTL: 300, NoSOA: true}, dnscache.Config{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dnstest.Start(t)
			// A trailing dot: no search domain is tried after the answer.
			const name = "gone.hooks.test."
			srv.Set(name, tt.set)
			clk := newClock()
			c := newCache(srv, clk, tt.cfg)
			queries := func() int { return srv.Count(name, dnsmessage.TypeA, "") }
			for i := range 3 {
				_, err := lookup4(t, c.Resolver(), name)
				notFound(t, err)
				want := 1
				if tt.life == 0 {
					want = i + 1
				}
				if n := queries(); n != want {
					t.Fatalf("lookup %d: %d queries, want %d", i+1, n, want)
				}
			}
			if tt.life == 0 {
				stats(t, c, 0, 3, 0)
				return
			}
			clk.Advance(tt.life - time.Second)
			_, err := lookup4(t, c.Resolver(), name)
			notFound(t, err)
			if n := queries(); n != 1 {
				t.Fatalf("a lookup a second before expiry asked the server (%d queries)", n)
			}
			clk.Advance(time.Second)
			_, err = lookup4(t, c.Resolver(), name)
			notFound(t, err)
			if n := queries(); n != 2 {
				t.Fatalf("a lookup at expiry: %d queries, want 2", n)
			}
		})
	}
}

func TestServerErrorsNeverKept(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("broken.hooks.test.", dnstest.Name{RCode: dnsmessage.RCodeServerFailure})
	srv.Set("refused.hooks.test.", dnstest.Name{RCode: dnsmessage.RCodeRefused})
	c := newCache(srv, newClock(), dnscache.Config{})
	for _, name := range []string{"broken.hooks.test.", "refused.hooks.test."} {
		before := 0
		for i := range 2 {
			if _, err := lookup4(t, c.Resolver(), name); err == nil {
				t.Fatalf("lookup %s: no error", name)
			}
			n := srv.Count(name, dnsmessage.TypeA, "")
			if n <= before {
				t.Fatalf("lookup %d of %s did not ask the server", i+1, name)
			}
			before = n
		}
	}
	if s := c.Stats(); s.Entries != 0 || s.Hits != 0 {
		t.Fatalf("stats %+v: an error answer was kept", s)
	}
}

// TestUncachedCounted asks one question of a server whose answer is not
// kept, and checks that Stats counts it under its reason, and under no
// other; a kept answer counts under none.
func TestUncachedCounted(t *testing.T) {
	many := make([]netip.Addr, 100)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
	}
	tests := []struct {
		name    string
		set     dnstest.Name
		cfg     dnscache.Config
		network string
		reason  dnscache.Reason // -1: kept
	}{
		{"kept", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 60}, dnscache.Config{}, "udp", -1},
		{"kept negative", dnstest.Name{RCode: dnsmessage.RCodeNameError, NegativeTTL: 10}, dnscache.Config{}, "udp", -1},
		{"truncated", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 60, TruncateUDP: true}, dnscache.Config{}, "udp", dnscache.ReasonTruncated},
		{"servfail", dnstest.Name{RCode: dnsmessage.RCodeServerFailure}, dnscache.Config{}, "udp", dnscache.ReasonError},
		{"refused", dnstest.Name{RCode: dnsmessage.RCodeRefused}, dnscache.Config{}, "tcp", dnscache.ReasonError},
		{"ttl 0", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 0}, dnscache.Config{}, "udp", dnscache.ReasonZeroTTL},
		{"negative, soa ttl 0", dnstest.Name{RCode: dnsmessage.RCodeNameError, NegativeTTL: 0}, dnscache.Config{}, "udp", dnscache.ReasonZeroTTL},
		{"negative without soa", dnstest.Name{RCode: dnsmessage.RCodeNameError, NoSOA: true}, dnscache.Config{}, "udp", dnscache.ReasonNoSOA},
		{"too large", dnstest.Name{Addrs: many, TTL: 60}, dnscache.Config{MaxBytes: 64 << 10}, "tcp", dnscache.ReasonTooLarge},
		{"malformed", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 60, Garble: func(b []byte) []byte { return b[:len(b)-3] }}, dnscache.Config{}, "udp", dnscache.ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dnstest.Start(t)
			srv.Set("u.hooks.test", tt.set)
			c := newCache(srv, newClock(), tt.cfg)
			exchange(t, c, tt.network, newQuery(t, 5, "u.hooks.test.", dnsmessage.TypeA, 0))
			var want [dnscache.NumReasons]int64
			entries := 1
			if tt.reason >= 0 {
				want[tt.reason] = 1
				entries = 0
			}
			if s := c.Stats(); s.Uncached != want || s.Misses != 1 || s.Hits != 0 || s.Entries != entries {
				t.Fatalf("stats %+v, want 1 miss, uncached %v, %d entries", s, want, entries)
			}
			if tt.reason >= 0 {
				if got := tt.reason.String(); got == "unknown" || got == "" {
					t.Fatalf("reason %d has no name", tt.reason)
				}
			}
		})
	}

	// A truncated answer over UDP, then the whole one over TCP, kept: the
	// second UDP question is a hit.
	srv := dnstest.Start(t)
	srv.Set("tc.hooks.test", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 60, TruncateUDP: true})
	c := newCache(srv, newClock(), dnscache.Config{})
	mustLookup4(t, c.Resolver(), "tc.hooks.test", addr1)
	mustLookup4(t, c.Resolver(), "tc.hooks.test", addr1)
	var want [dnscache.NumReasons]int64
	want[dnscache.ReasonTruncated] = 1
	if s := c.Stats(); s.Uncached != want || s.Misses != 2 || s.Hits != 1 || s.Entries != 1 {
		t.Fatalf("stats %+v, want 2 misses (udp, then tcp), 1 hit, 1 truncated, 1 entry", s)
	}
}

// TestServedAnswers checks the answers the cache serves, message by message,
// over UDP and TCP: the asker's ID and question, TTLs counted down.
func TestServedAnswers(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			srv := dnstest.Start(t)
			srv.Set("mixed.hooks.test", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 60, CNAME: "t.hooks.test", CNAMETTL: 100})
			clk := newClock()
			c := newCache(srv, clk, dnscache.Config{})

			first := unpack(t, exchange(t, c, network, newQuery(t, 0x1111, "Mixed.Hooks.Test.", dnsmessage.TypeA, 1232)))
			if first.ID != 0x1111 || len(first.Answers) != 2 {
				t.Fatalf("first answer: ID %#x, %d records", first.ID, len(first.Answers))
			}
			clk.Advance(7*time.Second + 900*time.Millisecond)
			raw := exchange(t, c, network, newQuery(t, 0x2222, "mixed.HOOKS.test.", dnsmessage.TypeA, 1232))
			second := unpack(t, raw)
			if n := srv.Count("mixed.hooks.test", dnsmessage.TypeA, ""); n != 1 {
				t.Fatalf("%d queries, want 1", n)
			}
			if second.ID != 0x2222 {
				t.Fatalf("served answer has ID %#x, want the query's 0x2222", second.ID)
			}
			if !second.Response || second.RCode != dnsmessage.RCodeSuccess {
				t.Fatalf("served answer header %+v", second.Header)
			}
			if len(second.Questions) != 1 || second.Questions[0].Name.String() != "mixed.HOOKS.test." {
				t.Fatalf("served answer's question %v, want the query's own spelling", second.Questions)
			}
			if len(second.Answers) != 2 {
				t.Fatalf("served answer has %d records, want 2", len(second.Answers))
			}
			// Seven whole seconds have passed.
			if ttl := second.Answers[0].Header.TTL; ttl != 93 {
				t.Fatalf("CNAME TTL %d, want 100-7", ttl)
			}
			if ttl := second.Answers[1].Header.TTL; ttl != 53 {
				t.Fatalf("A TTL %d, want 60-7", ttl)
			}
			if a, ok := second.Answers[1].Body.(*dnsmessage.AResource); !ok || netip.AddrFrom4(a.A) != addr1 {
				t.Fatalf("A record %v", second.Answers[1].Body)
			}
			stats(t, c, 1, 1, 1)
		})
	}
}

func TestAnswersShareTransports(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("both.hooks.test", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 60})
	c := newCache(srv, newClock(), dnscache.Config{})
	unpack(t, exchange(t, c, "tcp", newQuery(t, 1, "both.hooks.test.", dnsmessage.TypeA, 1232)))
	m := unpack(t, exchange(t, c, "udp", newQuery(t, 2, "both.hooks.test.", dnsmessage.TypeA, 1232)))
	if m.ID != 2 || len(m.Answers) != 1 {
		t.Fatalf("udp answer: ID %d, %d records", m.ID, len(m.Answers))
	}
	if udp, tcp := srv.Count("both.hooks.test", dnsmessage.TypeA, "udp"), srv.Count("both.hooks.test", dnsmessage.TypeA, "tcp"); udp != 0 || tcp != 1 {
		t.Fatalf("%d udp and %d tcp queries, want 0 and 1", udp, tcp)
	}
	// Another question (another type, or the DNSSEC bit) is another entry.
	exchange(t, c, "udp", newQuery(t, 3, "both.hooks.test.", dnsmessage.TypeAAAA, 1232))
	if n := srv.Count("both.hooks.test", dnsmessage.TypeAAAA, ""); n != 1 {
		t.Fatalf("AAAA asked %d times, want 1", n)
	}
}

func TestTruncatedAnswers(t *testing.T) {
	many := make([]netip.Addr, 100) // 100 A records: more than 1232 bytes
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
	}
	tests := []struct {
		name  string
		addrs []netip.Addr
		// queries after the second lookup: the truncated UDP answer is
		// never kept; the TCP one is, and answers later UDP questions
		// only when it fits.
		udp, tcp int
	}{
		{"small answer", []netip.Addr{addr1}, 1, 1},
		{"answer larger than udp takes", many, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dnstest.Start(t)
			srv.Set("tc.hooks.test", dnstest.Name{Addrs: tt.addrs, TTL: 60, TruncateUDP: true})
			c := newCache(srv, newClock(), dnscache.Config{})
			for i := range 2 {
				got, err := lookup4(t, c.Resolver(), "tc.hooks.test")
				if err != nil || len(got) != len(tt.addrs) {
					t.Fatalf("lookup %d: %d addresses, %v", i+1, len(got), err)
				}
			}
			udp, tcp := srv.Count("tc.hooks.test", dnsmessage.TypeA, "udp"), srv.Count("tc.hooks.test", dnsmessage.TypeA, "tcp")
			if udp != tt.udp || tcp != tt.tcp {
				t.Fatalf("%d udp and %d tcp queries, want %d and %d", udp, tcp, tt.udp, tt.tcp)
			}
		})
	}
}

// TestMalformedAnswersPassedOnUnkept sends what a broken or hostile server
// might answer: the asker gets it as it came (Go's resolver discards what
// it cannot read), the cache keeps none of it and asks again next time.
func TestMalformedAnswersPassedOnUnkept(t *testing.T) {
	tests := []struct {
		name   string
		garble func([]byte) []byte
	}{
		{"cut in a record", func(b []byte) []byte { return b[:len(b)-3] }},
		{"cut in the header", func(b []byte) []byte { return b[:7] }},
		{"other ID", func(b []byte) []byte { b[0] ^= 0xFF; return b }},
		{"not a response", func(b []byte) []byte { b[2] &^= 0x80; return b }},
		{"truncated bit", func(b []byte) []byte { b[2] |= 0x02; return b }},
		{"other question", func(b []byte) []byte { b[13] = 'z'; return b }},
		{"record count too high", func(b []byte) []byte { b[7]++; return b }},
		{"ttl with the top bit set", func(b []byte) []byte { b[len(b)-10] |= 0x80; return b }},
		{"rdlength past the end", func(b []byte) []byte { b[len(b)-5] = 0xFF; return b }},
		{"label with reserved bits", func(b []byte) []byte { b[12] = 0x80; return b }},
		{"garbage", func(b []byte) []byte { return []byte("this is not DNS at all, just text") }},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				srv := dnstest.Start(t)
				// One A record, last in the message: the garbles above
				// count on it.
				srv.Set("bad.hooks.test", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 60, Garble: tt.garble})
				c := newCache(srv, newClock(), dnscache.Config{})
				query := newQuery(t, 0x4242, "bad.hooks.test.", dnsmessage.TypeA, 0)
				for i := 1; i <= 2; i++ {
					got := exchange(t, c, network, query)
					if n := srv.Count("bad.hooks.test", dnsmessage.TypeA, ""); n != i {
						t.Fatalf("exchange %d: %d queries, want %d", i, n, i)
					}
					want := wellFormedAnswer(t, 0x4242)
					want = tt.garble(want)
					if string(got) != string(want) {
						t.Fatalf("exchange %d: got %x, want the server's message as sent, %x", i, got, want)
					}
				}
				stats(t, c, 0, 2, 0)
			})
		}
	}
}

// wellFormedAnswer is what dnstest answers for bad.hooks.test, A, before
// it is garbled.
func wellFormedAnswer(t *testing.T, id uint16) []byte {
	t.Helper()
	srv := dnstest.Start(t)
	srv.Set("bad.hooks.test", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 60})
	return exchange(t, dnscache.New(dnscache.Config{Dial: srv.Dial, MaxTTL: time.Nanosecond}), "udp",
		newQuery(t, id, "bad.hooks.test.", dnsmessage.TypeA, 0))
}

func TestMemoryBounded(t *testing.T) {
	srv := dnstest.Start(t)
	const names = 600
	for i := range names {
		srv.Set(fmt.Sprintf("n%d.hooks.test", i), dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 300})
	}
	srv.Set("keep.hooks.test", dnstest.Name{Addrs: []netip.Addr{addr2}, TTL: 300})
	const maxBytes = 64 << 10
	c := newCache(srv, newClock(), dnscache.Config{MaxBytes: maxBytes})
	for i := range names {
		exchange(t, c, "udp", newQuery(t, uint16(i), fmt.Sprintf("n%d.hooks.test.", i), dnsmessage.TypeA, 0))
		// Used all along, it stays.
		exchange(t, c, "udp", newQuery(t, uint16(i), "keep.hooks.test.", dnsmessage.TypeA, 0))
		if s := c.Stats(); s.Bytes > maxBytes {
			t.Fatalf("after %d names the cache holds %d bytes, more than %d", i+1, s.Bytes, maxBytes)
		}
	}
	s := c.Stats()
	if s.Entries >= names/2 || s.Entries < 10 {
		t.Fatalf("%d entries in %d bytes: the bound is not what it should be", s.Entries, s.Bytes)
	}
	if n := srv.Count("keep.hooks.test", dnsmessage.TypeA, ""); n != 1 {
		t.Fatalf("the name used all along was asked %d times, want 1", n)
	}
	exchange(t, c, "udp", newQuery(t, 1, "n0.hooks.test.", dnsmessage.TypeA, 0))
	if n := srv.Count("n0.hooks.test", dnsmessage.TypeA, ""); n != 2 {
		t.Fatalf("the least recently used name was asked %d times, want 2 (evicted)", n)
	}
	exchange(t, c, "udp", newQuery(t, 1, fmt.Sprintf("n%d.hooks.test.", names-1), dnsmessage.TypeA, 0))
	if n := srv.Count(fmt.Sprintf("n%d.hooks.test", names-1), dnsmessage.TypeA, ""); n != 1 {
		t.Fatalf("the most recent name was asked %d times, want 1", n)
	}

	// An answer larger than a sixty-fourth of the budget is not kept.
	many := make([]netip.Addr, 100)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
	}
	srv.Set("large.hooks.test", dnstest.Name{Addrs: many, TTL: 300})
	for range 2 {
		exchange(t, c, "tcp", newQuery(t, 1, "large.hooks.test.", dnsmessage.TypeA, 0))
	}
	if n := srv.Count("large.hooks.test", dnsmessage.TypeA, ""); n != 2 {
		t.Fatalf("an answer over the entry cap was asked %d times, want 2", n)
	}
}

// TestConcurrentLookups runs many lookups at once: concurrent misses of one
// name make one query (Go's resolver merges them, and the answer is kept
// before any of them returns), and with the clock moving under them the
// cache stays consistent (run with -race).
func TestConcurrentLookups(t *testing.T) {
	srv := dnstest.Start(t)
	const names = 8
	for i := range names {
		srv.Set(fmt.Sprintf("c%d.hooks.test", i), dnstest.Name{
			Addrs: []netip.Addr{netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), addr6},
			TTL:   2, NegativeTTL: 2, Delay: 20 * time.Millisecond,
		})
	}
	clk := newClock()
	c := newCache(srv, clk, dnscache.Config{})
	r := c.Resolver()

	run := func(rounds int, during func()) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, 16*rounds)
		for g := range 16 {
			wg.Go(func() {
				<-start
				for i := range rounds {
					n := (g + i) % names
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					got, err := r.LookupNetIP(ctx, "ip", fmt.Sprintf("c%d.hooks.test", n))
					cancel()
					want := netip.AddrFrom4([4]byte{192, 0, 2, byte(n + 1)})
					if err != nil || len(got) != 2 || !slices.Contains(got, want) || !slices.Contains(got, addr6) {
						errs <- fmt.Errorf("lookup c%d: %v, %v", n, got, err)
						return
					}
				}
			})
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if during != nil {
				during()
			}
		}()
		close(start)
		wg.Wait()
		<-done
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}

	run(20, nil)
	for i := range names {
		name := fmt.Sprintf("c%d.hooks.test", i)
		if a, aaaa := srv.Count(name, dnsmessage.TypeA, ""), srv.Count(name, dnsmessage.TypeAAAA, ""); a != 1 || aaaa != 1 {
			t.Fatalf("%s: %d A and %d AAAA queries, want 1 each", name, a, aaaa)
		}
	}

	run(20, func() {
		for range 20 {
			clk.Advance(time.Second)
			_ = c.Stats()
		}
	})
	if s := c.Stats(); s.Entries > 2*names {
		t.Fatalf("%d entries for %d questions", s.Entries, 2*names)
	}
}

// TestNotAQuestionPassedOn checks that messages the cache does not
// understand as one question go to the server as they are.
func TestNotAQuestionPassedOn(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("q.hooks.test", dnstest.Name{Addrs: []netip.Addr{addr1}, TTL: 60})
	c := newCache(srv, newClock(), dnscache.Config{})
	q := newQuery(t, 7, "q.hooks.test.", dnsmessage.TypeA, 0)
	// Opcode 2 (status): not a standard query.
	status := append([]byte(nil), q...)
	binary.BigEndian.PutUint16(status[2:], binary.BigEndian.Uint16(status[2:])|2<<11)
	for i := 1; i <= 2; i++ {
		exchange(t, c, "udp", status)
		if n := srv.Count("q.hooks.test", dnsmessage.TypeA, ""); n != i {
			t.Fatalf("status query %d: %d queries, want %d", i, n, i)
		}
	}
	stats(t, c, 0, 0, 0)
}
