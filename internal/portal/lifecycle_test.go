package portal

import (
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// TestOperatorSessionsEndWithTheirOpener: a console session, and the
// portal sessions it opened for applications ("open portal", every
// capability), end when the operator signs out, when the stored admin
// token that opened them is deleted, and when the configured admin token
// that opened them is changed or removed (a restart with another
// HOOKRELAY_ADMIN_TOKEN); a restart with the same token keeps them, and a
// customer's own session of the application is never touched. On both
// databases.
func TestOperatorSessionsEndWithTheirOpener(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		for _, tt := range []struct {
			name string
			// stored: sign in with a stored admin token rather than the
			// configured one.
			stored bool
			// end ends the operator's session somehow, and returns the
			// server to look at afterwards.
			end  func(t *testing.T, s *server, op *browser, tok *store.Token) *server
			ends bool
		}{
			{"console logout", false, func(t *testing.T, s *server, op *browser, _ *store.Token) *server {
				if resp, body := op.post("/console/logout", nil); resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("logout: %d %s", resp.StatusCode, body)
				}
				return s
			}, true},
			{"configured admin token changed", false, func(t *testing.T, s *server, _ *browser, _ *store.Token) *server {
				return newServerOn(t, s.st, options{portal: func(c *Config) { c.AdminToken = "a-new-admin-token" }})
			}, true},
			{"configured admin token removed", false, func(t *testing.T, s *server, _ *browser, _ *store.Token) *server {
				return newServerOn(t, s.st, options{portal: func(c *Config) { c.AdminToken = "" }})
			}, true},
			{"restart with the same admin token", false, func(t *testing.T, s *server, _ *browser, _ *store.Token) *server {
				return newServerOn(t, s.st)
			}, false},
			{"stored admin token deleted", true, func(t *testing.T, s *server, _ *browser, tok *store.Token) *server {
				if err := s.st.DeleteToken(t.Context(), tok.ID); err != nil {
					t.Fatal(err)
				}
				return s
			}, true},
			{"stored admin token, configured one changed", true, func(t *testing.T, s *server, _ *browser, _ *store.Token) *server {
				return newServerOn(t, s.st, options{portal: func(c *Config) { c.AdminToken = "a-new-admin-token" }})
			}, false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s := newServerOn(t, open(t))
				s.createApp("acme")
				adminToken := testAdminToken
				var tok *store.Token
				if tt.stored {
					adminToken = "a-stored-admin-token"
					sum := sha256.Sum256([]byte(adminToken))
					tok = &store.Token{EnvID: hookrelay.DefaultEnvironment, Kind: store.TokenAdmin, Hash: sum[:]}
					if err := s.st.CreateToken(t.Context(), tok); err != nil {
						t.Fatal(err)
					}
				}
				op := s.consoleLogin(adminToken)
				resp, body := op.post("/console/apps/acme/portal", nil)
				if resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("open portal: %d %s", resp.StatusCode, body)
				}
				opened := mustURL(resp.Header.Get("Location")).Query().Get(sessionParam)
				customer := s.login("acme", false)

				after := tt.end(t, s, op, tok)
				// The sessions as the server after the change sees them,
				// each carried in the URL (the cookie jar is per server).
				look := func(secret, path string) int {
					b := after.newBrowser(false)
					b.secret = secret
					resp, _ := b.get(path)
					return resp.StatusCode
				}
				wantConsole, wantPortal := http.StatusOK, http.StatusOK
				if tt.ends {
					wantConsole, wantPortal = http.StatusSeeOther, http.StatusUnauthorized
				}
				if got := look(op.secret, "/console/"); got != wantConsole {
					t.Errorf("console session: %d, want %d", got, wantConsole)
				}
				if got := look(opened, "/portal/endpoints"); got != wantPortal {
					t.Errorf("portal session the console opened: %d, want %d", got, wantPortal)
				}
				if got := look(customer.secret, "/portal/endpoints"); got != http.StatusOK {
					t.Errorf("the customer's own session: %d", got)
				}
			})
		}
	})
}

// TestConsoleNotCrossSite: on an https public URL with allowed origins
// (which may frame the portal), the console's cookie is still Secure and
// SameSite=Lax, never sent in another site's frame or request, and its
// pages may be framed by this server only; the portal keeps its
// cross-site cookie and framing.
func TestConsoleNotCrossSite(t *testing.T) {
	const framer = "https://app.acme.example"
	s := newServer(t, options{portal: func(c *Config) {
		c.PublicURL = "https://hooks.example.test"
		c.AllowedOrigins = []string{framer}
	}})
	s.createApp("acme")
	b := s.newBrowser(false)
	resp, body := b.post("/console/login", url.Values{"token": {testAdminToken}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("console login: %d %s", resp.StatusCode, body)
	}
	c := findCookie(resp, operatorCookie)
	if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Partitioned {
		t.Errorf("console cookie %+v", c)
	}
	b.secret = c.Value
	for _, path := range []string{"/console/", "/console/login"} {
		resp, _ := b.get(path)
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'self'") ||
			resp.Header.Get("X-Frame-Options") != "SAMEORIGIN" {
			t.Errorf("GET %s: CSP %q, X-Frame-Options %q", path, csp, resp.Header.Get("X-Frame-Options"))
		}
	}

	link := s.magicLink("acme", false)
	resp, _ = s.newBrowser(false).post("/portal/login", url.Values{"code": {mustURL(link.URL).Query().Get("code")}})
	if c := findCookie(resp, customerCookie); c == nil || c.SameSite != http.SameSiteNoneMode || !c.Partitioned {
		t.Errorf("portal cookie %+v", c)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'self' "+framer) {
		t.Errorf("portal CSP %q", csp)
	}
}
