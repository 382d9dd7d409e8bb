package portal

import (
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay"
)

func TestExplain(t *testing.T) {
	const (
		unknown    = hookrelay.OutcomeUnknown
		rejected   = hookrelay.OutcomeRejected
		unanswered = hookrelay.OutcomeUnanswered
		refused    = hookrelay.OutcomeRefused
		internal   = hookrelay.OutcomeInternal
	)
	tests := []struct {
		name    string
		kind    hookrelay.OutcomeKind
		success bool
		code    int
		text    string
		label   string
		whose   string
		says    string // a part of Text
	}{
		{"success", hookrelay.OutcomeSuccess, true, 200, "ok", "", "", ""},
		{"success without kind", unknown, true, 204, "", "", "", ""},
		{"404", rejected, false, 404, "not found", "HTTP 404 Not Found", "receiver", "endpoint URL's path"},
		{"404 without kind", unknown, false, 404, "", "HTTP 404 Not Found", "receiver", "nothing at this URL"},
		{"401", rejected, false, 401, "", "HTTP 401 Unauthorized", "receiver", "authentication header"},
		{"403", rejected, false, 403, "", "HTTP 403 Forbidden", "receiver", "signing secret"},
		{"400", rejected, false, 400, "{}", "HTTP 400 Bad Request", "receiver", "invalid"},
		{"410", rejected, false, 410, "", "HTTP 410 Gone", "receiver", "disabled"},
		{"413", rejected, false, 413, "", "HTTP 413 Request Entity Too Large", "receiver", "too large"},
		{"429", rejected, false, 429, "", "HTTP 429 Too Many Requests", "receiver", "rate"},
		{"other 4xx", rejected, false, 418, "", "HTTP 418 I'm a teapot", "receiver", "refused the request"},
		{"500", rejected, false, 500, "boom", "HTTP 500 Internal Server Error", "receiver", "server error on its side"},
		{"503", rejected, false, 503, "", "HTTP 503 Service Unavailable", "receiver", "unavailable"},
		{"redirect", rejected, false, 301, "", "HTTP 301 Moved Permanently", "receiver", "do not follow redirects"},
		{"unnamed status", rejected, false, 599, "", "HTTP 599", "receiver", "server error"},
		{"body cut off", rejected, false, 200, "reading the response body: request timed out after 15s", "HTTP 200 OK, response cut off", "receiver", "did not arrive"},
		{"timeout", unanswered, false, 0, "request timed out after 15s", "Timed out", "receiver", "did not answer within 15s"},
		{"timeout without kind", unknown, false, 0, "request timed out after 1s", "Timed out", "receiver", "within 1s"},
		{"connection refused", unanswered, false, 0, "dial tcp 127.0.0.1:9: connect: connection refused", "Connection refused", "receiver", "running"},
		{"dns", unanswered, false, 0, "dial tcp: lookup hooks.example.invalid: no such host", "Host not found", "receiver", "DNS"},
		{"dns via proxy check", unanswered, false, 0, "lookup hooks.example: no addresses", "Host not found", "receiver", "DNS"},
		{"tls unknown authority", unanswered, false, 0, "tls: failed to verify certificate: x509: certificate signed by unknown authority", "TLS certificate not trusted", "receiver", "trusted authority"},
		{"tls expired", unanswered, false, 0, "tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time", "TLS certificate expired", "receiver", "expired"},
		{"tls wrong name", unanswered, false, 0, "tls: failed to verify certificate: x509: certificate is valid for example.com, not localhost", "TLS certificate for another name", "receiver", "does not cover"},
		{"tls other", unanswered, false, 0, "remote error: tls: handshake failure", "TLS failed", "receiver", "secure (TLS)"},
		{"plain http on https", unanswered, false, 0, "http: server gave HTTP response to HTTPS client", "Not an https server", "receiver", "plain http"},
		{"reset", unanswered, false, 0, "read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer", "Connection reset", "receiver", "broke the connection"},
		{"eof", unanswered, false, 0, "connection closed by the receiver without a response (EOF)", "Closed without an answer", "receiver", "without sending"},
		{"unreachable", unanswered, false, 0, "dial tcp 10.1.1.1:443: connect: network is unreachable", "Network unreachable", "receiver", "could not be reached"},
		{"anything else", unanswered, false, 0, "something odd", "No response", "receiver", "did not answer"},
		{"ssrf", refused, false, 0, "destination 10.0.0.5 refused: private address", "Not sent: address not allowed", "policy", "10.0.0.5, a private address"},
		{"ssrf without kind", unknown, false, 0, "destination 169.254.169.254 refused: link-local address (cloud metadata service)", "Not sent: address not allowed", "policy", "SSRF"},
		{"https required", refused, false, 0, "https required", "Not sent: https required", "policy", "only to https"},
		{"https required without kind", unknown, false, 0, "https required", "Not sent: https required", "policy", "https"},
		{"disabled", unknown, false, 0, "endpoint disabled", "Not sent: endpoint disabled", "policy", "Enable it"},
		{"bad url", refused, false, 0, "invalid endpoint URL: no host", "Not sent: URL cannot be used", "policy", "(no host)"},
		{"bad header", unknown, false, 0, `invalid header field "X-A"`, "Not sent: header cannot be sent", "policy", `"X-A"`},
		{"other refusal", refused, false, 0, "who knows", "Not sent: refused by policy", "policy", "policy refused"},
		{"sealed secrets", unknown, false, 0, "not sent: the server cannot decrypt this endpoint's stored secrets; the delivery will be tried again", "Not sent (server problem)", "server", "not your receiver's fault"},
		{"signing", unknown, false, 0, "cannot sign: bad key", "Not sent (server problem)", "server", "prepare the request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := explain(tt.kind, tt.success, tt.code, tt.text)
			if got.Label != tt.label || got.Whose != tt.whose {
				t.Errorf("explain = %q (%s), want %q (%s)", got.Label, got.Whose, tt.label, tt.whose)
			}
			if !strings.Contains(got.Text, tt.says) {
				t.Errorf("text %q does not say %q", got.Text, tt.says)
			}
			if tt.label != "" && !strings.HasSuffix(got.Text, ".") {
				t.Errorf("text %q is not a sentence", got.Text)
			}
		})
	}
}
