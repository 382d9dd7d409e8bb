package store

import (
	"slices"
	"time"

	"github.com/hookrelay/hookrelay"
)

// BulkReplayParams selects, among the deliveries of one endpoint, those a
// bulk replay sends again: of messages created in [Since, Until) (no upper
// bound when Until is nil) that match every filter given.
type BulkReplayParams struct {
	AppID      string     `json:"appId"`
	EndpointID string     `json:"endpointId"`
	Since      time.Time  `json:"since"`
	Until      *time.Time `json:"until,omitempty"`
	// EventTypes, when not empty, keeps messages of these event types.
	EventTypes []string `json:"eventTypes,omitempty"`
	// Channel, when set, keeps messages sent on this channel.
	Channel string `json:"channel,omitempty"`
	// Tag, when set, keeps messages carrying this tag.
	Tag string `json:"tag,omitempty"`
	// Status, when set, keeps deliveries in this state.
	Status *hookrelay.MessageStatus `json:"status,omitempty"`
	// StatusCodeClass, when set, keeps deliveries whose last attempt's
	// response code is of this class (100, 200, ... 500; 0 for no
	// response or no attempt).
	StatusCodeClass *int `json:"statusCodeClass,omitempty"`
}

// ReplayCandidate is what a driver reads of one delivery for
// BulkReplayParams.Selects.
type ReplayCandidate struct {
	Status    hookrelay.MessageStatus
	CreatedAt time.Time // the message's
	EventType string
	Channels  []string
	Tags      []string
	Kept      bool // the message's payload is kept
	LastCode  int  // the last attempt's response code; 0 when none
}

// Selects reports whether a bulk replay sends c again: its message is kept
// and matches p, and it is not waiting to be sent already.
func (p BulkReplayParams) Selects(c ReplayCandidate) bool {
	if !c.Kept || c.Status == hookrelay.StatusPending || c.Status == hookrelay.StatusSending {
		return false
	}
	if c.CreatedAt.Before(p.Since) || (p.Until != nil && !c.CreatedAt.Before(*p.Until)) {
		return false
	}
	if len(p.EventTypes) > 0 && !slices.Contains(p.EventTypes, c.EventType) {
		return false
	}
	if p.Channel != "" && !slices.Contains(c.Channels, p.Channel) {
		return false
	}
	if p.Tag != "" && !slices.Contains(c.Tags, p.Tag) {
		return false
	}
	if p.Status != nil && c.Status != *p.Status {
		return false
	}
	if p.StatusCodeClass != nil && c.LastCode/100*100 != *p.StatusCodeClass {
		return false
	}
	return true
}

// DeliveryCount is how many deliveries of one event type are in one state.
type DeliveryCount struct {
	EventType string
	Status    hookrelay.MessageStatus
	Count     int64
}
