package portal

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/hookrelay/hookrelay"
)

// failure is an attempt's failure said in plain words, for the activity
// detail: Label is short ("Timed out", "HTTP 404 Not Found"), Text says
// what happened and what to look at. Whose says on whose side it failed:
// "receiver" (it answered with a failure or not at all), "policy" (this
// server would not send to the endpoint as configured) or "server"
// (hookrelay's own failure).
type failure struct {
	Label string
	Text  string
	Whose string
}

// kindOf is the outcome kind of an attempt recorded with kind, or, when
// kind is unknown (the Svix attempt object does not carry it), the kind
// read from its status, code and stored reason: the sender's refusal and
// internal reasons are recognisable texts.
func kindOf(kind hookrelay.OutcomeKind, success bool, code int, text string) hookrelay.OutcomeKind {
	if kind != hookrelay.OutcomeUnknown {
		return kind
	}
	switch {
	case success:
		return hookrelay.OutcomeSuccess
	case code != 0:
		return hookrelay.OutcomeRejected
	case strings.HasPrefix(text, "not sent: the server cannot decrypt"), strings.HasPrefix(text, "cannot sign"):
		return hookrelay.OutcomeInternal
	case refusedText.MatchString(text), text == "https required", text == "endpoint disabled",
		strings.HasPrefix(text, "invalid endpoint URL"), strings.HasPrefix(text, "invalid header field"):
		return hookrelay.OutcomeRefused
	}
	return hookrelay.OutcomeUnanswered
}

// refusedText is the SSRF guard's refusal: "destination ADDR refused: WHY".
var refusedText = regexp.MustCompile(`^destination (\S+) refused: (.+)$`)

var timeoutAfter = regexp.MustCompile(`timed out after (\S+)`)

// explain says in plain words why an attempt failed; the zero failure for
// a success. code is the response's status code (0: no response) and text
// the stored response body or, without a response, the stored reason.
func explain(kind hookrelay.OutcomeKind, success bool, code int, text string) failure {
	text = strings.TrimSpace(text)
	switch kindOf(kind, success, code, text) {
	case hookrelay.OutcomeSuccess:
		return failure{}
	case hookrelay.OutcomeRejected:
		return explainRejected(code, text)
	case hookrelay.OutcomeRefused:
		return explainRefused(text)
	case hookrelay.OutcomeInternal:
		if strings.HasPrefix(text, "not sent: the server cannot decrypt") {
			return failure{"Not sent (server problem)", "Not sent: this server could not open the endpoint's stored secrets. This is not your receiver's fault; the delivery is tried again.", "server"}
		}
		return failure{"Not sent (server problem)", "Not sent: this server failed to prepare the request. This is not your receiver's fault.", "server"}
	}
	return explainUnanswered(text)
}

func httpStatus(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("HTTP %d %s", code, t)
	}
	return fmt.Sprintf("HTTP %d", code)
}

func explainRejected(code int, text string) failure {
	label := httpStatus(code)
	if strings.HasPrefix(text, "reading the response body:") {
		return failure{label + ", response cut off",
			fmt.Sprintf("Your receiver answered %s, but the rest of its response did not arrive in time or the connection broke. Answer quickly with a 2xx status and a short body, and do slow work after answering.", label),
			"receiver"}
	}
	var t string
	switch {
	case code >= 300 && code < 400:
		t = "Your receiver answered with a redirect. Webhooks do not follow redirects: set the endpoint URL to the final address."
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		t = "Your receiver refused the request as invalid. Check that it accepts this event type and payload."
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		t = "Your receiver refused the request as not authorised. Check the endpoint's authentication header or token, and the signing secret your receiver verifies with."
	case code == http.StatusNotFound:
		t = "Your receiver has nothing at this URL. Check the endpoint URL's path."
	case code == http.StatusMethodNotAllowed:
		t = "Your receiver does not accept this HTTP method at this URL. Check the endpoint's method (POST or PUT)."
	case code == http.StatusRequestTimeout:
		t = "Your receiver gave up waiting for the request."
	case code == http.StatusGone:
		t = "Your receiver says this endpoint is gone for good. An endpoint that answers 410 is disabled."
	case code == http.StatusRequestEntityTooLarge:
		t = "Your receiver refused the payload as too large. Raise its request size limit."
	case code == http.StatusTooManyRequests:
		t = "Your receiver is limiting the request rate. The delivery is retried later; a rate limit on the endpoint avoids this."
	case code >= 400 && code < 500:
		t = "Your receiver refused the request."
	case code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
		t = "Your receiver, or a proxy or load balancer in front of it, is unavailable or overloaded. The delivery is retried later."
	case code >= 500 && code < 600:
		t = "Your receiver failed while handling the request (a server error on its side). Its logs will say why."
	default:
		t = "Your receiver answered with a status that is not a success (only 2xx is)."
	}
	return failure{label, t, "receiver"}
}

func explainUnanswered(text string) failure {
	lower := strings.ToLower(text)
	has := func(parts ...string) bool {
		for _, p := range parts {
			if strings.Contains(lower, p) {
				return true
			}
		}
		return false
	}
	switch {
	case has("timed out", "timeout", "deadline exceeded"):
		after := ""
		if m := timeoutAfter.FindStringSubmatch(text); m != nil {
			after = " within " + m[1]
		}
		return failure{"Timed out", "Your receiver did not answer" + after + ". Answer quickly with a 2xx status and do slow work after answering, or raise the endpoint's timeout.", "receiver"}
	case has("connection refused"):
		return failure{"Connection refused", "Nothing accepted the connection at the endpoint's address and port. Check that your receiver is running and that the URL's port is right.", "receiver"}
	case has("no such host", "server misbehaving", "no addresses", "lookup "):
		return failure{"Host not found", "The endpoint's host name could not be resolved (DNS). Check the host in the endpoint URL and its DNS records.", "receiver"}
	case has("http response to https client"):
		return failure{"Not an https server", "The endpoint URL says https, but the server at that address answered in plain http. Use the right scheme or port.", "receiver"}
	case has("certificate has expired", "certificate is not yet valid"):
		return failure{"TLS certificate expired", "Your receiver's TLS certificate has expired (or is not valid yet). Renew it.", "receiver"}
	case has("unknown authority", "not standards compliant"):
		return failure{"TLS certificate not trusted", "Your receiver's TLS certificate is not signed by a trusted authority (self-signed, or the intermediate certificates are missing).", "receiver"}
	case has("certificate is valid for", "certificate is not valid for", "doesn't contain any ip sans", "not valid for any names"):
		return failure{"TLS certificate for another name", "Your receiver's TLS certificate does not cover the host in the endpoint URL.", "receiver"}
	case has("x509", "tls", "handshake", "certificate"):
		return failure{"TLS failed", "A secure (TLS) connection to your receiver could not be set up.", "receiver"}
	case has("connection reset", "broken pipe"):
		return failure{"Connection reset", "Your receiver's side broke the connection before answering.", "receiver"}
	case has("eof", "closed by the receiver"):
		return failure{"Closed without an answer", "Your receiver closed the connection without sending a response.", "receiver"}
	case has("network is unreachable", "no route to host", "host is unreachable"):
		return failure{"Network unreachable", "The network of the endpoint's address could not be reached from this server.", "receiver"}
	case has("malformed", "bad content-length", "unexpected"):
		return failure{"Malformed response", "Your receiver's answer was not a valid HTTP response.", "receiver"}
	}
	return failure{"No response", "Your receiver did not answer.", "receiver"}
}

func explainRefused(text string) failure {
	if m := refusedText.FindStringSubmatch(text); m != nil {
		return failure{"Not sent: address not allowed",
			fmt.Sprintf("Not sent: the endpoint's host resolves to %s, a %s. This server does not deliver to such addresses, to protect internal networks (SSRF protection). Use a public address.", m[1], m[2]),
			"policy"}
	}
	switch {
	case text == "https required":
		return failure{"Not sent: https required", "Not sent: this server delivers only to https URLs. Change the endpoint URL to https.", "policy"}
	case text == "endpoint disabled":
		return failure{"Not sent: endpoint disabled", "Not sent: the endpoint was disabled. Enable it to receive messages again.", "policy"}
	case strings.HasPrefix(text, "invalid endpoint URL"):
		why := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(text, "invalid endpoint URL"), ":"))
		return failure{"Not sent: URL cannot be used", "Not sent: the endpoint URL cannot be used (" + why + "). Correct the endpoint URL.", "policy"}
	case strings.HasPrefix(text, "invalid header field"):
		return failure{"Not sent: header cannot be sent", "Not sent: one of the endpoint's custom headers cannot be sent (" + strings.TrimPrefix(text, "invalid header field ") + "). Correct or remove it.", "policy"}
	}
	return failure{"Not sent: refused by policy", "Not sent: this server's delivery policy refused the endpoint.", "policy"}
}
