package delivery

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// BenchmarkSend measures the sender alone: sign, request and response over
// a kept-alive connection to a local receiver, through the h1 client.
func BenchmarkSend(b *testing.B) {
	benchmarkSend(b, func(c Config) Config { return c })
}

// BenchmarkSendNetHTTP is BenchmarkSend through net/http's transport, with
// the settings it has for proxied deliveries (as many idle connections per
// host as requests can be in flight, no compression), dialling directly.
func BenchmarkSendNetHTTP(b *testing.B) {
	benchmarkSend(b, ViaNetHTTP)
}

// BenchmarkSendTLS and BenchmarkSendH2 are BenchmarkSend to a receiver
// over TLS that offers h2, with HTTP/2 off (one connection per request in
// flight) and on (streams of one connection).
func BenchmarkSendTLS(b *testing.B) { benchmarkSendTLS(b, false) }
func BenchmarkSendH2(b *testing.B)  { benchmarkSendTLS(b, true) }

func benchmarkSendTLS(b *testing.B, h2 bool) {
	benchmarkSendTo(b, true, func(c Config) Config {
		c.HTTP2 = h2
		return c
	})
}

func benchmarkSend(b *testing.B, transport func(Config) Config) {
	benchmarkSendTo(b, false, transport)
}

func benchmarkSendTo(b *testing.B, useTLS bool, transport func(Config) Config) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	cfg := Config{AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if useTLS {
		srv.EnableHTTP2 = true
		srv.StartTLS()
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AddCert(srv.Certificate())
	} else {
		srv.Start()
	}
	defer srv.Close()
	s := newSender(transport(cfg.withDefaults()))
	defer s.closeIdle()
	task := &store.Task{
		Delivery: hookrelay.Delivery{ID: "dlv_1", MsgID: "msg_1", AppID: "app_1", EndpointID: "ep_1"},
		Message:  hookrelay.Message{ID: "msg_1", Payload: []byte(strings.Repeat(`{"type":"call.completed","data":{"id":"c_1"}}`, 20))},
		Endpoint: hookrelay.Endpoint{ID: "ep_1", URL: srv.URL + "/hook", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			Headers: map[string]string{"X-Webhook-Token": "t"}},
	}
	b.ReportAllocs()
	cpu := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if o := s.send(context.Background(), task); !o.ok() {
				b.Fatalf("send: %d %s", o.statusCode, o.response)
			}
		}
	})
	// On a shared machine the wall time per request follows the
	// neighbours; the CPU time (sender and receiver together, as both are
	// in this process) follows the code.
	if cpu >= 0 {
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	}
}
