package portal

import (
	"fmt"
	"strings"
	"time"
)

// The endpoint health route's answer (GET .../endpoint/{id}/health, see
// internal/api/health.go), as the portal reads it.

type healthAttempts struct {
	Success    int64 `json:"success"`
	Rejected   int64 `json:"rejected"`
	Unanswered int64 `json:"unanswered"`
	Refused    int64 `json:"refused"`
	Internal   int64 `json:"internal"`
}

type healthResponseTime struct {
	Avg int64 `json:"avg"`
	P50 int64 `json:"p50"`
	P95 int64 `json:"p95"`
	P99 int64 `json:"p99"`
	Max int64 `json:"max"`
}

type healthStats struct {
	Start          *time.Time          `json:"start"`
	Attempts       healthAttempts      `json:"attempts"`
	Total          int64               `json:"total"`
	SuccessRate    *float64            `json:"successRate"`
	ResponseTimeMs *healthResponseTime `json:"responseTimeMs"`
}

type healthLastAttempt struct {
	ID                 string    `json:"id"`
	MsgID              string    `json:"msgId"`
	Timestamp          time.Time `json:"timestamp"`
	Status             int       `json:"status"`
	Outcome            string    `json:"outcome"`
	ResponseStatusCode int       `json:"responseStatusCode"`
}

type endpointHealth struct {
	Bucket              string             `json:"bucket"`
	Since               time.Time          `json:"since"`
	Until               time.Time          `json:"until"`
	Buckets             []healthStats      `json:"buckets"`
	Totals              healthStats        `json:"totals"`
	LastAttempt         *healthLastAttempt `json:"lastAttempt"`
	ConsecutiveFailures int                `json:"consecutiveFailures"`
	LastSuccessAt       *time.Time         `json:"lastSuccessAt"`
	FailingSince        *time.Time         `json:"failingSince"`
}

// healthWindow is one of the health page's periods.
type healthWindow struct {
	Name   string // the query value: 24h, 7d, 30d
	Label  string // for people
	Bucket string // the health route's bucket
	Span   time.Duration
	Step   time.Duration
}

var healthWindows = []healthWindow{
	{"24h", "Last 24 hours", "hour", 24 * time.Hour, time.Hour},
	{"7d", "Last 7 days", "hour", 7 * 24 * time.Hour, time.Hour},
	{"30d", "Last 30 days", "day", 30 * 24 * time.Hour, 24 * time.Hour},
}

// findHealthWindow returns the window named name, or the first (24 h).
func findHealthWindow(name string) healthWindow {
	for _, w := range healthWindows {
		if w.Name == name {
			return w
		}
	}
	return healthWindows[0]
}

// healthQuery is the health route's query for window w ending at now.
func (w healthWindow) query(now time.Time) string {
	since := now.UTC().Add(-w.Span)
	return "bucket=" + w.Bucket + "&since=" + since.Format(time.RFC3339) + "&until=" + now.UTC().Format(time.RFC3339)
}

// bucketStart is the start of bucket i of h.
func (h *endpointHealth) bucketStart(i int, step time.Duration) time.Time {
	if b := h.Buckets[i]; b.Start != nil {
		return *b.Start
	}
	return h.Since.Truncate(step).Add(time.Duration(i) * step)
}

func (h *endpointHealth) chartStart(step time.Duration) time.Time {
	if len(h.Buckets) > 0 {
		return h.bucketStart(0, step)
	}
	return h.Since.Truncate(step)
}

// successChart draws the success rate per bucket of h, for the endpoint
// named name over window w.
func successChart(id, name string, w healthWindow, h *endpointHealth) *chart {
	pts := make([]chartPoint, len(h.Buckets))
	for i, b := range h.Buckets {
		if b.SuccessRate != nil {
			pts[i] = chartPoint{Value: *b.SuccessRate * 100, OK: true}
		}
	}
	desc := "No attempt reached the receiver in this period."
	if r := h.Totals.SuccessRate; r != nil {
		a := h.Totals.Attempts
		desc = fmt.Sprintf("Overall %s: %d succeeded, %d rejected by the receiver, %d unanswered, of %d attempts.",
			formatPercent(*r), a.Success, a.Rejected, a.Unanswered, h.Totals.Total)
		if lo, at, ok := lowestRate(h, w.Step); ok {
			desc += fmt.Sprintf(" Lowest: %s in the %s starting %s UTC.", formatPercent(lo), bucketNoun(w.Step), at.Format("Jan 2 15:04"))
		}
	}
	return &chart{
		ID:      id,
		Title:   fmt.Sprintf("Success rate of %s, %s", name, strings.ToLower(w.Label)),
		Desc:    desc,
		Start:   h.chartStart(w.Step),
		Step:    w.Step,
		YLabel:  "Success rate (%)",
		YMax:    100,
		YFormat: func(v float64) string { return fmt.Sprintf("%g%%", v) },
		Series:  []chartSeries{{Name: "Success rate", Points: pts}},
	}
}

// responseChart draws the p50, p95 and p99 response times per bucket.
func responseChart(id, name string, w healthWindow, h *endpointHealth) *chart {
	var p50, p95, p99 []chartPoint
	for _, b := range h.Buckets {
		if rt := b.ResponseTimeMs; rt != nil {
			p50 = append(p50, chartPoint{float64(rt.P50), true})
			p95 = append(p95, chartPoint{float64(rt.P95), true})
			p99 = append(p99, chartPoint{float64(rt.P99), true})
		} else {
			p50 = append(p50, chartPoint{})
			p95 = append(p95, chartPoint{})
			p99 = append(p99, chartPoint{})
		}
	}
	desc := "No response was received in this period."
	if rt := h.Totals.ResponseTimeMs; rt != nil {
		desc = fmt.Sprintf("Over the period: median (p50) %s, p95 %s, p99 %s, average %s, slowest %s.",
			formatMs(float64(rt.P50)), formatMs(float64(rt.P95)), formatMs(float64(rt.P99)),
			formatMs(float64(rt.Avg)), formatMs(float64(rt.Max)))
	}
	return &chart{
		ID:      id,
		Title:   fmt.Sprintf("Response time of %s, %s", name, strings.ToLower(w.Label)),
		Desc:    desc,
		Start:   h.chartStart(w.Step),
		Step:    w.Step,
		YLabel:  "Response time (ms)",
		YFormat: func(v float64) string { return fmt.Sprintf("%g", v) },
		Series: []chartSeries{
			{Name: "p50", Points: p50},
			{Name: "p95", Points: p95},
			{Name: "p99", Points: p99},
		},
	}
}

// lowestRate is the lowest success rate of a bucket of h and its start.
func lowestRate(h *endpointHealth, step time.Duration) (float64, time.Time, bool) {
	found := false
	var lo float64
	var at time.Time
	for i, b := range h.Buckets {
		if b.SuccessRate == nil {
			continue
		}
		if !found || *b.SuccessRate < lo {
			lo, at, found = *b.SuccessRate, h.bucketStart(i, step), true
		}
	}
	return lo, at, found
}

func bucketNoun(step time.Duration) string {
	if step >= 24*time.Hour {
		return "day"
	}
	return "hour"
}
