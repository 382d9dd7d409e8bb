package delivery

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// h1Client is the HTTP/1.1 client of deliveries made without a proxy. A
// request is written and its response read by the calling goroutine, one
// request at a time per connection, and the connection is kept for the
// next request to the same host while the response allows it.
//
// It exists for speed: net/http's Transport hands every request to two
// goroutines of its own per connection and builds a header map for every
// response, which together cost more CPU than the rest of a delivery's
// sending side. A delivery needs little of HTTP: one small request with a
// known length, and of the response its status, Retry-After and at most
// ResponseBodyLimit bytes of body.
//
// Requests over https negotiate HTTP/1.1 only.
type h1Client struct {
	dial           func(ctx context.Context, network, addr string) (net.Conn, error)
	tls            *tls.Config // cloned per connection, ServerName set
	maxIdlePerHost int
	idleTimeout    time.Duration
	headerLimit    int

	mu     sync.Mutex
	idle   map[h1Key][]*h1Conn // per host, most recently used last
	nIdle  int
	sweep  *time.Timer // closes connections idle too long; nil when none are
	closed bool
}

// h1Key names the connections that can serve a request.
type h1Key struct {
	tls  bool
	addr string // host:port
}

type h1Conn struct {
	key    h1Key
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
}

// h1Request is one delivery request.
type h1Request struct {
	method string
	url    *url.URL
	// header holds name, value pairs, written in order; Host and
	// Content-Length are written by the client.
	header   []string
	body     []byte
	deadline time.Time // of the whole exchange, drain included
	// bodyLimit is the most bytes of the response body kept; up to
	// drainLimit more are read, for drainWait at most, so that the
	// connection can serve again.
	bodyLimit int
}

// h1Response is what came back. A response whose body did not arrive whole
// has bodyErr set; statusCode and the part of the body that came stand.
type h1Response struct {
	statusCode int
	retryAfter string
	body       []byte
	bodyErr    error
}

// errHeadersTooLong mirrors net/http's wording, which attempts recorded
// before this client already carry.
type errHeadersTooLong int

func (e errHeadersTooLong) Error() string {
	return fmt.Sprintf("server response headers exceeded %d bytes; aborted", int(e))
}

// aLongTimeAgo is a deadline in the past: it interrupts blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// do sends r and reads its response. ctx cancels the exchange (shutdown);
// r.deadline bounds it. A connection kept from an earlier request that
// turns out to be closed by the receiver before anything of the response
// arrived is retried once on a new connection: receivers close idle
// connections at any moment, and a delivery is safe to repeat.
func (c *h1Client) do(ctx context.Context, r *h1Request) (h1Response, error) {
	key, host, err := h1KeyOf(r.url)
	if err != nil {
		return h1Response{}, err
	}
	pc := c.get(key)
	for {
		reused := pc != nil
		if !reused {
			if pc, err = c.connect(ctx, key, host, r.deadline); err != nil {
				return h1Response{}, err
			}
		}
		resp, keep, stale, err := pc.roundTrip(ctx, r)
		if keep {
			c.put(pc)
		} else {
			pc.c.Close()
		}
		if err != nil && reused && stale && ctx.Err() == nil && time.Now().Before(r.deadline) {
			pc = nil
			continue
		}
		return resp, err
	}
}

// h1KeyOf returns the connection key of u and the host name to verify.
func h1KeyOf(u *url.URL) (h1Key, string, error) {
	k := h1Key{}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		k.tls = true
		if port == "" {
			port = "443"
		}
	default:
		return k, "", fmt.Errorf("unsupported protocol scheme %q", u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return k, "", errors.New("no host in request URL")
	}
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			return k, "", fmt.Errorf("host %q is not ASCII: give the endpoint its punycode (xn--) form", host)
		}
	}
	k.addr = net.JoinHostPort(host, port)
	return k, host, nil
}

// connect dials key's address through the client's dialer and, for https,
// completes the TLS handshake, all before deadline.
func (c *h1Client) connect(ctx context.Context, key h1Key, host string, deadline time.Time) (*h1Conn, error) {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	conn, err := c.dial(dctx, "tcp", key.addr)
	if err != nil {
		return nil, err
	}
	if key.tls {
		cfg := c.tls.Clone()
		cfg.ServerName = host
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	return &h1Conn{key: key, c: conn, br: bufio.NewReaderSize(conn, 4<<10), bw: bufio.NewWriterSize(conn, 4<<10)}, nil
}

// get takes the most recently used idle connection of key, or returns nil.
func (c *h1Client) get(key h1Key) *h1Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	conns := c.idle[key]
	for len(conns) > 0 {
		pc := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		conns = conns[:len(conns)-1]
		c.nIdle--
		if time.Since(pc.idleAt) < c.idleTimeout {
			c.setIdle(key, conns)
			return pc
		}
		pc.c.Close()
	}
	c.setIdle(key, conns)
	return nil
}

func (c *h1Client) setIdle(key h1Key, conns []*h1Conn) {
	if len(conns) == 0 {
		delete(c.idle, key)
		return
	}
	c.idle[key] = conns
}

// put keeps pc for the next request to its host, or closes it when the
// host already has maxIdlePerHost idle connections.
func (c *h1Client) put(pc *h1Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	conns := c.idle[pc.key]
	if c.closed || len(conns) >= c.maxIdlePerHost {
		pc.c.Close()
		return
	}
	pc.idleAt = time.Now()
	if c.idle == nil {
		c.idle = make(map[h1Key][]*h1Conn)
	}
	c.idle[pc.key] = append(conns, pc)
	c.nIdle++
	if c.sweep == nil {
		c.sweep = time.AfterFunc(c.idleTimeout, c.closeExpired)
	}
}

// closeExpired closes the connections idle for idleTimeout or longer.
func (c *h1Client) closeExpired() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep = nil
	for key, conns := range c.idle {
		kept := conns[:0]
		for _, pc := range conns {
			if time.Since(pc.idleAt) >= c.idleTimeout {
				pc.c.Close()
				c.nIdle--
				continue
			}
			kept = append(kept, pc)
		}
		clear(conns[len(kept):])
		c.setIdle(key, kept)
	}
	if c.nIdle > 0 && !c.closed {
		c.sweep = time.AfterFunc(c.idleTimeout, c.closeExpired)
	}
}

// closeIdle closes every idle connection; with stop set, connections
// handed back later are closed too.
func (c *h1Client) closeIdle(stop bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conns := range c.idle {
		for _, pc := range conns {
			pc.c.Close()
		}
	}
	clear(c.idle)
	c.nIdle = 0
	if c.sweep != nil {
		c.sweep.Stop()
		c.sweep = nil
	}
	c.closed = c.closed || stop
}

// roundTrip writes r on pc and reads the response. keep reports whether pc
// can serve another request; stale, whether nothing of a response arrived
// (the request may not have reached the receiver).
func (pc *h1Conn) roundTrip(ctx context.Context, r *h1Request) (resp h1Response, keep, stale bool, err error) {
	if err := pc.c.SetDeadline(r.deadline); err != nil {
		return resp, false, true, err
	}
	// Cancelling ctx interrupts blocked I/O; a connection it has reached
	// is not kept.
	stop := context.AfterFunc(ctx, func() { _ = pc.c.SetDeadline(aLongTimeAgo) })
	defer func() {
		if !stop() {
			keep = false
		}
	}()

	if err := pc.writeRequest(r); err != nil {
		return resp, false, true, err
	}
	h, got, err := pc.readHead()
	if err != nil {
		return resp, false, !got, err
	}
	resp.statusCode = h.status
	resp.retryAfter = h.retryAfter
	keep = h.keepAlive
	if h.status == 101 {
		// A protocol switch nobody asked for: the connection is no longer
		// HTTP.
		return resp, false, false, nil
	}
	if h.status == 204 || h.status == 304 {
		return resp, keep, false, nil
	}
	var body io.Reader
	switch {
	case h.chunked:
		body = httputil.NewChunkedReader(pc.br)
	case h.length >= 0:
		body = &exactReader{r: pc.br, n: h.length}
	default:
		// Delimited by the end of the connection.
		body, keep = pc.br, false
	}
	size := int64(512)
	if h.length >= 0 {
		size = h.length
	}
	buf := make([]byte, 0, min(size, int64(r.bodyLimit)))
	resp.body, resp.bodyErr = readUpTo(body, buf, r.bodyLimit)
	if resp.bodyErr != nil {
		return resp, false, false, nil
	}
	if len(resp.body) == r.bodyLimit {
		if !keep {
			return resp, false, false, nil
		}
		// More may follow: drain some of it, briefly, so that the
		// connection can serve again.
		drainBy := time.Now().Add(drainWait)
		if drainBy.After(r.deadline) {
			drainBy = r.deadline
		}
		_ = pc.c.SetReadDeadline(drainBy)
		n, err := io.CopyN(io.Discard, body, drainLimit+1)
		if err != io.EOF || n > drainLimit {
			return resp, false, false, nil
		}
	} else if body != pc.br {
		// Read to the end of the body: a chunked body's trailer must go
		// too before the next response.
		var probe [1]byte
		if _, err := body.Read(probe[:]); err != io.EOF {
			return resp, false, false, nil
		}
	}
	if h.chunked {
		if err := pc.skipTrailer(); err != nil {
			return resp, false, false, nil
		}
	}
	return resp, keep, false, nil
}

// writeRequest writes r's request line, headers and body and flushes them.
func (pc *h1Conn) writeRequest(r *h1Request) error {
	w := pc.bw
	w.WriteString(r.method)
	w.WriteByte(' ')
	w.WriteString(escapeTarget(r.url.RequestURI()))
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(r.url.Host)
	w.WriteString("\r\n")
	for i := 0; i+1 < len(r.header); i += 2 {
		w.WriteString(r.header[i])
		w.WriteString(": ")
		w.WriteString(r.header[i+1])
		w.WriteString("\r\n")
	}
	w.WriteString("Content-Length: ")
	w.WriteString(strconv.Itoa(len(r.body)))
	w.WriteString("\r\n\r\n")
	w.Write(r.body)
	return w.Flush()
}

// head is what a response's status line and headers say.
type head struct {
	status     int
	length     int64 // -1 when not given
	chunked    bool
	keepAlive  bool
	retryAfter string
}

// readHead reads the status line and headers of the final response,
// skipping informational (1xx) ones. got reports whether any byte arrived.
func (pc *h1Conn) readHead() (h head, got bool, err error) {
	budget := maxResponseHeaderBytes
	for {
		h = head{length: -1}
		line, n, err := readLine(pc.br, &budget)
		got = got || n > 0
		if err != nil {
			if errors.Is(err, io.EOF) && got {
				err = io.ErrUnexpectedEOF
			}
			return h, got, err
		}
		minor, status, ok := parseStatusLine(line)
		if !ok {
			return h, got, fmt.Errorf("malformed HTTP response %q", line)
		}
		h.status = status
		h.keepAlive = minor >= 1
		if err := pc.readHeaders(&h, minor, &budget); err != nil {
			return h, got, err
		}
		if status >= 100 && status < 200 && status != 101 {
			continue
		}
		return h, got, nil
	}
}

// readHeaders reads header lines up to the blank one into h.
func (pc *h1Conn) readHeaders(h *head, minor int, budget *int) error {
	for {
		line, _, err := readLine(pc.br, budget)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // an obsolete folded continuation
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return fmt.Errorf("malformed MIME header line: %q", line)
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case asciiEqualFold(name, "content-length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (h.length >= 0 && n != h.length) {
				return fmt.Errorf("bad Content-Length %q", value)
			}
			h.length = n
		case asciiEqualFold(name, "transfer-encoding"):
			codings := bytes.Split(value, []byte(","))
			last := bytes.TrimSpace(codings[len(codings)-1])
			h.chunked = asciiEqualFold(last, "chunked")
			if !h.chunked {
				h.keepAlive = false // only the end of the connection delimits it
			}
		case asciiEqualFold(name, "connection"):
			for _, tok := range bytes.Split(value, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				switch {
				case asciiEqualFold(tok, "close"):
					h.keepAlive = false
				case asciiEqualFold(tok, "keep-alive") && minor == 0:
					h.keepAlive = true
				}
			}
		case asciiEqualFold(name, "retry-after"):
			h.retryAfter = string(value)
		}
		if h.chunked {
			h.length = -1 // chunking wins over a length (RFC 9112 6.3)
		}
	}
}

// skipTrailer reads a chunked body's trailer lines up to the blank one.
func (pc *h1Conn) skipTrailer() error {
	budget := maxResponseHeaderBytes
	for {
		line, _, err := readLine(pc.br, &budget)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
	}
}

// readLine reads one line without its line ending, counting the bytes read
// against budget; n is how many were read. Only the first bufio buffer's
// worth of a longer line is returned, which is enough for every line the
// client looks into. The line is valid until the next read.
func readLine(br *bufio.Reader, budget *int) (line []byte, n int, err error) {
	var long []byte
	for {
		frag, err := br.ReadSlice('\n')
		n += len(frag)
		*budget -= len(frag)
		if *budget < 0 {
			return nil, n, errHeadersTooLong(maxResponseHeaderBytes)
		}
		if err == bufio.ErrBufferFull {
			if long == nil {
				long = append([]byte(nil), frag...)
			}
			continue
		}
		if err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, n, err
		}
		if long != nil {
			return long, n, nil
		}
		frag = frag[:len(frag)-1]
		if len(frag) > 0 && frag[len(frag)-1] == '\r' {
			frag = frag[:len(frag)-1]
		}
		return frag, n, nil
	}
}

// parseStatusLine reads "HTTP/1.x NNN reason".
func parseStatusLine(line []byte) (minor, status int, ok bool) {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, 0, false
	}
	if line[7] < '0' || line[7] > '9' {
		return 0, 0, false
	}
	minor = int(line[7] - '0')
	for _, b := range line[9:12] {
		if b < '0' || b > '9' {
			return 0, 0, false
		}
		status = status*10 + int(b-'0')
	}
	if status < 100 || (len(line) > 12 && line[12] != ' ') {
		return 0, 0, false
	}
	return minor, status, true
}

// asciiEqualFold reports whether b equals the lower-case ASCII s, ignoring
// case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// exactReader reads a body of n bytes: the end of the connection before
// them is io.ErrUnexpectedEOF.
type exactReader struct {
	r io.Reader
	n int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	n, err := e.r.Read(p)
	e.n -= int64(n)
	if err == io.EOF && e.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// readUpTo appends to buf what r has, up to limit bytes in all. Reaching
// r's end is no error.
func readUpTo(r io.Reader, buf []byte, limit int) ([]byte, error) {
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		end := min(cap(buf), limit)
		n, err := r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
