package portal

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestPagesReachOnlyTheirApplication: a session of app A with every
// capability, asking the portal's own pages (not the API) for app B's
// endpoint, message, attempt and recover task, by the URL or by a form
// field, is answered 404 on every page (a form shown again says the
// endpoint was not found), and app B is unchanged.
func TestPagesReachOnlyTheirApplication(t *testing.T) {
	s := newServer(t)
	a, b := s.createApp("app-a"), s.createApp("app-b")
	var epA, epB struct{ ID string }
	s.mustAdmin(http.StatusCreated, "POST", "/api/v1/app/"+a+"/endpoint", map[string]any{"url": "https://example.com/a"}, &epA)
	s.mustAdmin(http.StatusCreated, "POST", "/api/v1/app/"+b+"/endpoint",
		map[string]any{"url": "https://example.com/b", "description": "b's"}, &epB)
	s.mustAdmin(http.StatusNoContent, "PUT", "/api/v1/app/"+b+"/endpoint/"+epB.ID+"/headers",
		map[string]any{"headers": map[string]string{"X-Tenant": "b"}}, nil)
	s.mustAdmin(http.StatusCreated, "POST", "/api/v1/event-type", map[string]any{"name": "contact.created", "description": "d"}, nil)
	var msgA, msgB struct{ ID string }
	s.mustAdmin(http.StatusAccepted, "POST", "/api/v1/app/"+a+"/msg", map[string]any{"eventType": "contact.created", "payload": map[string]any{}}, &msgA)
	s.mustAdmin(http.StatusAccepted, "POST", "/api/v1/app/"+b+"/msg", map[string]any{"eventType": "contact.created", "payload": map[string]any{}}, &msgB)
	var taskB struct{ ID string }
	s.mustAdmin(http.StatusAccepted, "POST", "/api/v1/app/"+b+"/endpoint/"+epB.ID+"/recover", map[string]any{"since": "2020-01-01T00:00:00Z"}, &taskB)
	snapshot := func() string {
		var out []json.RawMessage
		for _, path := range []string{"/endpoint/" + epB.ID, "/endpoint/" + epB.ID + "/headers", "/endpoint/" + epB.ID + "/secret", "/msg"} {
			st, body := s.admin("GET", "/api/v1/app/"+b+path, nil)
			if st != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, st, body)
			}
			out = append(out, body)
		}
		j, _ := json.Marshal(out)
		return string(j)
	}
	before := snapshot()

	sess := s.loginWith(a, "ViewBase", "ViewEndpointSecret", "ManageEndpointSecret", "CreateAttempts", "ManageEndpoint")
	ep := "/portal/endpoints/" + epB.ID
	for _, tt := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", ep, nil},
		{"GET", ep + "/secret", nil},
		{"GET", ep + "/secret?reveal=1", nil},
		{"GET", ep + "/delete", nil},
		{"GET", "/portal/activity/msg/" + msgB.ID, nil},
		{"GET", "/portal/activity/task/" + taskB.ID, nil},
		{"GET", "/portal/activity?endpoint=" + epB.ID, nil},
		{"GET", "/portal/health?endpoint=" + epB.ID, nil},
		{"POST", ep, url.Values{"url": {"https://evil.example/x"}}},
		{"POST", ep + "/headers", url.Values{"header_kind": {"custom"}, "header_name": {"X-Evil"}, "header_value": {"1"}}},
		{"POST", ep + "/headers/remove", url.Values{"name": {"X-Tenant"}}},
		{"POST", ep + "/disable", nil},
		{"POST", ep + "/enable", nil},
		{"POST", ep + "/secret/rotate", nil},
		{"POST", ep + "/delete", nil},
		{"POST", "/portal/activity/msg/" + msgB.ID + "/resend", url.Values{"endpoint": {epB.ID}}},
		{"POST", "/portal/activity/msg/" + msgA.ID + "/resend", url.Values{"endpoint": {epB.ID}}},
		{"POST", "/portal/activity/recover", url.Values{"endpoint": {epB.ID}, "since": {"2020-01-01T00:00"}}},
		{"POST", "/portal/testing", url.Values{"endpoint": {epB.ID}, "event_type": {"contact.created"}}},
		{"POST", "/portal/testing", url.Values{"endpoint": {epB.ID}, "event_type": {"contact.created"}, "payload": {`{"a":1}`}}},
	} {
		resp, body := sess.send(tt.method, tt.path, tt.form)
		// A form shown again names the API's refusal next to its field.
		refusedInForm := resp.StatusCode == http.StatusUnprocessableEntity && strings.Contains(body, "endpoint not found")
		if resp.StatusCode != http.StatusNotFound && !refusedInForm {
			t.Errorf("%s %s %v: %d, want 404\n%s", tt.method, tt.path, tt.form, resp.StatusCode, body)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("app B changed:\n%s\n%s", before, after)
	}
}
