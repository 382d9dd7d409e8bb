package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// summaryPath is the summary route of app for the endpoint IDs given.
func summaryPath(app string, ids ...string) string {
	v := url.Values{}
	for _, id := range ids {
		v.Add("endpoint", id)
	}
	return "/api/v1/app/" + app + "/endpoint-summary?" + v.Encode()
}

// TestEndpointSummaries: on both databases, each endpoint's summary is
// what its health route says (totals, last attempt, run of failures,
// disabled reason), for endpoints with attempts, a disabled one and one
// never attempted; the endpoints answer in the order first named, once
// each; another application's endpoint and an unknown ID are left out,
// without a trace; the application's portal tokens read it, another's
// get 404.
func TestEndpointSummaries(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t), func(c *Config) { c.Now = func() time.Time { return healthNow } })
		ctx := context.Background()
		app, ep, other := h.healthApp("summary")
		idle, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/idle"})
		if err != nil {
			t.Fatal(err)
		}
		h.recordAttempts(app.Id, ep.Id, []healthAttempt{
			{30 * time.Minute, hookrelay.OutcomeSuccess, 40},
			{28 * time.Minute, hookrelay.OutcomeRejected, 400},
			{27 * time.Minute, hookrelay.OutcomeUnanswered, 15000},
			{26 * time.Minute, hookrelay.OutcomeRefused, 0},
			{3 * time.Hour, hookrelay.OutcomeInternal, 0},
			{48 * time.Hour, hookrelay.OutcomeSuccess, 10}, // outside the window
		})
		h.recordAttempts(app.Id, other.Id, []healthAttempt{{time.Minute, hookrelay.OutcomeSuccess, 5}})
		h.mustDo(http.StatusOK, "PATCH", "/api/v1/app/"+app.Id+"/endpoint/"+other.Id, testAdminToken, `{"disabled":true}`, nil)
		foreignApp, foreign, _ := h.healthApp("summary-other")
		h.recordAttempts(foreignApp.Id, foreign.Id, []healthAttempt{{time.Minute, hookrelay.OutcomeSuccess, 5}})
		unknown := hookrelay.NewID(hookrelay.PrefixEndpoint)

		var got endpointSummariesOut
		h.mustDo(http.StatusOK, "GET", summaryPath(app.Id, other.Id, foreign.Id, ep.Id, unknown, idle.Id, other.Id), testAdminToken, nil, &got)
		if time.Time(got.Since) != healthNow.Add(-24*time.Hour) || time.Time(got.Until) != healthNow {
			t.Errorf("window [%v, %v), want the last 24 hours before %v", got.Since, got.Until, healthNow)
		}
		var order []string
		for _, s := range got.Data {
			order = append(order, s.EndpointID)
		}
		if want := []string{other.Id, ep.Id, idle.Id}; !reflect.DeepEqual(order, want) {
			t.Fatalf("endpoints %v, want %v (as first named, the application's alone)", order, want)
		}
		for _, s := range got.Data {
			var health endpointHealthOut
			h.mustDo(http.StatusOK, "GET", "/api/v1/app/"+app.Id+"/endpoint/"+s.EndpointID+"/health", testAdminToken, nil, &health)
			want := endpointSummaryOut{EndpointID: s.EndpointID, Totals: health.Totals, LastAttempt: health.LastAttempt,
				ConsecutiveFailures: health.ConsecutiveFailures, LastSuccessAt: health.LastSuccessAt,
				FailingSince: health.FailingSince, Disabled: health.Disabled}
			a, _ := json.Marshal(s)
			b, _ := json.Marshal(want)
			if string(a) != string(b) {
				t.Errorf("summary of %s:\n got %s\nwant %s (the health route's)", s.EndpointID, a, b)
			}
		}
		if s := got.Data[1]; s.Totals.Total != 5 || s.Totals.SuccessRate == nil || *s.Totals.SuccessRate != 1.0/3 ||
			s.LastAttempt == nil || s.ConsecutiveFailures != 2 {
			t.Errorf("the endpoint with attempts: %+v", s)
		}
		if s := got.Data[0]; s.Disabled == nil || s.Disabled.Reason != "manual" || s.Totals.Total != 1 {
			t.Errorf("the disabled endpoint: %+v", s)
		}
		if s := got.Data[2]; s.Totals.Total != 0 || s.LastAttempt != nil || s.Disabled != nil {
			t.Errorf("the endpoint never attempted: %+v", s)
		}

		// The answer says nothing of what was left out.
		status, body := h.do("GET", summaryPath(app.Id, foreign.Id, unknown), testAdminToken, nil)
		if status != http.StatusOK || strings.Contains(string(body), foreign.Id) || strings.Contains(string(body), unknown) ||
			!strings.Contains(string(body), `"data":[]`) {
			t.Errorf("only IDs of no endpoint of the application: %d %s", status, body)
		}
		var viaPortal endpointSummariesOut
		h.mustDo(http.StatusOK, "GET", summaryPath(app.Id, ep.Id), h.portalToken(app.Id), nil, &viaPortal)
		if len(viaPortal.Data) != 1 || viaPortal.Data[0].EndpointID != ep.Id {
			t.Errorf("through the application's portal token: %+v", viaPortal)
		}
		status, body = h.do("GET", summaryPath(app.Id, ep.Id), h.portalToken(foreignApp.Id), nil)
		if status != http.StatusNotFound || strings.Contains(string(body), ep.Id) {
			t.Errorf("another application's portal token: %d %s, want 404", status, body)
		}
		assertErrorBody(t, status, body, "not_found", nil)
	})
}

// TestEndpointSummariesBadQuery: on both databases, every parameter of the
// summary route that is wrong is 422 in Svix's format at its own loc,
// naming the value that is not an endpoint ID; a hundred values (half of
// them one ID) are not too many; an unknown application is 404.
func TestEndpointSummariesBadQuery(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		app, ep, _ := h.healthApp("summary-bad")
		base := "/api/v1/app/" + app.Id + "/endpoint-summary"
		var many []string
		for range maxSummaryEndpoints + 1 {
			many = append(many, hookrelay.NewID(hookrelay.PrefixEndpoint))
		}
		hundred := slices.Repeat([]string{ep.Id}, maxSummaryEndpoints/2)
		for range maxSummaryEndpoints / 2 {
			hundred = append(hundred, hookrelay.NewID(hookrelay.PrefixEndpoint))
		}
		for _, c := range []struct {
			name, query string
			loc         []string
			names       string // what the message must name
		}{
			{"no endpoint", "", []string{"query", "endpoint"}, "endpoint=ID"},
			{"empty endpoint", "endpoint=", []string{"query", "endpoint", "0"}, `""`},
			{"a uid", "endpoint=" + ep.Id + "&endpoint=ep-a", []string{"query", "endpoint", "1"}, `"ep-a"`},
			{"a short ID", "endpoint=ep_abc", []string{"query", "endpoint", "0"}, `"ep_abc"`},
			{"another kind of ID", "endpoint=" + app.Id, []string{"query", "endpoint", "0"}, app.Id},
			{"an ID with a comma", "endpoint=" + url.QueryEscape(ep.Id+","+ep.Id), []string{"query", "endpoint", "0"}, "not an endpoint ID"},
			{"too many", summaryPath(app.Id, many...)[len(base)+1:], []string{"query", "endpoint"}, "at most 100"},
			{"too many, repeated", summaryPath(app.Id, append(hundred, ep.Id)...)[len(base)+1:], []string{"query", "endpoint"}, "names 101 endpoints"},
			{"endpoint_id", "endpoint=" + ep.Id + "&endpoint_id=" + ep.Id, []string{"query", "endpoint_id"}, "endpoint=ID"},
			{"a window", "endpoint=" + ep.Id + "&since=2025-01-01T00:00:00Z", []string{"query", "since"}, "24 hours"},
			{"bucket", "endpoint=" + ep.Id + "&bucket=day", []string{"query", "bucket"}, "24 hours"},
			{"limit", "endpoint=" + ep.Id + "&limit=5", []string{"query", "limit"}, "takes endpoint"},
		} {
			t.Run(c.name, func(t *testing.T) {
				status, body := h.do("GET", base+"?"+c.query, testAdminToken, nil)
				if status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422: %s", status, body)
				}
				assertErrorBody(t, status, body, "", c.loc)
				if !strings.Contains(string(body), strings.ReplaceAll(c.names, `"`, `\"`)) {
					t.Errorf("the refusal %s does not name %s", body, c.names)
				}
			})
		}
		// A hundred values, half of them one endpoint, is not too many:
		// the endpoint answers once.
		var out endpointSummariesOut
		h.mustDo(http.StatusOK, "GET", summaryPath(app.Id, hundred...), testAdminToken, nil, &out)
		if len(out.Data) != 1 || out.Data[0].EndpointID != ep.Id {
			t.Errorf("%d values: %+v", maxSummaryEndpoints, out.Data)
		}
		if status, body := h.do("GET", summaryPath("app_none", ep.Id), testAdminToken, nil); status != http.StatusNotFound {
			t.Errorf("an unknown application: %d %s", status, body)
		}
	})
}
