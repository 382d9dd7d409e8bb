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

// redeem is GET /portal/login?code=…: the magic link. Its one-time code is
// exchanged, once, for a session whose secret goes into the cookie; the
// browser is sent on to the portal with the secret in the URL too, so a
// page whose cookie is blocked carries it instead (withSession drops it
// from the URL when the cookie comes back). The parameters svix-react's
// <AppPortal> appends set the session's look. A used, expired or unknown
// code gets a page saying so, and changes nothing.
func (p *Portal) redeem(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	code := r.URL.Query().Get("code")
	refuse := func(status int, heading, text string) {
		p.renderStatus(w, r, nil, status, "message", heading, message{Heading: heading, Text: text})
	}
	again := " Open the webhooks portal again from " + p.theme.ProductName + " to get a new link."
	if code == "" {
		refuse(http.StatusBadRequest, "This link is incomplete", "The portal link has no access code."+again)
		return
	}
	codeHash := digest(code)
	ps, err := p.store.GetPortalSessionByCode(r.Context(), codeHash)
	if errors.Is(err, hookrelay.ErrNotFound) {
		refuse(http.StatusNotFound, "This link is not valid", "The portal link is not one this server made."+again)
		return
	}
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	now := p.now()
	used := func() {
		refuse(http.StatusGone, "This link has already been used",
			"A portal link opens one session, once, and this one was opened before. Nothing was changed."+again)
	}
	switch {
	case ps.RedeemedAt != nil:
		used()
		return
	case ps.CodeExpiresAt != nil && !now.Before(*ps.CodeExpiresAt), !now.Before(ps.ExpiresAt):
		refuse(http.StatusGone, "This link has expired", "Portal links must be opened within minutes of being made."+again)
		return
	}
	appTheme, err := p.appTheme(r, ps.AppID)
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	secret := newSecret()
	theme := encodeTheme(svixReactTheme(r.URL.Query()).Over(appTheme))
	ps, err = p.store.RedeemPortalCode(r.Context(), codeHash, digest(secret), theme, now)
	if errors.Is(err, hookrelay.ErrNotFound) {
		used() // another request redeemed it first
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

// consoleLoginForm is GET /console/login.
func (p *Portal) consoleLoginForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, nil, "console_login", "Sign in", loginForm{})
}

type loginForm struct{ Error string }

// consoleLogin is POST /console/login: an admin token (the form's "token")
// is exchanged for an operator session of its environment, lasting
// operatorLifetime or until the token expires.
func (p *Portal) consoleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if p.crossSite(r) {
		p.renderStatus(w, r, nil, http.StatusForbidden, "console_login", "Sign in",
			loginForm{Error: "This sign-in came from another site and was refused."})
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	ps, err := p.adminSession(r, token)
	if errors.Is(err, errNoSession) {
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
// customer session of that application (not read-only), ending with the
// operator's, and sends the browser to it. The console's "open portal"
// uses it.
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
	ps := &store.PortalSession{EnvID: op.EnvID, AppID: app.ID, ExpiresAt: op.ExpiresAt, Theme: encodeTheme(theme)}
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
