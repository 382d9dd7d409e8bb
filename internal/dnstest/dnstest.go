// Package dnstest runs a DNS server on 127.0.0.1 for tests, over UDP and
// TCP, that answers A and AAAA questions from the names it is given and
// counts the queries it gets. It is imported by tests only.
package dnstest

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Name is what the server answers for one name.
type Name struct {
	// Addrs are the name's addresses: A answers take the IPv4 ones, AAAA
	// answers the IPv6 ones. A type with none gets a negative answer
	// (NOERROR, no records).
	Addrs []netip.Addr
	// TTL of the address records.
	TTL uint32
	// CNAME, when set, makes the answer a CNAME record from the name to
	// this target (with CNAMETTL), followed by Addrs as the target's.
	CNAME    string
	CNAMETTL uint32
	// RCode, when not success, is answered with no records (NameError is
	// NXDOMAIN, with an SOA record unless NoSOA).
	RCode dnsmessage.RCode
	// NegativeTTL is the TTL and MINIMUM of the SOA record of negative
	// answers; NoSOA leaves the record out.
	NegativeTTL uint32
	NoSOA       bool
	// TruncateUDP answers over UDP with the TC bit and no records, so that
	// the asker asks again over TCP.
	TruncateUDP bool
	// Garble, when set, changes the encoded answer before it is sent (over
	// UDP; over TCP too, inside the length framing).
	Garble func([]byte) []byte
	// Delay holds every answer back this long, as a distant server would.
	Delay time.Duration
}

// Server is a running DNS server. Names it was not given are NXDOMAIN
// with an SOA record whose MINIMUM is 60.
type Server struct {
	// UDP and TCP are its addresses (127.0.0.1:port, two ports).
	UDP, TCP string

	mu     sync.Mutex
	names  map[string]Name
	counts map[Query]int
}

// Query is one kind of question the server counts.
type Query struct {
	Name    string // lower case, no trailing dot
	Type    dnsmessage.Type
	Network string // "udp" or "tcp"
}

// Start runs a server on 127.0.0.1 until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{names: map[string]Name{}, counts: map[Query]int{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pc.Close()
		t.Fatalf("dnstest: %v", err)
	}
	s.UDP, s.TCP = pc.LocalAddr().String(), ln.Addr().String()
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]struct{}{}
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.serveUDP(pc, &wg)
	}()
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serveTCP(c)
				mu.Lock()
				delete(open, c)
				mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return s
}

// Set makes the server answer n for name (any case, with or without the
// trailing dot).
func (s *Server) Set(name string, n Name) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names[canonical(name)] = n
}

// Count returns how many queries for name and qtype came over network
// ("udp", "tcp", or "" for both).
func (s *Server) Count(name string, qtype dnsmessage.Type, network string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = canonical(name)
	if network != "" {
		return s.counts[Query{name, qtype, network}]
	}
	return s.counts[Query{name, qtype, "udp"}] + s.counts[Query{name, qtype, "tcp"}]
}

// Total returns how many queries the server got, whatever they asked.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

// Dial is a net.Resolver Dial that connects to this server whatever
// address it is given (the system's name servers are never asked).
func (s *Server) Dial(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	if strings.HasPrefix(network, "tcp") {
		return d.DialContext(ctx, "tcp", s.TCP)
	}
	return d.DialContext(ctx, "udp", s.UDP)
}

// Resolver returns Go's resolver asking this server only, uncached.
func (s *Server) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: s.Dial}
}

func (s *Server) serveUDP(pc net.PacketConn, wg *sync.WaitGroup) {
	for {
		buf := make([]byte, 1500)
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, delay := s.respond(buf[:n], "udp"); resp != nil {
				s.wait(delay)
				_, _ = pc.WriteTo(resp, from)
			}
		}()
	}
}

func (s *Server) serveTCP(c net.Conn) {
	defer c.Close()
	for {
		var length [2]byte
		if _, err := io.ReadFull(c, length[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(length[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		resp, delay := s.respond(q, "tcp")
		if resp == nil {
			return
		}
		s.wait(delay)
		framed := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
		if _, err := c.Write(append(framed, resp...)); err != nil {
			return
		}
	}
}

// wait holds an answer back (a simulated network delay, not a test wait).
func (s *Server) wait(d time.Duration) {
	if d > 0 {
		time.Sleep(d)
	}
}

// respond counts query q and returns its answer, nil for a message that
// is not a query of one question.
func (s *Server) respond(q []byte, network string) ([]byte, time.Duration) {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil || h.Response {
		return nil, 0
	}
	question, err := p.Question()
	if err != nil {
		return nil, 0
	}
	name := canonical(question.Name.String())
	s.mu.Lock()
	s.counts[Query{name, question.Type, network}]++
	n, known := s.names[name]
	s.mu.Unlock()
	if !known {
		n = Name{RCode: dnsmessage.RCodeNameError, NegativeTTL: 60}
	}

	hdr := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true,
		RecursionDesired: h.RecursionDesired, RecursionAvailable: true, RCode: n.RCode}
	if network == "udp" && n.TruncateUDP {
		hdr.Truncated = true
	}
	b := dnsmessage.NewBuilder(nil, hdr)
	b.EnableCompression()
	must(b.StartQuestions())
	must(b.Question(question))
	must(b.StartAnswers())
	answers := 0
	if n.RCode == dnsmessage.RCodeSuccess && !hdr.Truncated {
		owner := question.Name
		if n.CNAME != "" {
			target := dnsmessage.MustNewName(absolute(n.CNAME))
			must(b.CNAMEResource(dnsmessage.ResourceHeader{Name: owner, Class: dnsmessage.ClassINET, TTL: n.CNAMETTL},
				dnsmessage.CNAMEResource{CNAME: target}))
			owner = target
		}
		rh := dnsmessage.ResourceHeader{Name: owner, Class: dnsmessage.ClassINET, TTL: n.TTL}
		for _, a := range n.Addrs {
			switch {
			case question.Type == dnsmessage.TypeA && a.Is4():
				must(b.AResource(rh, dnsmessage.AResource{A: a.As4()}))
				answers++
			case question.Type == dnsmessage.TypeAAAA && a.Is6() && !a.Is4In6():
				must(b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()}))
				answers++
			}
		}
	}
	must(b.StartAuthorities())
	negative := n.RCode == dnsmessage.RCodeNameError || n.RCode == dnsmessage.RCodeSuccess && answers == 0
	if negative && !hdr.Truncated && !n.NoSOA {
		zone := dnsmessage.MustNewName("test.")
		must(b.SOAResource(dnsmessage.ResourceHeader{Name: zone, Class: dnsmessage.ClassINET, TTL: n.NegativeTTL},
			dnsmessage.SOAResource{NS: dnsmessage.MustNewName("ns.test."), MBox: dnsmessage.MustNewName("admin.test."),
				Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, MinTTL: n.NegativeTTL}))
	}
	resp, err := b.Finish()
	must(err)
	if n.Garble != nil {
		resp = n.Garble(resp)
	}
	return resp, n.Delay
}

func must(err error) {
	if err != nil {
		panic(errors.New("dnstest: " + err.Error()))
	}
}

func canonical(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

func absolute(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}
