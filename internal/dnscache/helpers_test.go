package dnscache_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/hookrelay/hookrelay/internal/dnscache"
	"github.com/hookrelay/hookrelay/internal/dnstest"
)

// Every test here asks a dnstest server on 127.0.0.1: the caches dial it
// whatever name server resolv.conf names.

// clock is a cache clock that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newCache returns a cache in front of srv, on clk, with cfg's other
// settings.
func newCache(srv *dnstest.Server, clk *clock, cfg dnscache.Config) *dnscache.Cache {
	cfg.Dial = srv.Dial
	cfg.Now = clk.Now
	return dnscache.New(cfg)
}

// lookup4 resolves name's IPv4 addresses through r (A questions only).
func lookup4(t *testing.T, r *net.Resolver, name string) ([]netip.Addr, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.LookupNetIP(ctx, "ip4", name)
}

// mustLookup4 is lookup4 that fails the test unless name resolves to want.
func mustLookup4(t *testing.T, r *net.Resolver, name string, want ...netip.Addr) {
	t.Helper()
	got, err := lookup4(t, r, name)
	if err != nil {
		t.Fatalf("lookup %s: %v", name, err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("lookup %s = %v, want %v", name, got, want)
	}
}

// notFound fails the test unless err says the name does not exist.
func notFound(t *testing.T, err error) {
	t.Helper()
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("lookup: %v, want not found", err)
	}
}

// newQuery encodes a query for name and qtype, with an EDNS0 record
// announcing udpSize (none when 0).
func newQuery(t testing.TB, id uint16, name string, qtype dnsmessage.Type, udpSize int) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	check := func(err error) {
		if err != nil {
			t.Fatalf("build query: %v", err)
		}
	}
	check(b.StartQuestions())
	check(b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: qtype, Class: dnsmessage.ClassINET}))
	if udpSize > 0 {
		check(b.StartAdditionals())
		var rh dnsmessage.ResourceHeader
		check(rh.SetEDNS0(udpSize, dnsmessage.RCodeSuccess, false))
		check(b.OPTResource(rh, dnsmessage.OPTResource{}))
	}
	q, err := b.Finish()
	check(err)
	return q
}

// exchange sends query through a connection of c over network ("udp" or
// "tcp") and returns the message read back.
func exchange(t testing.TB, c *dnscache.Cache, network string, query []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := c.Dial(ctx, network, "127.0.0.1:53")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatalf("set deadline: %v", err)
	}
	if network == "udp" {
		if _, ok := conn.(net.PacketConn); !ok {
			t.Fatalf("a udp connection is not a net.PacketConn: Go's resolver would frame its messages")
		}
		if _, err := conn.Write(query); err != nil {
			t.Fatalf("write: %v", err)
		}
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return buf[:n]
	}
	if _, ok := conn.(net.PacketConn); ok {
		t.Fatalf("a tcp connection is a net.PacketConn: Go's resolver would not frame its messages")
	}
	framed := binary.BigEndian.AppendUint16(nil, uint16(len(query)))
	// Written in two parts: a stream may split a message anywhere.
	if _, err := conn.Write(framed[:1]); err != nil {
		t.Fatalf("write: %v", err)
	}
	if _, err := conn.Write(append(framed[1:], query...)); err != nil {
		t.Fatalf("write: %v", err)
	}
	var length [2]byte
	if _, err := io.ReadFull(conn, length[:]); err != nil {
		t.Fatalf("read: %v", err)
	}
	msg := make([]byte, binary.BigEndian.Uint16(length[:]))
	if _, err := io.ReadFull(conn, msg); err != nil {
		t.Fatalf("read: %v", err)
	}
	return msg
}

// unpack decodes an answer the test expects to be well formed.
func unpack(t testing.TB, b []byte) dnsmessage.Message {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(b); err != nil {
		t.Fatalf("unpack answer: %v", err)
	}
	return m
}

// stats fails the test unless c's counters are as wanted (entries < 0: not
// checked).
func stats(t *testing.T, c *dnscache.Cache, hits, misses int64, entries int) {
	t.Helper()
	s := c.Stats()
	if s.Hits != hits || s.Misses != misses || entries >= 0 && s.Entries != entries {
		t.Fatalf("stats %+v, want %d hits, %d misses, %d entries", s, hits, misses, entries)
	}
}

var (
	addr1 = netip.MustParseAddr("192.0.2.1")
	addr2 = netip.MustParseAddr("192.0.2.2")
	addr6 = netip.MustParseAddr("2001:db8::1")
)
