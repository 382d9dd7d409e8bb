package bench

import (
	"bytes"
	"crypto/x509"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestReceiverDelay: the receiver answers after its fixed delay, or after
// one within its range, and counts the requests it answers at once.
func TestReceiverDelay(t *testing.T) {
	tests := []struct {
		name     string
		min, max time.Duration
	}{
		{"fixed", 150 * time.Millisecond, 150 * time.Millisecond},
		{"range", 50 * time.Millisecond, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv, err := newReceiver()
			if err != nil {
				t.Fatal(err)
			}
			defer rcv.close()
			rcv.delayMin, rcv.delayMax = tt.min, tt.max
			const n = 8
			var wg sync.WaitGroup
			took := make([]time.Duration, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start := time.Now()
					resp, err := http.Post(rcv.URL+"/ep/0", "application/json", bytes.NewReader(payload(i, 100)))
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					took[i] = time.Since(start)
				}()
			}
			wg.Wait()
			for i, d := range took {
				if d < tt.min || d > tt.max+2*time.Second {
					t.Errorf("request %d answered after %v, want %v to %v", i, d, tt.min, tt.max)
				}
			}
			if rcv.unique("/ep/0") != n {
				t.Errorf("%d received, want %d", rcv.unique("/ep/0"), n)
			}
			if p := rcv.peak.Load(); p < 2 || p > n {
				t.Errorf("peak in flight %d, want 2 to %d (the requests overlap)", p, n)
			}
		})
	}
}

// TestReceiverStruggles: /struggle answers like the others, then 503, and
// counts its requests in flight.
func TestReceiverStruggles(t *testing.T) {
	rcv, err := newReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.close()
	post := func() int {
		resp, err := http.Post(rcv.URL+"/struggle", "application/json", bytes.NewReader(payload(1, 100)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(); code != http.StatusNoContent {
		t.Fatalf("before: %d", code)
	}
	rcv.struggle.Store(struggle503)
	if code := post(); code != http.StatusServiceUnavailable {
		t.Fatalf("struggling: %d, want 503", code)
	}
	if rcv.struggling.Load() != 0 || rcv.others.Load() != 0 {
		t.Fatalf("struggling %d others %d after the requests ended", rcv.struggling.Load(), rcv.others.Load())
	}
}

// TestStruggleSummary: means before the switch and over the second half of
// the publishing after it,
// and when the struggling endpoint's in-flight first fell to half.
func TestStruggleSummary(t *testing.T) {
	sr := &StruggleResult{AtSec: 4, FellAfterSec: -1}
	for i, s := range []struct {
		inFlight int64
		others   float64
	}{{9, 0}, {10, 900}, {10, 1000}, {10, 1000}, {10, 1000}, {10, 1000}, {10, 1000}, {8, 1000}, {4, 1000}, {1, 1000}, {1, 1000}, {1, 1000}, {1, 1000}, {1, 1000}, {1, 1000}} {
		sr.Samples = append(sr.Samples, StruggleSample{AtSec: 0.5 * float64(i+1), InFlight: s.inFlight, OthersPerSec: s.others})
	}
	sr.summarize(8 * time.Second) // after: from 6 s to 8 s
	if sr.InFlightBefore != 10 || sr.OthersBefore != 1000-100.0/6 {
		t.Errorf("before: in flight %v, others %v", sr.InFlightBefore, sr.OthersBefore)
	}
	if sr.InFlightAfter != 1 || sr.OthersAfter != 1000 {
		t.Errorf("after: in flight %v, others %v", sr.InFlightAfter, sr.OthersAfter)
	}
	if sr.FellAfterSec != 0.5 {
		t.Errorf("fell after %v s, want 0.5", sr.FellAfterSec)
	}
}

// TestReceiverTLS: over https the receiver offers h2 or HTTP/1.1 only as
// told, on every one of its hosts, with a certificate a client trusts by
// its PEM.
func TestReceiverTLS(t *testing.T) {
	cert, pemBytes, err := NewCert()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		t.Fatal("the PEM holds no certificate")
	}
	for _, tt := range []struct {
		h2   bool
		want string
	}{{true, "HTTP/2.0"}, {false, "HTTP/1.1"}} {
		t.Run(tt.want, func(t *testing.T) {
			rcv, err := newReceiverWith(receiverOptions{hosts: 3, cert: &cert, h2: tt.h2})
			if err != nil {
				t.Fatal(err)
			}
			defer rcv.close()
			hc := newHTTPClient(2, roots)
			seen := map[string]bool{}
			for i := range 6 {
				u := rcv.urlOf(i)
				seen[u] = true
				if !strings.HasPrefix(u, "https://127.0.0.1:") {
					t.Fatalf("URL %s", u)
				}
				resp, err := hc.Post(u+"/ep/"+strconv.Itoa(i), "application/json", bytes.NewReader(payload(i, 100)))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.Proto != tt.want || resp.StatusCode != http.StatusNoContent {
					t.Errorf("%s: %s %d, want %s 204", u, resp.Proto, resp.StatusCode, tt.want)
				}
			}
			if len(seen) != 3 {
				t.Errorf("endpoints went to %d hosts, want 3", len(seen))
			}
			for i := range 6 {
				if rcv.unique("/ep/"+strconv.Itoa(i)) != 1 {
					t.Errorf("/ep/%d not received", i)
				}
			}
		})
	}
}
