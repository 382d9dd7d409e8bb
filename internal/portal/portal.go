// Package portal serves the customer portal (under /portal/) and the
// operator console (under /console/): server-rendered HTML that works
// without JavaScript, themed by the operator, embeddable in an iframe by
// the operator's allowed origins.
//
// The portal is a client of the REST API in process: pages change nothing
// through the store; they call the API handler as the session's principal
// (see call), so every validation, permission and error message is the
// API's. The store is used for the portal's own sessions, and read for
// what the API does not show: the console's queue and operational events,
// and until when a rotated-out signing secret keeps signing.
//
// Every page answers with a strict Content-Security-Policy (no inline
// script or style), frames only by Config.AllowedOrigins, and every
// request that is not GET or HEAD must carry the session's CSRF token.
//
// Writing a page: register it in routes.go wrapped in p.customer (portal)
// or p.operator (console), which hand the handler the *Session (EnvID,
// AppID, Capabilities, Kind) and refuse changes without the CSRF token. Read
// and change through p.call (the API as the session); an *APIError's
// Detail, or Field(name) for a 422, goes next to the form field. Render
// templates/<name>.html (defining "content") with p.render; in templates
// use {{.Link "/portal/…"}} for every href and action, {{.Hidden}} in
// every form that changes something, {{if .CanManageEndpoints}} (or the
// Can… method of the capability it needs, see Page) around every change
// control, and data-testid attributes for the browser tests. After
// a successful change, p.redirect (303) back.
package portal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay/internal/store"
)

// Config configures the handler returned by New.
type Config struct {
	// Store holds the sessions; required.
	Store store.Store
	// API is the REST API's handler (api.New); pages call it in process.
	API http.Handler
	// AdminToken is the configured admin token of the default environment
	// (HOOKRELAY_ADMIN_TOKEN), accepted by the console's login besides the
	// stored admin tokens.
	AdminToken string
	// PublicURL is where the server is reachable. An https URL makes the
	// session cookies Secure, SameSite=None and Partitioned.
	PublicURL string
	// AllowedOrigins may frame the portal (frame-ancestors) and call the
	// API from a browser with a portal token; see ParseOrigins.
	AllowedOrigins []string
	// Theme is the operator's look; zero fields take DefaultTheme's.
	Theme Theme
	// HTTPSOnly and HTTPSOnlyExempt are the server's endpoint URL rule
	// (--https-only, --https-only-exempt), shown next to the URL field; the
	// API enforces it.
	HTTPSOnly       bool
	HTTPSOnlyExempt []string
	// LoginLimit bounds failed console logins and magic links with unknown
	// codes, per client and in all; zero fields take DefaultLoginLimit's.
	LoginLimit LoginLimit
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives server-side failures; nil means slog.Default().
	Logger *slog.Logger
}

// Portal is the http.Handler of /portal/ and /console/.
type Portal struct {
	store      store.Store
	api        http.Handler
	adminHash  [32]byte
	hasAdmin   bool
	publicURL  string
	secure     bool // public URL is https: cross-site cookies
	origins    []string
	theme      Theme
	clock      func() time.Time
	log        *slog.Logger
	mux        *http.ServeMux
	pages      map[string]*template.Template
	staticHash string   // changes with the static files, for cache busting
	urlRules   []string // the endpoint URL rules shown by the endpoint form
	// consoleLimit and linkLimit count failed console logins and magic
	// links with unknown codes.
	consoleLimit, linkLimit *failureLimiter
}

// New returns the portal's handler.
func New(cfg Config) (*Portal, error) {
	if cfg.Store == nil || cfg.API == nil {
		return nil, errors.New("portal: Store and API are required")
	}
	theme, err := withDefaults(cfg.Theme, DefaultTheme)
	if err != nil {
		return nil, themeError(err)
	}
	p := &Portal{
		store:     cfg.Store,
		api:       cfg.API,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		secure:    strings.HasPrefix(strings.ToLower(cfg.PublicURL), "https://"),
		origins:   cfg.AllowedOrigins,
		theme:     theme,
		clock:     cfg.Now,
		log:       cfg.Logger,
		mux:       http.NewServeMux(),
		urlRules:  urlRules(cfg.HTTPSOnly, cfg.HTTPSOnlyExempt),
	}
	limit, err := loginLimit(cfg.LoginLimit)
	if err != nil {
		return nil, err
	}
	p.consoleLimit, p.linkLimit = newFailureLimiter(limit), newFailureLimiter(limit)
	if cfg.AdminToken != "" {
		p.adminHash = sha256.Sum256([]byte(cfg.AdminToken))
		p.hasAdmin = true
	}
	if p.clock == nil {
		p.clock = time.Now
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.pages, err = parseTemplates(); err != nil {
		return nil, err
	}
	if p.staticHash, err = hashFS(staticFS); err != nil {
		return nil, err
	}
	p.routes()
	return p, nil
}

// now returns the clock's time in UTC at the precision the stores keep.
func (p *Portal) now() time.Time { return p.clock().UTC().Truncate(time.Microsecond) }

// ServeHTTP answers every request with the security headers, then routes it.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.securityHeaders(w.Header(), r.URL.Path, imageOrigin(p.theme.LogoURL))
	p.mux.ServeHTTP(w, r)
}

// Mount returns the handler of the whole listener: /portal/ and /console/
// go to the portal, every other path to next (the API) untouched.
func (p *Portal) Mount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch path := r.URL.Path; {
		case path == "/portal" || path == "/console":
			http.Redirect(w, r, path+"/", http.StatusMovedPermanently)
		case strings.HasPrefix(path, "/portal/") || strings.HasPrefix(path, "/console/"):
			p.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// hashFS returns a short digest of every file in fsys.
func hashFS(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("portal static files: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}
