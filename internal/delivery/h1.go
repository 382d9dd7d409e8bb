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
	"os"
	"strconv"
	"strings"
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
// A connection goes back to the pool only when its response was read
// exactly to its end: its framing was unambiguous (one Content-Length, or
// Transfer-Encoding chunked alone), the receiver did not ask to close, the
// body was read whole (the kept part and a short drain), and not one byte
// beyond it has arrived. A connection taken from the pool is checked again
// for bytes that came while it was idle. So a receiver that sends more than
// its response costs its own connection, never the next message's attempt.
//
// Requests over https negotiate HTTP/1.1 only, unless h2 is set: then
// their handshakes offer HTTP/2 too, and a receiver that chooses it is
// served by h2's connections instead (see h2Pool). Those count against
// maxIdle while they carry no request, in the same list as this client's.
type h1Client struct {
	dial           func(ctx context.Context, network, addr string) (net.Conn, error)
	tls            *tls.Config // cloned per connection, ServerName set
	h2             *h2Pool     // nil: HTTP/1.1 only
	maxIdlePerHost int
	// maxIdle caps the idle connections of every host together; past it,
	// the least recently used one is closed. 0 means no cap.
	maxIdle     int
	idleTimeout time.Duration

	mu   sync.Mutex
	idle map[h1Key][]*h1Conn // per host, least recently used first
	// oldest and newest end the list of every idle connection, least
	// recently used first, linked through h1Conn.older and newer.
	oldest, newest *h1Conn
	nIdle          int
	sweep          *time.Timer // closes connections idle too long; nil when none are
	closed         bool
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
	probe  *idleProbe // nil when the connection cannot be looked at
	// older and newer are the neighbours in the client's list of idle
	// connections, while this one is idle.
	older, newer *h1Conn
	// h2, when set, makes this the entry of an HTTP/2 connection with no
	// request in flight in the list of idle connections; it is in no
	// host's list of idle HTTP/1.1 connections, and only key, idleAt and
	// the neighbours are set.
	h2 *h2Conn
}

// close closes the connection pc stands for. c.mu is not held.
func (pc *h1Conn) close() {
	if pc.h2 != nil {
		pc.h2.cc.Close()
		return
	}
	pc.c.Close()
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
// r.deadline bounds it. A connection kept from an earlier request whose
// response does not start (it turns out closed before any of the response
// arrived, or what arrives first is not a status line, as when the
// receiver sent more after its previous response) is left, and the request
// is sent again, once, on a new connection: receivers close idle
// connections at any moment, the previous exchange's leftovers are no
// answer to this one, and a delivery is safe to repeat.
//
// Over HTTP/2 the same holds for a request on a kept connection that got no
// response (the connection was lost, or the receiver said GOAWAY before
// taking the request's stream): it is sent once more, on a new connection.
func (c *h1Client) do(ctx context.Context, r *h1Request) (h1Response, error) {
	key, host, err := h1KeyOf(r.url)
	if err != nil {
		return h1Response{}, err
	}
	fresh := false
	for {
		pc, hc, reused, err := c.conn(ctx, key, host, r.deadline, fresh)
		if err != nil {
			return h1Response{}, err
		}
		var resp h1Response
		var stale bool
		if hc != nil {
			resp, stale, err = hc.roundTrip(ctx, r)
		} else {
			var keep bool
			resp, keep, stale, err = pc.roundTrip(ctx, r)
			if keep {
				c.put(pc)
			} else {
				pc.c.Close()
			}
		}
		if err != nil && reused && stale && ctx.Err() == nil && time.Now().Before(r.deadline) {
			fresh = true
			continue
		}
		return resp, err
	}
}

// conn returns a connection for a request to key, either an HTTP/1.1 one
// (pc) or a stream reserved on an HTTP/2 one (hc); reused reports whether
// it served before. With fresh set it is a new connection.
func (c *h1Client) conn(ctx context.Context, key h1Key, host string, deadline time.Time, fresh bool) (pc *h1Conn, hc *h2Conn, reused bool, err error) {
	if !fresh {
		if pc = c.get(key); pc != nil {
			return pc, nil, true, nil
		}
	}
	if key.tls && c.h2 != nil {
		return c.h2.conn(ctx, c, key, host, deadline, fresh)
	}
	pc, err = c.connect(ctx, key, host, deadline)
	return pc, nil, false, err
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
// completes the TLS handshake, offering HTTP/1.1 only, all before deadline.
func (c *h1Client) connect(ctx context.Context, key h1Key, host string, deadline time.Time) (*h1Conn, error) {
	conn, err := c.dialProtos(ctx, key, host, deadline, h1Only)
	if err != nil {
		return nil, err
	}
	return newH1Conn(key, conn), nil
}

// ALPN protocol lists offered in handshakes.
var (
	h1Only = []string{"http/1.1"}
	h2OrH1 = []string{"h2", "http/1.1"}
)

// dialProtos dials key's address through the client's dialer and, for
// https, completes the TLS handshake offering protos, all before deadline.
func (c *h1Client) dialProtos(ctx context.Context, key h1Key, host string, deadline time.Time, protos []string) (net.Conn, error) {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	conn, err := c.dial(dctx, "tcp", key.addr)
	if err != nil {
		return nil, err
	}
	if key.tls {
		cfg := c.tls.Clone()
		cfg.ServerName = host
		cfg.NextProtos = protos
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	return conn, nil
}

func newH1Conn(key h1Key, conn net.Conn) *h1Conn {
	return &h1Conn{key: key, c: conn, br: bufio.NewReaderSize(conn, 4<<10), bw: bufio.NewWriterSize(conn, 4<<10),
		probe: newIdleProbe(conn)}
}

// get takes the most recently used idle connection of key that is still
// fit to serve, or returns nil. A connection idle for idleTimeout or more,
// or on which anything arrived while it was idle (bytes the receiver sent
// after its response, or the end of the connection), is closed.
func (c *h1Client) get(key h1Key) *h1Conn {
	for {
		c.mu.Lock()
		conns := c.idle[key]
		if len(conns) == 0 {
			c.mu.Unlock()
			return nil
		}
		pc := conns[len(conns)-1]
		c.removeIdle(pc)
		c.mu.Unlock()
		if time.Since(pc.idleAt) < c.idleTimeout && pc.probe.idleQuiet() && pc.tlsQuiet() {
			return pc
		}
		pc.c.Close()
	}
}

// tlsQuiet reports whether pc's TLS layer holds nothing the receiver sent:
// records read from the socket along with the last response's but not yet
// handed on. It reads with a deadline already past, which TLS serves from
// what it holds and otherwise answers with a timeout, touching no socket.
func (pc *h1Conn) tlsQuiet() bool {
	if !pc.key.tls {
		return true
	}
	if err := pc.c.SetReadDeadline(aLongTimeAgo); err != nil {
		return false
	}
	_, err := pc.br.Peek(1)
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// removeIdle takes pc out of the idle connections. c.mu is held.
func (c *h1Client) removeIdle(pc *h1Conn) {
	if pc.h2 == nil {
		c.removeHostIdle(pc)
	} else {
		pc.h2.idle = nil
	}
	if pc.older != nil {
		pc.older.newer = pc.newer
	} else {
		c.oldest = pc.newer
	}
	if pc.newer != nil {
		pc.newer.older = pc.older
	} else {
		c.newest = pc.older
	}
	pc.older, pc.newer = nil, nil
	c.nIdle--
}

// removeHostIdle takes pc out of its host's idle HTTP/1.1 connections.
// c.mu is held.
func (c *h1Client) removeHostIdle(pc *h1Conn) {
	conns := c.idle[pc.key]
	for i := range conns {
		if conns[i] == pc {
			copy(conns[i:], conns[i+1:])
			conns[len(conns)-1] = nil
			conns = conns[:len(conns)-1]
			break
		}
	}
	if len(conns) == 0 {
		delete(c.idle, pc.key)
	} else {
		c.idle[pc.key] = conns
	}
}

// evictIdle takes pc out of the idle connections to close it: an HTTP/2
// connection's is marked so that a request that reserved a stream on it
// meanwhile lets go of it (see h2Pool.reserve). c.mu is held.
func (c *h1Client) evictIdle(pc *h1Conn) {
	c.removeIdle(pc)
	if pc.h2 != nil {
		pc.h2.evicted = true
	}
}

// linkIdle puts pc at the newest end of the list of idle connections and
// schedules the sweep. c.mu is held.
func (c *h1Client) linkIdle(pc *h1Conn) {
	pc.idleAt = time.Now()
	pc.older = c.newest
	if c.newest != nil {
		c.newest.newer = pc
	} else {
		c.oldest = pc
	}
	c.newest = pc
	c.nIdle++
	if c.sweep == nil {
		c.sweep = time.AfterFunc(c.idleTimeout, c.closeExpired)
	}
}

// put keeps pc for the next request to its host, or closes it when the
// host already has maxIdlePerHost idle connections. When the client then
// holds more than maxIdle idle connections, the least recently used one,
// whatever its host, is closed.
func (c *h1Client) put(pc *h1Conn) {
	c.mu.Lock()
	if c.closed || len(c.idle[pc.key]) >= c.maxIdlePerHost {
		c.mu.Unlock()
		pc.c.Close()
		return
	}
	var evicted *h1Conn
	if c.maxIdle > 0 && c.nIdle >= c.maxIdle {
		evicted = c.oldest
		c.evictIdle(evicted)
	}
	if c.idle == nil {
		c.idle = make(map[h1Key][]*h1Conn)
	}
	c.idle[pc.key] = append(c.idle[pc.key], pc)
	c.linkIdle(pc)
	c.mu.Unlock()
	if evicted != nil {
		evicted.close()
	}
}

// closeExpired closes the connections idle for idleTimeout or longer.
func (c *h1Client) closeExpired() {
	var expired []*h1Conn
	c.mu.Lock()
	c.sweep = nil
	for c.oldest != nil && time.Since(c.oldest.idleAt) >= c.idleTimeout {
		pc := c.oldest
		c.evictIdle(pc)
		expired = append(expired, pc)
	}
	if c.oldest != nil && !c.closed {
		c.sweep = time.AfterFunc(c.idleTimeout-time.Since(c.oldest.idleAt), c.closeExpired)
	}
	c.mu.Unlock()
	for _, pc := range expired {
		pc.close()
	}
}

// closeIdle closes every idle connection; with stop set, connections
// handed back later are closed too.
func (c *h1Client) closeIdle(stop bool) {
	c.mu.Lock()
	var all []*h1Conn
	for c.oldest != nil {
		pc := c.oldest
		c.evictIdle(pc)
		all = append(all, pc)
	}
	if c.sweep != nil {
		c.sweep.Stop()
		c.sweep = nil
	}
	c.closed = c.closed || stop
	c.mu.Unlock()
	// Closed without c.mu: closing an HTTP/2 connection tells its pool.
	for _, pc := range all {
		pc.close()
	}
}

// roundTrip writes r on pc and reads the response. keep reports whether pc
// can serve another request; stale, whether the response did not start
// (nothing of it arrived, or its first line was no status line), so that
// the request may be sent again on another connection.
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
	h, stale, err := pc.readHead()
	if err != nil {
		return resp, false, stale, err
	}
	resp.statusCode = h.status
	resp.retryAfter = h.retryAfter
	keep = h.reusable
	if h.status == 101 {
		// A protocol switch nobody asked for: the connection is no longer
		// HTTP.
		return resp, false, false, nil
	}
	if h.status == 204 || h.status == 304 {
		// No body, whatever the headers say: anything after the head is
		// not this response's.
		return resp, keep && pc.br.Buffered() == 0, false, nil
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
	if !keep {
		// The connection ends here: what is beyond the kept part is not
		// read.
		return resp, false, false, nil
	}
	if len(resp.body) == r.bodyLimit {
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
	} else {
		// Read to the end of the body: a chunked body's end must be seen
		// before the next response.
		var probe [1]byte
		if _, err := body.Read(probe[:]); err != io.EOF {
			return resp, false, false, nil
		}
	}
	if h.chunked && !pc.endOfChunked() {
		return resp, false, false, nil
	}
	// Not one byte beyond the response may have come: it would be taken
	// for the start of the next one.
	return resp, pc.br.Buffered() == 0, false, nil
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
	status int
	length int64 // of the body; -1 when delimited otherwise
	// chunked is set when the body is in chunks.
	chunked bool
	// reusable reports whether the head lets the connection serve again
	// once the body is read to its end.
	reusable   bool
	retryAfter string
}

// errNotStatusLine is the first line of a response that is no status line.
type errNotStatusLine struct{ line string }

func (e *errNotStatusLine) Error() string {
	return fmt.Sprintf("malformed HTTP response %q", e.line)
}

// readHead reads the status line and headers of the final response,
// skipping informational (1xx) ones. stale reports whether no response
// started: nothing arrived, or the first line that did is no status line.
func (pc *h1Conn) readHead() (h head, stale bool, err error) {
	budget := maxResponseHeaderBytes
	interimReusable := true
	for first := true; ; first = false {
		line, n, err := readLine(pc.br, &budget)
		if err != nil {
			if errors.Is(err, io.EOF) && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return h, first && n == 0, err
		}
		minor, status, ok := parseStatusLine(line)
		if !ok {
			return h, first, &errNotStatusLine{line: string(line)}
		}
		if h, err = pc.readHeaders(minor, status, &budget); err != nil {
			return h, false, err
		}
		if status >= 100 && status < 200 && status != 101 {
			// What would make the final response's connection unfit
			// does the same here.
			interimReusable = interimReusable && h.reusable
			continue
		}
		h.reusable = h.reusable && interimReusable
		return h, false, nil
	}
}

// fieldKind names the headers the client reads.
type fieldKind uint8

const (
	fieldOther fieldKind = iota
	fieldContentLength
	fieldTransferEncoding
	fieldConnection
	fieldRetryAfter
)

// readHeaders reads the header lines that follow a status line, up to the
// blank one, and says what they mean for the response.
//
// Header lines are checked as net/http checks them: a name of token
// characters (or spaces, which make a name nobody looks for), a value
// without control characters but tab. Framing follows RFC 9112 6.3:
//
//   - Transfer-Encoding (HTTP/1.1 and later) overrides Content-Length:
//     chunked as the final coding delimits the body by its chunks, any other
//     by the end of the connection. Only a single "chunked" and no
//     Content-Length leave the connection fit to serve again.
//   - Transfer-Encoding in an HTTP/1.0 response is framing gone wrong
//     (RFC 9112 6.1): it is ignored, as net/http does, and the connection
//     is closed after the response.
//   - Content-Length must be decimal digits; given more than once, every
//     one must read the same, or the response is refused.
//   - A line folded onto Content-Length or Transfer-Encoding (obsolete
//     folding) refuses the response; one folded onto Connection closes the
//     connection after the response; onto Retry-After, it continues the
//     value.
func (pc *h1Conn) readHeaders(minor, status int, budget *int) (head, error) {
	h := head{status: status, length: -1}
	var (
		length                   int64 = -1
		lengthDigits             int
		lengthErr                error
		teLines                  int
		teChunkedOnly            bool // one Transfer-Encoding line, "chunked"
		teLastChunked            bool // chunked is the final coding
		connClose, connKeepAlive bool
		foldedConnection         bool
		retrySeen                bool
		last                     = fieldOther
	)
	for first := true; ; first = false {
		line, _, err := readLine(pc.br, budget)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return h, err
		}
		if len(line) == 0 {
			if lengthErr != nil {
				return h, lengthErr
			}
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			// An obsolete folded continuation of the previous line.
			if first || !validFieldValue(line) {
				return h, fmt.Errorf("malformed MIME header line: %q", line)
			}
			switch last {
			case fieldContentLength, fieldTransferEncoding:
				return h, fmt.Errorf("malformed MIME header line: %q folds a framing header", line)
			case fieldConnection:
				foldedConnection = true
			case fieldRetryAfter:
				h.retryAfter += " " + string(trimOWS(line))
			}
			continue
		}
		if lengthErr != nil {
			return h, lengthErr
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validFieldName(line[:colon]) || !validFieldValue(line[colon+1:]) {
			return h, fmt.Errorf("malformed MIME header line: %q", line)
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		last = fieldOther
		switch {
		case asciiEqualFold(name, "content-length"):
			last = fieldContentLength
			// A bad one is refused once it is known not to be folded
			// (which is refused as such).
			n, ok := parseLength(value)
			switch {
			case !ok:
				lengthErr = fmt.Errorf("bad Content-Length %q", value)
			case lengthDigits > 0 && (n != length || len(value) != lengthDigits):
				lengthErr = fmt.Errorf("bad Content-Length %q: another one says %d", value, length)
			default:
				length, lengthDigits = n, len(value)
			}
		case asciiEqualFold(name, "transfer-encoding"):
			last = fieldTransferEncoding
			teLines++
			teChunkedOnly = teLines == 1 && asciiEqualFold(value, "chunked")
			for coding := range bytes.SplitSeq(value, []byte(",")) {
				if coding = trimOWS(coding); len(coding) > 0 {
					teLastChunked = asciiEqualFold(coding, "chunked")
				}
			}
		case asciiEqualFold(name, "connection"):
			last = fieldConnection
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = trimOWS(tok)
				connClose = connClose || asciiEqualFold(tok, "close")
				connKeepAlive = connKeepAlive || asciiEqualFold(tok, "keep-alive")
			}
		case asciiEqualFold(name, "retry-after"):
			if !retrySeen {
				// The first one counts, as net/http's Header.Get has it.
				last = fieldRetryAfter
				h.retryAfter, retrySeen = string(value), true
			}
		}
	}
	h.length = length
	h.reusable = !connClose && !foldedConnection && (minor >= 1 || connKeepAlive)
	switch {
	case teLines == 0:
	case minor == 0:
		h.reusable = false
	default:
		h.chunked, h.length = teLastChunked, -1
		if !teChunkedOnly || lengthDigits > 0 {
			h.reusable = false
		}
	}
	return h, nil
}

// endOfChunked reads what ends a chunked body after its last chunk: an
// empty trailer. It reports false, leaving the rest unread, when a trailer
// follows (it is not needed, and reading it safely is not worth its rarity:
// the connection is closed instead).
func (pc *h1Conn) endOfChunked() bool {
	crlf, err := pc.br.Peek(2)
	if err != nil || crlf[0] != '\r' || crlf[1] != '\n' {
		return false
	}
	_, _ = pc.br.Discard(2)
	return true
}

// readLine reads one line without its line ending, counting the bytes read
// against budget; n is how many were read. The line is valid until the
// next read.
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
			long = append(long, frag...)
			continue
		}
		if err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, n, err
		}
		if long != nil {
			frag = append(long, frag...)
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

// parseLength reads a Content-Length value: decimal digits, below 2^63.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' || n > (1<<63-1-int64(c-'0'))/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// fieldBytes classes the bytes of header lines: fieldToken for the
// characters of a header name (RFC 9110 5.1 token), fieldValue for those
// allowed in a value (visible, space, tab, and obs-text).
var fieldBytes = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if c >= 0x20 && c != 0x7f || c == '\t' {
			t[c] |= fieldValue
		}
		if c < 0x80 && ('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0) {
			t[c] |= fieldToken
		}
	}
	return t
}()

const (
	fieldToken = 1 << iota
	fieldValue
)

// validFieldName reports whether b is a header name net/http accepts:
// token characters, and spaces (a name with one matches no header the
// client reads).
func validFieldName(b []byte) bool {
	for _, c := range b {
		if fieldBytes[c]&fieldToken == 0 && c != ' ' {
			return false
		}
	}
	return true
}

// validFieldValue reports whether b holds no control character but tab.
func validFieldValue(b []byte) bool {
	for _, c := range b {
		if fieldBytes[c]&fieldValue == 0 {
			return false
		}
	}
	return true
}

// trimOWS trims spaces and tabs (RFC 9110 optional whitespace) off b.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
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
