package hookrelay

import "time"

// DisableCause says why an endpoint was disabled.
type DisableCause string

const (
	// DisabledByHand: a user set disabled, through the API or the portal
	// (which calls the API).
	DisabledByHand DisableCause = "manual"
	// DisabledFailing: hookrelay disabled it because its attempts failed
	// against the receiver, without a success, for the configured time.
	DisabledFailing DisableCause = "failing"
	// DisabledGone: hookrelay disabled it because its receiver answered
	// 410 Gone.
	DisabledGone DisableCause = "gone"
)

// Who disabled an endpoint by hand (DisabledReason.By).
const (
	// DisabledByAdmin: a caller with an admin token.
	DisabledByAdmin = "admin"
	// DisabledByPortal: the application's portal, or a portal token of
	// the application.
	DisabledByPortal = "portal"
)

// DisabledReason is why and when an endpoint was disabled. It is stored
// with the endpoint, in the write that disables it, and kept until a
// write enables it again. An endpoint that was disabled before reasons
// were stored has none: its reason is unknown.
type DisabledReason struct {
	Cause DisableCause
	At    time.Time
	// By is who disabled it by hand (DisabledByAdmin, DisabledByPortal);
	// empty when hookrelay did.
	By string
	// The endpoint's run of failures against its receiver when hookrelay
	// disabled it: when it began, how many failed attempts, and the last
	// attempt's outcome and response status code (0 without an answer).
	// Zero for a disable by hand.
	FailingSince   *time.Time
	Failures       int
	LastOutcome    OutcomeKind
	LastStatusCode int
}

// NoteManualWrite keeps e.DisabledReason true to e.Disabled after a write
// by hand (by DisabledByAdmin or DisabledByPortal, at at) that turned an
// endpoint whose disabled flag was wasDisabled into e: an enabled endpoint
// has no reason, one that the write disabled was disabled by hand, and one
// that was disabled already keeps the reason it had.
func (e *Endpoint) NoteManualWrite(wasDisabled bool, by string, at time.Time) {
	switch {
	case !e.Disabled:
		e.DisabledReason = nil
	case !wasDisabled:
		e.DisabledReason = &DisabledReason{Cause: DisabledByHand, At: at, By: by}
	}
}
