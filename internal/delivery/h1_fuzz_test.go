package delivery

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// replayConn is a net.Conn whose reads return raw, at most step bytes at a
// time, and then the end of the connection. Writes are thrown away.
type replayConn struct {
	r    *bytes.Reader
	step int
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(p) > c.step {
		p = p[:c.step]
	}
	return c.r.Read(p)
}
func (c *replayConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *replayConn) Close() error                     { return nil }
func (c *replayConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *replayConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *replayConn) SetDeadline(time.Time) error      { return nil }
func (c *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }

// fuzzBodyLimit is the kept part of a body in the differential test: small,
// so that the drain beyond it is exercised too.
const fuzzBodyLimit = 16

// h1Outcome is how the h1 client reads raw as the response to a POST.
// reusable is its decision to pool the connection, and nothing of raw left
// unread: the pool's check finds any such byte before the connection serves
// again.
func h1Outcome(raw []byte, step int) (resp h1Response, reusable bool, err error) {
	rc := &replayConn{r: bytes.NewReader(raw), step: step}
	pc := &h1Conn{c: rc, br: bufio.NewReaderSize(rc, 4<<10), bw: bufio.NewWriterSize(rc, 4<<10)}
	r := &h1Request{
		method: "POST", url: &url.URL{Scheme: "http", Host: "receiver.test", Path: "/"},
		body: []byte("{}"), deadline: time.Now().Add(time.Minute), bodyLimit: fuzzBodyLimit,
	}
	resp, keep, _, err := pc.roundTrip(context.Background(), r)
	return resp, keep && rc.r.Len() == 0, err
}

// refResult is what net/http made of a response.
type refResult struct {
	resp     *http.Response
	body     []byte
	bodyErr  error
	reusable bool
}

// refOutcome is how net/http reads raw as the response to a POST, as its
// Transport does: interim (1xx) responses skipped, the body read to its end.
// reusable is whether net/http would let the connection serve again: the
// response does not ask to close, its body was read to its end without
// error, and nothing follows it (the Transport closes a connection on which
// anything arrives while it is idle).
func refOutcome(raw []byte) (refResult, error) {
	src := bytes.NewReader(raw)
	br := bufio.NewReaderSize(src, 4<<10)
	req := &http.Request{Method: "POST"}
	var res refResult
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return res, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != 101 {
			continue
		}
		res.resp = resp
		break
	}
	res.body, res.bodyErr = io.ReadAll(res.resp.Body)
	res.reusable = !res.resp.Close && res.bodyErr == nil && res.resp.StatusCode != 101 &&
		br.Buffered() == 0 && src.Len() == 0
	return res, nil
}

// h1Stricter reports whether err is h1 refusing on purpose a response
// that net/http reads: a status line other than "HTTP/1.x NNN" with
// NNN from 100 (net/http takes any three characters Atoi reads, extra
// spaces, and other versions), or obsolete line folding onto a framing
// header.
func h1Stricter(err error) bool {
	if _, ok := errors.AsType[*errNotStatusLine](err); ok {
		return true
	}
	return strings.Contains(err.Error(), "folds a framing header")
}

// seeds are raw responses covering every rule of the h1 client's reading:
// framing, reuse, interim responses, header checks and trailing bytes.
var seeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n" + strings.Repeat("x", 40),
	"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n" + strings.Repeat("x", 30),
	"HTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nabc",
	"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nJUNK",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n" + strings.Repeat("y", 20) + "\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nabcdef",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\nabc",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\nabc",
	"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.0 200 OK\r\nConnection: close, keep-alive\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
	"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\n\r\nuntil the end",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 02\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length:" + strings.Repeat(" ", 5000) + "2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n 3\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n close\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\n X: 1\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nX-Bad\x01: 1\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nX-Bad: \x7f\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\u0085\r\n\r\nok",
	"HTTP/1.1 200 OK\r\n: empty name\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
	"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
	"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nRetry-After: 9\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 503 Busy\r\nRetry-After: Wed, 21 Oct 2015\r\n 07:28:00 GMT\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nc",
	"HTTP/1.1 100 Continue\r\nTransfer-Encoding: gzip\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc",
	"HTTP/1.1 100 Continue\r\nContent-Length: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nframes",
	"HTTP/1.1 500 Oops\r\nContent-Length: 5\r\n\r\nerror",
	"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n",
	"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
	"SSH-2.0-OpenSSH_9.6\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Le",
	"",
}

// FuzzH1VsReadResponse feeds the same raw bytes, as the response to a
// POST, to the h1 client and to net/http's ReadResponse, and holds h1 to
// net/http: the same status, the same kept body, the same Retry-After, and
// never a connection kept for reuse that net/http would not reuse. h1 may
// refuse what net/http reads only where h1Stricter says so, and may read
// (without keeping the connection) what net/http refuses.
func FuzzH1VsReadResponse(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s), uint8(255))
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, raw []byte, step uint8) {
		if len(raw) > 16<<10 {
			return // below the header budget: the two do not differ by it
		}
		got, reusable, err := h1Outcome(raw, int(step)+1)
		ref, refErr := refOutcome(raw)
		if refErr != nil {
			if reusable {
				t.Fatalf("net/http refuses the response (%v); h1 read status %d and keeps the connection", refErr, got.statusCode)
			}
			return
		}
		if err != nil {
			if !h1Stricter(err) {
				t.Fatalf("h1 refuses what net/http reads (status %d): %v", ref.resp.StatusCode, err)
			}
			return
		}
		if got.statusCode != ref.resp.StatusCode {
			t.Fatalf("status %d, net/http %d", got.statusCode, ref.resp.StatusCode)
		}
		if ra := ref.resp.Header.Get("Retry-After"); got.retryAfter != ra {
			t.Fatalf("Retry-After %q, net/http %q", got.retryAfter, ra)
		}
		want := ref.body[:min(len(ref.body), fuzzBodyLimit)]
		switch {
		case got.bodyErr != nil && ref.bodyErr == nil:
			t.Fatalf("body error %v; net/http read %q whole", got.bodyErr, ref.body)
		case got.bodyErr != nil:
			if !bytes.HasPrefix(want, got.body) {
				t.Fatalf("body %q (error %v), net/http %q (error %v)", got.body, got.bodyErr, ref.body, ref.bodyErr)
			}
		case ref.bodyErr != nil && len(ref.body) < fuzzBodyLimit:
			// net/http's error came after the body's last byte (a
			// trailer h1 does not read): the body must be whole.
			if !bytes.Equal(got.body, want) {
				t.Fatalf("body %q, net/http %q (error %v)", got.body, ref.body, ref.bodyErr)
			}
		default:
			if !bytes.Equal(got.body, want) {
				t.Fatalf("body %q, net/http %q", got.body, want)
			}
		}
		if reusable && !ref.reusable {
			t.Fatalf("h1 keeps the connection; net/http would not (close %v, body error %v)", ref.resp.Close, ref.bodyErr)
		}
	})
}
