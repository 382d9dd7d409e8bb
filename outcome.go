package hookrelay

import "strconv"

// OutcomeKind says what became of one attempt, and so whose doing its
// failure was: the receiver's (it answered with a failure, or not at all),
// the operator's policy (hookrelay would not send to that URL), or
// hookrelay's own (it could not prepare the request). Delivery decisions
// about a receiver (how many requests it may have in flight, and later
// auto-disable and endpoint health) read the kind, never the status code
// alone: a code of 0 only says that no response came.
//
// The values are stored with each attempt and never renumbered.
type OutcomeKind int

const (
	// OutcomeUnknown is the zero value: the kind was not given. A store
	// records such an attempt with DeriveOutcome of its status and code.
	OutcomeUnknown OutcomeKind = 0
	// OutcomeSuccess: the receiver answered 2xx and the whole response
	// arrived.
	OutcomeSuccess OutcomeKind = 1
	// OutcomeRejected: the receiver answered, but not with success: a
	// status other than 2xx (3xx included, redirects are not followed), or
	// a response that broke off or did not arrive whole in time after its
	// status line.
	OutcomeRejected OutcomeKind = 2
	// OutcomeUnanswered: no response at all: the request timed out, the
	// connection was refused or reset, the name did not resolve, or the
	// TLS handshake failed.
	OutcomeUnanswered OutcomeKind = 3
	// OutcomeRefused: hookrelay would not send to the endpoint as
	// configured: the SSRF guard refused its address, https is required,
	// its URL or a header of it cannot be sent, or it is disabled. Nothing
	// reached the receiver.
	OutcomeRefused OutcomeKind = 4
	// OutcomeInternal: hookrelay failed on its own side: it could not
	// open the endpoint's sealed secrets or sign the request. Nothing was
	// sent, and it is no fault of the receiver.
	OutcomeInternal OutcomeKind = 5
)

var outcomeNames = [...]string{
	OutcomeUnknown:    "unknown",
	OutcomeSuccess:    "success",
	OutcomeRejected:   "rejected",
	OutcomeUnanswered: "unanswered",
	OutcomeRefused:    "refused",
	OutcomeInternal:   "internal",
}

// String returns the kind's name: "success", "rejected", "unanswered",
// "refused", "internal" or "unknown".
func (k OutcomeKind) String() string {
	if k >= 0 && int(k) < len(outcomeNames) {
		return outcomeNames[k]
	}
	return "OutcomeKind(" + strconv.Itoa(int(k)) + ")"
}

// Answered reports whether the receiver sent a response (success or
// rejected).
func (k OutcomeKind) Answered() bool {
	return k == OutcomeSuccess || k == OutcomeRejected
}

// AgainstReceiver reports whether the attempt's failure counts against the
// receiver: it answered with a failure (rejected) or did not answer
// (unanswered). A refusal by policy or an internal failure never does, nor
// does a success.
func (k OutcomeKind) AgainstReceiver() bool {
	return k == OutcomeRejected || k == OutcomeUnanswered
}

// DeriveOutcome is the kind of an attempt recorded without one, from what
// was recorded of it: success for a successful attempt, rejected when a
// status code was received, unanswered when none was. A refusal or an
// internal failure cannot be told from the code (both have none) and is
// read as unanswered.
func DeriveOutcome(status MessageStatus, statusCode int) OutcomeKind {
	switch {
	case status == StatusSuccess:
		return OutcomeSuccess
	case statusCode != 0:
		return OutcomeRejected
	default:
		return OutcomeUnanswered
	}
}
