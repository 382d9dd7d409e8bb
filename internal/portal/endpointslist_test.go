package portal

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/api"
	"github.com/hookrelay/hookrelay/internal/store"
)

var (
	endpointRowRe = regexp.MustCompile(`data-testid="endpoint-row" data-endpoint-id="([^"]+)"`)
	pageLinkRe    = regexp.MustCompile(`href="([^"]*)" data-testid="page-(prev|next)"`)
)

// endpointsListPage is one page of the endpoints list as a browser reads
// it: the endpoints in order and the links to the pages around it.
type endpointsListPage struct {
	ids        []string
	prev, next string
	body       string
}

func (b *browser) endpointsPage(path string) endpointsListPage {
	b.t.Helper()
	resp, body := b.get(path)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
	}
	pg := endpointsListPage{body: body}
	for _, m := range endpointRowRe.FindAllStringSubmatch(body, -1) {
		pg.ids = append(pg.ids, m[1])
	}
	for _, m := range pageLinkRe.FindAllStringSubmatch(body, -1) {
		link := html.UnescapeString(m[1])
		if m[2] == "prev" {
			pg.prev = link
		} else {
			pg.next = link
		}
	}
	return pg
}

// manyEndpoints lets an application have more endpoints than the default
// 50, which is one page.
var manyEndpoints = options{api: func(c *api.Config) { c.MaxEndpointsPerApp = 1000 }}

// createEndpoints creates n endpoints of app through the API and returns
// their IDs in the list's order (by ID).
func (s *server) createEndpoints(app string, n int) []string {
	s.t.Helper()
	var ids []string
	for i := range n {
		var ep endpointJSON
		s.adminJSON("POST", "/api/v1/app/"+app+"/endpoint", map[string]any{"url": fmt.Sprintf("https://r%d.example/", i)}, &ep)
		ids = append(ids, ep.ID)
	}
	slices.Sort(ids)
	return ids
}

// failAttempt records a failed attempt (HTTP 503) of a message to
// endpoint epID of app, as the dispatcher would.
func failAttempt(t *testing.T, s *server, st store.Store, app, epID string) {
	t.Helper()
	ctx := context.Background()
	var msg struct {
		ID string `json:"id"`
	}
	s.adminJSON("POST", "/api/v1/app/"+app+"/msg", map[string]any{"eventType": "call.completed", "payload": map[string]any{"n": 1}}, &msg)
	now := time.Now().UTC()
	tasks, err := st.ClaimDeliveries(ctx, store.ClaimParams{Owner: "test", Now: now.Add(time.Second), LeaseUntil: now.Add(time.Minute), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var results []store.AttemptResult
	for _, tk := range tasks {
		if tk.Endpoint.ID != epID {
			if err := st.ReleaseDeliveries(ctx, "test", []string{tk.Delivery.ID}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		results = append(results, store.AttemptResult{Owner: "test", Status: hookrelay.StatusFail, Attempts: 1, Attempt: hookrelay.Attempt{
			DeliveryID: tk.Delivery.ID, MsgID: tk.Message.ID, AppID: app, EndpointID: epID, URL: tk.Endpoint.URL,
			Status: hookrelay.StatusFail, ResponseStatusCode: 503, ResponseDurationMs: 5, TriggerType: hookrelay.TriggerScheduled, CreatedAt: now,
		}})
	}
	if len(results) != 1 {
		t.Fatalf("claimed %d deliveries of %s, want 1", len(results), epID)
	}
	if err := st.CompleteAttempts(ctx, results); err != nil {
		t.Fatal(err)
	}
}

// TestEndpointsListPages: on both databases, an application with more
// endpoints than two pages lists them 50 a page, oldest first, each once,
// with Next and Previous links that walk the whole list both ways; each
// row has its health from the summary route (a failing endpoint on the
// second page, a disabled one on the third); a page link the portal did
// not make is refused, and one past the last endpoint leads back to the
// first page.
func TestEndpointsListPages(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		st := open(t)
		s := newServerOn(t, st, manyEndpoints)
		app := s.createApp("many")
		ids := s.createEndpoints(app, 2*endpointsPerPage+7)
		failing, off := ids[endpointsPerPage+9], ids[2*endpointsPerPage+3]
		failAttempt(t, s, st, app, failing)
		s.adminJSON("PATCH", "/api/v1/app/"+app+"/endpoint/"+off, map[string]any{"disabled": true}, nil)
		b := s.login(app, false)

		pages := [][]string{ids[:endpointsPerPage], ids[endpointsPerPage : 2*endpointsPerPage], ids[2*endpointsPerPage:]}
		check := func(name string, got endpointsListPage, want []string, prev, next bool) {
			t.Helper()
			if !slices.Equal(got.ids, want) {
				t.Fatalf("%s: endpoints %v\nwant %v", name, got.ids, want)
			}
			if (got.prev != "") != prev || (got.next != "") != next {
				t.Fatalf("%s: previous %q, next %q; want previous %v, next %v", name, got.prev, got.next, prev, next)
			}
		}
		p1 := b.endpointsPage("/portal/endpoints")
		check("first page", p1, pages[0], false, true)
		p2 := b.endpointsPage(p1.next)
		check("second page", p2, pages[1], true, true)
		p3 := b.endpointsPage(p2.next)
		check("third page", p3, pages[2], true, false)
		back2 := b.endpointsPage(p3.prev)
		check("second page, back", back2, pages[1], true, true)
		back1 := b.endpointsPage(back2.prev)
		check("first page, back", back1, pages[0], false, true)

		row := func(body, id string) string {
			i := strings.Index(body, `data-endpoint-id="`+id+`"`)
			if i < 0 {
				t.Fatalf("no row of %s", id)
			}
			end := strings.Index(body[i:], "</tr>")
			return body[i : i+end]
		}
		if r := row(p2.body, failing); !strings.Contains(r, ">Failing<") || !strings.Contains(r, "HTTP 503") || !strings.Contains(r, "0%") {
			t.Errorf("the failing endpoint's row:\n%s", r)
		}
		if r := row(p3.body, off); !strings.Contains(r, ">Disabled<") || !strings.Contains(r, "Disabled by hand through the API") {
			t.Errorf("the disabled endpoint's row:\n%s", r)
		}
		if r := row(p1.body, ids[0]); !strings.Contains(r, ">Active<") || !strings.Contains(r, "None yet") {
			t.Errorf("an endpoint never attempted:\n%s", r)
		}

		for _, bad := range []string{"?after=%00", "?before=a%FFb", "?after=" + ids[3] + "&before=" + ids[9],
			"?after=" + url.QueryEscape("<b>"), "?before=" + strings.Repeat("a", 65)} {
			resp, body := b.get("/portal/endpoints" + bad)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "This page link is not valid") {
				t.Errorf("%s: %d, want 400 saying the link is not valid", bad, resp.StatusCode)
			}
		}
		resp, _ := b.get("/portal/endpoints?after=" + ids[len(ids)-1])
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/portal/endpoints" {
			t.Errorf("a page past the last endpoint: %d to %q, want 303 to the first page", resp.StatusCode, loc)
		}
	})
}

// countingStore counts the store's reads of endpoints and their health.
type countingStore struct {
	store.Store
	n atomic.Int64
}

func (c *countingStore) ListEndpoints(ctx context.Context, appID string, p store.Page) ([]hookrelay.Endpoint, error) {
	c.n.Add(1)
	return c.Store.ListEndpoints(ctx, appID, p)
}

func (c *countingStore) GetEndpoint(ctx context.Context, appID, id string) (*hookrelay.Endpoint, error) {
	c.n.Add(1)
	return c.Store.GetEndpoint(ctx, appID, id)
}

func (c *countingStore) GetEndpointStatus(ctx context.Context, appID, id string) (*store.EndpointStatus, error) {
	c.n.Add(1)
	return c.Store.GetEndpointStatus(ctx, appID, id)
}

func (c *countingStore) HealthRollups(ctx context.Context, p store.HealthParams) ([]hookrelay.Health, error) {
	c.n.Add(1)
	return c.Store.HealthRollups(ctx, p)
}

func (c *countingStore) ListAttempts(ctx context.Context, p store.ListAttemptsParams) ([]hookrelay.Attempt, error) {
	c.n.Add(1)
	return c.Store.ListAttempts(ctx, p)
}

func (c *countingStore) EndpointSummaries(ctx context.Context, p store.SummaryParams) ([]store.EndpointSummary, error) {
	c.n.Add(1)
	return c.Store.EndpointSummaries(ctx, p)
}

// TestEndpointsListCostsAPage: a load of the endpoints list makes the same
// API calls (the page of the list and its summaries: two) and the same
// store reads of endpoints and health whether the application has 5
// endpoints or 120, the first page of 50 of them.
func TestEndpointsListCostsAPage(t *testing.T) {
	cost := func(n int) (calls, reads int64) {
		st := &countingStore{Store: openSQLite(t)}
		var apiCalls atomic.Int64
		s := newServerOn(t, st, manyEndpoints, options{portalAPI: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				apiCalls.Add(1)
				h.ServeHTTP(w, r)
			})
		}})
		app := s.createApp(fmt.Sprintf("app-%d", n))
		ids := s.createEndpoints(app, n)
		failAttempt(t, s, st, app, ids[0])
		b := s.login(app, false)
		apiCalls.Store(0)
		st.n.Store(0)
		pg := b.endpointsPage("/portal/endpoints")
		if len(pg.ids) != min(n, endpointsPerPage) {
			t.Fatalf("%d endpoints: the page lists %d", n, len(pg.ids))
		}
		return apiCalls.Load(), st.n.Load()
	}
	smallCalls, smallReads := cost(5)
	bigCalls, bigReads := cost(120)
	t.Logf("5 endpoints: %d API calls, %d store reads; 120: %d, %d", smallCalls, smallReads, bigCalls, bigReads)
	if smallCalls != 2 || bigCalls != smallCalls {
		t.Errorf("API calls per page load: %d with 5 endpoints, %d with 120; want 2 each", smallCalls, bigCalls)
	}
	if bigReads != smallReads {
		t.Errorf("store reads of endpoints and health per page load: %d with 5 endpoints, %d with 120", smallReads, bigReads)
	}
}
