package portal

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay"
)

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticRoot embed.FS

// staticFS is the static files, served under /portal/static/.
var staticFS, _ = fs.Sub(staticRoot, "static")

// funcs are the template functions every page may use.
var funcs = template.FuncMap{
	// time formats a time for people, in UTC.
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
}

// parseTemplates reads templates/: layout.html and the partials (files
// named _*.html) make the base every page shares; every other file X.html
// is the page X, defining "content" within the base's "layout".
func parseTemplates() (map[string]*template.Template, error) {
	base := template.New("base").Funcs(funcs)
	var pages []string
	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".html") {
			continue
		}
		if name == "layout.html" || strings.HasPrefix(name, "_") {
			if _, err := base.ParseFS(templateFS, "templates/"+name); err != nil {
				return nil, fmt.Errorf("portal template %s: %w", name, err)
			}
			continue
		}
		pages = append(pages, name)
	}
	out := map[string]*template.Template{}
	for _, name := range pages {
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(templateFS, "templates/"+name); err != nil {
			return nil, fmt.Errorf("portal template %s: %w", name, err)
		}
		out[strings.TrimSuffix(name, ".html")] = t
	}
	return out, nil
}

// Page is what the layout and every page template get: {{.Data}} is the
// page's own data.
type Page struct {
	Title   string
	Session *Session
	Theme   Theme
	// Nav is the current section: the first path element after /portal/
	// or /console/ ("endpoints", "activity", "catalog", "health", ...).
	Nav  string
	Data any

	portal *Portal
}

// Link returns a path of this server with the session added when the page
// carries it; use it for every href and form action.
func (pg *Page) Link(p string) string { return pg.Session.link(p) }

// Hidden is the hidden inputs every form that changes something carries:
// the CSRF token, and the session when the page carries it.
func (pg *Page) Hidden() template.HTML {
	if pg.Session == nil {
		return ""
	}
	h := `<input type="hidden" name="` + csrfField + `" value="` + template.HTMLEscapeString(pg.Session.csrfToken()) + `">`
	if pg.Session.carried {
		h += `<input type="hidden" name="` + sessionParam + `" value="` + template.HTMLEscapeString(pg.Session.secret) + `">`
	}
	return template.HTML(h)
}

// CSRF is the session's CSRF token, for scripts (header X-CSRF-Token).
func (pg *Page) CSRF() string {
	if pg.Session == nil {
		return ""
	}
	return pg.Session.csrfToken()
}

// can reports whether the viewer's capabilities grant x (as the API
// counts them: hookrelay.PortalCapabilities.Grants). An operator session
// may do everything. Templates hide every control the viewer may not use
// (the API refuses anyway) through the methods below.
func (pg *Page) can(x hookrelay.PortalCapabilities) bool {
	if pg.Session == nil {
		return false
	}
	return pg.Session.Kind == KindOperator || pg.Session.Capabilities.Grants(x)
}

// CanManageEndpoints: create, edit, disable, enable and delete endpoints
// and their custom headers (ManageEndpoint).
func (pg *Page) CanManageEndpoints() bool { return pg.can(hookrelay.CapManageEndpoint) }

// CanViewSecret: reveal an endpoint's signing secret (ViewEndpointSecret,
// ManageEndpointSecret or ManageEndpoint).
func (pg *Page) CanViewSecret() bool { return pg.can(hookrelay.CapViewEndpointSecret) }

// CanRotateSecret: rotate an endpoint's signing secret
// (ManageEndpointSecret or ManageEndpoint).
func (pg *Page) CanRotateSecret() bool { return pg.can(hookrelay.CapManageEndpointSecret) }

// CanCreateAttempts: resend messages, recover failed ones and send test
// events (CreateAttempts).
func (pg *Page) CanCreateAttempts() bool { return pg.can(hookrelay.CapCreateAttempts) }

// ReadOnly reports whether a customer session may change nothing at all:
// none of the capabilities above.
func (pg *Page) ReadOnly() bool {
	return pg.Session != nil && pg.Session.Kind == KindCustomer &&
		!pg.CanManageEndpoints() && !pg.CanRotateSecret() && !pg.CanCreateAttempts()
}

// Operator reports whether the viewer is the operator's staff.
func (pg *Page) Operator() bool { return pg.Session != nil && pg.Session.Kind == KindOperator }

// Static returns the URL of a static file, versioned for caching.
func (pg *Page) Static(name string) string {
	return "/portal/static/" + name + "?v=" + pg.portal.staticHash
}

// ThemeCSS is the URL of the stylesheet of the page's theme.
func (pg *Page) ThemeCSS() string {
	q := url.Values{}
	q.Set("accent", strings.TrimPrefix(pg.Theme.AccentColor, "#"))
	if pg.Theme.FontFamily != "" {
		q.Set("font", pg.Theme.FontFamily)
	}
	q.Set("v", pg.portal.staticHash)
	return "/portal/theme.css?" + q.Encode()
}

// render writes the page name with data, status 200.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, s *Session, name, title string, data any) {
	p.renderStatus(w, r, s, http.StatusOK, name, title, data)
}

// renderStatus writes the page name with data and status, in the
// session's look (the server's without a session).
func (p *Portal) renderStatus(w http.ResponseWriter, r *http.Request, s *Session, status int, name, title string, data any) {
	theme := p.theme
	if s != nil {
		theme = s.Theme
	}
	p.renderTheme(w, r, s, theme, status, name, title, data)
}

// renderTheme writes the page name with data and status, in theme.
func (p *Portal) renderTheme(w http.ResponseWriter, r *http.Request, s *Session, theme Theme, status int, name, title string, data any) {
	t, ok := p.pages[name]
	if !ok {
		p.log.Error("portal page has no template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	pg := &Page{Title: title, Session: s, Theme: theme, Nav: navOf(r.URL.Path), Data: data, portal: p}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pg); err != nil {
		p.log.Error("portal page failed to render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	p.securityHeaders(h, r.URL.Path, imageOrigin(pg.Theme.LogoURL))
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// navOf is the section of a path: "/portal/endpoints/ep_1" is "endpoints".
func navOf(p string) string {
	for _, prefix := range []string{"/portal/", "/console/"} {
		if rest, ok := strings.CutPrefix(p, prefix); ok {
			first, _, _ := strings.Cut(rest, "/")
			return first
		}
	}
	return ""
}

// redirect answers 303 to a path of this server (post/redirect/get),
// keeping the session when the page carries it.
func (p *Portal) redirect(w http.ResponseWriter, r *http.Request, s *Session, to string) {
	http.Redirect(w, r, s.link(to), http.StatusSeeOther)
}

// fail answers a page's error: the API's refusal with its status and
// message, anything else 500 (logged).
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, s *Session, err error) {
	var ae *APIError
	if errors.As(err, &ae) {
		title := http.StatusText(ae.Status)
		p.renderStatus(w, r, s, ae.Status, "message", title, message{Heading: title, Text: ae.Detail})
		return
	}
	p.log.Error("portal page failed", "path", r.URL.Path, "err", err)
	p.renderStatus(w, r, s, http.StatusInternalServerError, "message", "Something went wrong",
		message{Heading: "Something went wrong", Text: "The server could not show this page. Try again in a moment."})
}

// message is the data of the message page: a heading, a sentence, and
// optionally a link onwards.
type message struct {
	Heading  string
	Text     string
	LinkText string
	LinkPath string
}

// serveStatic serves the embedded static files.
func (p *Portal) serveStatic() http.Handler {
	files := http.StripPrefix("/portal/static/", http.FileServerFS(staticFS))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if path.Ext(r.URL.Path) == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}
