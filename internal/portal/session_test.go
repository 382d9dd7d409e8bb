package portal

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/internal/store"
)

// TestMagicLink: a link opens one session, once, on both databases: its
// GET (a link preview, a scanner) changes nothing, the POST of its page
// redeems it; the cookie follows the public URL's scheme; the session
// ends with its expiry, expire-all, logout and the token's deletion.
func TestMagicLink(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := newServerOn(t, open(t))
		app := s.createApp("acme")
		link := s.magicLink("acme", false)
		if strings.Contains(link.URL, link.Token) || !strings.HasPrefix(link.URL, s.URL+"/portal/login?code=") {
			t.Fatalf("magic link %q", link.URL)
		}
		code := mustURL(link.URL).Query().Get("code")
		// Prefetchers: GET and HEAD, any number of times, leave the code
		// unused; the page posts it back, with no cookie yet.
		var page string
		for i := 0; i < 3; i++ {
			resp, body := s.newBrowser(true).get(link.URL)
			if resp.StatusCode != http.StatusOK || findCookie(resp, customerCookie) != nil ||
				resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("GET link: %d %v %s", resp.StatusCode, resp.Header, body)
			}
			page = body
		}
		if resp, _ := s.newBrowser(true).do(mustRequest(t, "HEAD", link.URL, nil)); resp.StatusCode != http.StatusOK {
			t.Fatalf("HEAD link: %d", resp.StatusCode)
		}
		if form := linkForm(t, page); form.Get("code") != code || len(form) != 1 {
			t.Fatalf("the page's form: %v", form)
		}
		for _, want := range []string{`data-testid="link-submit"`, `<script src="/portal/static/login.js?v=`} {
			if !strings.Contains(page, want) {
				t.Errorf("the link's page lacks %s:\n%s", want, page)
			}
		}
		if ps, err := s.st.GetPortalSessionByCode(t.Context(), digest(code)); err != nil || ps.RedeemedAt != nil {
			t.Fatalf("code after GETs: %+v %v", ps, err)
		}

		// A post from another site does not spend it.
		for _, h := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}} {
			form := url.Values{"code": {code}}
			req := mustRequest(t, "POST", s.URL+"/portal/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(withHeaders(req, h))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "another site") || findCookie(resp, customerCookie) != nil {
				t.Errorf("cross-site post %v: %d %s", h, resp.StatusCode, body)
			}
		}

		b := s.newBrowser(true)
		resp, body := b.post("/portal/login", url.Values{"code": {code}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("post link: %d %s", resp.StatusCode, body)
		}
		c := findCookie(resp, customerCookie)
		if c == nil || !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/portal/" || c.Partitioned {
			t.Fatalf("cookie %+v", c)
		}
		if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("Referrer-Policy %q", got)
		}
		loc := resp.Header.Get("Location")
		b.secret = mustURL(loc).Query().Get(sessionParam)
		// The cookie came back: the secret leaves the URL.
		resp, _ = b.get(loc)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/portal/endpoints" {
			t.Fatalf("with cookie and parameter: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, body := b.get("/portal/endpoints"); resp.StatusCode != http.StatusOK || strings.Contains(body, "session=") {
			t.Fatalf("portal: %d %s", resp.StatusCode, body)
		}

		// A replay, of the link or of its page's form, is refused with a
		// page saying so, even from another browser, and does not touch
		// the open session.
		for _, other := range []*browser{b, s.newBrowser(true)} {
			resp, body := other.get(link.URL)
			if resp.StatusCode != http.StatusGone || !strings.Contains(body, "already been used") || findCookie(resp, customerCookie) != nil {
				t.Errorf("replayed link: %d %s", resp.StatusCode, body)
			}
			resp, body = other.post("/portal/login", url.Values{"code": {code}})
			if resp.StatusCode != http.StatusGone || !strings.Contains(body, "already been used") || findCookie(resp, customerCookie) != nil {
				t.Errorf("replayed post: %d %s", resp.StatusCode, body)
			}
		}
		for _, bad := range []struct {
			method, path string
			form         url.Values
			status       int
			want         string
		}{
			{"GET", "/portal/login?code=nonsense", nil, http.StatusNotFound, "not valid"},
			{"POST", "/portal/login", url.Values{"code": {"nonsense"}}, http.StatusNotFound, "not valid"},
			{"GET", "/portal/login", nil, http.StatusBadRequest, "no access code"},
			{"POST", "/portal/login", url.Values{}, http.StatusBadRequest, "no access code"},
			{"POST", "/portal/login?code=" + code, url.Values{}, http.StatusBadRequest, "no access code"},
		} {
			nb := s.newBrowser(true)
			resp, body := nb.send(bad.method, bad.path, bad.form)
			if resp.StatusCode != bad.status || !strings.Contains(body, bad.want) || findCookie(resp, customerCookie) != nil {
				t.Errorf("%s %s %v: %d %s", bad.method, bad.path, bad.form, resp.StatusCode, body)
			}
		}
		if resp, _ := b.get("/portal/endpoints"); resp.StatusCode != http.StatusOK {
			t.Errorf("session after replays: %d", resp.StatusCode)
		}

		// The token stays a working API bearer.
		if st, body := s.apiRequest("GET", "/api/v1/app/"+app+"/endpoint", link.Token, nil, nil); st != http.StatusOK {
			t.Errorf("token as bearer: %d %s", st, body)
		}

		// expire-all ends every session of the application, and the links
		// not yet opened.
		unopened := s.magicLink("acme", false)
		other := s.createApp("other")
		otherB := s.login(other, false)
		if st, body := s.admin("POST", "/api/v1/auth/app/acme/expire-all", map[string]any{}); st != http.StatusNoContent {
			t.Fatalf("expire-all: %d %s", st, body)
		}
		if resp, body := b.get("/portal/endpoints"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "session has ended") {
			t.Errorf("after expire-all: %d %s", resp.StatusCode, body)
		}
		if resp, _ := s.newBrowser(true).get(unopened.URL); resp.StatusCode != http.StatusGone {
			t.Errorf("unopened link after expire-all: %d", resp.StatusCode)
		}
		if resp, _ := otherB.get("/portal/endpoints"); resp.StatusCode != http.StatusOK {
			t.Errorf("other application's session after expire-all: %d", resp.StatusCode)
		}

		// Logout ends the session; the cookie is cleared.
		resp, body = otherB.post("/portal/logout", nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed out") {
			t.Errorf("logout: %d %s", resp.StatusCode, body)
		}
		if c := findCookie(resp, customerCookie); c == nil || c.MaxAge >= 0 {
			t.Errorf("logout cookie %+v", c)
		}
		if resp, _ := otherB.get("/portal/endpoints"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("after logout: %d", resp.StatusCode)
		}

		// Deleting the token (API logout) ends its sessions.
		third := s.magicLink("other", false)
		tb := s.newBrowser(true)
		tb.open(third.URL)
		if st, _ := s.apiRequest("POST", "/api/v1/auth/logout", third.Token, nil, nil); st != http.StatusNoContent {
			t.Fatalf("api logout: %d", st)
		}
		if resp, _ := tb.get("/portal/endpoints"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("after the token's logout: %d", resp.StatusCode)
		}
	})
}

// TestSessionExpiry: a session ends with its token's expiry; a code ends
// after codeLifetime.
func TestSessionExpiry(t *testing.T) {
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	s := newServer(t, options{portal: func(c *Config) { c.Now = clock }})
	s.createApp("acme")
	st, body := s.admin("POST", "/api/v1/auth/app-portal-access/acme", map[string]any{"expiry": 3600})
	if st != http.StatusOK {
		t.Fatalf("access: %d %s", st, body)
	}
	var a access
	_ = json.Unmarshal(body, &a)
	late := s.magicLink("acme", false)
	b := s.newBrowser(true)
	b.open(a.URL)
	now = now.Add(59 * time.Minute)
	if resp, _ := b.get("/portal/endpoints"); resp.StatusCode != http.StatusOK {
		t.Errorf("before expiry: %d", resp.StatusCode)
	}
	if resp, body := s.newBrowser(true).get(late.URL); resp.StatusCode != http.StatusGone || !strings.Contains(body, "expired") {
		t.Errorf("code after its lifetime: %d %s", resp.StatusCode, body)
	}
	now = now.Add(2 * time.Minute)
	if resp, _ := b.get("/portal/endpoints"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after expiry: %d", resp.StatusCode)
	}
}

// TestSecureCookie: on an https public URL the cookie is Secure,
// SameSite=None and Partitioned (it must work inside another site's
// iframe).
func TestSecureCookie(t *testing.T) {
	s := newServer(t, options{portal: func(c *Config) { c.PublicURL = "https://hooks.example.test" }})
	s.createApp("acme")
	link := s.magicLink("acme", false)
	resp, _ := s.newBrowser(false).post("/portal/login", url.Values{"code": {mustURL(link.URL).Query().Get("code")}})
	c := findCookie(resp, customerCookie)
	if c == nil || !c.Secure || c.SameSite != http.SameSiteNoneMode || !c.Partitioned || !c.HttpOnly {
		t.Fatalf("cookie %+v", c)
	}
	if raw := resp.Header.Get("Set-Cookie"); !strings.Contains(raw, "Partitioned") || !strings.Contains(raw, "SameSite=None") {
		t.Errorf("Set-Cookie %q", raw)
	}
}

// TestCarriedSession: where the browser blocks the cookie, the page
// carries the session in its links and forms, and that works for reads
// and (with the CSRF token) for changes.
func TestCarriedSession(t *testing.T) {
	s := newServer(t)
	s.createApp("acme")
	b := s.newBrowser(false)
	b.open(s.magicLink("acme", false).URL)
	resp, body := b.get("/portal/endpoints")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("carried session: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `href="/portal/activity?session=`+url.QueryEscape(b.secret)+`"`) ||
		!strings.Contains(body, `name="session" value="`+b.secret+`"`) {
		t.Errorf("links and forms do not carry the session:\n%s", body)
	}
	if resp, _ := b.post("/portal/logout", url.Values{sessionParam: {b.secret}}); resp.StatusCode != http.StatusOK {
		t.Errorf("logout with a carried session: %d", resp.StatusCode)
	}
	if resp, _ := b.get("/portal/endpoints"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after logout: %d", resp.StatusCode)
	}
}

// TestCSRF: a change without the session's CSRF token, or from another
// site, changes nothing.
func TestCSRF(t *testing.T) {
	s := newServer(t)
	s.createApp("acme")
	for _, tt := range []struct {
		name   string
		token  func(b *browser) string
		header map[string]string
		want   string
	}{
		{"no token", func(*browser) string { return "" }, nil, "form has expired"},
		{"wrong token", func(*browser) string { return "x" }, nil, "form has expired"},
		{"token of another session", func(*browser) string { return (&Session{secret: "other"}).csrfToken() }, nil, "form has expired"},
		{"another site", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}, "another site"},
		{"another origin", nil, map[string]string{"Origin": "https://evil.example"}, "another site"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := s.login("acme", false)
			token := (&Session{secret: b.secret}).csrfToken()
			if tt.token != nil {
				token = tt.token(b)
			}
			form := url.Values{csrfField: {token}}
			req := mustRequest(t, "POST", s.URL+"/portal/logout", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := b.c.Do(withHeaders(req, tt.header))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), tt.want) {
				t.Errorf("post: %d %s", resp.StatusCode, body)
			}
			if resp, _ := b.get("/portal/endpoints"); resp.StatusCode != http.StatusOK {
				t.Errorf("session after a refused logout: %d", resp.StatusCode)
			}
		})
	}
}

func withHeaders(req *http.Request, h map[string]string) *http.Request {
	for k, v := range h {
		req.Header.Set(k, v)
	}
	return req
}

func findCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
