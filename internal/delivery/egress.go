package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// maxResponseHeaderBytes bounds the status line and headers of a response.
const maxResponseHeaderBytes = 64 << 10

// CheckProxyURL returns nil when u can serve as Config.Proxy: an http,
// https, socks5 or socks5h URL with a host.
func CheckProxyURL(u *url.URL) error {
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return fmt.Errorf("proxy %s: scheme %q is not http, https, socks5 or socks5h", u.Redacted(), u.Scheme)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("proxy %s: no host", u.Redacted())
	}
	return nil
}

// proxyAddr is the host:port the transport dials for proxy u.
func proxyAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		default:
			port = "1080"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// newDialer returns the dialer of every delivery connection, from the
// configured source address.
func newDialer(cfg Config) *net.Dialer {
	dialer := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Resolver:  cfg.Resolver,
	}
	if cfg.SourceAddr.IsValid() {
		dialer.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(cfg.SourceAddr.Unmap(), 0))
	}
	return dialer
}

// newTLSConfig returns the TLS settings of https deliveries. Sessions are
// cached so that a connection dialled again to a host (after its idle one
// was closed) resumes rather than repeats the full handshake: one per host,
// for as many hosts as may keep an idle connection (at least 1024).
func newTLSConfig(cfg Config) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		RootCAs:            cfg.RootCAs,
		InsecureSkipVerify: cfg.DangerouslySkipTLSVerify,
		ClientSessionCache: tls.NewLRUClientSessionCache(max(1024, cfg.MaxIdleConns)),
	}
}

// maxIdlePerHost is how many idle connections are kept per host. Many
// endpoints may share a host (a customer's one receiver, a webhook relay
// service): every request this node can have in flight may keep its
// connection, or connections are closed and dialled again under load.
func maxIdlePerHost(cfg Config) int {
	return max(cfg.Workers, cfg.MaxInFlightPerEndpoint)
}

// newDirectClient returns the client of deliveries made without a proxy.
// Its dialer asks the guard about every address it connects to, after
// resolution, so a name cannot smuggle in (or rebind to) a refused address.
func newDirectClient(cfg Config, g *guard) *h1Client {
	dialer := newDialer(cfg)
	dialer.Control = g.control
	c := &h1Client{
		dial:           dialer.DialContext,
		tls:            newTLSConfig(cfg),
		maxIdlePerHost: maxIdlePerHost(cfg),
		maxIdle:        cfg.MaxIdleConns,
		idleTimeout:    idleConnTimeout,
	}
	if cfg.HTTP2 {
		c.h2 = newH2Pool(idleConnTimeout)
	}
	return c
}

// idleConnTimeout is how long a delivery connection is kept idle.
const idleConnTimeout = 90 * time.Second

// newProxyTransport returns the transport of deliveries made through
// cfg.Proxy. It dials the proxy only, and send checks the target's
// addresses itself. Without cfg.Proxy (tests and benchmarks only, see
// Config.viaNetHTTP) it dials targets directly, through the guard.
func newProxyTransport(cfg Config, g *guard) *http.Transport {
	dialer := newDialer(cfg)
	tr := &http.Transport{
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           cfg.MaxIdleConns,
		MaxIdleConnsPerHost:    maxIdlePerHost(cfg),
		IdleConnTimeout:        idleConnTimeout,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		// Receivers do not compress unasked, and a compressed body would
		// cost CPU to keep 16 KiB of it.
		DisableCompression: true,
		TLSClientConfig:    newTLSConfig(cfg),
	}
	if cfg.Proxy == nil {
		dialer.Control = g.control
		tr.DialContext = dialer.DialContext
		return tr
	}
	proxy := *cfg.Proxy
	proxyErr := CheckProxyURL(&proxy)
	tr.Proxy = func(*http.Request) (*url.URL, error) {
		if proxyErr != nil {
			return nil, proxyErr
		}
		return &proxy, nil
	}
	// Every connection goes to the proxy; anything else would bypass the
	// guard, so it is refused.
	want := proxyAddr(&proxy)
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !strings.EqualFold(addr, want) {
			return nil, fmt.Errorf("dial %s: only the proxy %s may be dialled", addr, want)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return tr
}

// checkHost resolves host (unless it is an IP address) and returns a
// *RefusedError when the guard refuses any of its addresses. It stands in
// for the dial-time check when a proxy makes the connection.
func (g *guard) checkHost(ctx context.Context, r *net.Resolver, host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		return g.check(a)
	}
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return err
	}
	if len(addrs) == 0 {
		return errors.New("lookup " + host + ": no addresses")
	}
	for _, a := range addrs {
		if err := g.check(a); err != nil {
			return err
		}
	}
	return nil
}
