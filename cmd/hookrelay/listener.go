package main

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// connLimiter is a listener that caps the connections open at once, in all
// and per client address (an IPv4 address, or an IPv6 /64, which one
// client usually holds whole). A connection over either cap is closed as
// soon as it is accepted, without a response: answering would mean reading
// its request, the very resource the caps protect. A cap of 0 is no cap.
type connLimiter struct {
	net.Listener
	max, perClient int
	log            *slog.Logger

	mu       sync.Mutex
	open     int
	byClient map[netip.Prefix]int
	// refused counts the connections closed since the last warning, which
	// is logged at most every refusalLogEvery.
	refused    int
	lastWarned time.Time
}

const refusalLogEvery = 10 * time.Second

func newConnLimiter(ln net.Listener, max, perClient int, log *slog.Logger) *connLimiter {
	return &connLimiter{Listener: ln, max: max, perClient: perClient, log: log, byClient: map[netip.Prefix]int{}}
}

// Accept returns the next connection within the caps, closing those over
// them.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := clientOf(c.RemoteAddr())
		if l.admit(client) {
			return &limitedConn{Conn: c, l: l, client: client}, nil
		}
		_ = c.Close()
	}
}

// clientOf is the key a remote address is counted under.
func clientOf(a net.Addr) netip.Prefix {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.WithZone("").Prefix(64)
	return p
}

func (l *connLimiter) admit(client netip.Prefix) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if (l.max > 0 && l.open >= l.max) || (l.perClient > 0 && l.byClient[client] >= l.perClient) {
		l.refused++
		if now := time.Now(); now.Sub(l.lastWarned) >= refusalLogEvery {
			l.log.Warn("connection refused: too many open connections",
				"client", client.String(), "client_open", l.byClient[client], "open", l.open,
				"max_connections", l.max, "max_connections_per_ip", l.perClient, "refused", l.refused)
			l.lastWarned = now
			l.refused = 0
		}
		return false
	}
	l.open++
	l.byClient[client]++
	return true
}

func (l *connLimiter) release(client netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byClient[client]--; l.byClient[client] <= 0 {
		delete(l.byClient, client)
	}
}

// limitedConn gives its place back when closed.
type limitedConn struct {
	net.Conn
	l      *connLimiter
	client netip.Prefix
	once   sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.client) })
	return err
}

// CloseWrite half-closes a TCP connection, as net/http does before it
// closes one whose response said Connection: close.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
