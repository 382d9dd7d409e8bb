package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// healthNow is the clock of the health tests: attempts are recorded at
// times before it.
var healthNow = time.Date(2025, 3, 10, 12, 30, 0, 0, time.UTC)

// healthAttempt is one attempt recorded by recordAttempts.
type healthAttempt struct {
	ago  time.Duration // before healthNow
	kind hookrelay.OutcomeKind
	ms   int64
}

// recordAttempts publishes one message to the application and records the
// given attempts of its delivery to endpoint epID, as a dispatcher would.
func (h *harness) recordAttempts(appID, epID string, atts []healthAttempt) {
	h.t.Helper()
	ctx := context.Background()
	var msg struct {
		ID string `json:"id"`
	}
	h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+appID+"/msg", testAdminToken,
		map[string]any{"eventType": "a.b", "payload": map[string]any{}}, &msg)
	now := time.Now().Add(time.Second)
	tasks, err := h.st.ClaimDeliveries(ctx, store.ClaimParams{Owner: "test", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 100})
	if err != nil {
		h.t.Fatalf("claim: %v", err)
	}
	var results []store.AttemptResult
	for _, tk := range tasks {
		if tk.Endpoint.ID != epID || tk.Message.ID != msg.ID {
			continue
		}
		for _, a := range atts {
			status, code := hookrelay.StatusFail, 0
			switch a.kind {
			case hookrelay.OutcomeSuccess:
				status, code = hookrelay.StatusSuccess, 200
			case hookrelay.OutcomeRejected:
				code = 503
			}
			results = append(results, store.AttemptResult{Owner: "test", Attempt: hookrelay.Attempt{
				DeliveryID: tk.Delivery.ID, URL: tk.Endpoint.URL, Status: status, ResponseStatusCode: code,
				Outcome: a.kind, ResponseDurationMs: a.ms, TriggerType: hookrelay.TriggerScheduled,
				CreatedAt: healthNow.Add(-a.ago),
			}, Status: hookrelay.StatusPending, Attempts: 1})
		}
	}
	if err := h.st.CompleteAttempts(ctx, results); err != nil {
		h.t.Fatalf("complete attempts: %v", err)
	}
}

// healthApp creates an application with two endpoints through the SDK.
func (h *harness) healthApp(uid string) (app *svix.ApplicationOut, ep, other *svix.EndpointOut) {
	h.t.Helper()
	ctx := context.Background()
	app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: uid, Uid: &uid})
	if err != nil {
		h.t.Fatal(err)
	}
	ep, err = h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/a"})
	if err != nil {
		h.t.Fatal(err)
	}
	other, err = h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/b"})
	if err != nil {
		h.t.Fatal(err)
	}
	return app, ep, other
}

func healthQuery(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "?" + v.Encode()
}

func TestEndpointHealth(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t), func(c *Config) { c.Now = func() time.Time { return healthNow } })
		app, ep, other := h.healthApp("health")
		path := "/api/v1/app/" + app.Id + "/endpoint/" + ep.Id + "/health"

		var empty endpointHealthOut
		h.mustDo(http.StatusOK, "GET", path, testAdminToken, nil, &empty)
		if empty.Bucket != "hour" || len(empty.Buckets) != 25 || empty.LastAttempt != nil || empty.Totals.Total != 0 ||
			empty.Totals.SuccessRate != nil || empty.Totals.ResponseTimeMs != nil {
			t.Fatalf("health without attempts: %+v", empty)
		}
		if empty.ConsecutiveFailures != 0 || empty.LastSuccessAt != nil || empty.FailingSince != nil {
			t.Fatalf("status without attempts: %+v", empty)
		}

		// 30 minutes ago (12:00-12:59 bucket, as the hour holds 12:00):
		// two successes, a rejection, a timeout, a refusal.
		h.recordAttempts(app.Id, ep.Id, []healthAttempt{
			{30 * time.Minute, hookrelay.OutcomeSuccess, 40},
			{29 * time.Minute, hookrelay.OutcomeSuccess, 60},
			{28 * time.Minute, hookrelay.OutcomeRejected, 400},
			{27 * time.Minute, hookrelay.OutcomeUnanswered, 15000},
			{26 * time.Minute, hookrelay.OutcomeRefused, 0},
		})
		// Three hours ago: one internal failure. Two days ago: a success.
		h.recordAttempts(app.Id, ep.Id, []healthAttempt{
			{3 * time.Hour, hookrelay.OutcomeInternal, 0},
			{48 * time.Hour, hookrelay.OutcomeSuccess, 10},
		})
		// Another endpoint's attempts are not this one's.
		h.recordAttempts(app.Id, other.Id, []healthAttempt{{time.Minute, hookrelay.OutcomeSuccess, 5}})

		var got endpointHealthOut
		h.mustDo(http.StatusOK, "GET", path, testAdminToken, nil, &got)
		if len(got.Buckets) != 25 || time.Time(*got.Buckets[0].Start) != healthNow.Add(-24*time.Hour).Truncate(time.Hour) {
			t.Fatalf("buckets: %d from %v", len(got.Buckets), got.Buckets[0].Start)
		}
		last := got.Buckets[24]
		want := healthAttemptsOut{Success: 2, Rejected: 1, Unanswered: 1, Refused: 1}
		if last.Attempts != want || last.Total != 5 {
			t.Errorf("last bucket attempts %+v, total %d; want %+v", last.Attempts, last.Total, want)
		}
		if last.SuccessRate == nil || *last.SuccessRate != 0.5 {
			t.Errorf("success rate %v, want 0.5 (refusals do not count)", last.SuccessRate)
		}
		// Response times of the answered attempts only: 40, 60, 400.
		rt := last.ResponseTimeMs
		if rt == nil || rt.Avg != 167 || rt.Max != 400 || rt.P50 < 50 || rt.P50 > 70 || rt.P99 < 300 || rt.P99 > 400 {
			t.Errorf("response times %+v", rt)
		}
		if b := got.Buckets[21]; b.Attempts.Internal != 1 || b.SuccessRate != nil || b.ResponseTimeMs != nil {
			t.Errorf("bucket 3 hours ago: %+v", b)
		}
		if got.Totals.Total != 6 || got.Totals.Attempts.Internal != 1 {
			t.Errorf("totals %+v", got.Totals)
		}
		// In time order: a success two days ago, an internal failure (not
		// the receiver's), two successes, then a rejection and a timeout
		// (the receiver's), then a refusal (not the receiver's).
		if got.ConsecutiveFailures != 2 || got.LastSuccessAt == nil || !time.Time(*got.LastSuccessAt).Equal(healthNow.Add(-29*time.Minute)) ||
			got.FailingSince == nil || !time.Time(*got.FailingSince).Equal(healthNow.Add(-28*time.Minute)) {
			t.Errorf("status: %d failures, last success %v, failing since %v; want 2, 29 and 28 minutes ago",
				got.ConsecutiveFailures, got.LastSuccessAt, got.FailingSince)
		}
		la := got.LastAttempt
		if la == nil || la.Outcome != "success" && la.Outcome != "refused" && la.Outcome != "internal" {
			t.Errorf("last attempt %+v", la)
		}

		// A week in days holds the success of two days ago; a portal token
		// of the application reads it.
		var days endpointHealthOut
		h.mustDo(http.StatusOK, "GET", path+healthQuery("bucket", "day", "since", healthNow.Add(-7*24*time.Hour).Format(time.RFC3339)),
			h.portalToken(app.Id), nil, &days)
		if len(days.Buckets) != 8 || days.Totals.Total != 7 || days.Buckets[5].Attempts.Success != 1 {
			t.Errorf("days: %d buckets, totals %+v, two days ago %+v", len(days.Buckets), days.Totals, days.Buckets[5])
		}
		var minutes endpointHealthOut
		h.mustDo(http.StatusOK, "GET", path+healthQuery("bucket", "minute"), testAdminToken, nil, &minutes)
		if len(minutes.Buckets) != 60 || minutes.Totals.Total != 5 || minutes.Buckets[30].Attempts.Success != 1 {
			t.Errorf("minutes: %d buckets, totals %+v", len(minutes.Buckets), minutes.Totals)
		}
		// Another application's portal token does not.
		app2, _, _ := h.healthApp("other")
		status, _ := h.do("GET", path, h.portalToken(app2.Id), nil)
		if status != http.StatusNotFound {
			t.Errorf("another app's portal token: %d, want 404", status)
		}
	})
}

func TestHealthBadQuery(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t), func(c *Config) { c.Now = func() time.Time { return healthNow } })
		app, ep, _ := h.healthApp("bad")
		epPath := "/api/v1/app/" + app.Id + "/endpoint/" + ep.Id
		now := healthNow.Format(time.RFC3339)
		for _, c := range []struct {
			path, field string
		}{
			{epPath + "/health" + healthQuery("bucket", "week"), "bucket"},
			{epPath + "/health" + healthQuery("since", "yesterday"), "since"},
			{epPath + "/health" + healthQuery("until", "2025-13-01T00:00:00Z"), "until"},
			{epPath + "/health" + healthQuery("since", now, "until", now), "since"},
			{epPath + "/health" + healthQuery("bucket", "minute", "since", healthNow.Add(-25*time.Hour).Format(time.RFC3339)), "since"},
			{"/api/v1/stats/app/" + app.Id + "/attempt" + healthQuery("startDate", now), "endDate"},
			{"/api/v1/stats/app/" + app.Id + "/attempt" + healthQuery("endDate", now), "startDate"},
			{"/api/v1/stats/app/" + app.Id + "/attempt" + healthQuery("startDate", now, "endDate", healthNow.Add(-time.Hour).Format(time.RFC3339)), "endDate"},
			{"/api/v1/stats/app/" + app.Id + "/ep/" + ep.Id + "/attempt" + healthQuery("startDate", "x", "endDate", now), "startDate"},
			{"/api/v1/stats/app/" + app.Id + "/ep/" + ep.Id + "/attempt" + healthQuery("startDate", healthNow.Add(-91*24*time.Hour).Format(time.RFC3339), "endDate", now), "startDate"},
			{"/api/v1/app/" + app.Id + "/stats" + healthQuery("until", now), "since"},
			{"/api/v1/app/" + app.Id + "/stats" + healthQuery("since", now), "until"},
			{"/api/v1/app/" + app.Id + "/stats" + healthQuery("since", now, "until", "soon"), "until"},
		} {
			t.Run(c.path, func(t *testing.T) {
				status, body := h.do("GET", c.path, testAdminToken, nil)
				if status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422; body %s", status, body)
				}
				assertErrorBody(t, status, body, "", []string{"query", c.field})
			})
		}
	})
}

// The official Go SDK v1.44.0 has no methods for the statistics routes and
// keeps their models in an internal package, so the responses are decoded
// here as its generated code decodes them: every required property
// present, unknown properties refused.

// sdkApplicationStats mirrors the SDK's ApplicationStats.
type sdkApplicationStats struct {
	AppId               string  `json:"appId"`
	AppUid              *string `json:"appUid,omitempty"`
	MessageDestinations int32   `json:"messageDestinations"`
}

// sdkAttemptStatisticsResponse mirrors the SDK's AttemptStatisticsResponse.
type sdkAttemptStatisticsResponse struct {
	Data struct {
		FailureCount []int32 `json:"failureCount,omitempty"`
		SuccessCount []int32 `json:"successCount,omitempty"`
	} `json:"data"`
	EndDate   time.Time `json:"endDate"`
	Period    string    `json:"period"`
	StartDate time.Time `json:"startDate"`
}

// sdkDecode decodes body into out as the SDK does.
func sdkDecode(t *testing.T, body []byte, out any, required ...string) {
	t.Helper()
	var all map[string]any
	if err := json.Unmarshal(body, &all); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	for _, r := range required {
		if _, ok := all[r]; !ok {
			t.Fatalf("%s: no value given for required property %s", body, r)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

func TestStatsRoutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t), func(c *Config) { c.Now = func() time.Time { return healthNow } })
		app, ep, other := h.healthApp("stats")
		h.recordAttempts(app.Id, ep.Id, []healthAttempt{
			{12 * time.Minute, hookrelay.OutcomeSuccess, 40},
			{11 * time.Minute, hookrelay.OutcomeRejected, 40},
			{7 * time.Hour, hookrelay.OutcomeSuccess, 40}, // outside the default 6 hours
			{2 * 24 * time.Hour, hookrelay.OutcomeSuccess, 40},
			{3 * 24 * time.Hour, hookrelay.OutcomeUnanswered, 0},
		})
		h.recordAttempts(app.Id, other.Id, []healthAttempt{{14 * time.Minute, hookrelay.OutcomeRefused, 0}})

		get := func(path string) sdkAttemptStatisticsResponse {
			t.Helper()
			status, body := h.do("GET", path, h.portalToken(app.Id), nil)
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, status, body)
			}
			var out sdkAttemptStatisticsResponse
			sdkDecode(t, body, &out, "data", "endDate", "period", "startDate")
			return out
		}
		sum := func(xs []int32) (n int32) {
			for _, x := range xs {
				n += x
			}
			return n
		}

		appPath := "/api/v1/stats/app/" + app.Id + "/attempt"
		epPath := "/api/v1/stats/app/" + app.Id + "/ep/" + ep.Id + "/attempt"
		def := get(appPath)
		if def.Period != "FiveMinutes" || !def.EndDate.Equal(healthNow) || !def.StartDate.Equal(healthNow.Add(-6*time.Hour)) ||
			len(def.Data.SuccessCount) != 72 || len(def.Data.FailureCount) != 72 {
			t.Fatalf("default window: %+v", def)
		}
		// 12:18 and 12:19 are in the 12:15 period (index 69), 12:16 too.
		if def.Data.SuccessCount[69] != 1 || def.Data.FailureCount[69] != 2 || sum(def.Data.SuccessCount) != 1 || sum(def.Data.FailureCount) != 2 {
			t.Errorf("app counts: %v / %v", def.Data.SuccessCount, def.Data.FailureCount)
		}
		epStats := get(epPath)
		if sum(epStats.Data.SuccessCount) != 1 || sum(epStats.Data.FailureCount) != 1 {
			t.Errorf("endpoint counts: %v / %v", epStats.Data.SuccessCount, epStats.Data.FailureCount)
		}
		week := get(epPath + healthQuery("startDate", healthNow.Add(-7*24*time.Hour).Format(time.RFC3339),
			"endDate", healthNow.Add(time.Hour).Format(time.RFC3339)))
		// The end is taken as now and rounded down to the day (as Svix
		// does): today's attempts are not counted.
		if week.Period != "OneDay" || len(week.Data.SuccessCount) != 7 || week.Data.SuccessCount[5] != 1 || week.Data.FailureCount[4] != 1 ||
			sum(week.Data.SuccessCount) != 1 || sum(week.Data.FailureCount) != 1 ||
			!week.EndDate.Equal(healthNow.Truncate(24*time.Hour)) {
			t.Errorf("a week in days: %+v", week)
		}
		// A window within one period has no data.
		tiny := get(appPath + healthQuery("startDate", healthNow.Add(time.Minute).Format(time.RFC3339), "endDate", healthNow.Add(3*time.Minute).Format(time.RFC3339)))
		if tiny.Data.SuccessCount != nil || tiny.Data.FailureCount != nil {
			t.Errorf("empty window: %+v", tiny)
		}

		// v1.application.get-stats counts message destinations: the two
		// messages recordAttempts published each went to both endpoints.
		status, body := h.do("GET", "/api/v1/app/"+app.Id+"/stats"+healthQuery(
			"since", healthNow.Add(-time.Hour).Format(time.RFC3339), "until", time.Now().Add(time.Hour).Format(time.RFC3339)), testAdminToken, nil)
		if status != http.StatusOK {
			t.Fatalf("app stats: %d %s", status, body)
		}
		var as sdkApplicationStats
		sdkDecode(t, body, &as, "appId", "messageDestinations")
		if as.AppId != app.Id || as.AppUid == nil || *as.AppUid != "stats" || as.MessageDestinations != 4 {
			t.Errorf("app stats %s", body)
		}
	})
}

// TestEndpointStatsUnchanged holds v1.endpoint.get-stats to what it was: it
// counts deliveries by their current status (not attempts), so it is not
// served from the health rollups.
func TestEndpointStatsUnchanged(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	app, ep, _ := h.healthApp("epstats")
	for range 3 {
		h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/"+app.Id+"/msg", testAdminToken,
			map[string]any{"eventType": "a.b", "payload": map[string]any{}}, nil)
	}
	h.makeAttempts(hookrelay.StatusFail, 500, "no")
	st, err := h.sdk.Endpoint.GetStats(ctx, app.Id, ep.Id)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(st.Success, st.Pending, st.Sending, st.Fail) != "0 0 0 3" {
		t.Errorf("endpoint stats %+v", st)
	}
}
