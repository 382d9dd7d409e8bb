package portal

import (
	"net/http"
	"strings"
	"testing"
)

// TestPagesSignedIn: every nav page answers a signed-in session with the
// layout (product name, nav, the current item marked) and the security
// headers, and no page answers without a session.
func TestPagesSignedIn(t *testing.T) {
	s := newServer(t)
	app := s.createApp("acme")
	b := s.login(app, false)
	anon := s.newBrowser(true)
	for _, tt := range []struct{ path, nav string }{
		{"/portal/endpoints", "nav-endpoints"},
		{"/portal/activity", "nav-activity"},
		{"/portal/catalog", "nav-catalog"},
		{"/portal/health", "nav-health"},
	} {
		resp, body := b.get(tt.path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", tt.path, resp.StatusCode, body)
		}
		if !strings.Contains(body, `data-testid="`+tt.nav+`" aria-current="page"`) || !strings.Contains(body, DefaultTheme.ProductName) {
			t.Errorf("GET %s: layout missing:\n%s", tt.path, body)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'self'") {
			t.Errorf("GET %s: CSP %q", tt.path, csp)
		}
		for h, want := range map[string]string{"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("GET %s: %s = %q, want %q", tt.path, h, got, want)
			}
		}
		if resp, _ := anon.get(tt.path); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without a session: %d, want 401", tt.path, resp.StatusCode)
		}
	}
}
