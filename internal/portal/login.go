package portal

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// The magic link. Its URL (GET /portal/login?code=…) changes nothing: mail
// and chat link previews and security scanners fetch links before people
// open them, and a GET that spent the code would leave the person a used
// link. The GET answers a page with a form that posts the code (and the
// svix-react parameters) back to /portal/login; static/login.js submits
// it as soon as the page loads, and its button does without JavaScript.
// The POST, from this server's own pages only, exchanges the code, once,
// for a session.

// linkData is the data of the continue page.
type linkData struct {
	Code   string
	Params []linkParam
}

type linkParam struct{ Name, Value string }

// linkPage is GET /portal/login?code=…: a code still to be redeemed gets
// the continue page, in the look the session will have; a used, expired or
// unknown code gets a page saying so. Nothing is changed either way (but
// an unknown code counts against the client's failed sign-ins).
func (p *Portal) linkPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	ps, code := p.pendingCode(w, r, q.Get("code"))
	if ps == nil {
		return
	}
	appTheme, err := p.appTheme(r, ps.AppID)
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	data := linkData{Code: code}
	for _, name := range svixReactParams {
		if v := q.Get(name); v != "" {
			data.Params = append(data.Params, linkParam{name, v})
		}
	}
	theme := svixReactTheme(q).Over(appTheme).Over(p.theme)
	p.renderTheme(w, r, nil, theme, http.StatusOK, "portal_link", "Open the portal", data)
}

// redeem is POST /portal/login, the continue page's form: its one-time
// code is exchanged, once, for a session whose secret goes into the
// cookie; the browser is sent on to the portal with the secret in the URL
// too, so a page whose cookie is blocked carries it instead (withSession
// drops it from the URL when the cookie comes back). The svix-react
// parameters set the session's look. A post from another site, or with a
// used, expired or unknown code, gets a page saying so, and changes
// nothing.
func (p *Portal) redeem(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if p.crossSite(r) {
		p.renderStatus(w, r, nil, http.StatusForbidden, "message", "Refused", message{
			Heading: "Refused",
			Text:    "This sign-in came from another site, so the portal link was not used." + p.again(),
		})
		return
	}
	if err := r.ParseForm(); err != nil {
		p.renderStatus(w, r, nil, http.StatusBadRequest, "message", "Bad request",
			message{Heading: "This request could not be read", Text: "The form was not readable; nothing was changed."})
		return
	}
	ps, code := p.pendingCode(w, r, r.PostForm.Get("code"))
	if ps == nil {
		return
	}
	appTheme, err := p.appTheme(r, ps.AppID)
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	secret := newSecret()
	theme := encodeTheme(svixReactTheme(r.PostForm).Over(appTheme))
	ps, err = p.store.RedeemPortalCode(r.Context(), digest(code), digest(secret), theme, p.now())
	if errors.Is(err, hookrelay.ErrNotFound) {
		p.codeUsed(w, r) // another request redeemed it first
		return
	}
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	p.setCookie(w, KindCustomer, secret, ps.ExpiresAt)
	s := &Session{secret: secret, carried: true}
	http.Redirect(w, r, s.link("/portal/endpoints"), http.StatusSeeOther)
}

// pendingCode returns the stored session of a magic link's code that may
// still be redeemed, and the code. Otherwise it answers the request with
// a page saying why (an unknown code counts against the client's failed
// sign-ins) and returns nil. A client over its limit of failed sign-ins
// is answered 429 before the code is looked at.
func (p *Portal) pendingCode(w http.ResponseWriter, r *http.Request, code string) (*store.PortalSession, string) {
	refuse := func(status int, heading, text string) {
		p.renderStatus(w, r, nil, status, "message", heading, message{Heading: heading, Text: text})
	}
	if code == "" {
		refuse(http.StatusBadRequest, "This link is incomplete", "The portal link has no access code."+p.again())
		return nil, ""
	}
	client := clientOf(r)
	if wait := p.linkLimit.wait(client, p.clock()); wait > 0 {
		tooMany(w, wait)
		refuse(http.StatusTooManyRequests, "Too many invalid links",
			"This address opened too many portal links that are not valid. Try again "+inWords(wait)+".")
		return nil, ""
	}
	ps, err := p.store.GetPortalSessionByCode(r.Context(), digest(code))
	if errors.Is(err, hookrelay.ErrNotFound) {
		p.linkLimit.fail(client, p.clock())
		refuse(http.StatusNotFound, "This link is not valid", "The portal link is not one this server made."+p.again())
		return nil, ""
	}
	if err != nil {
		p.fail(w, r, nil, err)
		return nil, ""
	}
	now := p.now()
	switch {
	case ps.RedeemedAt != nil:
		p.codeUsed(w, r)
		return nil, ""
	case ps.CodeExpiresAt != nil && !now.Before(*ps.CodeExpiresAt), !now.Before(ps.ExpiresAt):
		refuse(http.StatusGone, "This link has expired", "Portal links must be opened within minutes of being made."+p.again())
		return nil, ""
	}
	return ps, code
}

// codeUsed answers a magic link whose code was redeemed before.
func (p *Portal) codeUsed(w http.ResponseWriter, r *http.Request) {
	p.renderStatus(w, r, nil, http.StatusGone, "message", "This link has already been used", message{
		Heading: "This link has already been used",
		Text:    "A portal link opens one session, once, and this one was opened before. Nothing was changed." + p.again(),
	})
}

// again tells a customer how to get a new link.
func (p *Portal) again() string {
	return " Open the webhooks portal again from " + p.theme.ProductName + " to get a new link."
}

// consoleLoginForm is GET /console/login.
func (p *Portal) consoleLoginForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, nil, "console_login", "Sign in", loginForm{})
}

type loginForm struct{ Error string }

// consoleLogin is POST /console/login: an admin token (the form's "token")
// is exchanged for an operator session of its environment, lasting
// operatorLifetime or until the token expires or is deleted (the
// configured admin token: until it is changed or removed). A token that
// is not one counts against the client's failed sign-ins; over the limit
// the client is answered 429, whatever its token, until it may try
// again.
func (p *Portal) consoleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if p.crossSite(r) {
		p.renderStatus(w, r, nil, http.StatusForbidden, "console_login", "Sign in",
			loginForm{Error: "This sign-in came from another site and was refused."})
		return
	}
	client := clientOf(r)
	if wait := p.consoleLimit.wait(client, p.clock()); wait > 0 {
		tooMany(w, wait)
		p.renderStatus(w, r, nil, http.StatusTooManyRequests, "console_login", "Sign in",
			loginForm{Error: "Too many failed sign-ins from this address. Try again " + inWords(wait) + "."})
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	ps, err := p.adminSession(r, token)
	if errors.Is(err, errNoSession) {
		if token != "" {
			p.consoleLimit.fail(client, p.clock())
		}
		p.renderStatus(w, r, nil, http.StatusUnauthorized, "console_login", "Sign in",
			loginForm{Error: "That is not a valid admin token. Paste an admin API token (not a portal token)."})
		return
	}
	if err == nil {
		_, err = p.startSession(w, r, ps)
	}
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

// adminSession returns the operator session an admin token opens; an
// unknown, expired or non-admin token is errNoSession.
func (p *Portal) adminSession(r *http.Request, token string) (*store.PortalSession, error) {
	if token == "" {
		return nil, errNoSession
	}
	now := p.now()
	ps := &store.PortalSession{Operator: true, ExpiresAt: now.Add(operatorLifetime)}
	sum := digest(token)
	if p.hasAdmin && subtle.ConstantTimeCompare(sum, p.adminHash[:]) == 1 {
		ps.EnvID = hookrelay.DefaultEnvironment
		ps.AdminKey = sum
		return ps, nil
	}
	t, err := p.store.GetTokenByHash(r.Context(), sum)
	if errors.Is(err, hookrelay.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if t.Kind != store.TokenAdmin || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
		return nil, errNoSession
	}
	ps.EnvID, ps.TokenID = t.EnvID, t.ID
	if t.ExpiresAt != nil && t.ExpiresAt.Before(ps.ExpiresAt) {
		ps.ExpiresAt = *t.ExpiresAt
	}
	return ps, nil
}

// openPortal is POST /console/apps/{app_id}/portal: the operator opens
// the portal of an application (an ID or uid) of its environment, to act
// for the customer.
func (p *Portal) openPortal(w http.ResponseWriter, r *http.Request, s *Session) error {
	return p.actAs(w, r, s, r.PathValue("app_id"))
}

// actAs opens the portal of an application for an operator session: a
// customer session of that application with every capability, ending with the
// operator's (its expiry, its logout, its token's deletion or, for the
// configured admin token, that token's change), and sends the browser to
// it. The console's "open portal" uses it.
func (p *Portal) actAs(w http.ResponseWriter, r *http.Request, op *Session, appID string) error {
	var app struct {
		ID string `json:"id"`
	}
	if err := p.call(r.Context(), op, http.MethodGet, "/api/v1/app/"+url.PathEscape(appID), nil, &app); err != nil {
		return err
	}
	theme, err := p.appTheme(r, app.ID)
	if err != nil {
		return err
	}
	ps := &store.PortalSession{EnvID: op.EnvID, AppID: app.ID, ExpiresAt: op.ExpiresAt, Theme: encodeTheme(theme),
		Capabilities: hookrelay.AllPortalCapabilities, OpenedBy: op.ID, AdminKey: op.adminKey}
	secret, err := p.startSession(w, r, ps)
	if err != nil {
		return err
	}
	s := &Session{secret: secret, carried: true}
	http.Redirect(w, r, s.link("/portal/endpoints"), http.StatusSeeOther)
	return nil
}

// appTheme is the look an application sets for its portal (PUT
// /api/v1/app/{app_id}/portal-theme); fields it does not set are empty.
func (p *Portal) appTheme(r *http.Request, appID string) (Theme, error) {
	stored, err := p.store.GetAppPortalTheme(r.Context(), appID)
	if err != nil {
		return Theme{}, err
	}
	return decodeTheme(stored), nil
}
