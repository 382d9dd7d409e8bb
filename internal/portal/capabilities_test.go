package portal

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/internal/store"
)

// TestPagesFollowCapabilities: on both databases, a portal session made
// from a token of some capabilities shows exactly the controls those
// capabilities allow, and the server refuses the changes they do not.
func TestPagesFollowCapabilities(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := newServerOn(t, open(t))
		app := s.createApp("acme")
		s.adminJSON("POST", "/api/v1/event-type", map[string]any{"name": "contact.created", "description": "d"}, nil)
		var ep endpointJSON
		s.adminJSON("POST", "/api/v1/app/"+app+"/endpoint", map[string]any{"url": "https://receiver.example/"}, &ep)
		var msg struct {
			ID string `json:"id"`
		}
		s.adminJSON("POST", "/api/v1/app/"+app+"/msg", map[string]any{"eventType": "contact.created", "payload": map[string]any{}}, &msg)

		// Each control: the page that offers it and the capability it needs.
		type control struct{ page, testid, needs string }
		controls := []control{
			{"/portal/endpoints", "new-endpoint", "ManageEndpoint"},
			{"/portal/endpoints/" + ep.ID, "save", "ManageEndpoint"},
			{"/portal/endpoints/" + ep.ID, "disable", "ManageEndpoint"},
			{"/portal/endpoints/" + ep.ID, "delete", "ManageEndpoint"},
			{"/portal/endpoints/" + ep.ID, "add-header", "ManageEndpoint"},
			{"/portal/endpoints/" + ep.ID + "/delete", "confirm-delete", "ManageEndpoint"},
			{"/portal/endpoints/" + ep.ID + "/secret", "reveal", "ViewEndpointSecret"},
			{"/portal/endpoints/" + ep.ID + "/secret", "rotate", "ManageEndpointSecret"},
			{"/portal/activity", "to-recover", "CreateAttempts"},
			{"/portal/activity/msg/" + msg.ID, "resend", "CreateAttempts"},
			{"/portal/activity/recover?endpoint=" + ep.ID, "recover-form", "CreateAttempts"},
			{"/portal/testing?event_type=contact.created&endpoint=" + ep.ID, "testing-form", "CreateAttempts"},
		}
		for _, tt := range []struct {
			caps []string
			// also: what the capabilities grant beyond their names.
			also     []string
			readOnly bool
		}{
			{[]string{"ViewBase"}, nil, true},
			{[]string{"ViewBase", "ViewEndpointSecret"}, nil, true},
			{[]string{"ViewBase", "ManageEndpoint"}, []string{"ViewEndpointSecret", "ManageEndpointSecret"}, false},
			{[]string{"ViewBase", "ManageEndpointSecret"}, []string{"ViewEndpointSecret"}, false},
			{[]string{"ViewBase", "CreateAttempts"}, nil, false},
			{[]string{"ViewBase", "ManageTransformations"}, nil, true},
			{[]string{"ViewBase", "ViewEndpointSecret", "ManageEndpointSecret", "ManageTransformations", "CreateAttempts", "ManageEndpoint"}, nil, false},
		} {
			name := strings.Join(tt.caps, "+")
			b := s.loginWith(app, tt.caps...)
			granted := map[string]bool{}
			for _, c := range append(tt.caps, tt.also...) {
				granted[c] = true
			}
			for _, c := range controls {
				resp, body := b.get(c.page)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: GET %s: %d", name, c.page, resp.StatusCode)
				}
				if shown := strings.Contains(body, `data-testid="`+c.testid+`"`); shown != granted[c.needs] {
					t.Errorf("%s: GET %s shows %s: %v, want %v", name, c.page, c.testid, shown, granted[c.needs])
				}
				if shown := strings.Contains(body, `data-testid="read-only"`); shown != tt.readOnly {
					t.Errorf("%s: GET %s shows the read-only note: %v, want %v", name, c.page, shown, tt.readOnly)
				}
			}
			_, body := b.get("/portal/endpoints/" + ep.ID + "/secret")
			if shown := strings.Contains(body, `data-testid="secret-not-viewable"`); shown == granted["ViewEndpointSecret"] {
				t.Errorf("%s: the secret page says the secret is not viewable: %v", name, shown)
			}
			resp, body := b.get("/portal/endpoints/" + ep.ID + "/secret?reveal=1")
			if revealed := strings.Contains(body, `data-testid="secret-value"`); revealed != granted["ViewEndpointSecret"] {
				t.Errorf("%s: ?reveal=1 answers %d, revealed %v", name, resp.StatusCode, revealed)
			}
			if !granted["ViewEndpointSecret"] && resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: ?reveal=1 answers %d, want 403", name, resp.StatusCode)
			}
		}

		// Changes the capabilities do not grant are refused and change
		// nothing; the ones they grant go through.
		before, _ := s.st.GetEndpoint(context.Background(), app, ep.ID)
		refused := map[string][]struct {
			path string
			form url.Values
		}{
			"ManageEndpoint": {
				{"/portal/endpoints", createEndpointForm()},
				{"/portal/endpoints/" + ep.ID, url.Values{"url": {"https://evil.example/"}, "events": {"all"}}},
				{"/portal/endpoints/" + ep.ID + "/disable", nil},
				{"/portal/endpoints/" + ep.ID + "/headers", url.Values{"header_preset": {"token"}, "header_value": {"x"}}},
				{"/portal/endpoints/" + ep.ID + "/delete", nil},
			},
			"ManageEndpointSecret": {{"/portal/endpoints/" + ep.ID + "/secret/rotate", nil}},
			"CreateAttempts": {
				{"/portal/activity/msg/" + msg.ID + "/resend", url.Values{"endpoint": {ep.ID}}},
				{"/portal/activity/recover", url.Values{"endpoint": {ep.ID}, "since": {"2020-01-01T00:00"}}},
				{"/portal/testing", url.Values{"endpoint": {ep.ID}, "event_type": {"contact.created"}, "payload": {"{}"}}},
			},
		}
		viewer := s.loginWith(app, "ViewBase", "ViewEndpointSecret")
		for need, posts := range refused {
			for _, p := range posts {
				resp, body := viewer.post(p.path, p.form)
				if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, need) {
					t.Errorf("POST %s without %s: %d, want 403 naming it:\n%s", p.path, need, resp.StatusCode, body)
				}
			}
		}
		after, _ := s.st.GetEndpoint(context.Background(), app, ep.ID)
		if len(s.endpoints(app)) != 1 || after.URL != before.URL || after.Disabled || len(after.Headers) != 0 ||
			after.Secret != before.Secret || len(after.OldSecrets) != 0 {
			t.Errorf("refused changes changed the endpoint: %+v", after)
		}

		editor := s.loginWith(app, "ViewBase", "ManageEndpoint")
		resp, _ := editor.post("/portal/endpoints/"+ep.ID, url.Values{"url": {"https://receiver.example/v2"}, "events": {"all"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("ManageEndpoint saving the endpoint: %d", resp.StatusCode)
		}
		if eps := s.endpoints(app); len(eps) != 1 || eps[0].URL != "https://receiver.example/v2" {
			t.Errorf("after a ManageEndpoint save: %+v", eps)
		}
		// ManageEndpointSecret rotates, and so does ManageEndpoint (which
		// reaches the secret as every other field of the endpoint).
		secret := before.Secret
		for _, caps := range [][]string{{"ViewBase", "ManageEndpointSecret"}, {"ViewBase", "ManageEndpoint"}} {
			name := strings.Join(caps, "+")
			rotator := s.loginWith(app, caps...)
			if resp, _ := rotator.post("/portal/endpoints/"+ep.ID+"/secret/rotate", nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s rotating: %d", name, resp.StatusCode)
			}
			rotated, _ := s.st.GetEndpoint(context.Background(), app, ep.ID)
			if rotated.Secret == secret {
				t.Fatalf("the secret did not change on a %s rotation", name)
			}
			secret = rotated.Secret
			var key struct {
				Key string `json:"key"`
			}
			s.adminJSON("GET", "/api/v1/app/"+app+"/endpoint/"+ep.ID+"/secret", nil, &key)
			_, body := rotator.get("/portal/endpoints/" + ep.ID + "/secret?reveal=1")
			if !strings.Contains(html.UnescapeString(body), `value="`+key.Key+`"`) {
				t.Errorf("%s: the revealed secret is not the rotated one %s", name, key.Key)
			}
		}
	})
}
