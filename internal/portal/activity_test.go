package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/internal/api"
	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
)

// deliveringServer is a test server whose messages are really delivered:
// a dispatcher and a task runner work on its store, as `hookrelay serve`
// runs them. A failed attempt is not retried (an empty retry schedule).
func deliveringServer(t *testing.T, st store.Store) *server {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	disp := delivery.NewDispatcher(delivery.Config{
		Store:         st,
		NodeID:        "portal-test",
		AllowPrivate:  []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		RetrySchedule: []time.Duration{},
		Timeout:       5 * time.Second,
		PollInterval:  50 * time.Millisecond,
		Logger:        logger,
	})
	runner := ops.NewRunner(ops.Config{Store: st, NodeID: "portal-test", Waker: disp,
		PollInterval: 50 * time.Millisecond, Logger: logger})
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = disp.Run(ctx) }()
	go func() { defer wg.Done(); _ = runner.Run(ctx) }()
	t.Cleanup(func() { stop(); wg.Wait() })
	return newServerOn(t, st, options{api: func(c *api.Config) { c.Waker = disp; c.Tasks = runner }})
}

// receiver answers /ok with 200 and a JSON body, and /flaky with 500
// while failing is set, 200 after.
type receiver struct {
	srv     *httptest.Server
	failing atomic.Bool
	mu      sync.Mutex
	auth    []string
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.failing.Store(true)
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rc.mu.Lock()
		rc.auth = append(rc.auth, r.Header.Get("Authorization"))
		rc.mu.Unlock()
		if r.URL.Path == "/flaky" && rc.failing.Load() {
			http.Error(w, "database unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"received":true}`)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (s *server) mustAdmin(want int, method, path string, in, out any) {
	s.t.Helper()
	status, body := s.admin(method, path, in)
	if status != want {
		s.t.Fatalf("%s %s: %d %s, want %d", method, path, status, body, want)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			s.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

var msgLocation = regexp.MustCompile(`[?&]msg=([^&]+)`)

// TestActivityPages drives the activity, testing and health pages on both
// databases against a real receiver: a test event and its response
// without reload (the result fragment), the log's filters and paging, the
// details with secrets hidden and the failure in plain words, resend,
// recover with its progress, the health charts, a read-only session and
// another application's objects.
func TestActivityPages(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := deliveringServer(t, open(t))
		rc := newReceiver(t)
		app := s.createApp("acme")
		other := s.createApp("other")
		s.mustAdmin(http.StatusCreated, "POST", "/api/v1/event-type", map[string]any{
			"name": "contact.created", "description": "A contact was created",
			"schemas": map[string]any{"1": map[string]any{"type": "object", "examples": []any{map[string]any{"contactId": "c_example"}}}},
		}, nil)
		s.mustAdmin(http.StatusCreated, "POST", "/api/v1/event-type", map[string]any{"name": "call.completed", "description": "A call ended"}, nil)
		var okEp, flakyEp, otherEp, otherFlakyEp struct {
			ID string `json:"id"`
		}
		s.mustAdmin(http.StatusCreated, "POST", "/api/v1/app/"+app+"/endpoint", map[string]any{
			"url": rc.srv.URL + "/ok", "description": "Orders service",
		}, &okEp)
		s.mustAdmin(http.StatusNoContent, "PUT", "/api/v1/app/"+app+"/endpoint/"+okEp.ID+"/headers", map[string]any{
			"headers": map[string]string{"Authorization": "Bearer sk_live_topsecret", "X-Team": "blue"},
		}, nil)
		s.mustAdmin(http.StatusCreated, "POST", "/api/v1/app/"+app+"/endpoint", map[string]any{"url": rc.srv.URL + "/flaky", "description": "Flaky"}, &flakyEp)
		s.mustAdmin(http.StatusCreated, "POST", "/api/v1/app/"+other+"/endpoint", map[string]any{"url": rc.srv.URL + "/ok"}, &otherEp)
		s.mustAdmin(http.StatusCreated, "POST", "/api/v1/app/"+other+"/endpoint", map[string]any{"url": rc.srv.URL + "/flaky", "description": "Other flaky"}, &otherFlakyEp)
		b := s.login(app, false)

		// Testing: the example to the ok endpoint; its result comes in
		// through the fragment the page's script polls.
		resp, body := b.get("/portal/testing?event_type=contact.created&endpoint=" + okEp.ID)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "c_example") || !strings.Contains(body, `src="/portal/static/testing.js`) {
			t.Fatalf("testing page: %d %s", resp.StatusCode, body)
		}
		resp, body = b.post("/portal/testing", url.Values{"endpoint": {okEp.ID}, "event_type": {"contact.created"}, "payload": {""}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("send test: %d %s", resp.StatusCode, body)
		}
		m := msgLocation.FindStringSubmatch(resp.Header.Get("Location"))
		if m == nil {
			t.Fatalf("send test redirected to %q", resp.Header.Get("Location"))
		}
		testMsg := m[1]
		resultPath := "/portal/testing/result?msg=" + testMsg + "&endpoint=" + okEp.ID
		waitFor(t, "the test event's attempt in the result fragment", func() bool {
			resp, body = b.get(resultPath)
			return resp.StatusCode == http.StatusOK && strings.Contains(body, `data-settled="true"`)
		})
		if !strings.Contains(body, "HTTP 200") || strings.Contains(body, "<html") || !strings.Contains(body, "received") {
			t.Errorf("result fragment: %s", body)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("fragment CSP %q", csp)
		}
		resp, body = b.get("/portal/testing?endpoint=" + okEp.ID + "&event_type=contact.created&msg=" + testMsg)
		if !strings.Contains(body, "HTTP 200") || strings.Contains(body, "data-poll=") {
			t.Errorf("settled result page still polls or lacks the answer: %s", body)
		}
		// An edited payload goes through send-test; a bad one is refused
		// next to its field.
		resp, _ = b.post("/portal/testing", url.Values{"endpoint": {flakyEp.ID}, "event_type": {"contact.created"}, "payload": {`{"edited": true}`}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("send edited test: %d", resp.StatusCode)
		}
		flakyMsg := msgLocation.FindStringSubmatch(resp.Header.Get("Location"))[1]
		for _, tt := range []struct{ payload, want string }{
			{`{"edited": `, "must be JSON"},
			{`[1, 2]`, "must be a JSON object"},
		} {
			resp, body = b.post("/portal/testing", url.Values{"endpoint": {flakyEp.ID}, "event_type": {"contact.created"}, "payload": {tt.payload}})
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, tt.want) || !strings.Contains(body, `data-testid="error-payload"`) {
				t.Errorf("payload %s: %d, want 422 saying %q", tt.payload, resp.StatusCode, tt.want)
			}
		}
		waitFor(t, "the flaky endpoint's failed attempt", func() bool {
			_, body = b.get("/portal/testing/result?msg=" + flakyMsg + "&endpoint=" + flakyEp.ID)
			return strings.Contains(body, `data-settled="true"`)
		})
		if !strings.Contains(body, "HTTP 500") || !strings.Contains(body, "server error on its side") {
			t.Errorf("failed result: %s", body)
		}

		// More traffic: 24 messages of call.completed to both endpoints,
		// and 2 in the other application (one success and one failure
		// each).
		for i := 0; i < 24; i++ {
			s.mustAdmin(http.StatusAccepted, "POST", "/api/v1/app/"+app+"/msg", map[string]any{"eventType": "call.completed", "payload": map[string]any{"i": i}}, nil)
		}
		var otherMsgs []string
		for i := 0; i < 2; i++ {
			var m struct {
				ID string `json:"id"`
			}
			s.mustAdmin(http.StatusAccepted, "POST", "/api/v1/app/"+other+"/msg", map[string]any{"eventType": "call.completed", "payload": map[string]any{"i": i}}, &m)
			otherMsgs = append(otherMsgs, m.ID)
		}
		waitFor(t, "50 attempts, and 4 in the other application", func() bool {
			var n int
			for _, ep := range [][2]string{{app, okEp.ID}, {app, flakyEp.ID}, {other, otherEp.ID}, {other, otherFlakyEp.ID}} {
				status, body := s.admin("GET", "/api/v1/app/"+ep[0]+"/attempt/endpoint/"+ep[1]+"?limit=250", nil)
				var l struct{ Data []json.RawMessage }
				if status == http.StatusOK && json.Unmarshal(body, &l) == nil {
					n += len(l.Data)
				}
			}
			return n >= 54
		})

		// The log: messages, newest first, 20 a page.
		resp, body = b.get("/portal/activity")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("activity: %d %s", resp.StatusCode, body)
		}
		if n := strings.Count(body, `data-testid="activity-row"`); n != activityPageSize {
			t.Errorf("first page has %d rows, want %d", n, activityPageSize)
		}
		next := regexp.MustCompile(`href="([^"]+)" data-testid="page-next"`).FindStringSubmatch(body)
		if next == nil {
			t.Fatalf("no next page link")
		}
		_, body2 := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
		if n := strings.Count(body2, `data-testid="activity-row"`); n != 26-activityPageSize {
			t.Errorf("second page has %d rows, want %d", n, 26-activityPageSize)
		}
		if !strings.Contains(body2, testMsg) || strings.Contains(body2, `data-testid="page-next"`) || !strings.Contains(body2, `data-testid="page-first"`) {
			t.Errorf("the last page lacks the oldest message or has a next link")
		}
		// Filters.
		for _, tt := range []struct {
			name   string
			query  string
			status int
			rows   int
			has    []string
			hasnt  []string
		}{
			{"event type", "event_type=contact.created", 200, 2, []string{testMsg, flakyMsg}, nil},
			{"endpoint", "endpoint=" + okEp.ID + "&event_type=contact.created", 200, 1, []string{testMsg, "Succeeded", "<code>contact.created</code>"}, []string{flakyMsg}},
			{"failed on one endpoint", "endpoint=" + flakyEp.ID + "&status=failed&event_type=contact.created", 200, 1, []string{flakyMsg, "HTTP 500"}, nil},
			{"succeeded on the flaky endpoint", "endpoint=" + flakyEp.ID + "&status=succeeded", 200, 0, []string{"Nothing matches"}, nil},
			{"time window in the future", "since=2999-01-01T00:00", 200, 0, []string{"Nothing matches"}, nil},
			{"time window holding everything", "since=2000-01-01T00:00&until=2999-01-01T00:00&event_type=contact.created", 200, 2, nil, nil},
			{"failed across endpoints", "status=failed", 200, activityPageSize, []string{`data-testid="row-endpoint">Flaky</span>`, "HTTP 500", `data-testid="page-next"`},
				append([]string{`data-testid="row-endpoint">Orders service</span>`, "Other flaky</span>"}, otherMsgs...)},
			{"succeeded across endpoints, an event type", "status=succeeded&event_type=contact.created", 200, 1,
				[]string{testMsg, `data-testid="row-endpoint">Orders service</span>`, "<code>contact.created</code>"}, []string{flakyMsg}},
			{"failed across endpoints, an event type", "status=failed&event_type=contact.created", 200, 1,
				[]string{flakyMsg, `data-testid="row-endpoint">Flaky</span>`}, []string{testMsg}},
			{"failed across endpoints in a time window", "status=failed&since=2000-01-01T00:00&until=2999-01-01T00:00&event_type=contact.created", 200, 1, []string{flakyMsg}, nil},
			{"failed across endpoints in the future", "status=failed&since=2999-01-01T00:00", 200, 0, []string{"Nothing matches"}, nil},
			{"a status the log does not have", "status=pending", 422, 0, []string{"must be succeeded or failed"}, nil},
			{"bad time", "since=yesterday", 422, 0, []string{"must be a date and time"}, nil},
			{"another app's endpoint", "endpoint=" + otherEp.ID, 404, 0, []string{`data-testid="activity-error"`}, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				resp, body := b.get("/portal/activity?" + tt.query)
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
				}
				if n := strings.Count(body, `data-testid="activity-row"`); n != tt.rows {
					t.Errorf("%d rows, want %d", n, tt.rows)
				}
				for _, s := range tt.has {
					if !strings.Contains(body, s) {
						t.Errorf("page lacks %q", s)
					}
				}
				for _, s := range tt.hasnt {
					if strings.Contains(body, s) {
						t.Errorf("page has %q", s)
					}
				}
			})
		}

		// A status alone pages through the application's attempts of that
		// status, newest first: those the API lists, each once, all of the
		// endpoint that has them. The other application's session sees
		// its own only; a read-only session reads them too.
		rowIDs := regexp.MustCompile(`data-attempt-id="([^"]+)" data-endpoint-id="([^"]+)"`)
		pages := func(b *browser, query string) (atts, eps []string) {
			t.Helper()
			next := "/portal/activity?" + query
			for range 10 {
				resp, body := b.get(next)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %d %s", next, resp.StatusCode, body)
				}
				for _, m := range rowIDs.FindAllStringSubmatch(body, -1) {
					atts, eps = append(atts, m[1]), append(eps, m[2])
				}
				link := regexp.MustCompile(`href="([^"]+)" data-testid="page-next"`).FindStringSubmatch(body)
				if link == nil {
					return atts, eps
				}
				next = strings.ReplaceAll(link[1], "&amp;", "&")
			}
			t.Fatalf("%s: paging did not end", query)
			return nil, nil
		}
		apiIDs := func(app, status string) []string {
			var l struct {
				Data []struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			s.mustAdmin(http.StatusOK, "GET", "/api/v1/app/"+app+"/attempt?limit=250&status="+status, nil, &l)
			var out []string
			for _, a := range l.Data {
				out = append(out, a.ID)
			}
			return out
		}
		ro := s.login(app, true)
		for _, tt := range []struct {
			name          string
			b             *browser
			query, app    string
			apiStatus, ep string
			n             int
		}{
			{"failed", b, "status=failed", app, "2", flakyEp.ID, 25},
			{"succeeded", b, "status=succeeded", app, "0", okEp.ID, 25},
			{"failed, read-only", ro, "status=failed", app, "2", flakyEp.ID, 25},
			{"the other application's failed", s.login(other, false), "status=failed", other, "2", otherFlakyEp.ID, 2},
		} {
			atts, eps := pages(tt.b, tt.query)
			want := apiIDs(tt.app, tt.apiStatus)
			if len(atts) != tt.n || strings.Join(atts, ",") != strings.Join(want, ",") {
				t.Errorf("%s: the pages list %d attempts %v, want the API's %d %v", tt.name, len(atts), atts, len(want), want)
			}
			for i, ep := range eps {
				if ep != tt.ep {
					t.Errorf("%s: attempt %s of endpoint %s, want %s", tt.name, atts[i], ep, tt.ep)
				}
				if i > 0 && atts[i] >= atts[i-1] {
					t.Errorf("%s: attempt %s listed after %s: not newest first", tt.name, atts[i], atts[i-1])
				}
			}
		}
		_, body = ro.get("/portal/activity?status=failed")
		if strings.Contains(body, `data-testid="to-recover"`) || strings.Contains(body, `method="post" action="/portal/activity`) {
			t.Errorf("read-only session's filtered log offers a change")
		}

		// Attempt detail: secrets hidden, the failure in plain words.
		var okAtts, flakyAtts struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		s.mustAdmin(200, "GET", "/api/v1/app/"+app+"/attempt/msg/"+testMsg, nil, &okAtts)
		s.mustAdmin(200, "GET", "/api/v1/app/"+app+"/attempt/msg/"+flakyMsg, nil, &flakyAtts)
		resp, body = b.get("/portal/activity/msg/" + testMsg + "/attempt/" + okAtts.Data[0].ID)
		if resp.StatusCode != 200 {
			t.Fatalf("attempt detail: %d %s", resp.StatusCode, body)
		}
		if strings.Contains(body, "topsecret") || !strings.Contains(body, `<code>Authorization</code></td><td class="break"><code data-redacted="true">`+redacted) || !strings.Contains(body, "blue") ||
			!strings.Contains(body, testMsg) || !strings.Contains(body, "c_example") || !strings.Contains(body, "&#34;received&#34;: true") {
			t.Errorf("attempt detail: %s", body)
		}
		rc.mu.Lock()
		sawSecret := false
		for _, a := range rc.auth {
			sawSecret = sawSecret || a == "Bearer sk_live_topsecret"
		}
		rc.mu.Unlock()
		if !sawSecret {
			t.Errorf("the receiver never got the Authorization header the page hides")
		}
		_, body = b.get("/portal/activity/msg/" + flakyMsg + "/attempt/" + flakyAtts.Data[0].ID)
		if !strings.Contains(body, `data-testid="failure-reason"`) || !strings.Contains(body, "HTTP 500 Internal Server Error") || !strings.Contains(body, "database unavailable") {
			t.Errorf("failed attempt detail: %s", body)
		}

		// Resend the failed message once the receiver works again.
		rc.failing.Store(false)
		resp, _ = b.post("/portal/activity/msg/"+flakyMsg+"/resend", url.Values{"endpoint": {flakyEp.ID}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("resend: %d", resp.StatusCode)
		}
		waitFor(t, "the resent message's success", func() bool {
			_, body = b.get("/portal/activity/msg/" + flakyMsg)
			return strings.Contains(body, `data-testid="destination-status">Succeeded`)
		})
		if strings.Count(body, `data-testid="attempt"`) != 2 {
			t.Errorf("message detail after resend: %s", body)
		}

		// Recover: the 24 failed call.completed messages of the flaky
		// endpoint go again; the task page follows the task.
		resp, body = b.post("/portal/activity/recover", url.Values{"endpoint": {flakyEp.ID}, "since": {"soon"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "must be a date and time") {
			t.Errorf("recover with a bad time: %d", resp.StatusCode)
		}
		resp, _ = b.post("/portal/activity/recover", url.Values{"endpoint": {flakyEp.ID}, "since": {formTime(time.Now().Add(-time.Hour))}})
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/portal/activity/task/") {
			t.Fatalf("recover: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		taskPath := resp.Header.Get("Location")
		waitFor(t, "the recover task to finish", func() bool {
			resp, body = b.get(taskPath)
			if strings.Contains(body, `data-task-status="running"`) && resp.Header.Get("Refresh") == "" {
				t.Errorf("a running task's page does not refresh itself")
			}
			return strings.Contains(body, `data-task-status="finished"`)
		})
		if !strings.Contains(body, `<span data-testid="task-count">24</span>`) || resp.Header.Get("Refresh") != "" {
			t.Errorf("finished task page: %s", body)
		}
		waitFor(t, "the recovered messages' successes", func() bool {
			_, body = b.get("/portal/activity?endpoint=" + flakyEp.ID + "&status=succeeded&event_type=call.completed")
			return strings.Count(body, `data-testid="activity-row"`) == activityPageSize
		})

		// Health: the charts and their figures as text.
		for _, w := range []string{"24h", "7d", "30d"} {
			resp, body = b.get("/portal/health?endpoint=" + flakyEp.ID + "&window=" + w)
			if resp.StatusCode != 200 {
				t.Fatalf("health %s: %d %s", w, resp.StatusCode, body)
			}
			for _, want := range []string{`data-testid="chart-success"`, `data-testid="chart-response"`, "<title id=\"chart-success-title\">Success rate of Flaky",
				`data-testid="window-` + w + `" aria-current="page"`, `data-testid="health-rate"`, "HTTP 500 Internal Server Error",
				"· <code>call.completed</code>"} {
				if !strings.Contains(body, want) {
					t.Errorf("health %s lacks %q", w, want)
				}
			}
		}
		if !strings.Contains(body, "26 attempts: 25 succeeded") && !strings.Contains(body, "succeeded") {
			t.Errorf("health totals: %s", body)
		}
		if resp, _ := b.get("/portal/health?endpoint=" + otherEp.ID); resp.StatusCode != http.StatusNotFound {
			t.Errorf("health of another app's endpoint: %d", resp.StatusCode)
		}

		// Another application's message is not found; a read-only
		// session sees no change button and the API refuses its changes.
		if resp, _ := b.get("/portal/activity/msg/" + testMsg); resp.StatusCode != 200 {
			t.Errorf("own message: %d", resp.StatusCode)
		}
		var otherMsg struct {
			ID string `json:"id"`
		}
		s.mustAdmin(http.StatusAccepted, "POST", "/api/v1/app/"+other+"/msg", map[string]any{"eventType": "call.completed", "payload": map[string]any{}}, &otherMsg)
		if resp, _ := b.get("/portal/activity/msg/" + otherMsg.ID); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another app's message: %d, want 404", resp.StatusCode)
		}
		_, body = ro.get("/portal/activity/msg/" + flakyMsg)
		if strings.Contains(body, `data-testid="resend"`) {
			t.Errorf("read-only session sees a resend button")
		}
		_, body = ro.get("/portal/testing")
		if strings.Contains(body, `data-testid="send-test"`) {
			t.Errorf("read-only session sees the send button")
		}
		for _, tt := range []struct {
			path string
			form url.Values
		}{
			{"/portal/activity/msg/" + flakyMsg + "/resend", url.Values{"endpoint": {flakyEp.ID}}},
			{"/portal/testing", url.Values{"endpoint": {okEp.ID}, "event_type": {"contact.created"}}},
			{"/portal/activity/recover", url.Values{"endpoint": {flakyEp.ID}, "since": {"2026-01-01T00:00"}}},
		} {
			if resp, body := ro.post(tt.path, tt.form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("read-only POST %s: %d, want 403: %s", tt.path, resp.StatusCode, body)
			}
		}
		_ = fmt.Sprint
	})
}

// TestActivityEmptyAndCarried: with no endpoint and no message each page
// says what to do; a browser that blocks cookies keeps its session in the
// GET forms (filters, health, testing) as in the links.
func TestActivityEmptyAndCarried(t *testing.T) {
	s := newServer(t)
	app := s.createApp("empty")
	b := s.newBrowser(false)
	b.open(s.magicLink(app, false).URL)
	for _, tt := range []struct{ path, want string }{
		{"/portal/activity", `data-testid="activity-empty"`},
		{"/portal/testing", `data-testid="testing-empty"`},
		{"/portal/health", `data-testid="health-empty"`},
		{"/portal/activity/recover", "You have no endpoint yet"},
	} {
		resp, body := b.get(tt.path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s: %d, want 200 with %s:\n%s", tt.path, resp.StatusCode, tt.want, body)
		}
	}
	_, body := b.get("/portal/activity")
	if !strings.Contains(body, `<input type="hidden" name="`+sessionParam+`" value="`+b.secret+`">`) {
		t.Errorf("the filter form does not carry the session:\n%s", body)
	}
	if resp, _ := b.get("/portal/activity?since=2026-01-01T00:00&event_type=x.y"); resp.StatusCode != http.StatusOK {
		t.Errorf("filtered GET with a carried session: %d", resp.StatusCode)
	}
}
