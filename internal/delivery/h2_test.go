package delivery

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testH2Client is an h1 client offering h2, trusting pool.
func testH2Client(pool *x509.CertPool) *h1Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &h1Client{dial: d.DialContext, tls: &tls.Config{RootCAs: pool}, maxIdlePerHost: 4,
		idleTimeout: time.Minute, h2: newH2Pool(time.Minute)}
}

// h2Server is an httptest TLS server offering h2, counting the connections
// it accepted and closed.
type h2Server struct {
	*httptest.Server
	opened, closed atomic.Int32
}

func startH2Server(t *testing.T, h2 bool, conf *http.HTTP2Config, handler http.HandlerFunc) *h2Server {
	t.Helper()
	s := &h2Server{Server: httptest.NewUnstartedServer(handler)}
	s.EnableHTTP2 = h2
	s.Config.HTTP2 = conf
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.opened.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.closed.Add(1)
		}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *h2Server) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.Certificate())
	return p
}

func postTo(rawURL string) *h1Request {
	u, _ := url.Parse(rawURL)
	return &h1Request{method: "POST", url: u, body: []byte(`{"a":1}`), header: []string{"Content-Type", "application/json"},
		deadline: time.Now().Add(5 * time.Second), bodyLimit: 64}
}

// waitUntil polls cond until it holds or 5 s pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestH2ConcurrentRequestsShareAConnection sends requests that are all in
// flight at once, to a host reached for the first time: they wait for one
// handshake and share its connection, up to the receiver's stream limit,
// past which another connection is dialled. Past the limit they are sent
// in waves of the limit, each sent once the previous one arrived: a new
// connection is taken to allow 100 streams until the receiver's SETTINGS
// come, so more at once would wait on it (see README, "Delivery").
func TestH2ConcurrentRequestsShareAConnection(t *testing.T) {
	for _, tt := range []struct {
		name      string
		streams   uint32 // the receiver's limit; 0 for its default (250)
		n, wave   int
		wantConns int32
	}{
		{"within the stream limit", 0, 12, 12, 1},
		{"past the stream limit", 4, 12, 4, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var arrived atomic.Int32
			all := make(chan struct{})
			var once sync.Once
			srv := startH2Server(t, true, &http.HTTP2Config{MaxConcurrentStreams: int(tt.streams)}, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/warm" {
					return
				}
				if arrived.Add(1) == int32(tt.n) {
					once.Do(func() { close(all) })
				}
				select {
				case <-all:
				case <-time.After(5 * time.Second):
					w.WriteHeader(http.StatusGatewayTimeout)
				}
			})
			c := testH2Client(srv.pool())
			defer c.closeIdle(true)
			if tt.streams > 0 {
				// The receiver's limit is known once its SETTINGS came:
				// before its first answer.
				if resp, err := c.do(context.Background(), postTo(srv.URL+"/warm")); err != nil || resp.statusCode != 200 {
					t.Fatalf("warm-up: %v %d", err, resp.statusCode)
				}
			}
			var wg sync.WaitGroup
			codes := make([]int, tt.n)
			errs := make([]error, tt.n)
			for i := range tt.n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := c.do(context.Background(), postTo(srv.URL+"/hook"))
					codes[i], errs[i] = resp.statusCode, err
				}()
				if (i+1)%tt.wave == 0 {
					waitUntil(t, "the wave to arrive", func() bool { return arrived.Load() == int32(i+1) })
				}
			}
			wg.Wait()
			for i := range tt.n {
				if errs[i] != nil || codes[i] != 200 {
					t.Errorf("request %d: %d %v", i, codes[i], errs[i])
				}
			}
			if got := srv.opened.Load(); got != tt.wantConns {
				t.Errorf("%d connections, want %d", got, tt.wantConns)
			}
		})
	}
}

// TestH2IdleCap checks that idle HTTP/2 connections count against the
// client's cap of idle connections with the HTTP/1.1 ones, least recently
// used closed first, and that a connection closed leaves the pool.
func TestH2IdleCap(t *testing.T) {
	ok := func(http.ResponseWriter, *http.Request) {}
	a := startH2Server(t, true, nil, ok)
	b := startH2Server(t, true, nil, ok)
	h1 := startH2Server(t, false, nil, ok)
	pool := x509.NewCertPool()
	for _, s := range []*h2Server{a, b, h1} {
		pool.AddCert(s.Certificate())
	}
	c := testH2Client(pool)
	c.maxIdle = 2
	defer c.closeIdle(true)
	idle := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.nIdle
	}
	for _, s := range []*h2Server{a, b, h1} {
		if resp, err := c.do(context.Background(), postTo(s.URL)); err != nil || resp.statusCode != 200 {
			t.Fatalf("%s: %v %d", s.URL, err, resp.statusCode)
		}
	}
	// a's connection, the least recently used, was closed for h1's.
	waitUntil(t, "a's connection to close", func() bool { return a.closed.Load() == 1 })
	waitUntil(t, "two idle connections", func() bool { return idle() == 2 })
	if b.closed.Load() != 0 || h1.closed.Load() != 0 {
		t.Errorf("closed: b %d, h1 %d; want neither", b.closed.Load(), h1.closed.Load())
	}
	c.h2.mu.Lock()
	left := len(c.h2.hosts[h1Key{tls: true, addr: a.Listener.Addr().String()}].conns)
	c.h2.mu.Unlock()
	if left != 0 {
		t.Errorf("a still has %d connections in the pool", left)
	}
	// b's connection serves again, and is no longer idle while it does.
	if resp, err := c.do(context.Background(), postTo(b.URL)); err != nil || resp.statusCode != 200 {
		t.Fatalf("b again: %v %d", err, resp.statusCode)
	}
	if b.opened.Load() != 1 {
		t.Errorf("b: %d connections, want its one reused", b.opened.Load())
	}
	c.closeIdle(true)
	waitUntil(t, "every connection to close", func() bool { return b.closed.Load() == 1 && h1.closed.Load() == 1 })
}

// rawH2 is an HTTP/2 receiver written frame by frame, so that a test can
// say exactly when it sends GOAWAY or drops a connection: it answers every
// request 200 with no body, except the one numbered at (counted from 1 over
// every connection), on which it does what happens says.
type rawH2 struct {
	ln       net.Listener
	url      string
	pool     *x509.CertPool
	requests atomic.Int32
	conns    atomic.Int32
}

const (
	rawGoAway = iota // GOAWAY naming the last stream answered, then close
	rawDrop          // close without a word
)

func startRawH2(t *testing.T, at int32, happens int) *rawH2 {
	t.Helper()
	// httptest's certificate, served by a listener of our own.
	cert := httptest.NewUnstartedServer(nil)
	cert.StartTLS()
	cfg := cert.TLS.Clone()
	pool := x509.NewCertPool()
	pool.AddCert(cert.Certificate())
	cert.Close()
	cfg.NextProtos = []string{"h2"}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &rawH2{ln: ln, url: "https://" + ln.Addr().String() + "/hook", pool: pool}
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
				s.serve(c, at, happens)
			}()
		}
	}()
	return s
}

func (s *rawH2) serve(c net.Conn, at int32, happens int) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	preface := make([]byte, 24)
	if _, err := io.ReadFull(br, preface); err != nil {
		return
	}
	frame := func(typ, flags byte, stream uint32, payload []byte) error {
		h := make([]byte, 9, 9+len(payload))
		h[0], h[1], h[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
		h[3], h[4] = typ, flags
		binary.BigEndian.PutUint32(h[5:], stream)
		_, err := c.Write(append(h, payload...))
		return err
	}
	const (
		typeData, typeHeaders, typeSettings, typeGoAway = 0, 1, 4, 7
		flagEndStream, flagAck, flagEndHeaders          = 1, 1, 4
	)
	if frame(typeSettings, 0, 0, nil) != nil {
		return
	}
	var lastAnswered uint32
	for {
		var h [9]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return
		}
		n := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
		typ, flags, stream := h[3], h[4], binary.BigEndian.Uint32(h[5:])&(1<<31-1)
		if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
			return
		}
		switch {
		case typ == typeSettings && flags&flagAck == 0:
			if frame(typeSettings, flagAck, 0, nil) != nil {
				return
			}
		case typ == typeHeaders:
			if s.requests.Add(1) == at {
				if happens == rawGoAway {
					payload := make([]byte, 8)
					binary.BigEndian.PutUint32(payload, lastAnswered)
					_ = frame(typeGoAway, 0, 0, payload)
				}
				return
			}
			if flags&flagEndStream != 0 {
				lastAnswered = stream
				// 0x88: ":status: 200" from HPACK's static table.
				if frame(typeHeaders, flagEndHeaders|flagEndStream, stream, []byte{0x88}) != nil {
					return
				}
			}
		case typ == typeData && flags&flagEndStream != 0:
			lastAnswered = stream
			if frame(typeHeaders, flagEndHeaders|flagEndStream, stream, []byte{0x88}) != nil {
				return
			}
		}
	}
}

// TestH2ResentAfterGoAwayOrLoss checks that a request on a kept connection
// that the receiver did not take (GOAWAY before its stream) or that got no
// answer (the connection dropped) is sent once more on a new connection,
// as over HTTP/1.1; on a new connection it is not.
func TestH2ResentAfterGoAwayOrLoss(t *testing.T) {
	for _, tt := range []struct {
		name    string
		happens int
		at      int32
		wantErr bool
		conns   int32
	}{
		{"GOAWAY on a kept connection", rawGoAway, 2, false, 2},
		{"dropped on a kept connection", rawDrop, 2, false, 2},
		{"GOAWAY on a new connection", rawGoAway, 1, true, 1},
		{"dropped on a new connection", rawDrop, 1, true, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startRawH2(t, tt.at, tt.happens)
			c := testH2Client(s.pool)
			defer c.closeIdle(true)
			for i := int32(1); i <= tt.at; i++ {
				resp, err := c.do(context.Background(), postTo(s.url))
				if i < tt.at {
					if err != nil || resp.statusCode != 200 {
						t.Fatalf("request %d: %v %d", i, err, resp.statusCode)
					}
					continue
				}
				if tt.wantErr != (err != nil) || (err == nil && resp.statusCode != 200) {
					t.Fatalf("request %d: %v %d; want an error: %v", i, err, resp.statusCode, tt.wantErr)
				}
			}
			if got := s.conns.Load(); got != tt.conns {
				t.Errorf("%d connections, want %d", got, tt.conns)
			}
		})
	}
}
