package portal

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestEveryPostRefusesCrossSite: every POST route of the portal and the
// console (routes.go is read, so a new one must be listed here) refuses,
// with 403 and no change, a request that the browser says comes from
// another site or another origin; those of a session also one without
// the session's CSRF token, or with another session's. The session still
// works afterwards, and the logins open none.
func TestEveryPostRefusesCrossSite(t *testing.T) {
	s := newServer(t)
	app := s.createApp("acme")
	var ep struct{ ID string }
	s.mustAdmin(http.StatusCreated, "POST", "/api/v1/app/"+app+"/endpoint", map[string]any{"url": "https://example.com/a"}, &ep)
	s.mustAdmin(http.StatusCreated, "POST", "/api/v1/event-type", map[string]any{"name": "contact.created", "description": "d"}, nil)
	var msg struct{ ID string }
	s.mustAdmin(http.StatusAccepted, "POST", "/api/v1/app/"+app+"/msg", map[string]any{"eventType": "contact.created", "payload": map[string]any{}}, &msg)
	code := mustURL(s.magicLink("acme", false).URL).Query().Get("code")

	// Each POST route with a form that would do its work.
	posts := map[string]struct {
		path    string
		form    url.Values
		console bool
		login   bool // no session: the login forms
	}{
		"/portal/login":                         {"/portal/login", url.Values{"code": {code}}, false, true},
		"/portal/logout":                        {"/portal/logout", nil, false, false},
		"/portal/endpoints":                     {"/portal/endpoints", url.Values{"url": {"https://example.com/new"}, "events": {"all"}}, false, false},
		"/portal/endpoints/{id}":                {"/portal/endpoints/" + ep.ID, url.Values{"url": {"https://example.com/b"}, "events": {"all"}}, false, false},
		"/portal/endpoints/{id}/headers":        {"/portal/endpoints/" + ep.ID + "/headers", url.Values{"header_kind": {"custom"}, "header_name": {"X-A"}, "header_value": {"1"}}, false, false},
		"/portal/endpoints/{id}/headers/remove": {"/portal/endpoints/" + ep.ID + "/headers/remove", url.Values{"name": {"X-A"}}, false, false},
		"/portal/endpoints/{id}/disable":        {"/portal/endpoints/" + ep.ID + "/disable", nil, false, false},
		"/portal/endpoints/{id}/enable":         {"/portal/endpoints/" + ep.ID + "/enable", nil, false, false},
		"/portal/endpoints/{id}/delete":         {"/portal/endpoints/" + ep.ID + "/delete", nil, false, false},
		"/portal/endpoints/{id}/secret/rotate":  {"/portal/endpoints/" + ep.ID + "/secret/rotate", nil, false, false},
		"/portal/activity/msg/{msg_id}/resend":  {"/portal/activity/msg/" + msg.ID + "/resend", url.Values{"endpoint": {ep.ID}}, false, false},
		"/portal/activity/recover":              {"/portal/activity/recover", url.Values{"endpoint": {ep.ID}, "since": {"2020-01-01T00:00"}}, false, false},
		"/portal/testing":                       {"/portal/testing", url.Values{"endpoint": {ep.ID}, "event_type": {"contact.created"}}, false, false},
		"/console/login":                        {"/console/login", url.Values{"token": {testAdminToken}}, true, true},
		"/console/logout":                       {"/console/logout", nil, true, false},
		"/console/apps/{app_id}/portal":         {"/console/apps/acme/portal", nil, true, false},
	}
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`"POST (/[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
		if _, ok := posts[m[1]]; !ok {
			t.Errorf("POST %s is not listed in this test", m[1])
		}
	}

	customer := s.login("acme", false)
	operator := s.consoleLogin(testAdminToken)
	other := s.login("acme", false)
	state := func() string {
		_, body := s.admin("GET", "/api/v1/app/"+app+"/endpoint", nil)
		_, msgs := s.admin("GET", "/api/v1/app/"+app+"/attempt/msg/"+msg.ID, nil)
		_, secret := s.admin("GET", "/api/v1/app/"+app+"/endpoint/"+ep.ID+"/secret", nil)
		return string(body) + string(msgs) + string(secret)
	}
	before := state()
	for name, rt := range posts {
		b := customer
		if rt.console {
			b = operator
		}
		csrf := (&Session{secret: b.secret}).csrfToken()
		for _, tt := range []struct {
			name   string
			header map[string]string
			csrf   string
		}{
			{"cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, csrf},
			{"same-site", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://app.example"}, csrf},
			{"another origin", map[string]string{"Origin": "https://evil.example"}, csrf},
			{"opaque origin", map[string]string{"Origin": "null"}, csrf},
			{"another port", map[string]string{"Origin": s.URL[:strings.LastIndex(s.URL, ":")] + ":1"}, csrf},
			{"no token", nil, ""},
			{"another session's token", nil, (&Session{secret: other.secret}).csrfToken()},
		} {
			if rt.login && tt.header == nil {
				continue // the logins need no session, so no token
			}
			form := url.Values{}
			for k, v := range rt.form {
				form[k] = v
			}
			if !rt.login {
				form.Set(csrfField, tt.csrf)
			}
			req := mustRequest(t, "POST", s.URL+rt.path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := b.c.Do(withHeaders(req, tt.header))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || findCookie(resp, customerCookie) != nil || findCookie(resp, operatorCookie) != nil {
				t.Errorf("POST %s, %s: %d %v\n%s", name, tt.name, resp.StatusCode, resp.Header, body)
			}
		}
	}
	if after := state(); after != before {
		t.Errorf("refused posts changed the application:\n%s\n%s", before, after)
	}
	if resp, _ := customer.get("/portal/endpoints"); resp.StatusCode != http.StatusOK {
		t.Errorf("customer session after the refused posts: %d", resp.StatusCode)
	}
	if resp, _ := operator.get("/console/"); resp.StatusCode != http.StatusOK {
		t.Errorf("console session after the refused posts: %d", resp.StatusCode)
	}
	if resp, _ := s.newBrowser(true).get("/portal/login?code=" + code); resp.StatusCode != http.StatusOK {
		t.Errorf("the link after refused posts of its code: %d", resp.StatusCode)
	}
}
