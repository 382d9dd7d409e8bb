package main

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"

	"github.com/hookrelay/hookrelay/internal/delivery"
)

// egressFlags registers the flags that shape outbound delivery requests:
// https-only, TLS verification, proxy, source address and the DNS cache.
func egressFlags(f *flagSet, c *config) {
	f.boolean(&c.URLPolicy.HTTPSOnly, "https-only", "HOOKRELAY_HTTPS_ONLY", "false",
		"deliver only to https URLs, except to the hosts of --https-only-exempt")
	f.value("https-only-exempt", "HOOKRELAY_HTTPS_ONLY_EXEMPT", "",
		"comma-separated host names, IP addresses or CIDRs that may still be reached over plain http (e.g. localhost,127.0.0.1)",
		func(s string) error {
			var exempt []string
			for _, part := range strings.Split(s, ",") {
				if part = strings.TrimSpace(part); part != "" {
					exempt = append(exempt, part)
				}
			}
			c.URLPolicy.Exempt = exempt
			return delivery.URLPolicy{Exempt: exempt}.Validate()
		})
	f.boolean(&c.DangerouslySkipTLSVerify, "dangerously-skip-tls-verify", "HOOKRELAY_DANGEROUSLY_SKIP_TLS_VERIFY", "false",
		"accept any certificate from endpoints (testing only: deliveries can then be read and forged on the way)")
	f.str(&c.CAFile, "ca-file", "HOOKRELAY_CA_FILE", "",
		"PEM file of extra certificate authorities trusted for endpoints, besides the system ones")
	f.value("proxy-url", "HOOKRELAY_PROXY_URL", "",
		"send every delivery through this proxy: http://host:port (CONNECT for https endpoints) or socks5://host:port, with optional user:password@",
		func(s string) error {
			c.ProxyURL = nil
			if s == "" {
				return nil
			}
			u, err := url.Parse(s)
			if err != nil {
				// The error would repeat the URL and its password.
				return fmt.Errorf("proxy url: not a URL")
			}
			if err := delivery.CheckProxyURL(u); err != nil {
				return err
			}
			c.ProxyURL = u
			return nil
		})
	f.boolean(&c.DNSCache, "dns-cache", "HOOKRELAY_DNS_CACHE", "true",
		"keep the DNS answers for endpoint host names for their TTL (at most 5m; negative answers at most 30s) instead of asking for each new connection; false: the platform's resolver, every time")
	f.boolean(&c.HTTP2, "http2", "HOOKRELAY_HTTP2", defaultHTTP2,
		"offer HTTP/2 to https endpoints (without --proxy-url): one connection per host carries many requests at once where the endpoint accepts it")
	f.value("source-address", "HOOKRELAY_SOURCE_ADDRESS", "",
		"local IP address that outbound delivery connections are made from",
		func(s string) error {
			c.SourceAddress = netip.Addr{}
			if s == "" {
				return nil
			}
			a, err := netip.ParseAddr(s)
			if err != nil {
				return fmt.Errorf("source address: %w", err)
			}
			c.SourceAddress = a
			return nil
		})
}

// defaultHTTP2 is --http2's default, chosen by BENCHMARKS.md's "HTTP/2 to
// receivers that offer it": off, as it costs more CPU per delivery where
// endpoints are spread over many hosts, and CPU is what limits there.
const defaultHTTP2 = "false"

// checkEgress checks the outbound settings against this machine and logs
// them. It returns the certificate pool for endpoints: nil for the system's,
// or the system's plus the --ca-file certificates.
func checkEgress(c *config, logger *slog.Logger) (*x509.CertPool, error) {
	var pool *x509.CertPool
	if c.CAFile != "" {
		var err error
		if pool, err = loadCAFile(c.CAFile); err != nil {
			return nil, err
		}
	}
	if c.SourceAddress.IsValid() {
		// Binding fails unless the address is one of this machine's.
		pc, err := net.ListenPacket("udp", netip.AddrPortFrom(c.SourceAddress, 0).String())
		if err != nil {
			return nil, fmt.Errorf("source address %s: %w", c.SourceAddress, err)
		}
		pc.Close()
	}
	if c.DangerouslySkipTLSVerify {
		logger.Warn("TLS CERTIFICATE VERIFICATION IS OFF (--dangerously-skip-tls-verify): " +
			"anyone on the network path can read and forge deliveries; never use this in production")
	}
	if c.ProxyURL != nil || c.SourceAddress.IsValid() || c.URLPolicy.HTTPSOnly || c.CAFile != "" || !c.DNSCache {
		attrs := []any{"https_only", c.URLPolicy.HTTPSOnly}
		if c.URLPolicy.HTTPSOnly && len(c.URLPolicy.Exempt) > 0 {
			attrs = append(attrs, "https_only_exempt", strings.Join(c.URLPolicy.Exempt, ","))
		}
		if c.ProxyURL != nil {
			attrs = append(attrs, "proxy", c.ProxyURL.Redacted())
		}
		if c.SourceAddress.IsValid() {
			attrs = append(attrs, "source_address", c.SourceAddress.String())
		}
		if c.CAFile != "" {
			attrs = append(attrs, "ca_file", c.CAFile)
		}
		if !c.DNSCache {
			attrs = append(attrs, "dns_cache", false)
		}
		logger.Info("egress", attrs...)
	}
	return pool, nil
}

// loadCAFile returns the system's certificate pool plus the certificates of
// the PEM file at path.
func loadCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ca file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca file %s: no PEM certificate found", path)
	}
	return pool, nil
}
