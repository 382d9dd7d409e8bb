package bench

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCeilingCountsEveryMessage runs the no-server scenario, which posts
// straight to the tool's own receiver, and checks nothing is lost.
func TestCeilingCountsEveryMessage(t *testing.T) {
	res := Run(context.Background(), Config{Scenarios: []string{"ceiling"}, Messages: 500, Publishers: 8, PayloadSize: 200})
	if len(res) != 1 || res[0].Error != "" {
		t.Fatalf("results = %+v", res)
	}
	r := res[0]
	if r.Delivered != 500 || r.Lost != 0 || r.Duplicates != 0 || r.DeliveredPerSec <= 0 {
		t.Fatalf("ceiling = %+v", r)
	}
}

// TestCollectCountsLossesAndDuplicates feeds the receiver a known pattern:
// seq 0 twice, seq 1 once, seq 2 never.
func TestCollectCountsLossesAndDuplicates(t *testing.T) {
	rcv, err := newReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.close()
	for _, seq := range []int{0, 0, 1} {
		resp, err := http.Post(rcv.URL+"/ep/0", "application/json", bytes.NewReader(payload(seq, 100)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	var res Result
	sent := []time.Time{time.Now().Add(-time.Second), time.Now().Add(-time.Second), time.Now()}
	collect(rcv, &res, []string{"/ep/0"}, 3, time.Now().Add(-time.Second), sent)
	if res.Delivered != 2 || res.Lost != 1 || res.Duplicates != 1 {
		t.Fatalf("delivered %d lost %d duplicates %d, want 2 1 1", res.Delivered, res.Lost, res.Duplicates)
	}
	if res.Latency == nil || res.Latency.Max < 900 {
		t.Fatalf("latency = %+v, want a max near 1000 ms", res.Latency)
	}
}

func TestPayloadSizeAndSeq(t *testing.T) {
	p := payload(42, 200)
	if len(p) != 200 || !bytes.HasPrefix(p, []byte(`{"seq":42,`)) {
		t.Fatalf("payload = %d bytes %q", len(p), p[:20])
	}
}

// Throughput and fan-out are reported as a share of the same run's
// ceiling, when it has one that succeeded; other scenarios never are.
func TestShareOfCeiling(t *testing.T) {
	for _, tt := range []struct {
		name    string
		results []Result
		want    []float64
	}{
		{"with a ceiling", []Result{
			{Scenario: "ceiling", DeliveredPerSec: 40000},
			{Scenario: "throughput", DeliveredPerSec: 6000},
			{Scenario: "fanout", DeliveredPerSec: 14000},
			{Scenario: "latency", DeliveredPerSec: 200},
		}, []float64{0, 0.15, 0.35, 0}},
		{"ceiling last", []Result{
			{Scenario: "throughput", DeliveredPerSec: 5000},
			{Scenario: "ceiling", DeliveredPerSec: 25000},
		}, []float64{0.2, 0}},
		{"no ceiling", []Result{{Scenario: "throughput", DeliveredPerSec: 5000}}, []float64{0}},
		{"failed ceiling", []Result{
			{Scenario: "ceiling", DeliveredPerSec: 100, Error: "cut short"},
			{Scenario: "throughput", DeliveredPerSec: 5000},
		}, []float64{0, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			shareOfCeiling(tt.results)
			for i, r := range tt.results {
				if r.OfCeiling != tt.want[i] {
					t.Errorf("%s: share %v, want %v", r.Scenario, r.OfCeiling, tt.want[i])
				}
			}
		})
	}
	r := Result{Scenario: "throughput", Delivered: 1, Expected: 1, DeliveredPerSec: 6000, OfCeiling: 0.15}
	if s := r.summary(); !strings.Contains(s, "delivered 6000/s (15.0% of the ceiling)") {
		t.Errorf("summary %q does not give the share", s)
	}
}
