package hookrelay

import (
	"math"
	"time"
)

// Health rollups summarise one endpoint's attempts over a span of time (a
// minute, an hour or a day) so that health charts never read the attempts
// themselves. A store keeps one row per endpoint and span, updated in the
// transaction that records the attempts.

// Rollup spans: every recorded attempt is added to the minute, the hour and
// the day (UTC) that hold its time.
const (
	HealthMinute = time.Minute
	HealthHour   = time.Hour
	HealthDay    = 24 * time.Hour
)

// HealthWidths are the rollup spans, shortest first.
var HealthWidths = [...]time.Duration{HealthMinute, HealthHour, HealthDay}

// LatencyBounds are the exclusive upper bounds, in milliseconds, of the
// response time histogram's buckets; the last bucket holds everything from
// the last bound up. Consecutive bounds are at most 2.5 apart (mostly 1.5
// to 2), which is the precision of the percentiles read from them. The
// values are stored bucket by bucket and never changed.
var LatencyBounds = [...]int64{
	1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700,
	1000, 1500, 2000, 3000, 5000, 7000, 10000, 15000, 20000, 30000, 60000,
}

// LatencyBuckets is the number of histogram buckets.
const LatencyBuckets = len(LatencyBounds) + 1

// LatencyBucket returns the histogram bucket of a response time: the first
// whose bound is above ms.
func LatencyBucket(ms int64) int {
	lo, hi := 0, len(LatencyBounds)
	for lo < hi {
		mid := (lo + hi) / 2
		if ms < LatencyBounds[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// Health is the rollup of an endpoint's (or, summed, an application's)
// attempts made in [Start, Start+width).
type Health struct {
	Start time.Time
	// Attempts counts attempts by OutcomeKind (index 0, unknown, stays 0:
	// stores record every attempt with its kind).
	Attempts [OutcomeInternal + 1]int64
	// Response times count only answered attempts (success or rejected):
	// the others got no response to time. ResponseMsSum is their sum,
	// ResponseMsMax the longest, Latency their histogram over
	// LatencyBounds.
	ResponseMsSum int64
	ResponseMsMax int64
	Latency       [LatencyBuckets]int64
}

// Record adds one attempt of kind that took ms milliseconds.
func (h *Health) Record(kind OutcomeKind, ms int64) {
	if kind < 0 || int(kind) >= len(h.Attempts) {
		kind = OutcomeUnknown
	}
	h.Attempts[kind]++
	if !kind.Answered() {
		return
	}
	if ms < 0 {
		ms = 0
	}
	h.ResponseMsSum += ms
	h.ResponseMsMax = max(h.ResponseMsMax, ms)
	h.Latency[LatencyBucket(ms)]++
}

// Add adds o's counts to h; h keeps its Start.
func (h *Health) Add(o *Health) {
	for i := range h.Attempts {
		h.Attempts[i] += o.Attempts[i]
	}
	h.ResponseMsSum += o.ResponseMsSum
	h.ResponseMsMax = max(h.ResponseMsMax, o.ResponseMsMax)
	for i := range h.Latency {
		h.Latency[i] += o.Latency[i]
	}
}

// Total is the number of attempts of every kind.
func (h *Health) Total() int64 {
	var n int64
	for _, c := range h.Attempts {
		n += c
	}
	return n
}

// Answered is the number of attempts that got a response.
func (h *Health) Answered() int64 {
	return h.Attempts[OutcomeSuccess] + h.Attempts[OutcomeRejected]
}

// SuccessRate is the share of successes among the attempts that reached a
// verdict about the receiver (success, rejected, unanswered): refusals by
// policy and hookrelay's own failures say nothing about it. ok is false
// when there is no such attempt.
func (h *Health) SuccessRate() (rate float64, ok bool) {
	n := h.Attempts[OutcomeSuccess] + h.Attempts[OutcomeRejected] + h.Attempts[OutcomeUnanswered]
	if n == 0 {
		return 0, false
	}
	return float64(h.Attempts[OutcomeSuccess]) / float64(n), true
}

// Percentile estimates the q-quantile (0 < q <= 1) of the response times,
// in milliseconds: the bucket holding it is found exactly, and the value is
// interpolated linearly inside it (the last bucket ends at ResponseMsMax),
// never above ResponseMsMax. ok is false without answered attempts.
func (h *Health) Percentile(q float64) (ms int64, ok bool) {
	var n int64
	for _, c := range h.Latency {
		n += c
	}
	if n == 0 {
		return 0, false
	}
	rank := q * float64(n)
	var below int64
	for i, c := range h.Latency {
		if c == 0 || float64(below+c) < rank {
			below += c
			continue
		}
		var lo, hi float64
		if i > 0 {
			lo = float64(LatencyBounds[i-1])
		}
		if i < len(LatencyBounds) {
			hi = float64(LatencyBounds[i])
		} else {
			hi = math.Max(lo, float64(h.ResponseMsMax))
		}
		v := lo + (hi-lo)*(rank-float64(below))/float64(c)
		return min(int64(math.Round(v)), h.ResponseMsMax), true
	}
	return h.ResponseMsMax, true
}
