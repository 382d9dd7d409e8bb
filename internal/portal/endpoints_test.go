package portal

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/internal/api"
	"github.com/hookrelay/hookrelay/internal/store"
)

// addEventTypes adds event types to the default environment's catalog.
func (s *server) addEventTypes(types map[string]string) {
	s.t.Helper()
	for name, schemas := range types {
		body := map[string]any{"name": name, "description": "When " + name + " happens."}
		if schemas != "" {
			body["schemas"] = json.RawMessage(schemas)
		}
		if status, b := s.admin("POST", "/api/v1/event-type", body); status != http.StatusCreated {
			s.t.Fatalf("create event type %s: %d %s", name, status, b)
		}
	}
}

// adminJSON makes an admin API call that must answer 2xx and decodes it.
func (s *server) adminJSON(method, path string, in, out any) {
	s.t.Helper()
	status, b := s.admin(method, path, in)
	if status/100 != 2 {
		s.t.Fatalf("%s %s: %d %s", method, path, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func (s *server) endpoints(app string) []endpointJSON {
	s.t.Helper()
	var l endpointList
	s.adminJSON("GET", "/api/v1/app/"+app+"/endpoint", nil, &l)
	return l.Data
}

var endpointLocation = regexp.MustCompile(`^/portal/endpoints/(ep_[A-Za-z0-9]+)\?done=created$`)

// createEndpointForm is a valid create form: a token header, a family and
// a type, channels and every delivery option.
func createEndpointForm() url.Values {
	return url.Values{
		"url": {"https://receiver.example/hooks"}, "description": {"CRM sync"},
		"events": {"some"}, "type": {"contact.*", "contact.created", "call.completed"},
		"channels": {"agent-1, agent-2"}, "method": {"PUT"}, "timeout": {"10"}, "retry": {"5s, 1m, 2h"},
		"rateLimit": {"5"}, "maxInFlight": {"3"},
		"header_preset": {"token"}, "header_value": {"tok-s3cr3t-value"},
	}
}

// TestEndpointPages walks the endpoint pages on both databases: the empty
// state, create with a token header (every field reaching the API), the
// API's refusals shown next to their fields with nothing changed, the
// sensitive header never shown again, disable and enable, delete behind a
// confirmation, and a form without the CSRF token refused.
func TestEndpointPages(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := newServerOn(t, open(t))
		s.addEventTypes(map[string]string{"contact.created": "", "contact.updated": "", "call.completed": ""})
		app := s.createApp("acme")
		b := s.login(app, false)

		resp, body := b.get("/portal/endpoints")
		if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="endpoints-empty"`) || !strings.Contains(body, "Add your first endpoint") {
			t.Fatalf("empty list: %d\n%s", resp.StatusCode, body)
		}
		resp, body = b.get("/portal/endpoints/new")
		for _, want := range []string{`value="contact.*"`, `value="call.completed"`, `data-testid="url-rules"`, `X-WEBHOOK-TOKEN`} {
			if !strings.Contains(body, want) {
				t.Errorf("new endpoint form lacks %s", want)
			}
		}

		// Refusals: the API's message next to its field, nothing created.
		for _, tt := range []struct {
			name, field, value, testid, want string
		}{
			{"bad url", "url", "example.com/hooks", "error-url", "must be an absolute http or https URL"},
			{"url with a space", "url", "https://example.com/a b", "error-url", "percent-encode them"},
			{"timeout out of bounds", "timeout", "999", "error-timeout", "must be between 1 and 60 seconds"},
			{"rate limit zero", "rateLimit", "0", "error-rateLimit", "must be between 1 and 65535"},
			{"retry unreadable", "retry", "soon", "error-retry", "is not a delay: use seconds"},
			{"retry delay too long", "retry", "2d", "error-retry", "each delay must be between 1 and 86400 seconds"},
			{"no event type picked", "type", "", "error-filterTypes", "pick at least one event type"},
			{"reserved header", "header_name", "webhook-id", "error-header", "webhook-id: header name is reserved"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				form := createEndpointForm()
				form.Set(tt.field, tt.value)
				if tt.field == "header_name" {
					form.Set("header_preset", "custom")
				}
				if tt.field == "type" {
					form.Del("type")
				}
				resp, body := b.post("/portal/endpoints", form)
				if tt.field == "header_name" {
					// The endpoint is created first; the header's refusal
					// shows on its page.
					if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, tt.want) {
						t.Fatalf("%d, want 422 with %q:\n%s", resp.StatusCode, tt.want, body)
					}
					for _, ep := range s.endpoints(app) {
						s.admin("DELETE", "/api/v1/app/"+app+"/endpoint/"+ep.ID, nil)
					}
					return
				}
				if resp.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422:\n%s", resp.StatusCode, body)
				}
				m := regexp.MustCompile(`data-testid="` + tt.testid + `">([^<]*)<`).FindStringSubmatch(body)
				if m == nil || !strings.Contains(m[1], tt.want) {
					t.Errorf("%s = %q, want it to say %q", tt.testid, m, tt.want)
				}
				if strings.Contains(body, "tok-s3cr3t-value") {
					t.Error("the header's value was echoed back")
				}
				if eps := s.endpoints(app); len(eps) != 0 {
					t.Errorf("an endpoint was created: %+v", eps)
				}
			})
		}

		resp, body = b.post("/portal/endpoints", createEndpointForm())
		m := endpointLocation.FindStringSubmatch(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("create: %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		id := m[1]
		var ep endpointJSON
		s.adminJSON("GET", "/api/v1/app/"+app+"/endpoint/"+id, nil, &ep)
		if ep.URL != "https://receiver.example/hooks" || ep.Description != "CRM sync" || ep.RateLimit == nil || *ep.RateLimit != 5 ||
			strings.Join(ep.FilterTypes, ",") != "call.completed,contact.*" || strings.Join(ep.Channels, ",") != "agent-1,agent-2" {
			t.Errorf("created endpoint = %+v", ep)
		}
		var opts optionsJSON
		s.adminJSON("GET", "/api/v1/app/"+app+"/endpoint/"+id+"/options", nil, &opts)
		if opts.Method != "PUT" || opts.TimeoutSeconds == nil || *opts.TimeoutSeconds != 10 || opts.MaxInFlight == nil || *opts.MaxInFlight != 3 ||
			len(opts.RetrySchedule) != 3 || opts.RetrySchedule[2] != 7200 {
			t.Errorf("options = %+v", opts)
		}
		var hdrs headersJSON
		s.adminJSON("GET", "/api/v1/app/"+app+"/endpoint/"+id+"/headers", nil, &hdrs)
		if strings.Join(hdrs.Sensitive, ",") != "X-WEBHOOK-TOKEN" {
			t.Errorf("headers = %+v, want X-WEBHOOK-TOKEN sensitive", hdrs)
		}
		stored, err := s.st.GetEndpoint(context.Background(), app, id)
		if err != nil || stored.Headers["X-WEBHOOK-TOKEN"] != "tok-s3cr3t-value" {
			t.Errorf("stored headers = %v, %v", stored.Headers, err)
		}

		resp, body = b.get("/portal/endpoints/" + id + "?done=created")
		for _, want := range []string{"Endpoint created.", `data-testid="header-hidden"`, `value="5s, 1m, 2h"`, `<option value="PUT" selected>`, `value="agent-1, agent-2"`} {
			if !strings.Contains(body, want) {
				t.Errorf("edit page lacks %s", want)
			}
		}
		if strings.Contains(body, "tok-s3cr3t-value") {
			t.Error("edit page shows the sensitive header's value")
		}
		resp, body = b.get("/portal/endpoints")
		if !strings.Contains(body, `data-endpoint-id="`+id+`"`) || !strings.Contains(body, "<code>contact.*</code>") || strings.Contains(body, "tok-s3cr3t") {
			t.Errorf("list:\n%s", body)
		}

		// Edit: blank fields clear or return to the server default.
		form := url.Values{"url": {"https://receiver.example/v2"}, "events": {"all"}, "method": {"POST"}}
		resp, body = b.post("/portal/endpoints/"+id, form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("save: %d\n%s", resp.StatusCode, body)
		}
		ep = endpointJSON{}
		s.adminJSON("GET", "/api/v1/app/"+app+"/endpoint/"+id, nil, &ep)
		opts = optionsJSON{}
		s.adminJSON("GET", "/api/v1/app/"+app+"/endpoint/"+id+"/options", nil, &opts)
		if ep.URL != "https://receiver.example/v2" || ep.FilterTypes != nil || ep.Channels != nil || ep.RateLimit != nil ||
			opts.Method != "POST" || opts.TimeoutSeconds != nil || opts.RetrySchedule != nil || opts.MaxInFlight != nil {
			t.Errorf("after save: %+v %+v", ep, opts)
		}

		// A header from a preset, then removed.
		resp, _ = b.post("/portal/endpoints/"+id+"/headers", url.Values{"header_preset": {"basic"}, "header_user": {"u"}, "header_password": {"p"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("add header: %d", resp.StatusCode)
		}
		stored, _ = s.st.GetEndpoint(context.Background(), app, id)
		if stored.Headers["Authorization"] != "Basic dTpw" {
			t.Errorf("headers = %v", stored.Headers)
		}
		resp, _ = b.post("/portal/endpoints/"+id+"/headers/remove", url.Values{"name": {"Authorization"}})
		stored, _ = s.st.GetEndpoint(context.Background(), app, id)
		if _, ok := stored.Headers["Authorization"]; resp.StatusCode != http.StatusSeeOther || ok {
			t.Errorf("remove header: %d, headers %v", resp.StatusCode, stored.Headers)
		}

		// Disable and enable.
		if resp, _ := b.post("/portal/endpoints/"+id+"/disable", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("disable: %d", resp.StatusCode)
		}
		_, body = b.get("/portal/endpoints/" + id)
		if !strings.Contains(body, "Disabled by hand in the portal on ") || !strings.Contains(body, `data-testid="enable"`) {
			t.Errorf("disabled endpoint page:\n%s", body)
		}
		b.post("/portal/endpoints/"+id+"/enable", nil)
		ep = endpointJSON{}
		s.adminJSON("GET", "/api/v1/app/"+app+"/endpoint/"+id, nil, &ep)
		if ep.Disabled {
			t.Error("still disabled after enable")
		}

		// A form without this session's CSRF token changes nothing.
		resp, _ = b.post("/portal/endpoints/"+id+"/disable", url.Values{"csrf": {"forged"}})
		ep = endpointJSON{}
		s.adminJSON("GET", "/api/v1/app/"+app+"/endpoint/"+id, nil, &ep)
		if resp.StatusCode != http.StatusForbidden || ep.Disabled {
			t.Errorf("forged CSRF: %d, disabled %v", resp.StatusCode, ep.Disabled)
		}
		resp, _ = b.post("/portal/endpoints/"+id+"/delete", url.Values{"csrf": {"forged"}})
		if resp.StatusCode != http.StatusForbidden || len(s.endpoints(app)) != 1 {
			t.Errorf("forged CSRF delete: %d", resp.StatusCode)
		}

		// Delete behind a confirmation page.
		resp, body = b.get("/portal/endpoints/" + id + "/delete")
		if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="confirm-delete"`) || len(s.endpoints(app)) != 1 {
			t.Fatalf("delete confirmation: %d\n%s", resp.StatusCode, body)
		}
		resp, _ = b.post("/portal/endpoints/"+id+"/delete", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/portal/endpoints?done=deleted" || len(s.endpoints(app)) != 0 {
			t.Errorf("delete: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		// Another application's endpoint is out of reach.
		other := s.createApp("other")
		var oep endpointJSON
		s.adminJSON("POST", "/api/v1/app/"+other+"/endpoint", map[string]any{"url": "https://other.example/"}, &oep)
		if resp, _ := b.get("/portal/endpoints/" + oep.ID); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another app's endpoint: %d, want 404", resp.StatusCode)
		}
		if resp, _ := b.post("/portal/endpoints/"+oep.ID+"/delete", nil); resp.StatusCode != http.StatusNotFound || len(s.endpoints(other)) != 1 {
			t.Errorf("deleting another app's endpoint: %d", resp.StatusCode)
		}
	})
}

// TestEndpointPagesReadOnly: a read-only session sees the endpoints but no
// change button, and the server refuses its changes.
func TestEndpointPagesReadOnly(t *testing.T) {
	s := newServer(t)
	app := s.createApp("acme")
	var ep endpointJSON
	s.adminJSON("POST", "/api/v1/app/"+app+"/endpoint", map[string]any{"url": "https://receiver.example/"}, &ep)
	b := s.login(app, true)
	for _, path := range []string{"/portal/endpoints", "/portal/endpoints/" + ep.ID, "/portal/endpoints/" + ep.ID + "/secret"} {
		resp, body := b.get(path)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		for _, hidden := range []string{`data-testid="new-endpoint"`, `data-testid="save"`, `data-testid="disable"`, `data-testid="delete"`, `data-testid="rotate"`, `data-testid="add-header"`} {
			if strings.Contains(body, hidden) {
				t.Errorf("GET %s shows %s to a read-only session", path, hidden)
			}
		}
	}
	for _, tt := range []struct {
		path string
		form url.Values
	}{
		{"/portal/endpoints", createEndpointForm()},
		{"/portal/endpoints/" + ep.ID, url.Values{"url": {"https://evil.example/"}, "events": {"all"}}},
		{"/portal/endpoints/" + ep.ID + "/disable", nil},
		{"/portal/endpoints/" + ep.ID + "/headers", url.Values{"header_preset": {"token"}, "header_value": {"x"}}},
		{"/portal/endpoints/" + ep.ID + "/secret/rotate", nil},
		{"/portal/endpoints/" + ep.ID + "/delete", nil},
	} {
		resp, _ := b.post(tt.path, tt.form)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s: %d, want 403", tt.path, resp.StatusCode)
		}
	}
	eps := s.endpoints(app)
	stored, _ := s.st.GetEndpoint(context.Background(), app, ep.ID)
	if len(eps) != 1 || eps[0].URL != "https://receiver.example/" || eps[0].Disabled || len(stored.Headers) != 0 || stored.Secret == "" || len(stored.OldSecrets) != 0 {
		t.Errorf("a read-only session changed something: %+v %+v", eps, stored)
	}
}

// TestEndpointURLRules: with https-only, the rule is on the form before
// anything is typed, and the API's refusal of an http URL shows at the
// field.
func TestEndpointURLRules(t *testing.T) {
	s := newServer(t, options{
		api: func(c *api.Config) {
			c.URLPolicy = func(u *url.URL) error {
				if u.Scheme != "https" && u.Hostname() != "localhost" {
					return errHTTPSOnly
				}
				return nil
			}
		},
		portal: func(c *Config) { c.HTTPSOnly, c.HTTPSOnlyExempt = true, []string{"localhost"} },
	})
	app := s.createApp("acme")
	b := s.login(app, false)
	_, body := b.get("/portal/endpoints/new")
	if !strings.Contains(body, "This server delivers only to https:// URLs; plain http:// is allowed only for localhost.") {
		t.Errorf("form does not show the https-only rule:\n%s", body)
	}
	form := createEndpointForm()
	form.Set("url", "http://receiver.example/")
	resp, body := b.post("/portal/endpoints", form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="error-url">only https URLs are allowed`) {
		t.Errorf("http URL: %d\n%s", resp.StatusCode, body)
	}
}

var errHTTPSOnly = errorString("only https URLs are allowed")

type errorString string

func (e errorString) Error() string { return string(e) }
