package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Endpoint health (hookrelay's own route) and the hosted API's statistics
// routes. Both read the health rollups that CompleteAttempts keeps, never
// the attempts: a window of any length costs at most maxHealthBuckets rows
// per endpoint.

// maxHealthBuckets bounds the buckets one health answer holds: a day of
// minutes, two months of hours, four years of days.
const maxHealthBuckets = 1440

// healthBuckets names the bucket widths of the health route, with the
// window each gives when since is not set.
var healthBuckets = map[string]struct {
	width, window time.Duration
}{
	"minute": {hookrelay.HealthMinute, time.Hour},
	"hour":   {hookrelay.HealthHour, 24 * time.Hour},
	"day":    {hookrelay.HealthDay, 30 * 24 * time.Hour},
}

// healthParamHints explain some parameters the health route refuses.
var healthParamHints = map[string]string{
	"startDate": "is not a parameter of this route: its window is since and until",
	"endDate":   "is not a parameter of this route: its window is since and until",
	"window":    "is not a parameter of this route: its window is since and until; the concurrency window is in the answer",
}

type healthAttemptsOut struct {
	Success    int64 `json:"success"`
	Rejected   int64 `json:"rejected"`
	Unanswered int64 `json:"unanswered"`
	Refused    int64 `json:"refused"`
	Internal   int64 `json:"internal"`
}

type responseTimeOut struct {
	Avg int64 `json:"avg"`
	P50 int64 `json:"p50"`
	P95 int64 `json:"p95"`
	P99 int64 `json:"p99"`
	Max int64 `json:"max"`
}

type healthStatsOut struct {
	Start    *jsonTime         `json:"start,omitempty"`
	Attempts healthAttemptsOut `json:"attempts"`
	Total    int64             `json:"total"`
	// SuccessRate is null without an attempt that says something about the
	// receiver (see hookrelay.Health.SuccessRate).
	SuccessRate *float64 `json:"successRate"`
	// ResponseTimeMs is null without an answered attempt.
	ResponseTimeMs *responseTimeOut `json:"responseTimeMs"`
}

type lastAttemptOut struct {
	ID                 string   `json:"id"`
	MsgID              string   `json:"msgId"`
	Timestamp          jsonTime `json:"timestamp"`
	Status             int      `json:"status"`
	Outcome            string   `json:"outcome"`
	ResponseStatusCode int      `json:"responseStatusCode"`
}

// Windows reports the node's adaptive concurrency window of an endpoint
// (delivery.Dispatcher satisfies it).
type Windows interface {
	// EndpointWindow returns node, the dispatcher run holding the window,
	// the requests the endpoint may have in flight there now (size), its
	// cap there (max) and those in flight; ok is false when the node holds
	// no window for it.
	EndpointWindow(endpointID string) (node string, size, max, inFlight int, ok bool)
}

// windowOut is this node's concurrency window of an endpoint. Every node
// has its own (the endpoint's cap is shared out among them); this is the
// one of the node that answered.
type windowOut struct {
	Node     string `json:"node"`
	Size     int    `json:"size"`
	Max      int    `json:"max"`
	InFlight int    `json:"inFlight"`
}

type endpointHealthOut struct {
	Bucket      string           `json:"bucket"`
	Since       jsonTime         `json:"since"`
	Until       jsonTime         `json:"until"`
	Buckets     []healthStatsOut `json:"buckets"`
	Totals      healthStatsOut   `json:"totals"`
	LastAttempt *lastAttemptOut  `json:"lastAttempt"`
	// From the endpoint's status row, whatever the window: failures
	// against the receiver since its last success, that success, and the
	// first of those failures (null while it has not failed since).
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	LastSuccessAt       *jsonTime `json:"lastSuccessAt"`
	FailingSince        *jsonTime `json:"failingSince"`
	// Disabled says why and when the endpoint was disabled; null while
	// it is enabled.
	Disabled *disabledOut `json:"disabled"`
	// Window is the answering node's concurrency window of the endpoint,
	// null when it holds none (it has sent the endpoint nothing lately:
	// its next request would go alone).
	Window *windowOut `json:"window"`
}

// disabledOut is why an endpoint is disabled, as the health route tells
// it. Reason is "manual" (by hand: by says who, "admin" or "portal"),
// "failing" (hookrelay disabled it after it failed for --disable-after),
// "gone" (hookrelay disabled it on a 410 Gone) or "unknown" (it was
// disabled before hookrelay stored reasons: every other field is null).
// For failing and gone, the run of failures it was disabled for.
type disabledOut struct {
	Reason              string    `json:"reason"`
	At                  *jsonTime `json:"at"`
	By                  *string   `json:"by"`
	FailingSince        *jsonTime `json:"failingSince"`
	ConsecutiveFailures *int      `json:"consecutiveFailures"`
	LastOutcome         *string   `json:"lastOutcome"`
	LastStatusCode      *int      `json:"lastResponseStatusCode"`
}

// toDisabledOut is ep's disabledOut, nil while it is enabled.
func toDisabledOut(ep *hookrelay.Endpoint) *disabledOut {
	if !ep.Disabled {
		return nil
	}
	d := ep.DisabledReason
	if d == nil {
		return &disabledOut{Reason: "unknown"}
	}
	at := jsonTime(d.At)
	out := &disabledOut{Reason: string(d.Cause), At: &at}
	if d.By != "" {
		by := d.By
		out.By = &by
	}
	if d.Cause != hookrelay.DisabledByHand {
		out.FailingSince = optTime(d.FailingSince)
		n := d.Failures
		out.ConsecutiveFailures = &n
		if d.LastOutcome != hookrelay.OutcomeUnknown {
			o := d.LastOutcome.String()
			out.LastOutcome = &o
		}
		if d.LastStatusCode != 0 {
			c := d.LastStatusCode
			out.LastStatusCode = &c
		}
	}
	return out
}

func healthStats(h *hookrelay.Health) healthStatsOut {
	out := healthStatsOut{
		Attempts: healthAttemptsOut{
			Success:    h.Attempts[hookrelay.OutcomeSuccess],
			Rejected:   h.Attempts[hookrelay.OutcomeRejected],
			Unanswered: h.Attempts[hookrelay.OutcomeUnanswered],
			Refused:    h.Attempts[hookrelay.OutcomeRefused],
			Internal:   h.Attempts[hookrelay.OutcomeInternal],
		},
		Total: h.Total(),
	}
	if rate, ok := h.SuccessRate(); ok {
		out.SuccessRate = &rate
	}
	if n := h.Answered(); n > 0 {
		p50, _ := h.Percentile(0.50)
		p95, _ := h.Percentile(0.95)
		p99, _ := h.Percentile(0.99)
		out.ResponseTimeMs = &responseTimeOut{
			Avg: (h.ResponseMsSum + n/2) / n, P50: p50, P95: p95, P99: p99, Max: h.ResponseMsMax,
		}
	}
	return out
}

// endpointHealth is GET .../endpoint/{endpoint_id}/health: for the window
// [since, until) cut into buckets of one width (minute, hour or day,
// aligned in UTC; the first bucket holds since), each bucket's attempts by
// outcome kind, success rate and response times, the totals over the
// window, and the endpoint's newest attempt. Every bucket is listed, empty
// ones too. Any other query parameter is 422: this route is hookrelay's
// own, so no Svix document says what one would mean.
func (s *server) endpointHealth(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	q := newQuery(r)
	q.only([]string{"bucket", "since", "until"}, healthParamHints)
	name := q.str("bucket")
	if name == "" {
		name = "hour"
	}
	b, ok := healthBuckets[name]
	if !ok {
		q.fail("bucket", "must be minute, hour or day")
	}
	since := q.timestamp("since")
	until := q.timestamp("until")
	if err := q.err(); err != nil {
		return err
	}
	end := s.now().UTC()
	if until != nil {
		end = *until
	}
	start := end.Add(-b.window)
	if since != nil {
		start = *since
	}
	if !start.Before(end) {
		return validationError{{Loc: []string{"query", "since"}, Msg: "must be before until", Type: "value_error"}}
	}
	first := start.Truncate(b.width)
	n := int64((end.Sub(first) + b.width - 1) / b.width)
	if n > maxHealthBuckets || n < 0 {
		return validationError{{Loc: []string{"query", "since"}, Type: "value_error",
			Msg: fmt.Sprintf("the window holds more than %d %s buckets", maxHealthBuckets, name)}}
	}
	ep, err := s.endpoint(r, app)
	if err != nil {
		return err
	}
	rows, err := s.store.HealthRollups(r.Context(), store.HealthParams{
		AppID: app.ID, EndpointID: ep.ID, Width: b.width, Since: first, Until: end,
	})
	if err != nil {
		return err
	}
	out := endpointHealthOut{Bucket: name, Since: jsonTime(start), Until: jsonTime(end), Buckets: make([]healthStatsOut, 0, n)}
	var total hookrelay.Health
	next := 0
	for at := first; at.Before(end); at = at.Add(b.width) {
		var h hookrelay.Health
		if next < len(rows) && rows[next].Start.Equal(at) {
			h = rows[next]
			next++
		}
		total.Add(&h)
		st := healthStats(&h)
		t := jsonTime(at)
		st.Start = &t
		out.Buckets = append(out.Buckets, st)
	}
	out.Totals = healthStats(&total)
	last, err := s.store.ListAttempts(r.Context(), store.ListAttemptsParams{
		AppID: app.ID, EndpointID: ep.ID, Page: store.Page{Limit: 1},
	})
	if err != nil {
		return err
	}
	if len(last) > 0 {
		out.LastAttempt = toLastAttemptOut(&last[0])
	}
	status, err := s.store.GetEndpointStatus(r.Context(), app.ID, ep.ID)
	if err != nil {
		return err
	}
	out.ConsecutiveFailures = status.ConsecutiveFailures
	out.LastSuccessAt = optTime(status.LastSuccessAt)
	out.FailingSince = optTime(status.FailingSince)
	out.Disabled = toDisabledOut(ep)
	if s.windows != nil {
		if node, size, max, inFlight, ok := s.windows.EndpointWindow(ep.ID); ok {
			out.Window = &windowOut{Node: node, Size: size, Max: max, InFlight: inFlight}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Svix's StatisticsPeriod values.
const (
	periodFiveMinutes = "FiveMinutes"
	periodOneDay      = "OneDay"
)

// Attempt statistics windows: without dates the last 6 hours in five-minute
// periods; a window of up to a day is cut into five-minute periods, a longer
// one (up to 90 days) into days.
const (
	attemptStatsDefault   = 6 * time.Hour
	attemptStatsFiveMin   = 24 * time.Hour
	attemptStatsMaxWindow = 90 * 24 * time.Hour
)

type attemptStatisticsData struct {
	SuccessCount []int64 `json:"successCount"`
	FailureCount []int64 `json:"failureCount"`
}

type attemptStatisticsOut struct {
	Data      attemptStatisticsData `json:"data"`
	StartDate jsonTime              `json:"startDate"`
	EndDate   jsonTime              `json:"endDate"`
	Period    string                `json:"period"`
}

// attemptStats serves v1.stats.app-attempts (endpoint false) and
// v1.stats.endpoint-attempts: successful and failed attempts per period in
// [startDate, endDate). Both dates or neither must be given; an end in the
// future is taken as now; both are rounded down to the period. A failure is
// any attempt that did not succeed, whatever its kind.
func (s *server) attemptStats(endpoint bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *principal) error {
		app, err := s.app(r, p)
		if err != nil {
			return err
		}
		q := newQuery(r)
		sd := q.timestamp("startDate")
		ed := q.timestamp("endDate")
		if err := q.err(); err != nil {
			return err
		}
		now := s.now().UTC()
		var start, end time.Time
		switch {
		case sd == nil && ed == nil:
			end, start = now, now.Add(-attemptStatsDefault)
		case sd == nil:
			return validationError{{Loc: []string{"query", "startDate"}, Msg: "is required with endDate", Type: "value_error"}}
		case ed == nil:
			return validationError{{Loc: []string{"query", "endDate"}, Msg: "is required with startDate", Type: "value_error"}}
		default:
			start, end = *sd, *ed
		}
		if !start.Before(end) {
			return validationError{{Loc: []string{"query", "endDate"}, Msg: "must be after startDate", Type: "value_error"}}
		}
		if end.Sub(start) > attemptStatsMaxWindow {
			return validationError{{Loc: []string{"query", "startDate"}, Msg: "the date range is longer than 90 days", Type: "value_error"}}
		}
		if start.Before(now) && now.Before(end) {
			end = now
		}
		period, step, width := periodFiveMinutes, 5*time.Minute, hookrelay.HealthMinute
		if end.Sub(start) > attemptStatsFiveMin {
			period, step, width = periodOneDay, 24*time.Hour, hookrelay.HealthDay
		}
		start, end = start.Truncate(step), end.Truncate(step)
		params := store.HealthParams{AppID: app.ID, Width: width, Since: start, Until: end}
		if endpoint {
			ep, err := s.endpoint(r, app)
			if err != nil {
				return err
			}
			params.EndpointID = ep.ID
		}
		rows, err := s.store.HealthRollups(r.Context(), params)
		if err != nil {
			return err
		}
		n := int(end.Sub(start) / step)
		data := attemptStatisticsData{SuccessCount: make([]int64, n), FailureCount: make([]int64, n)}
		for i := range rows {
			k := int(rows[i].Start.Sub(start) / step)
			if k < 0 || k >= n {
				continue
			}
			ok := rows[i].Attempts[hookrelay.OutcomeSuccess]
			data.SuccessCount[k] += ok
			data.FailureCount[k] += rows[i].Total() - ok
		}
		if n == 0 {
			data = attemptStatisticsData{}
		}
		writeJSON(w, http.StatusOK, attemptStatisticsOut{
			Data: data, StartDate: jsonTime(start), EndDate: jsonTime(end), Period: period,
		})
		return nil
	}
}

type applicationStatsOut struct {
	AppID               string  `json:"appId"`
	AppUID              *string `json:"appUid"`
	MessageDestinations int64   `json:"messageDestinations"`
}

// appStats is v1.application.get-stats: the number of message destinations
// (deliveries) of the application's messages created in [since, until),
// both required.
func (s *server) appStats(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	q := newQuery(r)
	since := q.timestamp("since")
	until := q.timestamp("until")
	if since == nil && q.v.Get("since") == "" {
		q.fail("since", "field required")
	}
	if until == nil && q.v.Get("until") == "" {
		q.fail("until", "field required")
	}
	if err := q.err(); err != nil {
		return err
	}
	if !since.Before(*until) {
		return validationError{{Loc: []string{"query", "until"}, Msg: "must be after since", Type: "value_error"}}
	}
	n, err := s.store.CountAppDestinations(r.Context(), app.ID, *ceilMicro(since), *ceilMicro(until))
	if err != nil {
		return err
	}
	out := applicationStatsOut{AppID: app.ID, AppUID: app.UID, MessageDestinations: n}
	writeJSON(w, http.StatusOK, out)
	return nil
}
