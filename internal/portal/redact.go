package portal

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Request headers as the activity detail shows them. hookrelay does not
// store the headers of each request; the detail rebuilds them from what
// every request carries (the signing headers, content type) and the
// endpoint's custom headers as configured now. Secrets never reach the
// page: a header the API lists as sensitive, or whose name says it holds
// a credential, or the signature, is shown by name with its value masked.

// redacted stands for a value that is not shown.
const redacted = "••••••••"

// shownHeader is one request header on the page.
type shownHeader struct {
	Name     string
	Value    string
	Redacted bool
}

// secretNames are headers that always carry a secret; so does any header
// whose name holds one of secretParts.
var (
	secretNames = map[string]bool{
		"authorization": true, "proxy-authorization": true, "cookie": true,
		"webhook-signature": true, "svix-signature": true,
	}
	secretParts = []string{"token", "secret", "password", "passwd", "auth", "key", "signature", "session", "credential"}
)

// secretHeader reports whether a header named name holds a secret.
func secretHeader(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	if secretNames[n] {
		return true
	}
	for _, p := range secretParts {
		if strings.Contains(n, p) {
			return true
		}
	}
	return false
}

// maskValue hides a secret value, keeping what says its kind and nothing
// of the secret: the scheme of an Authorization value ("Bearer ••••"), the
// version prefixes of a signature ("v1,••••").
func maskValue(name, value string) string {
	n := strings.ToLower(name)
	v := strings.TrimSpace(value)
	switch {
	case n == "authorization" || n == "proxy-authorization":
		if scheme, _, ok := strings.Cut(v, " "); ok && scheme != "" && len(scheme) <= 16 {
			return scheme + " " + redacted
		}
	case n == "webhook-signature" || n == "svix-signature":
		var parts []string
		for _, sig := range strings.Fields(v) {
			if ver, _, ok := strings.Cut(sig, ","); ok && len(ver) <= 4 {
				parts = append(parts, ver+","+redacted)
			}
		}
		if len(parts) > 0 {
			return strings.Join(parts, " ")
		}
	}
	return redacted
}

// redactHeaders returns headers sorted by name (case-insensitively) with
// every secret masked: those named in sensitive (the API's list of
// redacted custom headers, whose values it never returns) and those
// secretHeader recognises.
func redactHeaders(headers map[string]string, sensitive []string) []shownHeader {
	hidden := map[string]bool{}
	given := map[string]bool{}
	for n := range headers {
		given[strings.ToLower(n)] = true
	}
	out := make([]shownHeader, 0, len(headers)+len(sensitive))
	for _, n := range sensitive {
		hidden[strings.ToLower(n)] = true
		if !given[strings.ToLower(n)] {
			out = append(out, shownHeader{Name: n, Value: redacted, Redacted: true})
		}
	}
	for n, v := range headers {
		if hidden[strings.ToLower(n)] || secretHeader(n) {
			out = append(out, shownHeader{Name: n, Value: maskValue(n, v), Redacted: true})
			continue
		}
		out = append(out, shownHeader{Name: n, Value: v})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := strings.ToLower(out[i].Name), strings.ToLower(out[j].Name)
		if a != b {
			return a < b
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// sentHeaders rebuilds the headers of an attempt of message msgID made at
// at, to an endpoint whose custom headers are custom (values the API
// shows) and sensitive (names only). The signature is never shown.
func sentHeaders(msgID string, at time.Time, custom map[string]string, sensitive []string) []shownHeader {
	all := map[string]string{
		"Content-Type":      "application/json",
		"Webhook-Id":        msgID,
		"Webhook-Timestamp": strconv.FormatInt(at.Unix(), 10),
		"Webhook-Signature": "v1," + redacted,
	}
	for n, v := range custom {
		all[n] = v
	}
	return redactHeaders(all, sensitive)
}
