package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// receiver is the load tool's webhook receiver. It records, per endpoint
// path and message sequence number, how many times the webhook arrived and
// when it first did. Sequence numbers are read from the payload's "seq"
// field, which the publisher writes first.
type receiver struct {
	srv *http.Server
	// URL is the first listener's; URLs every listener's, one per host
	// (port) endpoints are spread over.
	URL  string
	URLs []string
	// pool trusts the receiver's certificate; nil over plain http.
	pool *x509.CertPool
	mu   sync.Mutex
	got  map[string]*pathLog
	hang chan struct{} // closed on shutdown: releases hanging handlers
	n    atomic.Int64
	last atomic.Int64 // unix nanos of the latest receipt

	// delayMin and delayMax bound how long each answer waits, chosen at
	// random between them (fixed when equal); zero answers at once.
	delayMin, delayMax time.Duration
	// inFlight counts the requests being answered now, and peak the most
	// at once since the last reset.
	inFlight, peak atomic.Int64
	// struggle is how /struggle answers: struggleNormal like the others
	// (after struggleDelay when set), struggle503 with a 503, struggleSlow
	// after struggleSlowDelay. struggling counts its requests in flight.
	struggle      atomic.Int32
	struggleDelay time.Duration
	struggling    atomic.Int64
	others        atomic.Int64 // receipts at paths other than /struggle
}

const (
	struggleNormal = iota
	struggle503
	struggleSlow
)

// struggleSlowDelay is how long /struggle takes to answer once it slows.
const struggleSlowDelay = 5 * time.Second

// delay returns how long the next answer waits.
func (r *receiver) delay() time.Duration {
	if r.delayMax <= r.delayMin {
		return r.delayMin
	}
	return r.delayMin + mrand.N(r.delayMax-r.delayMin+1)
}

// wait waits d, or less when the receiver shuts down or the request ends.
func (r *receiver) wait(req *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.hang:
	case <-req.Context().Done():
	}
}

type pathLog struct {
	first map[int64]time.Time
	count map[int64]int
}

// receiverOptions say how the receiver listens.
type receiverOptions struct {
	// hosts is how many listeners (ports of 127.0.0.1) it has; 0 or 1 for
	// one.
	hosts int
	// cert, when set, serves https with it, offering h2 as well as
	// HTTP/1.1 when h2 is set.
	cert *tls.Certificate
	h2   bool
}

func newReceiver() (*receiver, error) { return newReceiverWith(receiverOptions{}) }

func newReceiverWith(o receiverOptions) (*receiver, error) {
	r := &receiver{got: map[string]*pathLog{}, hang: make(chan struct{})}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	scheme := "http"
	if o.cert != nil {
		scheme = "https"
		r.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*o.cert}}
		if !o.h2 {
			// An empty map: no HTTP/2, HTTP/1.1 only offered.
			r.srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		}
		leaf, err := x509.ParseCertificate(o.cert.Certificate[0])
		if err != nil {
			return nil, err
		}
		r.pool = x509.NewCertPool()
		r.pool.AddCert(leaf)
	}
	for range max(o.hosts, 1) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			r.srv.Close()
			return nil, err
		}
		r.URLs = append(r.URLs, scheme+"://"+ln.Addr().String())
		if o.cert != nil {
			go r.srv.ServeTLS(ln, "", "")
		} else {
			go r.srv.Serve(ln)
		}
	}
	r.URL = r.URLs[0]
	return r, nil
}

// urlOf returns the base URL of endpoint i: endpoints go to the listeners
// in turn.
func (r *receiver) urlOf(i int) string { return r.URLs[i%len(r.URLs)] }

// NewCert returns a self-signed certificate for 127.0.0.1, valid for a
// day, and its PEM, which a server must trust to deliver to the receiver
// over https (hookrelay serve --ca-file).
func NewCert() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "hookrelay bench receiver"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pemBytes, nil
}

var seqKey = []byte(`"seq":`)

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	if req.URL.Path == "/hang" {
		// Never answer: the sender's timeout must cut us off.
		select {
		case <-req.Context().Done():
		case <-r.hang:
		}
		return
	}
	n := r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	for p := r.peak.Load(); n > p && !r.peak.CompareAndSwap(p, n); p = r.peak.Load() {
	}
	body, _ := io.ReadAll(req.Body)
	if req.URL.Path == "/struggle" {
		r.struggling.Add(1)
		defer r.struggling.Add(-1)
		switch r.struggle.Load() {
		case struggle503:
			r.wait(req, r.struggleDelay)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case struggleSlow:
			r.wait(req, struggleSlowDelay)
		default:
			r.wait(req, r.struggleDelay)
		}
	} else {
		r.others.Add(1)
		r.wait(req, r.delay())
	}
	seq := int64(-1)
	if i := bytes.Index(body, seqKey); i >= 0 {
		rest := body[i+len(seqKey):]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		seq, _ = strconv.ParseInt(string(rest[:j]), 10, 64)
	}
	r.mu.Lock()
	pl := r.got[req.URL.Path]
	if pl == nil {
		pl = &pathLog{first: map[int64]time.Time{}, count: map[int64]int{}}
		r.got[req.URL.Path] = pl
	}
	if _, ok := pl.first[seq]; !ok {
		pl.first[seq] = now
	}
	pl.count[seq]++
	r.mu.Unlock()
	r.n.Add(1)
	r.last.Store(now.UnixNano())
	w.WriteHeader(http.StatusNoContent)
}

// unique returns how many distinct sequence numbers path received.
func (r *receiver) unique(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if pl := r.got[path]; pl != nil {
		return len(pl.first)
	}
	return 0
}

// snapshot copies path's log.
func (r *receiver) snapshot(path string) (first map[int64]time.Time, count map[int64]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	first, count = map[int64]time.Time{}, map[int64]int{}
	if pl := r.got[path]; pl != nil {
		for k, v := range pl.first {
			first[k] = v
		}
		for k, v := range pl.count {
			count[k] = v
		}
	}
	return first, count
}

func (r *receiver) reset() {
	r.mu.Lock()
	r.got = map[string]*pathLog{}
	r.mu.Unlock()
	r.n.Store(0)
	r.peak.Store(r.inFlight.Load())
	r.others.Store(0)
	r.struggle.Store(struggleNormal)
}

func (r *receiver) close() {
	close(r.hang)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}
