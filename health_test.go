package hookrelay

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestLatencyBucket(t *testing.T) {
	for _, c := range []struct {
		ms   int64
		want int
	}{
		{0, 0}, {1, 1}, {2, 2}, {4, 3}, {5, 4}, {99, 11}, {100, 12}, {59999, len(LatencyBounds) - 1},
		{60000, len(LatencyBounds)}, {math.MaxInt64, len(LatencyBounds)},
	} {
		if got := LatencyBucket(c.ms); got != c.want {
			t.Errorf("LatencyBucket(%d) = %d, want %d", c.ms, got, c.want)
		}
	}
}

// bucketBounds returns the bounds [lo, hi] of the bucket holding ms; the
// last bucket ends at max.
func bucketBounds(ms, max int64) (lo, hi int64) {
	i := LatencyBucket(ms)
	if i > 0 {
		lo = LatencyBounds[i-1]
	}
	hi = max
	if i < len(LatencyBounds) {
		hi = LatencyBounds[i]
	}
	return lo, hi
}

func TestPercentileWithinBucket(t *testing.T) {
	for _, c := range []struct {
		name string
		gen  func(r *rand.Rand) int64
	}{
		{"fast", func(r *rand.Rand) int64 { return r.Int64N(20) }},
		{"exponential", func(r *rand.Rand) int64 { return int64(r.ExpFloat64() * 250) }},
		{"bimodal", func(r *rand.Rand) int64 {
			if r.IntN(10) == 0 {
				return 5000 + r.Int64N(80000)
			}
			return 30 + r.Int64N(40)
		}},
		{"one", func(r *rand.Rand) int64 { return 321 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var h Health
			var all []int64
			for range 5000 {
				ms := c.gen(r)
				all = append(all, ms)
				h.Record(OutcomeSuccess, ms)
				h.Record(OutcomeUnanswered, 99999) // has no response time
			}
			slices.Sort(all)
			for _, q := range []float64{0.5, 0.95, 0.99, 1} {
				exact := all[int(math.Ceil(q*float64(len(all))))-1]
				got, ok := h.Percentile(q)
				lo, hi := bucketBounds(exact, h.ResponseMsMax)
				if !ok || got < lo || got > hi {
					t.Errorf("p%v = %d, %v; exact %d, want within its bucket [%d, %d]", q*100, got, ok, exact, lo, hi)
				}
			}
			if h.Answered() != 5000 || h.Total() != 10000 || h.ResponseMsMax != all[len(all)-1] {
				t.Errorf("answered %d, total %d, max %d", h.Answered(), h.Total(), h.ResponseMsMax)
			}
		})
	}
	var empty Health
	empty.Record(OutcomeRefused, 10)
	if _, ok := empty.Percentile(0.5); ok {
		t.Error("percentile without answered attempts")
	}
	if _, ok := empty.SuccessRate(); ok {
		t.Error("success rate with only a refusal")
	}
}
