package portal

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/api"
	"github.com/hookrelay/hookrelay/internal/ops"
	"github.com/hookrelay/hookrelay/internal/store"
)

// TestSecretPage: the secret is shown only on demand and is the API's;
// rotating makes a new one, and the page shows until when the previous
// one keeps signing.
func TestSecretPage(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := newServerOn(t, open(t))
		app := s.createApp("acme")
		var ep endpointJSON
		s.adminJSON("POST", "/api/v1/app/"+app+"/endpoint", map[string]any{"url": "https://receiver.example/"}, &ep)
		var sec struct {
			Key string `json:"key"`
		}
		s.adminJSON("GET", "/api/v1/app/"+app+"/endpoint/"+ep.ID+"/secret", nil, &sec)
		b := s.login(app, false)
		path := "/portal/endpoints/" + ep.ID + "/secret"

		resp, body := b.get(path)
		body = html.UnescapeString(body)
		if resp.StatusCode != 200 || strings.Contains(body, sec.Key) || !strings.Contains(body, `data-testid="reveal"`) || strings.Contains(body, `data-testid="grace"`) {
			t.Fatalf("secret page before reveal: %d\n%s", resp.StatusCode, body)
		}
		for _, want := range []string{`data-testid="snippet-node"`, `data-testid="snippet-go"`, `data-testid="snippet-python"`, "signature.VerifyRequest", "timingSafeEqual", "hmac.compare_digest"} {
			if !strings.Contains(body, want) {
				t.Errorf("secret page lacks %s", want)
			}
		}
		_, body = b.get(path + "?reveal=1")
		body = html.UnescapeString(body)
		if !strings.Contains(body, `value="`+sec.Key+`"`) || !strings.Contains(body, `data-copy="secret" hidden`) {
			t.Errorf("revealed page does not show the secret %s with a copy button", sec.Key)
		}

		before := time.Now()
		resp, _ = b.post(path+"/rotate", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path+"?done=rotated" {
			t.Fatalf("rotate: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		var rotated struct {
			Key string `json:"key"`
		}
		s.adminJSON("GET", "/api/v1/app/"+app+"/endpoint/"+ep.ID+"/secret", nil, &rotated)
		if rotated.Key == sec.Key || !strings.HasPrefix(rotated.Key, "whsec_") {
			t.Fatalf("secret after rotate = %q (was %q)", rotated.Key, sec.Key)
		}
		_, body = b.get(path + "?done=rotated")
		body = html.UnescapeString(body)
		m := regexp.MustCompile(`still signs every request until <strong>([^<]+)</strong>`).FindStringSubmatch(body)
		if m == nil || !strings.Contains(body, "Secret rotated.") || !strings.Contains(body, "(in 23 hours)") {
			t.Fatalf("page after rotate shows no grace period:\n%s", body)
		}
		until, err := time.Parse("2006-01-02 15:04:05 UTC", m[1])
		if err != nil || until.Before(before.Add(24*time.Hour-time.Minute)) || until.After(time.Now().Add(24*time.Hour+time.Minute)) {
			t.Errorf("grace until %q, want about 24 h from now", m[1])
		}
		if strings.Contains(body, sec.Key) || strings.Contains(body, rotated.Key) {
			t.Error("a secret is shown without reveal")
		}
	})
}

// TestCatalogPage: every event type with its description, its schema's
// fields in words and its example, grouped by family; archived types are
// left out.
func TestCatalogPage(t *testing.T) {
	s := newServer(t)
	app := s.createApp("acme")
	b := s.login(app, false)
	_, body := b.get("/portal/catalog")
	if !strings.Contains(body, `data-testid="catalog-empty"`) {
		t.Errorf("empty catalog:\n%s", body)
	}
	s.addEventTypes(map[string]string{
		"contact.created": `{"1": {"type": "object", "required": ["data"], "properties": {"data": {"type": "object", "properties": {"email": {"type": "string", "format": "email", "description": "Primary address"}}}},
			"examples": [{"type": "contact.created", "data": {"email": "ada@example.com"}}]}}`,
		"call.completed": "",
	})
	s.adminJSON("POST", "/api/v1/event-type", map[string]any{"name": "legacy.thing", "description": "old", "archived": true}, nil)
	_, body = b.get("/portal/catalog")
	for _, want := range []string{
		`data-name="contact.created"`, `data-name="call.completed"`, "When contact.created happens.",
		"<code>data.email</code>", "Primary address", "format: email", `<span class="req">required</span>`,
		`&#34;email&#34;: &#34;ada@example.com&#34;`, "No schema published.", `<code class="hint">contact.*</code>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("catalog lacks %s", want)
		}
	}
	if strings.Contains(body, "legacy.thing") {
		t.Error("catalog lists an archived type")
	}
}

// TestConsolePage: the console lists the environment's applications with
// the one that has a failing endpoint first and that endpoint first in it,
// counts the queue, lists operational events, and opens an application's
// portal for the operator.
func TestConsolePage(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		st := open(t)
		s := newServerOn(t, st, options{api: func(c *api.Config) { c.Events = ops.NewEmitter(ops.EmitterConfig{Store: st}) }})
		ctx := context.Background()
		// An operational endpoint, so operational events are recorded.
		s.adminJSON("POST", "/api/v1/operational-webhook/endpoint", map[string]any{"url": "https://ops.example/"}, nil)
		healthy := s.createApp("aaa-healthy")
		troubled := s.createApp("zzz-troubled")
		var ok, failing, off endpointJSON
		s.adminJSON("POST", "/api/v1/app/"+healthy+"/endpoint", map[string]any{"url": "https://ok.example/"}, &ok)
		s.adminJSON("POST", "/api/v1/app/"+troubled+"/endpoint", map[string]any{"url": "https://fine.example/"}, nil)
		s.adminJSON("POST", "/api/v1/app/"+troubled+"/endpoint", map[string]any{"url": "https://failing.example/"}, &failing)
		s.adminJSON("POST", "/api/v1/app/"+troubled+"/endpoint", map[string]any{"url": "https://off.example/", "disabled": true}, &off)

		// Two messages to each app; the failing endpoint's attempt fails
		// as the dispatcher would record it.
		s.adminJSON("POST", "/api/v1/app/"+troubled+"/msg", map[string]any{"eventType": "call.completed", "payload": map[string]any{"n": 1}}, nil)
		s.adminJSON("POST", "/api/v1/app/"+healthy+"/msg", map[string]any{"eventType": "call.completed", "payload": map[string]any{"n": 2}}, nil)
		now := time.Now().UTC()
		tasks, err := st.ClaimDeliveries(ctx, store.ClaimParams{Owner: "test", Now: now.Add(time.Second), LeaseUntil: now.Add(time.Minute), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var results []store.AttemptResult
		for _, tk := range tasks {
			code, status, next := 200, hookrelay.StatusSuccess, (*time.Time)(nil)
			if tk.Endpoint.ID == failing.ID {
				retry := now.Add(-time.Second) // due again at once: in the queue
				code, status, next = 503, hookrelay.StatusPending, &retry
			}
			aStatus := hookrelay.StatusFail
			if code == 200 {
				aStatus = hookrelay.StatusSuccess
			}
			results = append(results, store.AttemptResult{Owner: "test", Status: status, NextAttempt: next, Attempts: 1, Attempt: hookrelay.Attempt{
				DeliveryID: tk.Delivery.ID, MsgID: tk.Message.ID, AppID: tk.Message.AppID, EndpointID: tk.Endpoint.ID, URL: tk.Endpoint.URL,
				Status: aStatus, ResponseStatusCode: code, ResponseDurationMs: 5, TriggerType: hookrelay.TriggerScheduled, CreatedAt: now,
			}})
		}
		if len(results) < 3 {
			t.Fatalf("claimed %d deliveries, want the 3 of enabled endpoints (and operational ones)", len(results))
		}
		if err := st.CompleteAttempts(ctx, results); err != nil {
			t.Fatal(err)
		}

		b := s.consoleLogin(testAdminToken)
		resp, body := b.get("/console/")
		if resp.StatusCode != 200 {
			t.Fatalf("console: %d\n%s", resp.StatusCode, body)
		}
		apps := regexp.MustCompile(`data-testid="console-app" data-app-id="([^"]+)"`).FindAllStringSubmatch(body, -1)
		if len(apps) != 2 || apps[0][1] != troubled || apps[1][1] != healthy {
			t.Errorf("applications in order %v, want the troubled one (%s) first", apps, troubled)
		}
		eps := regexp.MustCompile(`data-testid="console-endpoint" data-endpoint-id="([^"]+)" data-status="([^"]+)"`).FindAllStringSubmatch(body, -1)
		if len(eps) != 4 || eps[0][1] != failing.ID || eps[0][2] != "Failing" || eps[1][1] != off.ID || eps[1][2] != "Disabled" {
			t.Errorf("endpoints in order %v, want the failing (%s) then the disabled (%s) first", eps, failing.ID, off.ID)
		}
		if !strings.Contains(body, "1 failing") || !strings.Contains(body, "1 disabled") || !strings.Contains(body, "HTTP 503") {
			t.Errorf("console does not say what fails:\n%s", body)
		}
		due := regexp.MustCompile(`data-testid="queue-due">(\d+)<`).FindStringSubmatch(body)
		if due == nil || due[1] == "0" {
			t.Errorf("queue due = %v, want the failing endpoint's retry counted", due)
		}
		if !strings.Contains(body, `data-testid="events"`) || !strings.Contains(body, "<code>endpoint.created</code>") {
			t.Errorf("console lists no operational events:\n%s", body)
		}

		// Open a customer's portal from the console: a session of that
		// application, carried in the link.
		resp, _ = b.post("/console/apps/"+troubled+"/portal", nil)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/portal/endpoints" || loc.Query().Get(sessionParam) == "" {
			t.Fatalf("open portal: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		c := s.newBrowser(false)
		c.secret = loc.Query().Get(sessionParam)
		_, body = c.get("/portal/endpoints")
		if !strings.Contains(body, `data-endpoint-id="`+failing.ID+`"`) || strings.Contains(body, ok.ID) {
			t.Errorf("the opened portal is not the troubled application's:\n%s", body)
		}
		// A customer session cannot open the console's action.
		if resp, _ := c.post("/console/apps/"+healthy+"/portal", nil); resp.StatusCode == http.StatusSeeOther {
			t.Error("a customer session opened another application's portal")
		}
	})
}

// TestEndpointDisabledByServer: an endpoint the server disabled on a 410
// Gone (with the reason ops.Alerts stores) shows why, and enabling it from
// the portal works; disabled again by hand while its failures still show,
// it reads "by hand", not "by the server".
func TestEndpointDisabledByServer(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		st := open(t)
		s := newServerOn(t, st)
		ctx := context.Background()
		app := s.createApp("acme")
		var ep endpointJSON
		s.adminJSON("POST", "/api/v1/app/"+app+"/endpoint", map[string]any{"url": "https://gone.example/"}, &ep)
		s.adminJSON("POST", "/api/v1/app/"+app+"/msg", map[string]any{"eventType": "call.completed", "payload": map[string]any{"n": 1}}, nil)
		now := time.Now().UTC()
		tasks, err := st.ClaimDeliveries(ctx, store.ClaimParams{Owner: "test", Now: now.Add(time.Second), LeaseUntil: now.Add(time.Minute), Limit: 10})
		if err != nil || len(tasks) != 1 {
			t.Fatalf("claim: %d tasks, %v", len(tasks), err)
		}
		tk := tasks[0]
		err = st.CompleteAttempts(ctx, []store.AttemptResult{{Owner: "test", Status: hookrelay.StatusFail, Attempts: 1, Attempt: hookrelay.Attempt{
			DeliveryID: tk.Delivery.ID, MsgID: tk.Message.ID, AppID: app, EndpointID: ep.ID, URL: tk.Endpoint.URL,
			Status: hookrelay.StatusFail, ResponseStatusCode: 410, TriggerType: hookrelay.TriggerScheduled, CreatedAt: now,
		}}})
		if err != nil {
			t.Fatal(err)
		}
		status, err := st.GetEndpointStatus(ctx, app, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		reason := hookrelay.DisabledReason{Cause: hookrelay.DisabledGone, At: now, FailingSince: status.FailingSince,
			Failures: status.ConsecutiveFailures, LastOutcome: status.LastOutcome, LastStatusCode: status.LastStatusCode}
		if ok, err := st.DisableEndpoint(ctx, app, ep.ID, reason); err != nil || !ok {
			t.Fatalf("disable: %v %v", ok, err)
		}
		b := s.login(app, false)
		_, body := b.get("/portal/endpoints/" + ep.ID)
		for _, want := range []string{"Disabled by the server on " + fmtTime(now), "answered HTTP 410 Gone", `data-testid="enable"`} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		_, body = b.get("/portal/endpoints")
		if !strings.Contains(body, "Disabled by the server") || !strings.Contains(body, "0%") {
			t.Errorf("list does not say why it is disabled:\n%s", body)
		}
		if resp, _ := b.post("/portal/endpoints/"+ep.ID+"/enable", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("enable: %d", resp.StatusCode)
		}
		var after endpointJSON
		s.adminJSON("GET", "/api/v1/app/"+app+"/endpoint/"+ep.ID, nil, &after)
		if after.Disabled {
			t.Error("still disabled")
		}
		stored, err := st.GetEndpoint(ctx, app, ep.ID)
		if err != nil || stored.DisabledReason != nil {
			t.Errorf("enabled endpoint keeps a reason: %+v %v", stored.DisabledReason, err)
		}

		// Still failing (its status keeps the run of failures), it is
		// disabled by hand in the portal: that is what the page says now.
		if resp, _ := b.post("/portal/endpoints/"+ep.ID+"/disable", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("disable: %d", resp.StatusCode)
		}
		_, body = b.get("/portal/endpoints/" + ep.ID)
		if !strings.Contains(body, "Disabled by hand in the portal on ") || strings.Contains(body, "Disabled by the server") {
			t.Errorf("a failing endpoint disabled by hand does not say so:\n%s", body)
		}
	})
}
