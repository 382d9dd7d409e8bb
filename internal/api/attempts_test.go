package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// TestBinaryAttemptResponse: an attempt whose response body is not text.
// The attempt object's response is valid UTF-8 (invalid bytes become
// U+FFFD, NUL is escaped) in every answer that shows it, the SDK reads it,
// and the response route gives back the exact bytes.
func TestBinaryAttemptResponse(t *testing.T) {
	tests := []struct{ name, body string }{
		{"gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\xcbH\xcd\xc9\xc9\x07\x00"},
		{"invalid utf-8", "caf\xc3( \xe2\x82 \xed\xa0\x80 \xff\xfe"},
		{"text", "{\"ok\":\"h\u00e9llo\"}"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ctx := t.Context()
			app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "a"})
			if err != nil {
				t.Fatal(err)
			}
			ep, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: "https://example.com/a"})
			if err != nil {
				t.Fatal(err)
			}
			msg, err := h.sdk.Message.Create(ctx, app.Id, &svix.MessageIn{EventType: "a.b", Payload: map[string]any{}})
			if err != nil {
				t.Fatal(err)
			}
			atts := h.makeAttempts(hookrelay.StatusSuccess, 200, tt.body)
			if len(atts) != 1 {
				t.Fatalf("%d attempts", len(atts))
			}
			att := atts[0]
			want := hookrelay.ValidUTF8(tt.body)
			base := "/api/v1/app/" + app.Id + "/msg/" + msg.Id + "/attempt/" + att.ID

			for _, path := range []string{
				base,
				"/api/v1/app/" + app.Id + "/attempt/msg/" + msg.Id,
				"/api/v1/app/" + app.Id + "/attempt/endpoint/" + ep.Id,
			} {
				status, out := h.do("GET", path, testAdminToken, nil)
				if status != http.StatusOK || !utf8.Valid(out) {
					t.Fatalf("GET %s: %d, valid UTF-8 %v: %q", path, status, utf8.Valid(out), out)
				}
				var got struct {
					Response *string
					Data     []struct{ Response *string }
				}
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatal(err)
				}
				if got.Response == nil && len(got.Data) == 1 {
					got.Response = got.Data[0].Response
				}
				if got.Response == nil || *got.Response != want {
					t.Errorf("GET %s: response %v, want %q: %s", path, got.Response, want, out)
				}
				if strings.IndexByte(tt.body, 0) >= 0 && !bytes.Contains(out, []byte(`\u0000`)) {
					t.Errorf("GET %s: NUL not escaped as \\u0000: %q", path, out)
				}
			}
			got, err := h.sdk.MessageAttempt.Get(ctx, app.Id, msg.Id, att.ID)
			if err != nil || got.Response != want {
				t.Errorf("SDK: response %q (%v), want %q", got.Response, err, want)
			}

			resp := rawGet(t, h, base+"/response", testAdminToken)
			if resp.status != http.StatusOK || resp.body != tt.body {
				t.Errorf("GET .../response: %d %q, want 200 %q", resp.status, resp.body, tt.body)
			}
			if resp.contentType != "application/octet-stream" || resp.contentLength != strconv.Itoa(len(tt.body)) {
				t.Errorf("GET .../response: Content-Type %q, Content-Length %q", resp.contentType, resp.contentLength)
			}

			// Expunged, the body is gone from both views.
			h.mustDo(http.StatusNoContent, "DELETE", base+"/content", testAdminToken, nil, nil)
			if resp := rawGet(t, h, base+"/response", testAdminToken); resp.status != http.StatusOK || resp.body != "" {
				t.Errorf("GET .../response after expunge: %d %q", resp.status, resp.body)
			}
		})
	}
}

func TestAttemptResponseNotFound(t *testing.T) {
	f := newFixture(t)
	base := "/api/v1/app/" + f.appA + "/msg/" + f.msgA + "/attempt/"
	for _, tt := range []struct{ name, path string }{
		{"unknown attempt", base + "atmpt_nope/response"},
		{"unknown message", "/api/v1/app/" + f.appA + "/msg/msg_nope/attempt/" + f.attA + "/response"},
		{"unknown app", "/api/v1/app/app_nope/msg/" + f.msgA + "/attempt/" + f.attA + "/response"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, out := f.do("GET", tt.path, testAdminToken, nil)
			if status != http.StatusNotFound {
				t.Fatalf("status %d, want 404: %s", status, out)
			}
			assertErrorBody(t, status, out, "not_found", nil)
		})
	}
	// The attempt's own application's portal token reads it.
	resp := rawGet(t, f.harness, base+f.attA+"/response", f.portalToken("app-a"))
	if resp.status != http.StatusOK || resp.body != "ok" {
		t.Errorf("portal token: %d %q, want 200 \"ok\"", resp.status, resp.body)
	}
}

type rawAnswer struct {
	status                     int
	body                       string
	contentType, contentLength string
}

// rawGet GETs path and returns the answer as is.
func rawGet(t *testing.T, h *harness, path, token string) rawAnswer {
	t.Helper()
	req, err := http.NewRequest("GET", h.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawAnswer{resp.StatusCode, string(b), resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length")}
}

// TestListAttemptsByApp: GET /api/v1/app/{app_id}/attempt?status= lists
// the application's attempts of that status across its endpoints, newest
// first, with list-by-endpoint's filters and answer, page by page; another
// application's attempts never appear.
func TestListAttemptsByApp(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		ctx := t.Context()
		app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "A"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "B"})
		if err != nil {
			t.Fatal(err)
		}
		eps := map[string]bool{}
		for _, u := range []string{"https://example.com/1", "https://example.com/2"} {
			ep, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: u})
			if err != nil {
				t.Fatal(err)
			}
			eps[ep.Id] = true
		}
		if _, err := h.sdk.Endpoint.Create(ctx, other.Id, &svix.EndpointIn{Url: "https://example.com/b"}); err != nil {
			t.Fatal(err)
		}
		publish := func(appID, eventType string) string {
			m, err := h.sdk.Message.Create(ctx, appID, &svix.MessageIn{EventType: eventType, Channels: []string{"ch"}, Payload: map[string]any{}})
			if err != nil {
				t.Fatal(err)
			}
			return m.Id
		}
		failedMsg := publish(app.Id, "contact.created")
		otherMsg := publish(other.Id, "contact.created")
		h.makeAttempts(hookrelay.StatusFail, 503, "down")
		okMsg := publish(app.Id, "call.completed")
		h.makeAttempts(hookrelay.StatusSuccess, 200, "ok")

		type attempt struct {
			ID, MsgID, EndpointID, Response string
			Status                          int
			Msg                             *struct{ EventType string }
		}
		list := func(appID, query string) (atts []attempt, done bool, iterator string) {
			t.Helper()
			var out struct {
				Data     []attempt
				Done     bool
				Iterator *string
			}
			h.mustDo(http.StatusOK, "GET", "/api/v1/app/"+appID+"/attempt?"+query, testAdminToken, nil, &out)
			if out.Iterator != nil {
				iterator = *out.Iterator
			}
			return out.Data, out.Done, iterator
		}
		for _, tt := range []struct {
			name, query string
			msg         string // every attempt's message
			n           int
		}{
			{"failed", "status=2", failedMsg, 2},
			{"succeeded", "status=0", okMsg, 2},
			{"pending", "status=1", "", 0},
			{"failed, its event type", "status=2&event_types=contact.created", failedMsg, 2},
			{"failed, another event type", "status=2&event_types=call.completed", "", 0},
			{"succeeded, a channel", "status=0&channel=ch", okMsg, 2},
			{"failed, class 500", "status=2&status_code_class=500", failedMsg, 2},
			{"failed, class 200", "status=2&status_code_class=200", "", 0},
			{"failed, since an hour ago", "status=2&after=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), failedMsg, 2},
			{"failed, since tomorrow", "status=2&after=" + time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339), "", 0},
			{"failed, before an hour ago", "status=2&before=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "", 0},
		} {
			atts, done, _ := list(app.Id, tt.query)
			if len(atts) != tt.n || !done {
				t.Errorf("%s: %d attempts (done %v), want %d", tt.name, len(atts), done, tt.n)
			}
			seen := map[string]bool{}
			for i, a := range atts {
				if a.MsgID != tt.msg || !eps[a.EndpointID] {
					t.Errorf("%s: attempt %+v, want one of message %s to an endpoint of the application", tt.name, a, tt.msg)
				}
				if i > 0 && a.ID >= atts[i-1].ID {
					t.Errorf("%s: not newest first: %s after %s", tt.name, a.ID, atts[i-1].ID)
				}
				seen[a.EndpointID] = true
			}
			if tt.n == 2 && len(seen) != 2 {
				t.Errorf("%s: the attempts are not of both endpoints: %+v", tt.name, atts)
			}
		}

		// Paging, one by one.
		first, done, iter := list(app.Id, "status=2&limit=1")
		if len(first) != 1 || done || iter != first[0].ID {
			t.Fatalf("first page: %+v, done %v, iterator %q", first, done, iter)
		}
		second, done, _ := list(app.Id, "status=2&limit=1&iterator="+iter)
		if len(second) != 1 || !done || second[0].ID >= first[0].ID {
			t.Errorf("second page: %+v, done %v after %s", second, done, first[0].ID)
		}

		// with_msg embeds the message; with_content=false drops the body.
		atts, _, _ := list(app.Id, "status=2&with_msg=true&with_content=false")
		for _, a := range atts {
			if a.Msg == nil || a.Msg.EventType != "contact.created" || a.Response != "" {
				t.Errorf("with_msg, without content: %+v", a)
			}
		}
		atts, _, _ = list(app.Id, "status=2")
		if len(atts) == 0 || atts[0].Response != "down" || atts[0].Msg != nil {
			t.Errorf("default content: %+v", atts)
		}

		// The other application's own, and nothing of it here.
		atts, _, _ = list(other.Id, "status=2")
		if len(atts) != 1 || atts[0].MsgID != otherMsg {
			t.Errorf("the other application's failed attempts: %+v", atts)
		}
		if atts, _, _ := list(other.Id, "status=0"); len(atts) != 0 {
			t.Errorf("the other application's succeeded attempts: %+v", atts)
		}

		// A portal token of the application reads them; the Go SDK's model
		// of list-by-endpoint's answer decodes them.
		var out svix.ListResponseMessageAttemptOut
		status, body := h.do("GET", "/api/v1/app/"+app.Id+"/attempt?status=2", h.portalToken(app.Id), nil, "User-Agent", goSDKUserAgent)
		if status != http.StatusOK {
			t.Fatalf("portal token: %d %s", status, body)
		}
		sdkDecode(t, body, &out, "data", "done", "iterator")
		if len(out.Data) != 2 {
			t.Errorf("portal token: %d attempts", len(out.Data))
		}
	})
}

// Every listing (applications, event types, background tasks, endpoints,
// messages, attempts) pages the same way (listPage): a page of limit=1
// says whether more follow, its iterator leads to the next, and the pages
// together hold each item once.
func TestListingsPageOneByOne(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		ctx := t.Context()
		app, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "A"})
		if err != nil {
			t.Fatal(err)
		}
		var eps []string
		for _, u := range []string{"https://example.com/1", "https://example.com/2"} {
			ep, err := h.sdk.Endpoint.Create(ctx, app.Id, &svix.EndpointIn{Url: u})
			if err != nil {
				t.Fatal(err)
			}
			eps = append(eps, ep.Id)
		}
		var msgs []string
		for i := 0; i < 3; i++ {
			m, err := h.sdk.Message.Create(ctx, app.Id, &svix.MessageIn{EventType: "contact.created", Payload: map[string]any{"i": i}})
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m.Id)
		}
		if atts := h.makeAttempts(hookrelay.StatusFail, 503, "down"); len(atts) != 6 {
			t.Fatalf("made %d attempts, want 6", len(atts))
		}
		if _, err := h.sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "B"}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"a.one", "a.two", "a.three"} {
			if _, err := h.sdk.EventType.Create(ctx, &svix.EventTypeIn{Name: name, Description: name}); err != nil {
				t.Fatal(err)
			}
		}
		h.replayMissing(app.Id, eps[0], time.Now().Add(-time.Hour), nil)
		h.replayMissing(app.Id, eps[1], time.Now().Add(-time.Hour), nil)

		base := "/api/v1/app/" + app.Id
		for _, tt := range []struct {
			path string
			n    int
			name bool // the iterator is the item's name, not its ID
		}{
			{"/api/v1/app", 2, false},
			{"/api/v1/event-type", 3, true},
			{"/api/v1/background-task", 2, false},
			{base + "/endpoint", 2, false},
			{base + "/msg", 3, false},
			{base + "/endpoint/" + eps[0] + "/msg", 3, false},
			{base + "/msg/" + msgs[1] + "/endpoint", 2, false},
			{base + "/attempt/endpoint/" + eps[1] + "?with_msg=true", 3, false},
			{base + "/attempt/msg/" + msgs[2], 2, false},
			{base + "/attempt?status=2&with_msg=true", 6, false},
		} {
			seen := map[string]bool{}
			iterator := ""
			for page := 1; ; page++ {
				path := tt.path + "?limit=1"
				if strings.Contains(tt.path, "?") {
					path = tt.path + "&limit=1"
				}
				if iterator != "" {
					path += "&iterator=" + iterator
				}
				var out struct {
					Data []struct {
						ID    string
						Name  string
						MsgID string
						Msg   *struct{ ID string }
					}
					Iterator *string
					Done     bool
				}
				h.mustDo(http.StatusOK, "GET", path, testAdminToken, nil, &out)
				if len(out.Data) == 1 && tt.name {
					out.Data[0].ID = out.Data[0].Name
				}
				if len(out.Data) != 1 || out.Iterator == nil || *out.Iterator != out.Data[0].ID || seen[out.Data[0].ID] {
					t.Fatalf("%s, page %d: %+v (seen %v)", tt.path, page, out, seen)
				}
				if d := out.Data[0]; strings.Contains(tt.path, "with_msg") && (d.Msg == nil || d.Msg.ID != d.MsgID) {
					t.Fatalf("%s, page %d: attempt %+v without its message", tt.path, page, d)
				}
				seen[out.Data[0].ID] = true
				iterator = *out.Iterator
				if out.Done != (page == tt.n) {
					t.Fatalf("%s, page %d of %d: done %v", tt.path, page, tt.n, out.Done)
				}
				if out.Done {
					break
				}
			}
		}
	})
}

// The listings of messages and attempts read their shared filters with one
// reader (readListFilters, readAttemptQuery): each refuses every bad filter
// it takes, in the same order.
func TestListingFilterProblemsInOrder(t *testing.T) {
	f := newFixture(t)
	appA := "/api/v1/app/" + f.appA
	const bad = "iterator=%FF&limit=0&channel=a%20b&tag=a:b&event_types=a%20b&before=x&after=y" +
		"&status=9&status_code_class=7&with_content=x&with_msg=x&endpoint_id=a%20b"
	const filters = "iterator limit channel tag event_types before after"
	for _, tt := range []struct{ path, want string }{
		{appA + "/msg?" + bad, filters + " with_content"},
		{appA + "/endpoint/" + f.epA + "/msg?" + bad, filters + " status with_content"},
		{appA + "/attempt/endpoint/" + f.epA + "?" + bad, filters + " status status_code_class with_content with_msg"},
		{appA + "/attempt/msg/" + f.msgA + "?" + bad, filters + " status status_code_class with_content endpoint_id"},
		{appA + "/attempt?" + bad, "endpoint_id " + filters + " status status_code_class with_content with_msg"},
		{appA + "/attempt?" + strings.Replace(bad, "&status=9", "", 1), "endpoint_id " + filters + " status_code_class status with_content with_msg"},
	} {
		status, body := f.do("GET", tt.path, testAdminToken, nil)
		assertErrorBody(t, status, body, "", nil)
		var ve struct{ Detail []fieldError }
		if err := json.Unmarshal(body, &ve); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range ve.Detail {
			if len(d.Loc) != 2 || d.Loc[0] != "query" {
				t.Fatalf("%s: problem at %v", tt.path, d.Loc)
			}
			got = append(got, d.Loc[1])
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("GET %s: problems at %v, want %s", tt.path, got, tt.want)
		}
	}
}

// TestTimeBoundsFinerThanMicroseconds filters listings and counts by
// bounds with nanoseconds, on both databases, which keep times in
// microseconds: a message or attempt made at T is before T plus a
// nanosecond, and not after T, whatever the rounding.
func TestTimeBoundsFinerThanMicroseconds(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, `{"name":"A","uid":"a"}`, nil)
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app/a/endpoint", testAdminToken, `{"url":"https://example.com/h","uid":"e"}`, nil)
		var m messageOut
		h.mustDo(http.StatusAccepted, "POST", "/api/v1/app/a/msg", testAdminToken, `{"eventType":"t","payload":{}}`, &m)
		at := h.makeAttempts(hookrelay.StatusSuccess, 200, "ok")[0].CreatedAt
		msgAt := time.Time(m.Timestamp)
		q := func(name string, t time.Time) string { return name + "=" + t.Format(time.RFC3339Nano) }
		for _, c := range []struct {
			name, path string
			at         time.Time
		}{
			{"messages", "/api/v1/app/a/msg?", msgAt},
			{"endpoint messages", "/api/v1/app/a/endpoint/e/msg?", msgAt},
			{"endpoint attempts", "/api/v1/app/a/attempt/endpoint/e?", at},
			{"app attempts", "/api/v1/app/a/attempt?status=0&", at},
			{"message attempts", "/api/v1/app/a/attempt/msg/" + m.ID + "?", at},
		} {
			for _, b := range []struct {
				query string
				want  int
			}{
				{q("before", c.at.Add(time.Nanosecond)), 1},
				{q("before", c.at.Add(999*time.Nanosecond)), 1},
				{q("before", c.at), 0},
				{q("after", c.at.Add(-time.Nanosecond)), 1},
				{q("after", c.at), 0},
				{q("after", c.at.Add(time.Nanosecond)), 0},
			} {
				var l listResponse[json.RawMessage]
				h.mustDo(http.StatusOK, "GET", c.path+strings.ReplaceAll(b.query, "+", "%2B"), testAdminToken, nil, &l)
				if len(l.Data) != b.want {
					t.Errorf("%s %s: %d items, want %d", c.name, b.query, len(l.Data), b.want)
				}
			}
		}
		// [since, until) of the application's statistics.
		for _, b := range []struct {
			since, until time.Time
			want         int64
		}{
			{msgAt.Add(time.Nanosecond), msgAt.Add(time.Hour), 0},
			{msgAt.Add(-time.Hour), msgAt.Add(time.Nanosecond), 1},
			{msgAt, msgAt.Add(time.Nanosecond), 1},
		} {
			query := strings.ReplaceAll(q("since", b.since)+"&"+q("until", b.until), "+", "%2B")
			var stats applicationStatsOut
			h.mustDo(http.StatusOK, "GET", "/api/v1/app/a/stats?"+query, testAdminToken, nil, &stats)
			var counts appAttemptStatsOut
			h.mustDo(http.StatusOK, "GET", "/api/v1/app/a/stats/attempts?"+query, testAdminToken, nil, &counts)
			if stats.MessageDestinations != b.want || counts.TotalSuccess != b.want {
				t.Errorf("%s: %d destinations, %d succeeded, want %d", query, stats.MessageDestinations, counts.TotalSuccess, b.want)
			}
		}
	})
}
