package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// principal is who makes a request.
type principal struct {
	envID string
	kind  store.TokenKind
	// appID is the only application a portal token reaches.
	appID string
	// tokenID is the stored token; empty for the configured admin token.
	tokenID string
	// caps are what a portal token may do (see authorize); not used for
	// admin tokens, which may do everything.
	caps hookrelay.PortalCapabilities
}

// disabler is who p is when it disables an endpoint by hand
// (hookrelay.DisabledReason.By).
func (p *principal) disabler() string {
	if p.kind == store.TokenPortal {
		return hookrelay.DisabledByPortal
	}
	return hookrelay.DisabledByAdmin
}

func hashToken(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// authenticate resolves the in-process caller (see WithCaller) or the
// bearer token. The configured admin token is
// compared in constant time; other tokens are looked up by their SHA-256.
func (s *server) authenticate(r *http.Request) (*principal, error) {
	if p, ok := callerPrincipal(r.Context()); ok {
		return p, nil
	}
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, errUnauthorized("missing or malformed Authorization header; expected \"Bearer <token>\"")
	}
	sum := hashToken(token)
	if s.hasAdmin && subtle.ConstantTimeCompare(sum[:], s.adminHash[:]) == 1 {
		return &principal{envID: hookrelay.DefaultEnvironment, kind: store.TokenAdmin}, nil
	}
	t, err := s.store.GetTokenByHash(r.Context(), sum[:])
	if errors.Is(err, hookrelay.ErrNotFound) {
		return nil, errUnauthorized("invalid token")
	}
	if err != nil {
		return nil, err
	}
	if t.ExpiresAt != nil && !s.clock().Before(*t.ExpiresAt) {
		return nil, errUnauthorized("token expired")
	}
	return &principal{envID: t.EnvID, kind: t.Kind, appID: t.AppID, tokenID: t.ID, caps: t.Capabilities}, nil
}

// authorize checks the route's access level and, for a portal token, the
// capability the route needs (access.need): a portal token without it is
// 403 naming it, whatever the path names, before the body or the path's
// objects are looked at. A capability counts as hookrelay.Grants says
// (ManageEndpointSecret also reads the secret; ManageEndpoint also reads
// and rotates it). accessAny routes concern
// the token itself (logout, whoami) and need none. For accessApp routes a
// portal token is further limited to its own application by
// (*server).app.
func (p *principal) authorize(acc access) error {
	switch acc.level {
	case levelAdmin:
		if p.kind != store.TokenAdmin {
			return errForbidden("this token may not use this operation")
		}
	case levelApp, levelCatalog:
		if p.kind != store.TokenAdmin && p.kind != store.TokenPortal {
			return errForbidden("this token may not use this operation")
		}
		if p.kind != store.TokenPortal {
			break
		}
		for _, need := range []hookrelay.PortalCapabilities{hookrelay.CapViewBase, acc.need} {
			if !p.caps.Grants(need) {
				return errForbidden("this portal token lacks the " + need.String() +
					" capability, which this operation needs")
			}
		}
	}
	return nil
}

// scope names who makes a request for idempotency keys. A portal token's
// keys are its own: another token of the application using the same key
// is not answered with this one's response (its logout would leave it
// working). The portal's in-process callers, which have no token, share
// their application's.
func (p *principal) scope() string {
	if p.kind == store.TokenPortal {
		scope := p.envID + "|portal:" + p.appID
		if p.tokenID != "" {
			scope += "|" + p.tokenID
		}
		return scope
	}
	return p.envID + "|" + string(p.kind)
}

// app resolves the path's {app_id} (an ID or uid) within the caller's
// environment. A portal token sees only its own application.
func (s *server) app(r *http.Request, p *principal) (*hookrelay.Application, error) {
	app, err := s.store.GetApplication(r.Context(), p.envID, r.PathValue("app_id"))
	if errors.Is(err, hookrelay.ErrNotFound) {
		return nil, errNotFound("application not found")
	}
	if err != nil {
		return nil, err
	}
	if !p.reaches(app) {
		return nil, errNotFound("application not found")
	}
	return app, nil
}

// reaches reports whether p may act on app: a portal token reaches only its
// own application.
func (p *principal) reaches(app *hookrelay.Application) bool {
	return p.kind != store.TokenPortal || app.ID == p.appID
}

// Portal tokens: "hrp_" + portalTokenLen base62 characters.
const (
	portalTokenPrefix = "hrp_"
	portalTokenLen    = 32
	// Portal token lifetime: Svix allows 1 hour to 7 days; hookrelay also
	// accepts down to a minute (short-lived links, tests).
	defaultPortalExpiry = 7 * 24 * 60 * 60
	minPortalExpiry     = 60
	maxPortalExpiry     = 7 * 24 * 60 * 60
)

func newPortalToken() (string, error) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, portalTokenLen)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b[i] = alphabet[n.Int64()]
	}
	return portalTokenPrefix + string(b), nil
}

type appPortalAccessIn struct {
	Application  opt[applicationIn] `json:"application"`
	Expiry       opt[int64]         `json:"expiry"`
	FeatureFlags opt[[]string]      `json:"featureFlags"`
	ReadOnly     opt[bool]          `json:"readOnly"`
	Capabilities opt[[]string]      `json:"capabilities"`
	SessionID    opt[string]        `json:"sessionId"`
}

// changeCapabilities are the capabilities that change something; a set
// without any of them is read-only.
const changeCapabilities = hookrelay.CapManageEndpointSecret | hookrelay.CapManageTransformations |
	hookrelay.CapCreateAttempts | hookrelay.CapManageEndpoint

// capabilities decides what the token may do from capabilities and
// readOnly. Without capabilities (absent or null): readOnly true is
// hookrelay.ReadOnlyPortalCapabilities (ViewBase and ViewEndpointSecret),
// otherwise every capability. With them: any set of Svix's capabilities
// that holds ViewBase; a name Svix does not define, one given twice, a
// set without ViewBase, or a readOnly that contradicts the set (true
// beside a capability that changes something, false beside none) is 422.
func (in *appPortalAccessIn) capabilities(c *checker) hookrelay.PortalCapabilities {
	if !in.Capabilities.has() {
		return hookrelay.LegacyPortalCapabilities(in.ReadOnly.V)
	}
	var caps hookrelay.PortalCapabilities
	bad := false
	for i, name := range in.Capabilities.V {
		x, ok := hookrelay.ParsePortalCapability(name)
		switch {
		case !ok:
			c.add("unknown capability; Svix's are "+quoteList(hookrelay.PortalCapabilityNames()), "capabilities", fmt.Sprint(i))
			bad = true
		case caps.Has(x):
			c.add("capability "+name+" is listed twice", "capabilities", fmt.Sprint(i))
			bad = true
		}
		caps |= x
	}
	if bad {
		return 0
	}
	if !caps.Has(hookrelay.CapViewBase) {
		c.add("must include ViewBase, which every portal token needs", "capabilities")
		return 0
	}
	readOnly := caps&changeCapabilities == 0
	if in.ReadOnly.has() && in.ReadOnly.V != readOnly {
		what := "a capability that changes something"
		if readOnly {
			what = "no capability that changes something"
		}
		c.add(fmt.Sprintf("readOnly %t contradicts capabilities, which hold %s", in.ReadOnly.V, what), "readOnly")
	}
	return caps
}

type appPortalAccessOut struct {
	Token string `json:"token"`
	URL   string `json:"url"`
}

// appPortalAccess is POST /api/v1/auth/app-portal-access/{app_id}: a portal
// token for one application, creating the application from `application`
// when the path's app does not exist, and the magic link (url) that opens
// the portal with a one-time code (see newPortalCode). The token lasts `expiry` seconds
// (default 7 days) and may do what its capabilities grant (see
// appPortalAccessIn.capabilities and authorize). hookrelay has no feature flags:
// featureFlags must be empty or absent, and any flag is 422 rather than
// silently dropped; so is a sessionId.
func (s *server) appPortalAccess(w http.ResponseWriter, r *http.Request, p *principal) error {
	var in appPortalAccessIn
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	var c checker
	expiry := int64(defaultPortalExpiry)
	if in.Expiry.has() {
		expiry = in.Expiry.V
		if expiry < minPortalExpiry || expiry > maxPortalExpiry {
			c.add("must be between 60 and 604800 seconds", "expiry")
		}
	}
	c.notNull(in.FeatureFlags.Set, in.FeatureFlags.Null, "featureFlags")
	if len(in.FeatureFlags.V) > 0 {
		c.add("hookrelay has no feature flags: send an empty list or leave featureFlags out", "featureFlags")
	}
	if in.Application.has() {
		in.Application.V.validate(&c, "application")
	}
	caps := in.capabilities(&c)
	if in.SessionID.has() {
		c.add("is not supported: portal tokens carry no session id (expire-all expires every token of the application)", "sessionId")
	}
	if err := c.err(); err != nil {
		return err
	}

	app, err := s.appOrCreate(r, p, in.Application)
	if err != nil {
		return err
	}
	token, err := newPortalToken()
	if err != nil {
		return err
	}
	now := s.now()
	exp := now.Add(time.Duration(expiry) * time.Second)
	sum := hashToken(token)
	t := &store.Token{
		ID:           hookrelay.NewID(hookrelay.PrefixToken),
		EnvID:        p.envID,
		Kind:         store.TokenPortal,
		AppID:        app.ID,
		Hash:         sum[:],
		ExpiresAt:    &exp,
		CreatedAt:    now,
		Capabilities: caps,
	}
	if err := s.store.CreateToken(r.Context(), t); err != nil {
		return err
	}
	code, err := s.newPortalCode(r, t)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, appPortalAccessOut{Token: token, URL: s.publicURL + "/portal/login?code=" + code})
	return nil
}

// portalCodeLifetime is how long the one-time code of a magic link may be
// redeemed: the link is meant to be opened (or framed) as soon as it is
// made. Never beyond the token's own expiry.
const portalCodeLifetime = 10 * time.Minute

// newPortalCode makes the one-time code of the magic link to the portal
// for the portal token t: the code is exchanged once for a portal session
// (see internal/portal) of t's application, with t's capabilities, ending no
// later than t (and with it: deleting t deletes the session). Only the
// code's SHA-256 is stored.
func (s *server) newPortalCode(r *http.Request, t *store.Token) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	code := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(code))
	codeExp := t.CreatedAt.Add(portalCodeLifetime)
	if codeExp.After(*t.ExpiresAt) {
		codeExp = *t.ExpiresAt
	}
	err := s.store.CreatePortalSession(r.Context(), &store.PortalSession{
		ID:            hookrelay.NewID(hookrelay.PrefixSession),
		EnvID:         t.EnvID,
		AppID:         t.AppID,
		Capabilities:  t.Capabilities,
		TokenID:       t.ID,
		CodeHash:      sum[:],
		CodeExpiresAt: &codeExp,
		ExpiresAt:     *t.ExpiresAt,
		CreatedAt:     t.CreatedAt,
	})
	if err != nil {
		return "", err
	}
	return code, nil
}

// logout is POST /api/v1/auth/logout: a portal token deletes itself; admin
// tokens are left alone.
func (s *server) logout(w http.ResponseWriter, r *http.Request, p *principal) error {
	if p.kind == store.TokenPortal && p.tokenID != "" {
		if err := s.store.DeleteToken(r.Context(), p.tokenID); err != nil && !errors.Is(err, hookrelay.ErrNotFound) {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
