package bench

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
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
	srv  *http.Server
	ln   net.Listener
	URL  string
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
	return r.delayMin + rand.N(r.delayMax-r.delayMin+1)
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

func newReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{ln: ln, URL: "http://" + ln.Addr().String(), got: map[string]*pathLog{}, hang: make(chan struct{})}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
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
