package api

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// maxSummaryEndpoints bounds the endpoints one summary request names: a
// page of a listing, read in one query whatever their number.
const maxSummaryEndpoints = 100

// endpointIDPattern is an endpoint ID as hookrelay.NewID makes it.
var endpointIDPattern = regexp.MustCompile(`^` + hookrelay.PrefixEndpoint + `[0-9A-Za-z]{27}$`)

// endpointSummaryOut is one endpoint of the summary route: the health
// route's totals (over its default window, the last 24 hours in hours),
// last attempt, run of failures and disabled reason, without its buckets
// and window.
type endpointSummaryOut struct {
	EndpointID          string          `json:"endpointId"`
	Totals              healthStatsOut  `json:"totals"`
	LastAttempt         *lastAttemptOut `json:"lastAttempt"`
	ConsecutiveFailures int             `json:"consecutiveFailures"`
	LastSuccessAt       *jsonTime       `json:"lastSuccessAt"`
	FailingSince        *jsonTime       `json:"failingSince"`
	Disabled            *disabledOut    `json:"disabled"`
}

type endpointSummariesOut struct {
	Since jsonTime             `json:"since"`
	Until jsonTime             `json:"until"`
	Data  []endpointSummaryOut `json:"data"`
}

// summaryParamHints explain the parameters the summary route refuses.
var summaryParamHints = map[string]string{
	"endpoint_id": "is not a parameter of this route: name each endpoint with endpoint=ID",
	"bucket":      "is not a parameter of this route: its totals are always of the last 24 hours; other windows are the health route's",
	"since":       "is not a parameter of this route: its totals are always of the last 24 hours; other windows are the health route's",
	"until":       "is not a parameter of this route: its totals are always of the last 24 hours; other windows are the health route's",
}

// endpointSummaries is GET /api/v1/app/{app_id}/endpoint-summary, hookrelay's
// own: for each endpoint the query names (endpoint=ID, repeated, at most
// maxSummaryEndpoints values), what the health route with its
// defaults (bucket=hour, the last 24 hours) says of it but its buckets and
// concurrency window, all from one store query. Endpoints answer in the
// order first named, each once; an ID that names no endpoint of the
// application (another application's, a deleted one) is left out, so that
// the answer tells nothing of other applications. Any other parameter, an
// endpoint value that is not an endpoint ID, none, or too many are 422.
func (s *server) endpointSummaries(w http.ResponseWriter, r *http.Request, p *principal) error {
	app, err := s.app(r, p)
	if err != nil {
		return err
	}
	q := newQuery(r)
	q.only([]string{"endpoint"}, summaryParamHints)
	values := q.v["endpoint"]
	if len(values) > maxSummaryEndpoints {
		// Refused whole, without a message per value.
		q.fail("endpoint", fmt.Sprintf("names %d endpoints; at most %d a request", len(values), maxSummaryEndpoints))
		values = nil
	}
	var ids []string
	seen := map[string]bool{}
	for i, v := range values {
		loc := []string{"query", "endpoint", strconv.Itoa(i)}
		if msg := checkText(v); msg != "" {
			q.errs = append(q.errs, fieldError{Loc: loc, Msg: msg, Type: "value_error"})
			continue
		}
		if !endpointIDPattern.MatchString(v) {
			shown := v
			if len(shown) > 64 {
				shown = shown[:64] + "…"
			}
			q.errs = append(q.errs, fieldError{Loc: loc, Type: "value_error",
				Msg: fmt.Sprintf("%q is not an endpoint ID (%s and 27 letters or digits); uids are not taken here", shown, hookrelay.PrefixEndpoint)})
			continue
		}
		if !seen[v] {
			seen[v] = true
			ids = append(ids, v)
		}
	}
	if len(q.v["endpoint"]) == 0 {
		q.fail("endpoint", "field required: name each endpoint with endpoint=ID")
	}
	if err := q.err(); err != nil {
		return err
	}

	b := healthBuckets["hour"]
	end := s.now().UTC()
	start := end.Add(-b.window)
	sums, err := s.store.EndpointSummaries(r.Context(), store.SummaryParams{
		AppID: app.ID, EndpointIDs: ids, Width: b.width, Since: start.Truncate(b.width), Until: end,
	})
	if err != nil {
		return err
	}
	byID := make(map[string]*store.EndpointSummary, len(sums))
	for i := range sums {
		byID[sums[i].EndpointID] = &sums[i]
	}
	out := endpointSummariesOut{Since: jsonTime(start), Until: jsonTime(end), Data: make([]endpointSummaryOut, 0, len(sums))}
	for _, id := range ids {
		sum := byID[id]
		if sum == nil {
			continue
		}
		o := endpointSummaryOut{
			EndpointID:          sum.EndpointID,
			Totals:              healthStats(&sum.Totals),
			LastAttempt:         toLastAttemptOut(sum.LastAttempt),
			ConsecutiveFailures: sum.Status.ConsecutiveFailures,
			LastSuccessAt:       optTime(sum.Status.LastSuccessAt),
			FailingSince:        optTime(sum.Status.FailingSince),
			Disabled:            toDisabledOut(&hookrelay.Endpoint{Disabled: sum.Disabled, DisabledReason: sum.DisabledReason}),
		}
		out.Data = append(out.Data, o)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// toLastAttemptOut is a's lastAttemptOut, nil for nil.
func toLastAttemptOut(a *hookrelay.Attempt) *lastAttemptOut {
	if a == nil {
		return nil
	}
	return &lastAttemptOut{
		ID: a.ID, MsgID: a.MsgID, Timestamp: jsonTime(a.CreatedAt), Status: int(a.Status),
		Outcome: a.Outcome.String(), ResponseStatusCode: a.ResponseStatusCode,
	}
}
