package delivery_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// listen opens a TCP listener on addr ("127.0.0.2:0", "[::1]:0").
func listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	return ln
}

// newReceiverOn is newReceiver on a listener of the caller's, served over
// TLS (httptest's self-signed certificate) when useTLS is set.
func newReceiverOn(t testing.TB, ln net.Listener, useTLS bool, handler func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	rc := &receiver{handler: handler}
	rc.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, received{at: time.Now(), method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body})
		n := len(rc.reqs)
		rc.mu.Unlock()
		if rc.handler != nil {
			rc.handler(w, r, n)
		}
	}))
	rc.Listener.Close()
	rc.Listener = ln
	// Handshakes that the client refuses are expected.
	rc.Config.ErrorLog = log.New(io.Discard, "", 0)
	if useTLS {
		rc.StartTLS()
	} else {
		rc.Start()
	}
	t.Cleanup(rc.Close)
	return rc
}

// port is the port of a server URL.
func port(rawURL string) string {
	return rawURL[strings.LastIndex(rawURL, ":")+1:]
}

// certPool trusts the certificate of an httptest TLS server.
func certPool(srv *httptest.Server) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return pool
}

// startDNS runs a DNS server on 127.0.0.1 that answers A and AAAA queries
// from names (lower-case, no trailing dot) and NXDOMAIN for other names, and
// returns a resolver that asks only it.
func startDNS(t testing.TB, names map[string][]netip.Addr) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dns listen: %v", err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswer(buf[:n], names); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	addr := pc.LocalAddr().String()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", addr)
		},
	}
}

// dnsAnswer builds the response to query q, or nil when q is unreadable.
func dnsAnswer(q []byte, names map[string][]netip.Addr) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	i := 12
	var labels []string
	for {
		if i >= len(q) {
			return nil
		}
		l := int(q[i])
		i++
		if l == 0 {
			break
		}
		if l&0xC0 != 0 || i+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i:i+l]))
		i += l
	}
	if i+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i:])
	i += 4
	question := q[12:i]
	addrs, known := names[strings.ToLower(strings.Join(labels, "."))]

	var answers []byte
	count := 0
	for _, a := range addrs {
		var rdata []byte
		switch {
		case qtype == 1 && a.Is4():
			rdata = a.AsSlice()
		case qtype == 28 && a.Is6():
			rdata = a.AsSlice()
		default:
			continue
		}
		// Name: a pointer to the question's; class IN; TTL 0.
		answers = append(answers, 0xC0, 12, byte(qtype>>8), byte(qtype), 0, 1, 0, 0, 0, 0, 0, byte(len(rdata)))
		answers = append(answers, rdata...)
		count++
	}
	flags := uint16(0x8000 | 0x0400 | 0x0100 | 0x0080) // response, authoritative, RD, RA
	if !known {
		flags |= 3 // NXDOMAIN
	}
	out := make([]byte, 12, 12+len(question)+len(answers))
	copy(out, q[:2])
	binary.BigEndian.PutUint16(out[2:], flags)
	binary.BigEndian.PutUint16(out[4:], 1)
	binary.BigEndian.PutUint16(out[6:], uint16(count))
	out = append(out, question...)
	return append(out, answers...)
}

// testProxy is an HTTP (CONNECT and forwarding) or SOCKS5 proxy on
// 127.0.0.1 that counts its connections and records what it was asked.
type testProxy struct {
	URL   string // http://127.0.0.1:PORT or socks5://127.0.0.1:PORT
	conns atomic.Int64
	// user and pass, when set, are the credentials the proxy requires.
	user, pass string

	mu    sync.Mutex
	asked []string // "CONNECT host:port", "POST http://host:port/path", "SOCKS host:port"
	peers []string // remote addresses of accepted connections
	open  []net.Conn
}

func (p *testProxy) note(what string) {
	p.mu.Lock()
	p.asked = append(p.asked, what)
	p.mu.Unlock()
}

func (p *testProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.asked...)
}

func (p *testProxy) remotes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.peers...)
}

// accepted counts a connection and keeps it to be closed at cleanup.
func (p *testProxy) accepted(c net.Conn) {
	p.conns.Add(1)
	p.mu.Lock()
	p.peers = append(p.peers, c.RemoteAddr().String())
	p.open = append(p.open, c)
	p.mu.Unlock()
}

func (p *testProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.open {
		c.Close()
	}
}

// pipe copies between a and b until either side ends, then closes both.
func pipe(a io.ReadWriteCloser, aReader io.Reader, b io.ReadWriteCloser) {
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, aReader); done <- struct{}{} }()
	go func() { _, _ = io.Copy(a, b); done <- struct{}{} }()
	<-done
	a.Close()
	b.Close()
}

// startHTTPProxy runs an HTTP proxy: CONNECT tunnels, absolute-form
// requests are forwarded.
func startHTTPProxy(t testing.TB, user, pass string) *testProxy {
	t.Helper()
	p := &testProxy{user: user, pass: pass}
	forward := &http.Transport{}
	t.Cleanup(forward.CloseIdleConnections)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.user != "" {
			want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.user+":"+p.pass))
			if r.Header.Get("Proxy-Authorization") != want {
				w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusProxyAuthRequired)
				return
			}
		}
		if r.Method == http.MethodConnect {
			p.note("CONNECT " + r.Host)
			c, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			tc, err := net.Dial("tcp", r.Host)
			if err != nil {
				_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
				c.Close()
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
			pipe(c, brw, tc)
			return
		}
		p.note(r.Method + " " + r.URL.String())
		if r.URL.Host == "" {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.Header.Del("Proxy-Authorization")
		resp, err := forward.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			p.accepted(c)
		}
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		p.closeAll()
	})
	p.URL = srv.URL
	return p
}

// startSOCKS5Proxy runs a SOCKS5 proxy (CONNECT only; username/password
// authentication when user is set).
func startSOCKS5Proxy(t testing.TB, user, pass string) *testProxy {
	t.Helper()
	p := &testProxy{user: user, pass: pass}
	ln := listen(t, "127.0.0.1:0")
	t.Cleanup(func() {
		ln.Close()
		p.closeAll()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted(c)
			go p.serveSOCKS(c)
		}
	}()
	p.URL = "socks5://" + ln.Addr().String()
	return p
}

func (p *testProxy) serveSOCKS(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	if err := p.socksHandshake(br, c); err != nil {
		return
	}
	var req [4]byte
	if _, err := io.ReadFull(br, req[:]); err != nil || req[0] != 5 || req[1] != 1 {
		return
	}
	var host string
	switch req[3] {
	case 1, 4:
		ip := make([]byte, 4)
		if req[3] == 4 {
			ip = make([]byte, 16)
		}
		if _, err := io.ReadFull(br, ip); err != nil {
			return
		}
		a, _ := netip.AddrFromSlice(ip)
		host = a.String()
	case 3:
		n, err := br.ReadByte()
		if err != nil {
			return
		}
		name := make([]byte, n)
		if _, err := io.ReadFull(br, name); err != nil {
			return
		}
		host = string(name)
	default:
		return
	}
	var portBytes [2]byte
	if _, err := io.ReadFull(br, portBytes[:]); err != nil {
		return
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(portBytes[:]))))
	p.note("SOCKS " + target)
	tc, err := net.Dial("tcp", target)
	if err != nil {
		_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
		return
	}
	if _, err := c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}); err != nil {
		tc.Close()
		return
	}
	pipe(c, br, tc)
}

// socksHandshake negotiates the method and, when the proxy has
// credentials, checks them.
func (p *testProxy) socksHandshake(br *bufio.Reader, c net.Conn) error {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil || hdr[0] != 5 {
		return errors.New("not socks5")
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(br, methods); err != nil {
		return err
	}
	want := byte(0)
	if p.user != "" {
		want = 2
	}
	if !strings.ContainsRune(string(methods), rune(want)) {
		_, _ = c.Write([]byte{5, 0xFF})
		return errors.New("no acceptable method")
	}
	if _, err := c.Write([]byte{5, want}); err != nil {
		return err
	}
	if want == 0 {
		return nil
	}
	readField := func() (string, error) {
		n, err := br.ReadByte()
		if err != nil {
			return "", err
		}
		b := make([]byte, n)
		_, err = io.ReadFull(br, b)
		return string(b), err
	}
	if v, err := br.ReadByte(); err != nil || v != 1 {
		return errors.New("bad auth version")
	}
	u, err := readField()
	if err != nil {
		return err
	}
	pw, err := readField()
	if err != nil {
		return err
	}
	if u != p.user || pw != p.pass {
		_, _ = c.Write([]byte{1, 1})
		return errors.New("bad credentials")
	}
	_, err = c.Write([]byte{1, 0})
	return err
}
