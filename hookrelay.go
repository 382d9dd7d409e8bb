// Package hookrelay holds the domain of the webhook delivery server: the
// objects the API manages (applications, event types, endpoints, messages,
// deliveries, attempts) and the errors shared by every layer.
//
// Field names follow the Svix API so that the HTTP layer maps them one to one;
// the JSON encoding of the Svix objects lives in package api, not here.
package hookrelay

import (
	"encoding/json"
	"errors"
	"time"
)

// Version is the server version, sent in the User-Agent of every webhook.
var Version = "0.1.0"

// Errors returned by every store implementation. Callers test with errors.Is.
var (
	// ErrNotFound means the addressed object does not exist in the caller's scope.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a unique key (uid, eventId, event type name) is taken.
	ErrConflict = errors.New("conflict")
	// ErrStale means the object was written by someone else since the
	// caller read it: the write was not made. Read again and redo the
	// change.
	ErrStale = errors.New("changed since read")
)

// MessageStatus is the state of one message towards one endpoint; the values
// are Svix's MessageStatus integers.
type MessageStatus int

const (
	StatusSuccess MessageStatus = 0
	StatusPending MessageStatus = 1
	StatusFail    MessageStatus = 2
	StatusSending MessageStatus = 3
	// StatusCanceled: the delivery was canceled before it was sent (an
	// endpoint's cancel-msgs); it is never attempted again.
	StatusCanceled MessageStatus = 4
)

// TriggerType says why an attempt was made; the values are Svix's.
type TriggerType int

const (
	TriggerScheduled TriggerType = 0
	TriggerManual    TriggerType = 1
)

// Environment isolates data: every application and event type belongs to one,
// and an API token reaches only its own environment.
type Environment struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// DefaultEnvironment is the environment created by the first migration; the
// admin token configured by HOOKRELAY_ADMIN_TOKEN belongs to it.
const DefaultEnvironment = "env_default"

// Application is one customer of the operator's product.
type Application struct {
	ID        string
	EnvID     string
	UID       *string
	Name      string
	RateLimit *int
	Metadata  map[string]string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// EventType is one entry of an environment's event catalog.
type EventType struct {
	EnvID       string
	Name        string
	Description string
	Archived    bool
	Deprecated  bool
	Schemas     json.RawMessage // nil when unset
	FeatureFlag *string
	GroupName   *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Endpoint is a URL of a customer that receives the application's messages.
//
// URL is kept as given. Its credentials, if any ("https://user:password@host/"),
// are a secret sent as Basic authentication: what is shown or recorded is
// URLWithoutUserinfo(URL).
type Endpoint struct {
	ID          string
	AppID       string
	UID         *string
	URL         string
	Description string
	Version     int
	RateLimit   *int
	FilterTypes []string // nil means every event type
	Channels    []string // nil means every message
	Disabled    bool
	// DisabledReason is why and when the endpoint was disabled: nil while
	// it is enabled, and when it was disabled before reasons were stored.
	DisabledReason *DisabledReason
	Metadata       map[string]string
	// Secret is the current signing secret, "whsec_" + base64 of the key bytes.
	Secret string
	// OldSecrets keep signing until they expire (rotation grace period).
	OldSecrets []OldSecret
	// Headers are sent with every request; names listed in Sensitive are
	// redacted when read back through the API.
	Headers   map[string]string
	Sensitive []string
	Options   EndpointOptions
	CreatedAt time.Time
	UpdatedAt time.Time
	// Revision is the stored row's write counter: every write of the
	// endpoint gives it a new value, and an update is made only over the
	// revision it was read at (see store.Store.UpdateEndpoint). It is the
	// store's bookkeeping, never part of an API object.
	Revision int64
}

// OldSecret is a rotated-out secret that still signs until ExpiresAt.
type OldSecret struct {
	Secret    string    `json:"secret"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// SigningSecrets returns the secrets that sign a request sent at now: the
// current one first, then every old one not yet expired.
func (e *Endpoint) SigningSecrets(now time.Time) []string {
	out := []string{e.Secret}
	for _, s := range e.OldSecrets {
		if now.Before(s.ExpiresAt) {
			out = append(out, s.Secret)
		}
	}
	return out
}

// EndpointOptions are hookrelay's per-endpoint delivery settings. The zero
// value means "server defaults" for every field.
type EndpointOptions struct {
	Method         string          `json:"method,omitempty"`         // "POST" (default) or "PUT"
	TimeoutSeconds int             `json:"timeoutSeconds,omitempty"` // 0: server default
	RetrySchedule  []time.Duration `json:"-"`                        // nil: server default
	MaxInFlight    int             `json:"maxInFlight,omitempty"`    // 0: server default
}

// Message is one published event. Payload is kept byte for byte as published
// and is nil once expunged.
type Message struct {
	ID        string
	AppID     string
	EventID   *string
	EventType string
	Payload   []byte
	Channels  []string
	Tags      []string
	CreatedAt time.Time
	// PayloadExpiresAt, when set, is when the retention cleaner may drop
	// the payload (and the response bodies of its attempts), once no
	// delivery of the message is pending. Nil keeps the payload until the
	// message row itself is removed. Stores write it at publish and do not
	// read it back.
	PayloadExpiresAt *time.Time
	// DeliverAt, when set, is when the message's deliveries are first due
	// (Svix's deliverAt); nil sends them at once.
	DeliverAt *time.Time
}

// Delivery is the state of one message towards one endpoint. The set of
// delivery rows is the delivery queue: a row is due when its status is
// pending, NextAttempt has passed and no live lease holds it.
type Delivery struct {
	ID          string
	MsgID       string
	AppID       string
	EndpointID  string
	Status      MessageStatus
	Attempts    int        // scheduled attempts made so far
	NextAttempt *time.Time // nil once terminal
	// Manual is set when the next attempt was asked for by resend.
	Manual    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Attempt is one try at a delivery: an HTTP request, successful or not, or
// the reason none was sent (Outcome refused or internal).
type Attempt struct {
	ID                 string
	DeliveryID         string
	MsgID              string
	AppID              string
	EndpointID         string
	URL                string        // stored as CleanText(URL)
	Status             MessageStatus // StatusSuccess or StatusFail
	ResponseStatusCode int           // 0 when no response was received
	// Outcome says what became of the attempt (see OutcomeKind). It is
	// hookrelay's own: the Svix attempt object does not carry it.
	Outcome OutcomeKind
	// Response is the body as received, cut to the body limit: any bytes,
	// not necessarily UTF-8 (a Go string used as a byte string); or the
	// failure reason, which is CleanText.
	Response           string
	ResponseDurationMs int64
	TriggerType        TriggerType
	CreatedAt          time.Time
}

// EndpointStats counts one endpoint's deliveries by status.
type EndpointStats struct {
	Success, Pending, Fail, Sending int64
}
