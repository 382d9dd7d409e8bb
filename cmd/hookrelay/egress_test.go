package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestEgressFlags(t *testing.T) {
	type want struct {
		httpsOnly  bool
		exempt     []string
		skipVerify bool
		caFile     string
		proxy      string
		source     string
		dnsCache   bool
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want want
		err  string // part of the parse error, "" for none
	}{
		{name: "defaults", want: want{dnsCache: true}},
		{name: "flags",
			args: []string{"--https-only", "--https-only-exempt", "localhost, 127.0.0.1,::1,10.0.0.0/8", "--dangerously-skip-tls-verify",
				"--ca-file", "/etc/ca.pem", "--proxy-url", "socks5://u:p@127.0.0.1:1080", "--source-address", "127.0.0.2", "--dns-cache=false"},
			want: want{true, []string{"localhost", "127.0.0.1", "::1", "10.0.0.0/8"}, true, "/etc/ca.pem", "socks5://u:p@127.0.0.1:1080", "127.0.0.2", false}},
		{name: "environment",
			env: map[string]string{"HOOKRELAY_HTTPS_ONLY": "true", "HOOKRELAY_HTTPS_ONLY_EXEMPT": "localhost",
				"HOOKRELAY_DANGEROUSLY_SKIP_TLS_VERIFY": "1", "HOOKRELAY_CA_FILE": "ca.pem",
				"HOOKRELAY_PROXY_URL": "http://proxy.internal:3128", "HOOKRELAY_SOURCE_ADDRESS": "::1", "HOOKRELAY_DNS_CACHE": "false"},
			want: want{true, []string{"localhost"}, true, "ca.pem", "http://proxy.internal:3128", "::1", false}},
		{name: "a flag wins over the environment",
			args: []string{"--https-only=false", "--proxy-url", "", "--dns-cache"},
			env:  map[string]string{"HOOKRELAY_HTTPS_ONLY": "true", "HOOKRELAY_PROXY_URL": "http://proxy.internal:3128", "HOOKRELAY_DNS_CACHE": "0"},
			want: want{dnsCache: true}},
		{name: "bad exemption", args: []string{"--https-only-exempt", "10.0.0.0/40"}, err: "10.0.0.0/40"},
		{name: "exemption with a port", env: map[string]string{"HOOKRELAY_HTTPS_ONLY_EXEMPT": "localhost:8080"}, err: "HOOKRELAY_HTTPS_ONLY_EXEMPT"},
		{name: "proxy without scheme", args: []string{"--proxy-url", "proxy.internal:3128"}, err: "not http, https, socks5 or socks5h"},
		{name: "proxy with another scheme", env: map[string]string{"HOOKRELAY_PROXY_URL": "ftp://u:hunter2@proxy"}, err: "HOOKRELAY_PROXY_URL"},
		{name: "source address not an IP", args: []string{"--source-address", "eth0"}, err: "source address"},
		{name: "bad boolean", env: map[string]string{"HOOKRELAY_DANGEROUSLY_SKIP_TLS_VERIFY": "maybe"}, err: "HOOKRELAY_DANGEROUSLY_SKIP_TLS_VERIFY"},
		{name: "bad dns cache boolean", env: map[string]string{"HOOKRELAY_DNS_CACHE": "sometimes"}, err: "HOOKRELAY_DNS_CACHE"},
		{name: "bad dns cache flag", args: []string{"--dns-cache=sometimes"}, err: "dns-cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseServe(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one with %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("the error shows the proxy password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{httpsOnly: c.URLPolicy.HTTPSOnly, exempt: c.URLPolicy.Exempt, skipVerify: c.DangerouslySkipTLSVerify, caFile: c.CAFile, dnsCache: c.DNSCache}
			if c.ProxyURL != nil {
				got.proxy = c.ProxyURL.String()
			}
			if c.SourceAddress.IsValid() {
				got.source = c.SourceAddress.String()
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckEgress(t *testing.T) {
	srv := httptest.NewTLSServer(nil)
	defer srv.Close()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		c    config
		err  string // part of the error, "" for none
		log  string // part of the log
	}{
		{name: "nothing set", c: config{DNSCache: true}},
		{name: "dns cache off", c: config{}, log: "dns_cache=false"},
		{name: "ca file", c: config{CAFile: caFile}, log: "ca_file="},
		{name: "missing ca file", c: config{CAFile: filepath.Join(dir, "missing.pem")}, err: "ca file"},
		{name: "ca file without certificates", c: config{CAFile: notPEM}, err: "no PEM certificate"},
		{name: "local source address", c: config{SourceAddress: netip.MustParseAddr("127.0.0.2")}, log: "source_address=127.0.0.2"},
		{name: "source address of another machine", c: config{SourceAddress: netip.MustParseAddr("192.0.2.1")}, err: "source address 192.0.2.1"},
		{name: "skip verify warns", c: config{DangerouslySkipTLSVerify: true}, log: "level=WARN msg=\"TLS CERTIFICATE VERIFICATION IS OFF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			pool, err := checkEgress(&tt.c, slog.New(slog.NewTextHandler(&logs, nil)))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(logs.String(), tt.log) {
				t.Fatalf("logs %q, want %q", logs.String(), tt.log)
			}
			if (pool != nil) != (tt.c.CAFile != "") {
				t.Fatalf("pool %v for ca file %q", pool, tt.c.CAFile)
			}
			if pool != nil {
				if _, err := srv.Certificate().Verify(x509.VerifyOptions{Roots: pool}); err != nil {
					t.Fatalf("the ca file's certificate is not trusted: %v", err)
				}
			}
		})
	}
}

func TestHTTP2Flag(t *testing.T) {
	def, _ := strconv.ParseBool(defaultHTTP2)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want bool
		err  string
	}{
		{name: "default", want: def},
		{name: "flag alone", args: []string{"--http2"}, want: true},
		{name: "flag off", args: []string{"--http2=false"}, want: false},
		{name: "environment", env: map[string]string{"HOOKRELAY_HTTP2": "0"}, want: false},
		{name: "flag wins", args: []string{"--http2=true"}, env: map[string]string{"HOOKRELAY_HTTP2": "false"}, want: true},
		{name: "bad value", env: map[string]string{"HOOKRELAY_HTTP2": "sometimes"}, err: "HOOKRELAY_HTTP2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseServe(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.HTTP2 != tt.want {
				t.Fatalf("HTTP2 = %v, want %v", c.HTTP2, tt.want)
			}
		})
	}
}
