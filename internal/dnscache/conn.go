package dnscache

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Dial is a net.Resolver Dial. For UDP and TCP it returns a connection
// that answers each query written to it from the cache when it can, and
// otherwise dials the server with Config.Dial (only then), sends the query
// on and keeps the answer it reads back if it may be kept. UDP connections
// are net.PacketConns (one message a Write or a Read), TCP ones streams of
// messages each after its two-byte length, as Go's resolver expects them.
// Other networks are dialled as they are.
func (c *Cache) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	switch network {
	case "udp", "udp4", "udp6":
		return packetConn{&conn{cache: c, ctx: ctx, network: network, address: address}}, nil
	case "tcp", "tcp4", "tcp6":
		return &conn{cache: c, ctx: ctx, network: network, address: address, stream: true}, nil
	}
	return c.cfg.Dial(ctx, network, address)
}

// errNothingAsked is a Read with neither an answer waiting nor a question
// sent to the server.
var errNothingAsked = errors.New("dnscache: read with no query outstanding")

// conn is one exchange of a resolver with a name server, through the
// cache. Like the connections Go's resolver dials, it is written to and
// read from by one goroutine at a time; Close and the deadlines may be set
// from another.
type conn struct {
	cache *Cache
	// ctx is the exchange's context, handed to Dial: it bounds the dial to
	// the server on a miss, which happens during a Write.
	ctx              context.Context
	network, address string
	stream           bool

	mu       sync.Mutex
	upstream net.Conn // dialled on the first miss
	closed   bool
	rd, wd   time.Time // deadlines, applied to upstream once dialled
	// packets are answers waiting to be read (UDP); bytes is the rest of
	// the stream to be read before anything more is read from upstream
	// (TCP).
	packets [][]byte
	bytes   []byte
	// asked are the questions sent to the server, whose answers may be
	// kept.
	asked []query

	// wbuf holds the start of a TCP message whose end is not yet written.
	wbuf []byte
}

func (c *conn) Write(b []byte) (int, error) {
	if !c.stream {
		if err := c.query(b); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	c.wbuf = append(c.wbuf, b...)
	for len(c.wbuf) >= 2 {
		end := 2 + int(binary.BigEndian.Uint16(c.wbuf))
		if len(c.wbuf) < end {
			break
		}
		if err := c.query(c.wbuf[2:end]); err != nil {
			return 0, err
		}
		c.wbuf = c.wbuf[end:]
	}
	if len(c.wbuf) == 0 {
		c.wbuf = nil
	}
	return len(b), nil
}

// query answers the query message b from the cache, or sends it to the
// server.
func (c *conn) query(b []byte) error {
	q, ok := parseQuery(b)
	if ok {
		var answer []byte
		if c.stream {
			if answer = c.cache.lookup([]byte{0, 0}, q, false); answer != nil {
				binary.BigEndian.PutUint16(answer, uint16(len(answer)-2))
			}
		} else {
			answer = c.cache.lookup(nil, q, true)
		}
		if answer != nil {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.closed {
				return net.ErrClosed
			}
			if c.stream {
				c.bytes = append(c.bytes, answer...)
			} else {
				c.packets = append(c.packets, answer)
			}
			return nil
		}
	}
	up, err := c.connect()
	if err != nil {
		return err
	}
	if ok {
		// b is the caller's: keep no part of it.
		q.wire = append([]byte(nil), q.wire...)
		c.mu.Lock()
		c.asked = append(c.asked, q)
		c.mu.Unlock()
	}
	if c.stream {
		framed := make([]byte, 2+len(b))
		binary.BigEndian.PutUint16(framed, uint16(len(b)))
		copy(framed[2:], b)
		b = framed
	}
	_, err = up.Write(b)
	return err
}

// connect returns the connection to the server, dialled on first use.
func (c *conn) connect() (net.Conn, error) {
	c.mu.Lock()
	up, closed, rd, wd := c.upstream, c.closed, c.rd, c.wd
	c.mu.Unlock()
	if closed {
		return nil, net.ErrClosed
	}
	if up != nil {
		return up, nil
	}
	ctx := c.ctx
	for _, d := range []time.Time{rd, wd} {
		if !d.IsZero() {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, d)
			defer cancel()
		}
	}
	up, err := c.cache.cfg.Dial(ctx, c.network, c.address)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		up.Close()
		return nil, net.ErrClosed
	}
	if err := up.SetReadDeadline(c.rd); err != nil {
		up.Close()
		return nil, err
	}
	if err := up.SetWriteDeadline(c.wd); err != nil {
		up.Close()
		return nil, err
	}
	c.upstream = up
	return up, nil
}

func (c *conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	if len(c.packets) > 0 {
		answer := c.packets[0]
		c.packets = c.packets[1:]
		c.mu.Unlock()
		// As from a UDP socket: what does not fit in p is lost.
		return copy(p, answer), nil
	}
	if len(c.bytes) > 0 {
		n := copy(p, c.bytes)
		c.bytes = c.bytes[n:]
		c.mu.Unlock()
		return n, nil
	}
	up := c.upstream
	c.mu.Unlock()
	if up == nil {
		return 0, errNothingAsked
	}
	if !c.stream {
		n, err := up.Read(p)
		if n > 0 {
			c.keep(p[:n])
		}
		return n, err
	}
	// A whole message is read before any of it is passed on, to be kept.
	var length [2]byte
	if _, err := io.ReadFull(up, length[:]); err != nil {
		return 0, err
	}
	msg := make([]byte, 2+int(binary.BigEndian.Uint16(length[:])))
	copy(msg, length[:])
	if _, err := io.ReadFull(up, msg[2:]); err != nil {
		return 0, err
	}
	c.keep(msg[2:])
	n := copy(p, msg)
	c.mu.Lock()
	c.bytes = append(c.bytes, msg[n:]...)
	c.mu.Unlock()
	return n, nil
}

// keep stores the server's message b if it answers a question asked on
// this connection and may be kept. Any other message is passed on to the
// reader unkept, as it came.
func (c *conn) keep(b []byte) {
	if len(b) < 2 {
		return
	}
	id := binary.BigEndian.Uint16(b)
	c.mu.Lock()
	var q query
	found := false
	for _, a := range c.asked {
		if a.id == id {
			q, found = a, true
			break
		}
	}
	c.mu.Unlock()
	if found {
		c.cache.store(q, b)
	}
}

func (c *conn) Close() error {
	c.mu.Lock()
	up, closed := c.upstream, c.closed
	c.closed = true
	c.mu.Unlock()
	if closed {
		return net.ErrClosed
	}
	if up != nil {
		return up.Close()
	}
	return nil
}

func (c *conn) LocalAddr() net.Addr {
	if up := c.current(); up != nil {
		return up.LocalAddr()
	}
	return addr{network: c.network}
}

func (c *conn) RemoteAddr() net.Addr {
	if up := c.current(); up != nil {
		return up.RemoteAddr()
	}
	return addr{network: c.network, address: c.address}
}

func (c *conn) current() net.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.upstream
}

func (c *conn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.rd, c.wd = t, t
	up := c.upstream
	c.mu.Unlock()
	if up != nil {
		return up.SetDeadline(t)
	}
	return nil
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rd = t
	up := c.upstream
	c.mu.Unlock()
	if up != nil {
		return up.SetReadDeadline(t)
	}
	return nil
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wd = t
	up := c.upstream
	c.mu.Unlock()
	if up != nil {
		return up.SetWriteDeadline(t)
	}
	return nil
}

// packetConn is a conn over UDP. Go's resolver tells UDP from TCP by
// whether its connection is a net.PacketConn.
type packetConn struct{ *conn }

// ReadFrom reads one answer, from the server's address.
func (c packetConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, err := c.Read(p)
	return n, c.RemoteAddr(), err
}

// WriteTo writes one query, to the server dialled: another address is
// refused.
func (c packetConn) WriteTo(p []byte, to net.Addr) (int, error) {
	if to != nil && to.String() != c.address && to.String() != c.RemoteAddr().String() {
		return 0, errors.New("dnscache: write to " + to.String() + ": only " + c.address + " is dialled")
	}
	return c.Write(p)
}

// addr is the address of a conn that has not dialled the server.
type addr struct{ network, address string }

func (a addr) Network() string { return a.network }
func (a addr) String() string  { return a.address }
