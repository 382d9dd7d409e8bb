package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// h2Pool holds the HTTP/2 connections of the receivers whose TLS handshake
// chose h2 when the h1 client offered it, per host, and sends requests on
// them as streams: one connection carries as many requests at once as the
// receiver allows (its SETTINGS_MAX_CONCURRENT_STREAMS), where HTTP/1.1
// needs a connection, a handshake and a descriptor for each.
//
// The framing is net/http's own HTTP/2 client, driven a connection at a
// time (http.Transport.NewClientConn): the h1 client dials, through the
// guard, and completes the handshake; the connection is then handed over
// through the context to a transport whose only dial function takes it
// from there. That transport dials nothing itself, so no connection
// escapes the guard.
//
// A host's connections are tried in turn for a free stream. When none has
// one, one request dials while the others to that host wait for its
// handshake: when it chooses h2 they share the new connection, when it
// chooses HTTP/1.1 each dials its own, and the host is known to choose
// HTTP/1.1 for the client's idle timeout, during which its requests no
// longer wait on one another's handshakes.
//
// A connection that carries no request is idle: it joins the h1 client's
// list of idle connections, under its cap and idle timeout, and leaves it
// when a stream is reserved on it. A connection closed (by either side,
// on GOAWAY once its streams end, or for want of an answer to a ping)
// leaves the pool.
type h2Pool struct {
	t           *http.Transport
	idleTimeout time.Duration // how long a host is known to choose HTTP/1.1

	mu    sync.Mutex
	hosts map[h1Key]*h2Host
	// pruneAt is the number of hosts past which the ones with nothing
	// to remember are forgotten.
	pruneAt int
}

// h2Host is what the pool knows of one host.
type h2Host struct {
	conns []*h2Conn
	// dialing is closed when the handshake in progress that requests to
	// the host wait for ends; nil when there is none.
	dialing chan struct{}
	// h1Until is when the host's latest handshake chose HTTP/1.1, plus
	// the idle timeout.
	h1Until time.Time
}

// h2Conn is one HTTP/2 connection.
type h2Conn struct {
	key h1Key
	cc  *http.ClientConn
	// idle and evicted are guarded by the h1 client's mu: idle is the
	// connection's entry in the client's list of idle connections, nil
	// while it carries a request; evicted is set once the client chose
	// to close it as idle.
	idle    *h1Conn
	evicted bool
}

// h2PingTimeout is how long a connection may go without a frame from the
// receiver while a request is in flight before it is pinged, and how long
// the ping may go unanswered before the connection is closed: a
// connection lost without a word fails all its streams, not only one.
const h2PingTimeout = 15 * time.Second

// h2WriteTimeout is the longest a write on a connection may block.
const h2WriteTimeout = 10 * time.Second

// handedConn is the context key of a connection for h2Pool.t's dial.
type handedConn struct{}

func newH2Pool(idleTimeout time.Duration) *h2Pool {
	return &h2Pool{
		t: &http.Transport{
			ForceAttemptHTTP2: true,
			DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				if c, ok := ctx.Value(handedConn{}).(net.Conn); ok {
					return c, nil
				}
				return nil, errors.New("http2: no connection handed over")
			},
			IdleConnTimeout:        idleTimeout,
			MaxResponseHeaderBytes: maxResponseHeaderBytes,
			// A compressed body would cost CPU to keep 16 KiB of it.
			DisableCompression: true,
			HTTP2: &http.HTTP2Config{
				SendPingTimeout:  h2PingTimeout,
				PingTimeout:      h2PingTimeout,
				WriteByteTimeout: h2WriteTimeout,
			},
		},
		idleTimeout: idleTimeout,
		hosts:       make(map[h1Key]*h2Host),
		pruneAt:     1024,
	}
}

// conn returns a stream reserved on one of key's HTTP/2 connections, or a
// new connection: HTTP/2 when the handshake chooses h2 (with a stream
// reserved), HTTP/1.1 otherwise. reused reports whether the connection
// served before. With fresh set it is a new connection, dialled without
// waiting for anyone's handshake.
func (p *h2Pool) conn(ctx context.Context, c *h1Client, key h1Key, host string, deadline time.Time, fresh bool) (pc *h1Conn, hc *h2Conn, reused bool, err error) {
	for {
		if !fresh {
			if hc = p.reserve(c, key); hc != nil {
				return nil, hc, true, nil
			}
		}
		p.mu.Lock()
		h := p.host(key)
		var mine chan struct{}
		if !fresh && time.Now().After(h.h1Until) {
			if wait := h.dialing; wait != nil {
				p.mu.Unlock()
				if err := awaitClose(ctx, wait, deadline); err != nil {
					return nil, nil, false, err
				}
				continue
			}
			mine = make(chan struct{})
			h.dialing = mine
		}
		p.mu.Unlock()

		pc, hc, err = p.dial(ctx, c, key, host, deadline)

		p.mu.Lock()
		if mine != nil {
			h.dialing = nil
			close(mine)
		}
		if pc != nil {
			h.h1Until = time.Now().Add(p.idleTimeout)
		}
		p.mu.Unlock()
		return pc, hc, false, err
	}
}

// host returns key's entry, made when missing. p.mu is held.
func (p *h2Pool) host(key h1Key) *h2Host {
	h := p.hosts[key]
	if h != nil {
		return h
	}
	if len(p.hosts) >= p.pruneAt {
		now := time.Now()
		for k, h := range p.hosts {
			if len(h.conns) == 0 && h.dialing == nil && now.After(h.h1Until) {
				delete(p.hosts, k)
			}
		}
		p.pruneAt = max(1024, 2*len(p.hosts))
	}
	h = &h2Host{}
	p.hosts[key] = h
	return h
}

// awaitClose waits until ch is closed, ctx ends or deadline passes.
func awaitClose(ctx context.Context, ch <-chan struct{}, deadline time.Time) error {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return context.DeadlineExceeded
	}
}

// reserve returns one of key's connections with a stream reserved for the
// caller, or nil when none has a stream free.
func (p *h2Pool) reserve(c *h1Client, key h1Key) *h2Conn {
	p.mu.Lock()
	h := p.hosts[key]
	if h == nil || len(h.conns) == 0 {
		p.mu.Unlock()
		return nil
	}
	// Reserving may call the connection's state hook, which takes p.mu.
	conns := append([]*h2Conn(nil), h.conns...)
	p.mu.Unlock()
	for _, hc := range conns {
		if hc.cc.Reserve() != nil {
			continue
		}
		if !c.busyH2(hc) {
			hc.cc.Release()
			continue
		}
		return hc
	}
	return nil
}

// dial makes a new connection to key offering h2 and HTTP/1.1, and
// returns it as what the handshake chose.
func (p *h2Pool) dial(ctx context.Context, c *h1Client, key h1Key, host string, deadline time.Time) (*h1Conn, *h2Conn, error) {
	conn, err := c.dialProtos(ctx, key, host, deadline, h2OrH1)
	if err != nil {
		return nil, nil, err
	}
	tc, ok := conn.(*tls.Conn)
	if !ok || tc.ConnectionState().NegotiatedProtocol != "h2" {
		return newH1Conn(key, conn), nil, nil
	}
	cc, err := p.t.NewClientConn(context.WithValue(ctx, handedConn{}, conn), "https", key.addr)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	if err := cc.Reserve(); err != nil {
		cc.Close()
		return nil, nil, err
	}
	hc := &h2Conn{key: key, cc: cc}
	p.mu.Lock()
	h := p.host(key)
	h.conns = append(h.conns, hc)
	p.mu.Unlock()
	cc.SetStateHook(func(*http.ClientConn) { p.changed(c, hc) })
	return nil, hc, nil
}

// changed is hc's state hook: a closed connection leaves the pool and the
// list of idle ones, one with no request in flight joins that list.
func (p *h2Pool) changed(c *h1Client, hc *h2Conn) {
	if hc.cc.Err() != nil {
		p.mu.Lock()
		if h := p.hosts[hc.key]; h != nil {
			for i, x := range h.conns {
				if x == hc {
					h.conns = append(h.conns[:i], h.conns[i+1:]...)
					break
				}
			}
		}
		p.mu.Unlock()
		c.forgetH2(hc)
		return
	}
	c.idleH2(hc)
}

// busyH2 takes hc, on which a stream was just reserved, out of the idle
// connections. It reports false when hc was chosen to be closed as idle:
// the stream must then be released.
func (c *h1Client) busyH2(hc *h2Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc.evicted {
		return false
	}
	if hc.idle != nil {
		c.removeIdle(hc.idle)
	}
	return true
}

// idleH2 puts hc in the list of idle connections when it carries no
// request (a stream reserved counts as one), closing the least recently
// used idle connection when the list is full, or hc itself when the client
// is closed.
func (c *h1Client) idleH2(hc *h2Conn) {
	c.mu.Lock()
	if hc.idle != nil || hc.evicted || hc.cc.InFlight() > 0 {
		c.mu.Unlock()
		return
	}
	if c.closed {
		hc.evicted = true
		c.mu.Unlock()
		hc.cc.Close()
		return
	}
	var evicted *h1Conn
	if c.maxIdle > 0 && c.nIdle >= c.maxIdle {
		evicted = c.oldest
		c.evictIdle(evicted)
	}
	hc.idle = &h1Conn{key: hc.key, h2: hc}
	c.linkIdle(hc.idle)
	c.mu.Unlock()
	if evicted != nil {
		evicted.close()
	}
}

// forgetH2 takes the closed hc out of the idle connections.
func (c *h1Client) forgetH2(hc *h2Conn) {
	c.mu.Lock()
	if hc.idle != nil {
		c.removeIdle(hc.idle)
	}
	hc.evicted = true
	c.mu.Unlock()
}

// roundTrip sends r as a stream reserved on hc and reads the response, as
// h1Conn.roundTrip does. stale reports whether no response came (the
// request may be sent again, on a new connection). Beyond the kept part of
// the body nothing is read: closing the body resets the stream, and the
// connection serves on.
func (hc *h2Conn) roundTrip(ctx context.Context, r *h1Request) (resp h1Response, stale bool, err error) {
	rctx, cancel := context.WithDeadline(ctx, r.deadline)
	defer cancel()
	target := *r.url
	target.RawQuery = escapeTarget(r.url.RawQuery)
	req := &http.Request{
		Method:        r.method,
		URL:           &target,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        make(http.Header, len(r.header)/2),
		Body:          http.NoBody,
		ContentLength: int64(len(r.body)),
		Host:          r.url.Host,
	}
	if len(r.body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(r.body))
	}
	for i := 0; i+1 < len(r.header); i += 2 {
		req.Header[r.header[i]] = []string{r.header[i+1]}
	}
	res, err := hc.cc.RoundTrip(req.WithContext(rctx))
	if err != nil {
		return resp, true, err
	}
	defer res.Body.Close()
	resp.statusCode = res.StatusCode
	resp.retryAfter = res.Header.Get("Retry-After")
	size := int64(512)
	if res.ContentLength >= 0 {
		size = res.ContentLength
	}
	buf := make([]byte, 0, min(size, int64(r.bodyLimit)))
	resp.body, resp.bodyErr = readUpTo(res.Body, buf, r.bodyLimit)
	return resp, false, nil
}
