package portal

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// TestConsoleTroubledAcrossPages: with more applications than a console
// page holds, those with a failing or a disabled endpoint come first
// although they were made last (by ID they would be on the second page);
// the next page goes on with the others, none twice, none left out. A
// page link the console did not make is refused.
func TestConsoleTroubledAcrossPages(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		st := open(t)
		s := newServerOn(t, st)
		ctx := context.Background()
		const n = consoleAppsPerPage + 10
		ids := make([]string, n)
		for i := range ids {
			app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: fmt.Sprintf("app %02d", i)}
			if err := st.CreateApplication(ctx, app); err != nil {
				t.Fatal(err)
			}
			ids[i] = app.ID
		}
		// The last two: one with a failing endpoint, one with a disabled one.
		failingApp, offApp := ids[n-1], ids[n-2]
		var failing, off endpointJSON
		s.adminJSON("POST", "/api/v1/app/"+failingApp+"/endpoint", map[string]any{"url": "https://failing.example/"}, &failing)
		s.adminJSON("POST", "/api/v1/app/"+offApp+"/endpoint", map[string]any{"url": "https://off.example/", "disabled": true}, &off)
		s.adminJSON("POST", "/api/v1/app/"+failingApp+"/msg", map[string]any{"eventType": "call.completed", "payload": map[string]any{}}, nil)
		now := time.Now().UTC()
		tasks, err := st.ClaimDeliveries(ctx, store.ClaimParams{Owner: "test", Now: now.Add(time.Second), LeaseUntil: now.Add(time.Minute), Limit: 10})
		if err != nil || len(tasks) != 1 {
			t.Fatalf("claim: %d tasks, %v", len(tasks), err)
		}
		tk := tasks[0]
		err = st.CompleteAttempts(ctx, []store.AttemptResult{{Owner: "test", Status: hookrelay.StatusPending, Attempts: 1,
			NextAttempt: &now, Attempt: hookrelay.Attempt{
				DeliveryID: tk.Delivery.ID, MsgID: tk.Message.ID, AppID: failingApp, EndpointID: failing.ID, URL: tk.Endpoint.URL,
				Status: hookrelay.StatusFail, ResponseStatusCode: 503, TriggerType: hookrelay.TriggerScheduled, CreatedAt: now,
			}}})
		if err != nil {
			t.Fatal(err)
		}

		b := s.consoleLogin(testAdminToken)
		appRe := regexp.MustCompile(`data-testid="console-app" data-app-id="([^"]+)" data-problems="(\d+)"`)
		nextRe := regexp.MustCompile(`href="([^"]*iterator=[^"]*)"`)
		page := func(path string) (apps []string, problems []string, next string) {
			t.Helper()
			resp, body := b.get(path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d\n%s", path, resp.StatusCode, body)
			}
			for _, m := range appRe.FindAllStringSubmatch(body, -1) {
				apps, problems = append(apps, m[1]), append(problems, m[2])
			}
			if m := nextRe.FindStringSubmatch(body); m != nil {
				next = html.UnescapeString(m[1])
			}
			return apps, problems, next
		}
		first, problems, next := page("/console/")
		if len(first) != consoleAppsPerPage || first[0] != offApp || first[1] != failingApp ||
			problems[0] != "1" || problems[1] != "1" || problems[2] != "0" {
			t.Fatalf("first page: %d applications, starting %v %v; want %s (disabled) and %s (failing) first",
				len(first), first[:min(3, len(first))], problems[:min(3, len(problems))], offApp, failingApp)
		}
		if next == "" {
			t.Fatal("first page has no link to the next")
		}
		u, err := url.Parse(next)
		if err != nil {
			t.Fatal(err)
		}
		second, _, more := page(u.RequestURI())
		if more != "" || len(second) != n-consoleAppsPerPage {
			t.Errorf("second page: %d applications, next %q; want %d and none", len(second), more, n-consoleAppsPerPage)
		}
		// Every application once: the troubled two, then the others by ID.
		want := append([]string{offApp, failingApp}, ids[:n-2]...)
		got := append(first, second...)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("applications across pages:\n got %v\nwant %v", got, want)
		}

		for _, bad := range []string{"x", "t.", "h.", "app_1", "t.a\x01b", "q.app_1"} {
			resp, body := b.get("/console/?iterator=" + url.QueryEscape(bad))
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("iterator %q: %d, want 400\n%s", bad, resp.StatusCode, body)
			}
		}
	})
}
