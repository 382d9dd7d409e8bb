package portal

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ParseOrigins reads a comma-separated list of origins (scheme://host with
// an optional port, such as https://app.acme.com), as
// --portal-allowed-origins takes it. Empty items are skipped; anything but
// a bare http or https origin is an error naming it. Origins come back in
// the form browsers send in the Origin header (lower case, default port
// dropped).
func ParseOrigins(list string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		o, err := parseOrigin(item)
		if err != nil {
			return nil, fmt.Errorf("origin %q: %w", item, err)
		}
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	return out, nil
}

func parseOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", errors.New("want http:// or https:// followed by a host, such as https://app.acme.com")
	}
	if u.Host == "" || u.Opaque != "" {
		return "", errors.New("has no host")
	}
	if u.User != nil {
		return "", errors.New("must not hold credentials")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", errors.New("an origin has no path, query or fragment")
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, "*") {
		return "", errors.New("wildcards are not supported; list each origin")
	}
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// securityHeaders sets the headers every response of the portal carries:
// a strict Content-Security-Policy (this server's scripts, styles and
// images only; framing only by this server and, for the portal, the
// allowed origins), no referrer (the session may travel in a URL when
// cookies are blocked), nosniff, and X-Frame-Options where no other
// origin may frame. path is the request's: the console (/console/) is
// framed by no other origin, whatever the allowed origins.
func (p *Portal) securityHeaders(h http.Header, path string, imgOrigins ...string) {
	framers := p.origins
	if isConsole(path) {
		framers = nil
	}
	h.Set("Content-Security-Policy", csp(framers, imgOrigins...))
	if len(framers) == 0 {
		h.Set("X-Frame-Options", "SAMEORIGIN")
	}
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
}

// isConsole reports whether path is the operator console's.
func isConsole(path string) bool {
	return path == "/console" || strings.HasPrefix(path, "/console/")
}

// csp is the Content-Security-Policy of a page that framers (besides this
// server) may frame, showing images of imgOrigins.
func csp(framers []string, imgOrigins ...string) string {
	img := "'self'"
	for _, o := range imgOrigins {
		if o != "" {
			img += " " + o
		}
	}
	ancestors := "'self'"
	for _, o := range framers {
		ancestors += " " + o
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src " + img +
		"; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors " + ancestors
}

// imageOrigin is the origin of an absolute image URL, for img-src; "" for a
// path on this server.
func imageOrigin(u string) string {
	if u == "" || strings.HasPrefix(u, "/") {
		return ""
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Host == "" {
		return ""
	}
	return "https://" + pu.Host
}

// crossSite reports whether the browser says the request was made by a
// page of another site (Sec-Fetch-Site), or its Origin is another
// origin than this server's: such requests change nothing.
func (p *Portal) crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return false
	}
	if p.publicURL != "" {
		if po, err := parseOrigin(p.publicURL); err == nil && po == o {
			return false
		}
	}
	// Without a public URL, the request's own host is this server.
	return o != "http://"+r.Host && o != "https://"+r.Host
}
