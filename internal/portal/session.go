package portal

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/api"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Kind says who a session is for.
type Kind string

const (
	// KindCustomer is a customer in the portal of one application.
	KindCustomer Kind = "customer"
	// KindOperator is the operator's staff in the console: an admin of
	// its environment.
	KindOperator Kind = "operator"
)

// Session is the signed-in viewer of a page.
type Session struct {
	// ID is the stored session's ID (not its secret).
	ID    string
	EnvID string
	// AppID is the application of a customer session.
	AppID string
	// Capabilities are what a customer session may do: its portal
	// token's, every one for a session the console opens.
	Capabilities hookrelay.PortalCapabilities
	Kind         Kind
	// ExpiresAt is when the session ends.
	ExpiresAt time.Time
	// Theme is the look of this session's pages.
	Theme Theme

	// secret is the session's secret (the cookie's value).
	secret string
	// adminKey is the stored session's AdminKey: set when the configured
	// admin token opened it, which must still be configured.
	adminKey []byte
	// carried: the browser did not send the cookie back, so the page
	// carries the secret in its links and forms.
	carried bool
}

// caller is the principal the API sees for this session.
func (s *Session) caller() api.Caller {
	if s.Kind == KindOperator {
		return api.Caller{EnvID: s.EnvID}
	}
	return api.Caller{EnvID: s.EnvID, AppID: s.AppID, Capabilities: s.Capabilities}
}

// Cookie and parameter names. The parameter carries the session's secret
// when the browser blocks the cookie (a third-party iframe).
const (
	customerCookie = "hookrelay_portal"
	operatorCookie = "hookrelay_console"
	sessionParam   = "session"
	csrfField      = "csrf"
	csrfHeader     = "X-CSRF-Token"
)

// Lifetimes.
const (
	// codeLifetime is how long a magic link's one-time code may be
	// redeemed; never longer than its token.
	codeLifetime = 10 * time.Minute
	// operatorLifetime is how long a console session lasts.
	operatorLifetime = 12 * time.Hour
)

// newSecret returns 32 random bytes, base64url without padding: a session
// secret or a one-time code.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func digest(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// csrfToken is derived from the session's secret, which only the browser
// holds (the store keeps its SHA-256, from which it cannot be derived), so
// every node computes the same token and no other origin can know it.
func (s *Session) csrfToken() string {
	sum := sha256.Sum256([]byte("hookrelay portal csrf\x00" + s.secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (s *Session) checkCSRF(got string) bool {
	want := s.csrfToken()
	return len(got) == len(want) && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func cookieName(k Kind) string {
	if k == KindOperator {
		return operatorCookie
	}
	return customerCookie
}

func cookiePath(k Kind) string {
	if k == KindOperator {
		return "/console/"
	}
	return "/portal/"
}

// setCookie gives the browser the session's secret: HttpOnly always;
// Secure on an https public URL. The portal's cookie is then also
// SameSite=None (the portal is framed by another site) and Partitioned
// (kept where third-party cookies are blocked, in the framing site's
// partition); otherwise, and for the console, which no other site frames,
// SameSite=Lax.
func (p *Portal) setCookie(w http.ResponseWriter, k Kind, secret string, expires time.Time) {
	c := &http.Cookie{
		Name:     cookieName(k),
		Value:    secret,
		Path:     cookiePath(k),
		Expires:  expires,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   p.secure,
	}
	if secret == "" {
		c.MaxAge = -1
		c.Expires = time.Time{}
	}
	if p.secure && k == KindCustomer {
		c.SameSite = http.SameSiteNoneMode
		c.Partitioned = true
	}
	http.SetCookie(w, c)
}

// errNoSession: the request carries no session, or one that ended.
var errNoSession = errors.New("no session")

// session returns the request's session of kind k: from its cookie, else
// from the session parameter (query, or form of a POST). A session found
// only in the parameter is carried by the page.
func (p *Portal) session(r *http.Request, k Kind) (*Session, error) {
	secret, carried := "", false
	if c, err := r.Cookie(cookieName(k)); err == nil && c.Value != "" {
		secret = c.Value
	}
	if v := r.URL.Query().Get(sessionParam); v != "" && v != secret {
		secret, carried = v, true
	} else if r.Method == http.MethodPost {
		if v := r.PostFormValue(sessionParam); v != "" && v != secret {
			secret, carried = v, true
		}
	}
	if secret == "" {
		return nil, errNoSession
	}
	ps, err := p.store.GetPortalSession(r.Context(), digest(secret))
	if errors.Is(err, hookrelay.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if !p.now().Before(ps.ExpiresAt) || ps.Operator != (k == KindOperator) || !p.adminKeyValid(ps.AdminKey) {
		return nil, errNoSession
	}
	s := &Session{
		ID: ps.ID, EnvID: ps.EnvID, AppID: ps.AppID, Capabilities: ps.Capabilities, Kind: k,
		ExpiresAt: ps.ExpiresAt, secret: secret, carried: carried, adminKey: ps.AdminKey,
	}
	s.Theme = decodeTheme(ps.Theme).Over(p.theme)
	return s, nil
}

// adminKeyValid reports whether a session bound to the configured admin
// token whose SHA-256 is key (see store.PortalSession.AdminKey) may go
// on: that token is still the configured one. A session bound to none
// (nil) may. Changing or removing the configured admin token so ends
// every console session it opened, and every portal those opened.
func (p *Portal) adminKeyValid(key []byte) bool {
	if key == nil {
		return true
	}
	return p.hasAdmin && subtle.ConstantTimeCompare(key, p.adminHash[:]) == 1
}

// startSession stores a redeemed session for ps (which names who it is
// for and when it ends) and gives its secret to the browser. It returns
// the session's secret.
func (p *Portal) startSession(w http.ResponseWriter, r *http.Request, ps *store.PortalSession) (string, error) {
	secret := newSecret()
	now := p.now()
	ps.Hash = digest(secret)
	ps.CreatedAt = now
	ps.RedeemedAt = &now
	if err := p.store.CreatePortalSession(r.Context(), ps); err != nil {
		return "", err
	}
	k := KindCustomer
	if ps.Operator {
		k = KindOperator
	}
	p.setCookie(w, k, secret, ps.ExpiresAt)
	return secret, nil
}

// link returns path with the session's secret added when the page carries
// it (the cookie did not come back).
func (s *Session) link(path string) string {
	if s == nil || !s.carried {
		return path
	}
	u, err := url.Parse(path)
	if err != nil {
		return path
	}
	q := u.Query()
	q.Set(sessionParam, s.secret)
	u.RawQuery = q.Encode()
	return u.String()
}
