package portal

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// TestIsolation: a portal session reaches only its own application, a
// console session only its own environment, and a read-only session
// changes nothing, whatever a page (here a test page that forwards any
// call) asks the API for; over HTTP, on both databases.
func TestIsolation(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		st := open(t)
		s := newServerOn(t, st)
		ctx := context.Background()
		// A second environment with an admin token and an application.
		env := &hookrelay.Environment{Name: "other-env"}
		if err := st.CreateEnvironment(ctx, env); err != nil {
			t.Fatal(err)
		}
		otherAdmin := "other-env-admin-token"
		sum := sha256.Sum256([]byte(otherAdmin))
		if err := st.CreateToken(ctx, &store.Token{EnvID: env.ID, Kind: store.TokenAdmin, Hash: sum[:]}); err != nil {
			t.Fatal(err)
		}
		st2, body := s.apiRequest("POST", "/api/v1/app", otherAdmin, map[string]any{"name": "far", "uid": "far"}, nil)
		if st2 != http.StatusCreated {
			t.Fatalf("app in other env: %d %s", st2, body)
		}
		var far struct{ ID string }
		_ = json.Unmarshal(body, &far)

		a, b := s.createApp("app-a"), s.createApp("app-b")
		// A test page that makes whatever API call its form names, as the
		// session, and answers the API's status.
		forward := func(w http.ResponseWriter, r *http.Request, sess *Session) error {
			var in any
			if r.PostFormValue("body") != "" {
				in = json.RawMessage(r.PostFormValue("body"))
			}
			err := s.portal.call(r.Context(), sess, r.PostFormValue("method"), r.PostFormValue("path"), in, nil)
			var ae *APIError
			switch {
			case err == nil:
				fmt.Fprint(w, "200")
			case errors.As(err, &ae):
				fmt.Fprintf(w, "%d %s", ae.Status, ae.Detail)
			default:
				return err
			}
			return nil
		}
		s.portal.mux.Handle("POST /portal/test-call", s.portal.customer(forward))
		s.portal.mux.Handle("POST /console/test-call", s.portal.operator(forward))

		customer := s.login(a, false)
		readOnly := s.login(a, true)
		operator := s.consoleLogin(testAdminToken)
		farOperator := s.consoleLogin(otherAdmin)
		endpoint := `{"url":"https://example.com/hook"}`
		for _, tt := range []struct {
			name         string
			b            *browser
			page         string
			method, path string
			body         string
			want         string
		}{
			{"own app", customer, "/portal/test-call", "GET", "/api/v1/app/" + a + "/endpoint", "", "200"},
			{"own app by uid", customer, "/portal/test-call", "GET", "/api/v1/app/app-a", "", "200"},
			{"own app change", customer, "/portal/test-call", "POST", "/api/v1/app/" + a + "/endpoint", endpoint, "200"},
			{"other app", customer, "/portal/test-call", "GET", "/api/v1/app/" + b + "/endpoint", "", "404"},
			{"other app change", customer, "/portal/test-call", "POST", "/api/v1/app/" + b + "/endpoint", endpoint, "404"},
			{"other environment", customer, "/portal/test-call", "GET", "/api/v1/app/" + far.ID, "", "404"},
			{"admin route", customer, "/portal/test-call", "GET", "/api/v1/app", "", "403"},
			{"publish", customer, "/portal/test-call", "POST", "/api/v1/app/" + a + "/msg", `{"eventType":"x","payload":{}}`, "403"},
			{"read-only reads", readOnly, "/portal/test-call", "GET", "/api/v1/app/" + a + "/endpoint", "", "200"},
			{"read-only change", readOnly, "/portal/test-call", "POST", "/api/v1/app/" + a + "/endpoint", endpoint, "403"},
			{"read-only delete", readOnly, "/portal/test-call", "DELETE", "/api/v1/app/" + a, "", "403"},
			{"operator", operator, "/console/test-call", "GET", "/api/v1/app/" + b, "", "200"},
			{"operator other environment", operator, "/console/test-call", "GET", "/api/v1/app/" + far.ID, "", "404"},
			{"other environment's operator", farOperator, "/console/test-call", "GET", "/api/v1/app/" + a, "", "404"},
			{"other environment's operator, own app", farOperator, "/console/test-call", "GET", "/api/v1/app/" + far.ID, "", "200"},
			{"customer session on the console", customer, "/console/test-call", "GET", "/api/v1/app/" + a, "", "401"},
			{"operator session on the portal", operator, "/portal/test-call", "GET", "/api/v1/app/" + a, "", "401"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				resp, body := tt.b.post(tt.page, url.Values{"method": {tt.method}, "path": {tt.path}, "body": {tt.body}})
				got := body
				if resp.StatusCode != http.StatusOK {
					got = fmt.Sprint(resp.StatusCode)
				}
				if !strings.HasPrefix(got, tt.want) {
					t.Errorf("%s %s: %s, want %s", tt.method, tt.path, got, tt.want)
				}
			})
		}
	})
}

// TestConsoleLogin: an admin token opens an operator session; a portal
// token, an unknown token or none do not.
func TestConsoleLogin(t *testing.T) {
	s := newServer(t)
	s.createApp("acme")
	link := s.magicLink("acme", false)
	for _, tt := range []struct {
		name, token string
		want        int
	}{
		{"configured admin token", testAdminToken, http.StatusSeeOther},
		{"portal token", link.Token, http.StatusUnauthorized},
		{"unknown", "nope", http.StatusUnauthorized},
		{"empty", "", http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := s.newBrowser(true)
			resp, body := b.post("/console/login", url.Values{"token": {tt.token}})
			if resp.StatusCode != tt.want {
				t.Fatalf("login: %d %s", resp.StatusCode, body)
			}
			if tt.want != http.StatusSeeOther {
				if !strings.Contains(body, "not a valid admin token") || findCookie(resp, operatorCookie) != nil {
					t.Errorf("refused login: %s", body)
				}
				if resp, _ := b.get("/console/"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
					t.Errorf("console without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
				}
				return
			}
			if c := findCookie(resp, operatorCookie); c == nil || c.Path != "/console/" || !c.HttpOnly {
				t.Errorf("cookie %+v", c)
			}
			if resp, body := b.get("/console/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Console") {
				t.Errorf("console: %d %s", resp.StatusCode, body)
			}
			if resp, _ := b.get("/portal/endpoints"); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("operator cookie on the portal: %d", resp.StatusCode)
			}
			b.secret = findCookie(resp, operatorCookie).Value
			if resp, _ := b.post("/console/logout", nil); resp.StatusCode != http.StatusSeeOther {
				t.Errorf("logout: %d", resp.StatusCode)
			}
			if resp, _ := b.get("/console/"); resp.StatusCode != http.StatusSeeOther {
				t.Errorf("after logout: %d", resp.StatusCode)
			}
		})
	}
}

// TestOperatorOpensPortal: the console opens the portal of an application
// of its own environment, and of no other.
func TestOperatorOpensPortal(t *testing.T) {
	s := newServer(t)
	s.createApp("acme")
	op := s.consoleLogin(testAdminToken)
	resp, body := op.post("/console/apps/acme/portal", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("open portal: %d %s", resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	if resp, body := op.get(loc); resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusOK {
		t.Fatalf("portal as operator: %d %s", resp.StatusCode, body)
	}
	if resp, _ := op.get("/portal/endpoints"); resp.StatusCode != http.StatusOK {
		t.Errorf("portal page as operator: %d", resp.StatusCode)
	}
	if resp, _ := op.post("/console/apps/nope/portal", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("open portal of a missing app: %d", resp.StatusCode)
	}
}
