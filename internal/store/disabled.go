package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay"
)

// storedDisabled is the JSON form of a hookrelay.DisabledReason, but for
// its time, that every store keeps in its endpoints' disabled_reason
// column (the time goes in disabled_at).
type storedDisabled struct {
	Cause          hookrelay.DisableCause `json:"cause"`
	By             string                 `json:"by,omitempty"`
	FailingSince   *time.Time             `json:"failingSince,omitempty"`
	Failures       int                    `json:"failures,omitempty"`
	LastOutcome    int                    `json:"lastOutcome,omitempty"`
	LastStatusCode int                    `json:"lastStatusCode,omitempty"`
}

// EncodeDisabled returns what a store keeps of ep's DisabledReason: its
// time and the rest as JSON, both nil when ep is enabled or has no reason.
// An enabled endpoint therefore never keeps one.
func EncodeDisabled(ep *hookrelay.Endpoint) (*time.Time, []byte, error) {
	r := ep.DisabledReason
	if !ep.Disabled || r == nil {
		return nil, nil, nil
	}
	b, err := EncodeDisabledReason(*r)
	if err != nil {
		return nil, nil, err
	}
	at := r.At
	return &at, b, nil
}

// EncodeDisabledReason returns the stored JSON form of r, its time left
// out.
func EncodeDisabledReason(r hookrelay.DisabledReason) ([]byte, error) {
	sd := storedDisabled{Cause: r.Cause, By: r.By, Failures: r.Failures,
		LastOutcome: int(r.LastOutcome), LastStatusCode: r.LastStatusCode}
	if r.FailingSince != nil {
		t := r.FailingSince.UTC()
		sd.FailingSince = &t
	}
	b, err := json.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("encode disabled reason: %w", err)
	}
	return b, nil
}

// DecodeDisabled reads what EncodeDisabled wrote: nil without a reason
// (b empty).
func DecodeDisabled(at *time.Time, b []byte) (*hookrelay.DisabledReason, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var sd storedDisabled
	if err := json.Unmarshal(b, &sd); err != nil {
		return nil, fmt.Errorf("decode disabled reason: %w", err)
	}
	r := &hookrelay.DisabledReason{Cause: sd.Cause, By: sd.By, FailingSince: sd.FailingSince,
		Failures: sd.Failures, LastOutcome: hookrelay.OutcomeKind(sd.LastOutcome), LastStatusCode: sd.LastStatusCode}
	if at != nil {
		r.At = *at
	}
	return r, nil
}
