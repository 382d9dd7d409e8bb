package delivery

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scripted is a TCP server that reads HTTP requests and answers each with
// the next of its answers, whatever connection it came on. An answer ending
// in "<close>" has the connection closed after it is written.
type scripted struct {
	ln      net.Listener
	mu      sync.Mutex
	answers []string
	next    int
	conns   atomic.Int32 // connections accepted
	reqs    []*http.Request
	bodies  []string
}

func startScripted(t *testing.T, answers ...string) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{ln: ln, answers: answers}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					body, _ := io.ReadAll(req.Body)
					s.mu.Lock()
					s.reqs = append(s.reqs, req)
					s.bodies = append(s.bodies, string(body))
					answer := "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"
					if s.next < len(s.answers) {
						answer = s.answers[s.next]
						s.next++
					}
					s.mu.Unlock()
					answer, closing := strings.CutSuffix(answer, "<close>")
					if _, err := io.WriteString(c, answer); err != nil || closing {
						return
					}
				}
			}()
		}
	}()
	return s
}

func (s *scripted) url() *url.URL {
	return &url.URL{Scheme: "http", Host: s.ln.Addr().String(), Path: "/hook", RawQuery: "a=1"}
}

func testH1Client() *h1Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &h1Client{dial: d.DialContext, maxIdlePerHost: 4, idleTimeout: time.Minute}
}

func (s *scripted) request(body string) *h1Request {
	return &h1Request{
		method: "POST", url: s.url(), body: []byte(body),
		header:   []string{"Content-Type", "application/json", "X-Custom-Name", "v"},
		deadline: time.Now().Add(5 * time.Second), bodyLimit: 16,
	}
}

func TestH1Responses(t *testing.T) {
	tests := []struct {
		name       string
		answer     string
		status     int
		body       string
		retryAfter string
		bodyErr    string
		err        string
		reused     bool // the next request goes over the same connection
	}{
		{name: "content length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok", reused: true},
		{name: "no content", answer: "HTTP/1.1 204 No Content\r\n\r\n", status: 204, reused: true},
		{name: "chunked", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
			status: 200, body: "abcde", reused: true},
		// A trailer is not read: the connection is closed instead.
		{name: "chunked with trailer", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n",
			status: 200, body: "abcde"},
		// RFC 9112 6.3: chunking wins over a length, and such a
		// connection is closed after the response.
		{name: "chunked beats length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
			status: 200, body: "z"},
		{name: "other coding: read to the end, length ignored", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nabcdef<close>",
			status: 200, body: "abcdef"},
		{name: "chunked after another coding", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			status: 200, body: "abc"},
		{name: "chunked twice", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			status: 200, body: "abc"},
		{name: "transfer coding in HTTP/1.0 ignored", answer: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
			status: 200, body: "abc"},
		{name: "bytes after the body", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK", status: 200, body: "ok"},
		{name: "bytes after a chunked body", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nJUNK", status: 200, body: "ok"},
		{name: "a second response after the body", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfake",
			status: 200, body: "ok"},
		{name: "no content with a body", answer: "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nabc", status: 204},
		{name: "interim response with another coding", answer: "HTTP/1.1 100 Continue\r\nTransfer-Encoding: gzip\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc",
			status: 200, body: "c"},
		{name: "two lengths alike", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok", reused: true},
		{name: "long header line", answer: "HTTP/1.1 200 OK\r\nContent-Length:" + strings.Repeat(" ", 5000) + "2\r\n\r\nok",
			status: 200, body: "ok", reused: true},
		{name: "folded connection header", answer: "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n close\r\nContent-Length: 2\r\n\r\nok",
			status: 200, body: "ok"},
		{name: "folded retry-after", answer: "HTTP/1.1 503 Busy\r\nRetry-After: Wed, 21 Oct 2015\r\n 07:28:00 GMT\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n",
			status: 503, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT", reused: true},
		{name: "interim responses skipped", answer: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nc",
			status: 201, body: "c", reused: true},
		{name: "retry-after read", answer: "HTTP/1.1 429 Too Many Requests\r\nretry-AFTER: 7\r\nContent-Length: 0\r\n\r\n",
			status: 429, retryAfter: "7", reused: true},
		{name: "connection close", answer: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", status: 200},
		{name: "HTTP/1.0 without keep-alive", answer: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", status: 200},
		{name: "HTTP/1.0 keep-alive", answer: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", status: 200, reused: true},
		{name: "HTTP/1.0 close beats keep-alive", answer: "HTTP/1.0 200 OK\r\nConnection: close, keep-alive\r\nContent-Length: 0\r\n\r\n", status: 200},
		{name: "body to the end of the connection", answer: "HTTP/1.1 200 OK\r\n\r\nuntil close<close>", status: 200, body: "until close"},
		{name: "body cut at the limit, rest drained", answer: "HTTP/1.1 500 Oops\r\nContent-Length: 40\r\n\r\n" + strings.Repeat("x", 40),
			status: 500, body: strings.Repeat("x", 16), reused: true},
		{name: "body shorter than its length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc<close>",
			status: 200, body: "abc", bodyErr: "unexpected EOF"},
		{name: "broken chunking", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n<close>", status: 200, bodyErr: "invalid byte in chunk length"},
		{name: "no status line", answer: "SSH-2.0-OpenSSH_9.6\r\n\r\n<close>", err: `malformed HTTP response "SSH-2.0-OpenSSH_9.6"`},
		{name: "bad status code", answer: "HTTP/1.1 2x0 OK\r\n\r\n<close>", err: "malformed HTTP response"},
		{name: "bad header line", answer: "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n<close>", err: "malformed MIME header line"},
		{name: "negative length", answer: "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n<close>", err: "bad Content-Length"},
		{name: "endless interim responses", answer: strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 5000) + "<close>",
			err: "server response headers exceeded 65536 bytes"},
		{name: "two lengths", answer: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab<close>", err: "bad Content-Length"},
		{name: "two lengths written differently", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 02\r\n\r\nab<close>", err: "bad Content-Length"},
		{name: "signed length", answer: "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nab<close>", err: "bad Content-Length"},
		{name: "length with a non-ASCII space", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\u00a0\r\n\r\nab<close>", err: "bad Content-Length"},
		{name: "folded length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n 3\r\n\r\nab<close>", err: "folds a framing header"},
		{name: "folded first header line", answer: "HTTP/1.1 200 OK\r\n X: 1\r\nContent-Length: 2\r\n\r\nab<close>", err: "malformed MIME header line"},
		{name: "control character in a value", answer: "HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 2\r\n\r\nab<close>", err: "malformed MIME header line"},
		{name: "bad character in a name", answer: "HTTP/1.1 200 OK\r\nX(y): 1\r\nContent-Length: 2\r\n\r\nab<close>", err: "malformed MIME header line"},
		{name: "closed mid-headers", answer: "HTTP/1.1 200 OK\r\nContent-Le<close>", err: "unexpected EOF"},
		{name: "closed before answering", answer: "<close>", err: "EOF"},
		{name: "headers too long", answer: "HTTP/1.1 200 OK\r\nX-Junk: " + strings.Repeat("j", 70<<10) + "\r\n\r\n<close>",
			err: "server response headers exceeded 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScripted(t, tt.answer, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")
			c := testH1Client()
			defer c.closeIdle(true)
			resp, err := c.do(context.Background(), srv.request(`{"n":1}`))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("do: %v", err)
			}
			if resp.statusCode != tt.status || string(resp.body) != tt.body || resp.retryAfter != tt.retryAfter {
				t.Fatalf("got status %d body %q retry-after %q; want %d %q %q",
					resp.statusCode, resp.body, resp.retryAfter, tt.status, tt.body, tt.retryAfter)
			}
			if tt.bodyErr != "" {
				if resp.bodyErr == nil || !strings.Contains(resp.bodyErr.Error(), tt.bodyErr) {
					t.Fatalf("body error %v, want one saying %q", resp.bodyErr, tt.bodyErr)
				}
				return
			}
			if resp.bodyErr != nil {
				t.Fatalf("body error: %v", resp.bodyErr)
			}
			// The next request must find its answer whole, on the kept
			// connection or on a new one.
			next, err := c.do(context.Background(), srv.request(`{"n":2}`))
			if err != nil || next.statusCode != 200 || string(next.body) != "next" {
				t.Fatalf("next request: %v, status %d body %q", err, next.statusCode, next.body)
			}
			wantConns := int32(2)
			if tt.reused {
				wantConns = 1
			}
			if got := srv.conns.Load(); got != wantConns {
				t.Fatalf("%d connections for two requests, want %d", got, wantConns)
			}
		})
	}
}

func TestH1RequestOnTheWire(t *testing.T) {
	srv := startScripted(t, "HTTP/1.1 204 No Content\r\n\r\n")
	c := testH1Client()
	defer c.closeIdle(true)
	r := srv.request(`{"hello":"world"}`)
	r.method = "PUT"
	if _, err := c.do(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	got := srv.reqs[0]
	if got.Method != "PUT" || got.URL.RequestURI() != "/hook?a=1" || got.Host != srv.ln.Addr().String() {
		t.Fatalf("request line %s %s, host %s", got.Method, got.URL.RequestURI(), got.Host)
	}
	if got.ContentLength != 17 || srv.bodies[0] != `{"hello":"world"}` {
		t.Fatalf("body %q (length %d)", srv.bodies[0], got.ContentLength)
	}
	if got.Header.Get("Content-Type") != "application/json" || got.Header.Get("X-Custom-Name") != "v" {
		t.Fatalf("headers %v", got.Header)
	}
}

// TestH1StaleConnectionRetried: a kept connection that the receiver closed
// while it was idle costs no failed attempt.
func TestH1StaleConnectionRetried(t *testing.T) {
	// The receiver closes the connection after its first answer without
	// saying so, as an idle timeout would: the client's copy still looks
	// usable.
	srv := startScripted(t,
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n<close>",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh")
	c := testH1Client()
	defer c.closeIdle(true)
	if _, err := c.do(context.Background(), srv.request("1")); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	kept := c.nIdle
	c.mu.Unlock()
	if kept != 1 {
		t.Fatalf("%d connections kept, want 1", kept)
	}
	resp, err := c.do(context.Background(), srv.request("2"))
	if err != nil || string(resp.body) != "fresh" {
		t.Fatalf("second request: %v, body %q", err, resp.body)
	}
	if got := srv.conns.Load(); got != 2 {
		t.Fatalf("%d connections, want 2", got)
	}
}

func TestH1DeadlineAndCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c) }() // never answers
		}
	}()
	u := &url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/"}
	c := testH1Client()
	defer c.closeIdle(true)

	start := time.Now()
	_, err = c.do(context.Background(), &h1Request{method: "POST", url: u, deadline: time.Now().Add(200 * time.Millisecond), bodyLimit: 10})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("error %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the 200ms deadline took %v", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	_, err = c.do(ctx, &h1Request{method: "POST", url: u, deadline: time.Now().Add(time.Minute), bodyLimit: 10})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("cancelled request: %v after %v", err, time.Since(start))
	}
	c.mu.Lock()
	n := c.nIdle
	c.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d interrupted connections kept", n)
	}
}

func TestH1IdleConnectionsBounded(t *testing.T) {
	srv := startScripted(t)
	c := testH1Client()
	c.idleTimeout = 50 * time.Millisecond
	defer c.closeIdle(true)
	key, _, _ := h1KeyOf(srv.url())
	var conns []*h1Conn
	for range 6 {
		pc, err := c.connect(context.Background(), key, "127.0.0.1", time.Now().Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, pc)
	}
	for _, pc := range conns {
		c.put(pc)
	}
	c.mu.Lock()
	n := c.nIdle
	c.mu.Unlock()
	if n != c.maxIdlePerHost {
		t.Fatalf("%d idle connections kept, want %d", n, c.maxIdlePerHost)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		n = c.nIdle
		c.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idle connections still kept after their idle timeout", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestParseStatusLine(t *testing.T) {
	tests := []struct {
		line          string
		minor, status int
		ok            bool
	}{
		{"HTTP/1.1 200 OK", 1, 200, true},
		{"HTTP/1.0 404", 0, 404, true},
		{"HTTP/1.1 599 Whatever it says", 1, 599, true},
		{"HTTP/1.1 20 OK", 0, 0, false},
		{"HTTP/1.1 2000 OK", 0, 0, false},
		{"HTTP/2 200 OK", 0, 0, false},
		{"HTTP/1.1 099 Low", 0, 0, false},
		{"http/1.1 200 OK", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		minor, status, ok := parseStatusLine([]byte(tt.line))
		if minor != tt.minor || status != tt.status || ok != tt.ok {
			t.Errorf("parseStatusLine(%q) = %d, %d, %v; want %d, %d, %v", tt.line, minor, status, ok, tt.minor, tt.status, tt.ok)
		}
	}
}

// TestH1TLSSessionsResumed: a connection dialled again to an https host
// resumes the TLS session of the previous one.
func TestH1TLSSessionsResumed(t *testing.T) {
	var mu sync.Mutex
	var resumed []bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		resumed = append(resumed, r.TLS.DidResume)
		mu.Unlock()
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c := testH1Client()
	c.tls = newTLSConfig(Config{RootCAs: pool})
	defer c.closeIdle(true)
	u, _ := url.Parse(srv.URL)
	for range 3 {
		resp, err := c.do(context.Background(), &h1Request{method: "POST", url: u, deadline: time.Now().Add(5 * time.Second), bodyLimit: 10})
		if err != nil || resp.statusCode != 204 {
			t.Fatalf("request: %v, status %d", err, resp.statusCode)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(resumed) != 3 || resumed[0] || !resumed[1] || !resumed[2] {
		t.Fatalf("sessions resumed: %v, want [false true true]", resumed)
	}
}

// TestH1LeftoversNeverAnswerTheNextRequest: a receiver that writes more
// than its response costs its own connection, never the next request's
// attempt.
func TestH1LeftoversNeverAnswerTheNextRequest(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	t.Run("written while the connection is idle", func(t *testing.T) {
		// The receiver answers, and later, while the client keeps the
		// connection idle, writes more on it.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var conns, reqs atomic.Int32
		junk := make(chan struct{})
		var wg sync.WaitGroup
		t.Cleanup(func() { ln.Close(); wg.Wait() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				first := conns.Add(1) == 1
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer c.Close()
					br := bufio.NewReader(c)
					for {
						req, err := http.ReadRequest(br)
						if err != nil {
							return
						}
						_, _ = io.Copy(io.Discard, req.Body)
						reqs.Add(1)
						if _, err := io.WriteString(c, ok); err != nil {
							return
						}
						if first {
							first = false
							<-junk
							if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfake"); err != nil {
								return
							}
						}
					}
				}()
			}
		}()
		c := testH1Client()
		defer c.closeIdle(true)
		u := &url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/"}
		req := func() *h1Request {
			return &h1Request{method: "POST", url: u, body: []byte("{}"), deadline: time.Now().Add(5 * time.Second), bodyLimit: 16}
		}
		if resp, err := c.do(context.Background(), req()); err != nil || string(resp.body) != "ok" {
			t.Fatalf("first request: %v, body %q", err, resp.body)
		}
		c.mu.Lock()
		idle := c.newest
		c.mu.Unlock()
		if idle == nil || idle.probe == nil {
			t.Fatal("the connection was not kept, or cannot be looked at")
		}
		close(junk)
		deadline := time.Now().Add(5 * time.Second)
		for idle.probe.idleQuiet() {
			if time.Now().After(deadline) {
				t.Fatal("the receiver's extra bytes never arrived")
			}
			time.Sleep(5 * time.Millisecond)
		}
		resp, err := c.do(context.Background(), req())
		if err != nil || string(resp.body) != "ok" {
			t.Fatalf("second request: %v, body %q", err, resp.body)
		}
		if conns.Load() != 2 || reqs.Load() != 2 {
			t.Fatalf("%d connections and %d requests, want 2 and 2: the written-to connection was used", conns.Load(), reqs.Load())
		}
	})
	t.Run("over TLS, in a record of its own that came with the response", func(t *testing.T) {
		// Both records arrive in one segment, so that TLS reads the
		// second one from the socket with the first and holds it.
		ts := httptest.NewUnstartedServer(nil)
		ts.StartTLS()
		cfg := ts.TLS.Clone()
		pool := x509.NewCertPool()
		pool.AddCert(ts.Certificate())
		ts.Close()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var conns atomic.Int32
		var wg sync.WaitGroup
		t.Cleanup(func() { ln.Close(); wg.Wait() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				conns.Add(1)
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer c.Close()
					hc := &holdConn{Conn: c}
					tc := tls.Server(hc, cfg)
					br := bufio.NewReader(tc)
					for {
						req, err := http.ReadRequest(br)
						if err != nil {
							return
						}
						_, _ = io.Copy(io.Discard, req.Body)
						hc.held = new(bytes.Buffer)
						_, _ = io.WriteString(tc, ok)
						_, _ = io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfake")
						held := hc.held
						hc.held = nil
						if _, err := c.Write(held.Bytes()); err != nil {
							return
						}
					}
				}()
			}
		}()
		c := testH1Client()
		c.tls = newTLSConfig(Config{RootCAs: pool})
		defer c.closeIdle(true)
		u := &url.URL{Scheme: "https", Host: ln.Addr().String(), Path: "/"}
		for i := range 2 {
			resp, err := c.do(context.Background(), &h1Request{method: "POST", url: u, body: []byte("{}"), deadline: time.Now().Add(5 * time.Second), bodyLimit: 16})
			if err != nil || string(resp.body) != "ok" {
				t.Fatalf("request %d: %v, body %q", i+1, err, resp.body)
			}
		}
		if got := conns.Load(); got != 2 {
			t.Fatalf("%d connections, want 2", got)
		}
	})
	t.Run("written just before the next response", func(t *testing.T) {
		// What the receiver sent after its first response comes in
		// only once the next request is on its way: the request goes
		// again on a new connection.
		srv := startScripted(t, ok, "JUNK\r\n"+ok, "HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nfresh")
		c := testH1Client()
		defer c.closeIdle(true)
		if _, err := c.do(context.Background(), srv.request("1")); err != nil {
			t.Fatal(err)
		}
		resp, err := c.do(context.Background(), srv.request("2"))
		if err != nil || resp.statusCode != 201 || string(resp.body) != "fresh" {
			t.Fatalf("second request: %v, status %d body %q", err, resp.statusCode, resp.body)
		}
		if got := srv.conns.Load(); got != 2 {
			t.Fatalf("%d connections, want 2", got)
		}
	})
}

// TestH1IdleCapAcrossHosts: past maxIdle idle connections, all hosts
// together, the least recently used one is closed.
func TestH1IdleCapAcrossHosts(t *testing.T) {
	const hosts = 5
	const noContent = "HTTP/1.1 204 No Content\r\n\r\n"
	var srvs []*scripted
	for range hosts {
		srvs = append(srvs, startScripted(t, noContent, noContent, noContent))
	}
	c := testH1Client()
	c.maxIdle = 3
	defer c.closeIdle(true)
	send := func(i int) {
		t.Helper()
		if resp, err := c.do(context.Background(), srvs[i].request("{}")); err != nil || resp.statusCode != 204 {
			t.Fatalf("request to host %d: %v, status %d", i, err, resp.statusCode)
		}
	}
	idleHosts := func() []int {
		c.mu.Lock()
		defer c.mu.Unlock()
		var got []int
		for pc := c.oldest; pc != nil; pc = pc.newer {
			for i, s := range srvs {
				if pc.key.addr == s.ln.Addr().String() {
					got = append(got, i)
				}
			}
		}
		if c.nIdle != len(got) {
			t.Fatalf("nIdle %d, %d connections listed", c.nIdle, len(got))
		}
		return got
	}
	send(0)
	send(1)
	send(2)
	send(0) // host 0 is the most recently used now
	send(3) // evicts host 1's connection
	if got := fmt.Sprint(idleHosts()); got != "[2 0 3]" {
		t.Fatalf("idle connections of hosts %s, least recently used first; want [2 0 3]", got)
	}
	send(4) // evicts host 2's
	if got := fmt.Sprint(idleHosts()); got != "[0 3 4]" {
		t.Fatalf("idle connections of hosts %s; want [0 3 4]", got)
	}
	// A host whose connection was closed dials again.
	send(1)
	if got := srvs[1].conns.Load(); got != 2 {
		t.Fatalf("host 1: %d connections, want 2 (its idle one was closed)", got)
	}
	if got := srvs[0].conns.Load(); got != 1 {
		t.Fatalf("host 0: %d connections, want 1 (its idle one was kept)", got)
	}
}

// TestH1TLSConnectionReused: a kept TLS connection passes the idle check
// (the session tickets a TLS 1.3 server sends are read with the first
// response, not left for the check to find) and serves again.
func TestH1TLSConnectionReused(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c := testH1Client()
	c.tls = newTLSConfig(Config{RootCAs: pool})
	defer c.closeIdle(true)
	u, _ := url.Parse(srv.URL)
	for i := range 3 {
		resp, err := c.do(context.Background(), &h1Request{method: "POST", url: u, body: []byte("{}"), deadline: time.Now().Add(5 * time.Second), bodyLimit: 10})
		if err != nil || resp.statusCode != 200 || string(resp.body) != "ok" {
			t.Fatalf("request %d: %v, status %d body %q", i, err, resp.statusCode, resp.body)
		}
	}
	if got := conns.Load(); got != 1 {
		t.Fatalf("%d connections for three requests, want 1", got)
	}
}

// holdConn passes writes through, but while held is set, when it keeps
// them: so that what several writes made goes out in one.
type holdConn struct {
	net.Conn
	held *bytes.Buffer
}

func (h *holdConn) Write(p []byte) (int, error) {
	if h.held != nil {
		return h.held.Write(p)
	}
	return h.Conn.Write(p)
}
