package api

import (
	"net/http"
	"net/textproto"
	"strings"

	"github.com/hookrelay/hookrelay/internal/store"
)

// Browsers. A request is from a browser when it carries an Origin header:
// browsers send one with every cross-origin request (and same-origin ones
// but GET and HEAD), and page scripts cannot remove it. Sec-Fetch-* headers
// are no sign of a browser: Node's fetch, which the official JS SDK uses on
// servers, sends Sec-Fetch-Mode too. Such a request:
//   - with an admin token is 403, whatever its origin: admin tokens belong
//     on the operator's servers, never in a page;
//   - with a portal token is served when its Origin, if any, is one of
//     Config.AllowedOrigins or the server's own (PublicURL), else 403.
//
// Responses to an allowed origin carry Access-Control-Allow-Origin (no
// credentials: the token travels in the Authorization header), and a
// preflight (OPTIONS with Access-Control-Request-Method) from an allowed
// origin is 204 with the methods and headers the request asked for; from
// any other origin it is 403.

// corsMaxAge is how long a browser may keep a preflight's answer.
const corsMaxAge = "600"

// corsMethods are the methods of the API.
const corsMethods = "GET, POST, PUT, PATCH, DELETE"

// corsExposed are the response headers a page may read besides the
// CORS-safelisted ones.
const corsExposed = "Retry-After, Idempotent-Replayed, Location"

// cors sets the CORS headers of a response and answers a preflight. It
// reports whether the request was answered.
func (s *server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	allowed := s.origins[origin]
	if allowed {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", corsExposed)
	}
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	if !allowed {
		s.refuse(w, r, errForbidden("origin "+origin+" may not call this API from a browser; the operator lists the allowed origins in --portal-allowed-origins"))
		return true
	}
	h.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", corsMethods)
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		var names []string
		for _, n := range strings.Split(req, ",") {
			if n = strings.TrimSpace(n); n != "" && validHeaderName(n) {
				names = append(names, n)
			}
		}
		h.Set("Access-Control-Allow-Headers", strings.Join(names, ", "))
	}
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}

func validHeaderName(n string) bool {
	return textproto.CanonicalMIMEHeaderKey(n) != "" && !strings.ContainsAny(n, " \t\r\n:")
}

// fromBrowser reports whether a browser made the request.
func fromBrowser(r *http.Request) bool {
	return r.Header.Get("Origin") != ""
}

// checkBrowser refuses what a browser may not do with p's token.
func (s *server) checkBrowser(r *http.Request, p *principal) error {
	if !fromBrowser(r) {
		return nil
	}
	if p.kind == store.TokenAdmin {
		return errForbidden("admin tokens are not accepted from a browser: call the API with them from your servers, and give browsers a portal token (POST /api/v1/auth/app-portal-access/{app_id})")
	}
	if o := r.Header.Get("Origin"); o != "" && !s.origins[o] && o != s.ownOrigin {
		return errForbidden("origin " + o + " may not call this API from a browser; the operator lists the allowed origins in --portal-allowed-origins")
	}
	return nil
}
