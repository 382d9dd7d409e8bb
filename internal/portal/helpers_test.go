package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/internal/api"
	"github.com/hookrelay/hookrelay/internal/pgtest"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/postgres"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

// testAdminToken is the configured admin token of a test server.
const testAdminToken = "test-admin-token"

// server is the API, the portal and the console on one real database,
// behind one real HTTP server, as `hookrelay serve` mounts them. Page
// tests use it with a browser (see login).
type server struct {
	t      *testing.T
	st     store.Store
	srv    *httptest.Server
	portal *Portal
	URL    string
}

// options changes a test server's configuration.
type options struct {
	api    func(*api.Config)
	portal func(*Config)
	// portalAPI wraps the API handler the portal calls in process.
	portalAPI func(http.Handler) http.Handler
}

// newServer serves everything on a fresh SQLite database.
func newServer(t *testing.T, opts ...options) *server {
	t.Helper()
	return newServerOn(t, openSQLite(t), opts...)
}

// forEachStore runs test on a fresh SQLite file and on a fresh PostgreSQL
// database (skipped without HOOKRELAY_TEST_DATABASE_URL).
func forEachStore(t *testing.T, test func(t *testing.T, open func(t *testing.T) store.Store)) {
	t.Run("sqlite", func(t *testing.T) { test(t, openSQLite) })
	t.Run("postgres", func(t *testing.T) { test(t, openPostgres) })
}

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func openPostgres(t *testing.T) store.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t, "hookrelay_portal"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// newServerOn serves everything on st.
func newServerOn(t *testing.T, st store.Store, opts ...options) *server {
	t.Helper()
	s := &server{t: t, st: st}
	var h http.Handler = http.NotFoundHandler()
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	acfg := api.Config{Store: st, AdminToken: testAdminToken, PublicURL: s.URL, Logger: logger}
	pcfg := Config{Store: st, AdminToken: testAdminToken, PublicURL: s.URL, Logger: logger}
	for _, o := range opts {
		if o.api != nil {
			o.api(&acfg)
		}
		if o.portal != nil {
			o.portal(&pcfg)
		}
	}
	apiHandler := api.New(acfg)
	pcfg.API = apiHandler
	for _, o := range opts {
		if o.portalAPI != nil {
			pcfg.API = o.portalAPI(pcfg.API)
		}
	}
	p, err := New(pcfg)
	if err != nil {
		t.Fatalf("portal: %v", err)
	}
	s.portal = p
	h = p.Mount(apiHandler)
	return s
}

// admin makes an API request with the admin token and returns the status
// and body; in is JSON-encoded unless it is a string.
func (s *server) admin(method, path string, in any) (int, []byte) {
	s.t.Helper()
	return s.apiRequest(method, path, testAdminToken, in, nil)
}

// apiRequest makes an API request with token and extra headers.
func (s *server) apiRequest(method, path, token string, in any, header http.Header) (int, []byte) {
	s.t.Helper()
	var body io.Reader
	switch v := in.(type) {
	case nil:
	case string:
		body = strings.NewReader(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			s.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// createApp creates an application with the given uid and returns its ID.
func (s *server) createApp(uid string) string {
	s.t.Helper()
	status, body := s.admin("POST", "/api/v1/app", map[string]any{"name": uid, "uid": uid})
	if status != http.StatusCreated {
		s.t.Fatalf("create app %s: %d %s", uid, status, body)
	}
	var app struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &app)
	return app.ID
}

// access is the answer of app-portal-access.
type access struct {
	Token string `json:"token"`
	URL   string `json:"url"`
}

// magicLink asks the API for a portal link to app (an ID or uid).
func (s *server) magicLink(app string, readOnly bool) access {
	s.t.Helper()
	return s.magicLinkWith(app, map[string]any{"readOnly": readOnly})
}

// magicLinkWith asks the API for a portal link to app with the body in.
func (s *server) magicLinkWith(app string, in map[string]any) access {
	s.t.Helper()
	status, body := s.admin("POST", "/api/v1/auth/app-portal-access/"+app, in)
	if status != http.StatusOK {
		s.t.Fatalf("app-portal-access %s: %d %s", app, status, body)
	}
	var a access
	_ = json.Unmarshal(body, &a)
	return a
}

// browser is an HTTP client that acts like a browser on the portal: it
// keeps cookies (unless made without, like a browser blocking
// third-party cookies), does not follow redirects by itself, and knows
// its session's secret, to send CSRF tokens with its posts.
type browser struct {
	t      *testing.T
	s      *server
	c      *http.Client
	secret string
	// carry: cookies are blocked, the session travels in the URL.
	carry bool
}

func (s *server) newBrowser(cookies bool) *browser {
	b := &browser{t: s.t, s: s, carry: !cookies}
	b.c = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if cookies {
		b.c.Jar, _ = cookiejar.New(nil)
	}
	return b
}

// login opens a magic link for app (created when missing is not done:
// app must exist) in a new browser with cookies and returns it, signed in.
func (s *server) login(app string, readOnly bool) *browser {
	s.t.Helper()
	b := s.newBrowser(true)
	b.open(s.magicLink(app, readOnly).URL)
	return b
}

// loginWith signs a new browser in to app's portal with a link of the
// given capabilities.
func (s *server) loginWith(app string, caps ...string) *browser {
	s.t.Helper()
	b := s.newBrowser(true)
	b.open(s.magicLinkWith(app, map[string]any{"capabilities": caps}).URL)
	return b
}

// consoleLogin signs a new browser in to the console with token.
func (s *server) consoleLogin(token string) *browser {
	s.t.Helper()
	b := s.newBrowser(true)
	resp, body := b.post("/console/login", url.Values{"token": {token}})
	if resp.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("console login: %d %s", resp.StatusCode, body)
	}
	for _, c := range b.c.Jar.Cookies(mustURL(s.URL + "/console/")) {
		if c.Name == operatorCookie {
			b.secret = c.Value
		}
	}
	return b
}

// open follows a magic link as a person does: its page, then the page's
// form (which its script submits); it checks that leads into the portal.
func (b *browser) open(link string) {
	b.t.Helper()
	resp, body := b.get(link)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("magic link: %d %s", resp.StatusCode, body)
	}
	resp, body = b.post("/portal/login", linkForm(b.t, body))
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("magic link's form: %d %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get(sessionParam) == "" {
		b.t.Fatalf("magic link redirected to %q", resp.Header.Get("Location"))
	}
	b.secret = loc.Query().Get(sessionParam)
}

// hiddenInput matches the hidden inputs of a page.
var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// linkForm returns the fields of the form of a magic link's page.
func linkForm(t *testing.T, page string) url.Values {
	t.Helper()
	if !strings.Contains(page, `action="/portal/login"`) {
		t.Fatalf("not a magic link's page:\n%s", page)
	}
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		form.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return form
}

// url makes path absolute and adds the session when the browser carries it.
func (b *browser) url(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	if b.carry && b.secret != "" {
		path = (&Session{secret: b.secret, carried: true}).link(path)
	}
	return b.s.URL + path
}

// get fetches path (one request, no redirect followed).
func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	return b.do(mustRequest(b.t, "GET", b.url(path), nil))
}

// send is get for GET and post (with form) for any other method.
func (b *browser) send(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	if method == "GET" {
		return b.get(path)
	}
	return b.post(path, form)
}

// post submits a form to path with the session's CSRF token added (unless
// form already has a "csrf" value).
func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if b.secret != "" && !form.Has(csrfField) {
		form.Set(csrfField, (&Session{secret: b.secret}).csrfToken())
	}
	req := mustRequest(b.t, "POST", b.url(path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func mustRequest(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
