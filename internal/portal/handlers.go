package portal

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hookrelay/hookrelay"
)

// pageFunc handles a page for a signed-in session. A returned error is
// answered by fail; nothing must have been written before.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *Session) error

// maxFormBytes bounds the body of a form post.
const maxFormBytes = 1 << 20

// customer wraps a portal page: it needs a customer session.
func (p *Portal) customer(h pageFunc) http.Handler { return p.withSession(KindCustomer, h) }

// operator wraps a console page: it needs an operator session.
func (p *Portal) operator(h pageFunc) http.Handler { return p.withSession(KindOperator, h) }

// withSession finds the request's session of kind k and refuses a request
// that changes something (any method but GET and HEAD) without the
// session's CSRF token, in the form field "csrf" or the X-CSRF-Token
// header, or that the browser says comes from another site. A GET whose session parameter repeats the cookie is redirected
// to the same URL without it, so the secret leaves the address bar.
func (p *Portal) withSession(k Kind, h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		s, err := p.session(r, k)
		if errors.Is(err, errNoSession) {
			p.signedOut(w, r, k)
			return
		}
		if err != nil {
			p.fail(w, r, nil, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if p.crossSite(r) {
				p.renderStatus(w, r, s, http.StatusForbidden, "message", "Refused", message{
					Heading: "Refused",
					Text:    "This request came from another site, so nothing was changed.",
				})
				return
			}
			token := r.Header.Get(csrfHeader)
			if token == "" {
				token = r.PostFormValue(csrfField)
			}
			if !s.checkCSRF(token) {
				p.renderStatus(w, r, s, http.StatusForbidden, "message", "Form expired", message{
					Heading: "This form has expired",
					Text:    "The request did not carry this session's form token, so nothing was changed. Reload the page and try again.",
				})
				return
			}
		} else if !s.carried && r.URL.Query().Has(sessionParam) {
			u := *r.URL
			q := u.Query()
			q.Del(sessionParam)
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		if err := h(w, r, s); err != nil {
			p.fail(w, r, s, err)
		}
	})
}

// signedOut answers a request without a session: the console's login
// form, or a page saying how to get back into the portal.
func (p *Portal) signedOut(w http.ResponseWriter, r *http.Request, k Kind) {
	if k == KindOperator {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			http.Redirect(w, r, "/console/login", http.StatusSeeOther)
			return
		}
		p.renderStatus(w, r, nil, http.StatusUnauthorized, "message", "Signed out", message{
			Heading: "You are signed out", Text: "Your console session has ended; nothing was changed.",
			LinkText: "Sign in again", LinkPath: "/console/login",
		})
		return
	}
	p.renderStatus(w, r, nil, http.StatusUnauthorized, "message", "Session ended", message{
		Heading: "Your session has ended",
		Text:    "This portal session has expired or was signed out. Open the webhooks portal again from " + p.theme.ProductName + ".",
	})
}

// logout ends the session and forgets its cookie.
func (p *Portal) logout(w http.ResponseWriter, r *http.Request, s *Session) error {
	if err := p.store.DeletePortalSession(r.Context(), s.ID); err != nil && !errors.Is(err, hookrelay.ErrNotFound) {
		return err
	}
	p.setCookie(w, s.Kind, "", s.ExpiresAt)
	if s.Kind == KindOperator {
		http.Redirect(w, r, "/console/login", http.StatusSeeOther)
		return nil
	}
	p.render(w, r, nil, "message", "Signed out", message{
		Heading: "You are signed out",
		Text:    "Open the webhooks portal again from " + s.Theme.ProductName + " to sign back in.",
	})
	return nil
}

// themeCSS serves the stylesheet of a theme: the accent colour, the text
// colour on it, and the font family. Its parameters are validated, so
// nothing but a colour or a font name reaches the CSS.
func (p *Portal) themeCSS(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	accent := p.theme.AccentColor
	if c, err := hookrelay.ParseColor(q.Get("accent")); err == nil {
		accent = c.Hex()
	}
	font := p.theme.FontFamily
	if f := q.Get("font"); f != "" && hookrelay.CheckFontFamily(f) == nil {
		font = f
	}
	var b strings.Builder
	fmt.Fprintf(&b, ":root{--accent:%s;--on-accent:%s}\n", accent, onAccent(accent))
	if font != "" {
		var names []string
		for _, n := range strings.Split(font, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, `"`+n+`"`)
			}
		}
		fmt.Fprintf(&b, "body{font-family:%s,system-ui,sans-serif}\n", strings.Join(names, ","))
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write([]byte(b.String()))
}

// placeholder is a page not built yet: the page helpers replace each.
func (p *Portal) placeholder(title string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, s *Session) error {
		p.render(w, r, s, "placeholder", title, title)
		return nil
	}
}

// home is /portal/: the endpoints.
func (p *Portal) home(w http.ResponseWriter, r *http.Request, s *Session) error {
	p.redirect(w, r, s, "/portal/endpoints")
	return nil
}
