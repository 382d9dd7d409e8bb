// Package store declares the persistence contract of hookrelay. Every
// database (store/sqlite, store/postgres) implements Store and must pass the
// shared suite in store/storetest.
//
// The delivery rows are the queue: publishing inserts the message and one
// delivery per matching endpoint in one transaction, dispatchers claim due
// deliveries under a lease, and completing an attempt records the attempt and
// moves its delivery in one transaction. Nothing accepted is lost as long as
// the database keeps what it committed.
package store

import (
	"context"
	"time"

	"github.com/hookrelay/hookrelay"
)

// Order is the direction of a listing.
type Order int

const (
	Ascending Order = iota
	Descending
)

// Page selects one page of a listing. Iterator is exclusive: the listing
// continues after the item whose key (ID, or name for event types) it holds,
// in the listing's order. Limit is the most rows returned; callers that need
// to know whether more rows follow ask for one extra.
type Page struct {
	Limit    int
	Iterator string
	Order    Order
}

// TokenKind says what a token may reach.
type TokenKind string

const (
	// TokenAdmin reaches everything in its environment.
	TokenAdmin TokenKind = "admin"
	// TokenPortal reaches one application, for the portal.
	TokenPortal TokenKind = "portal"
)

// Token is an API token. Only the SHA-256 of the token text is stored.
type Token struct {
	ID        string
	EnvID     string
	Kind      TokenKind
	AppID     string // set for TokenPortal
	Hash      []byte
	ExpiresAt *time.Time
	CreatedAt time.Time
	// ReadOnly limits a portal token to reading: the API refuses its writes.
	ReadOnly bool
}

// ListMessagesParams filters a message listing (newest first).
type ListMessagesParams struct {
	AppID      string
	Page       Page
	Channel    string
	Tag        string
	EventTypes []string
	Before     *time.Time
	After      *time.Time
}

// ListAttemptsParams filters an attempt listing (newest first). AppID is
// always set; EndpointID and/or MsgID narrow it.
type ListAttemptsParams struct {
	AppID           string
	EndpointID      string
	MsgID           string
	Page            Page
	Status          *hookrelay.MessageStatus
	StatusCodeClass *int // 0 (no response), 100, 200, 300, 400 or 500
	Channel         string
	Tag             string
	EventTypes      []string
	Before          *time.Time
	After           *time.Time
}

// ListDeliveriesParams filters the deliveries of one endpoint (attempted
// messages) or of one message (attempted destinations), newest first.
type ListDeliveriesParams struct {
	AppID      string
	EndpointID string
	MsgID      string
	Page       Page // the iterator is the message ID or the endpoint ID
	Status     *hookrelay.MessageStatus
	Channel    string
	Tag        string
	EventTypes []string
	Before     *time.Time
	After      *time.Time
}

// EndpointMessage is a message as seen from one endpoint.
type EndpointMessage struct {
	Message  hookrelay.Message
	Delivery hookrelay.Delivery
}

// MessageDestination is an endpoint as seen from one message.
type MessageDestination struct {
	Endpoint hookrelay.Endpoint
	Delivery hookrelay.Delivery
}

// CreateMessageParams is one publish.
type CreateMessageParams struct {
	Message        *hookrelay.Message
	OnlyEndpointID string
	// Lease, when set, hands new deliveries straight to a dispatcher
	// instead of leaving them for a claim.
	Lease *LeaseParams
}

// LeaseParams ask a publish to insert some of its deliveries already
// leased: up to Max deliveries whose endpoint Want accepts (nil accepts
// every endpoint) are leased to Owner until Until and returned as Tasks,
// exactly as ClaimDeliveries would have returned them. A store may lease
// fewer, or none; the others are queued as usual. Want may be called from
// another goroutine than the caller's.
type LeaseParams struct {
	Owner string
	Until time.Time
	Max   int
	Want  func(endpointID string) bool
}

// CreateMessageResult tells what publishing did.
type CreateMessageResult struct {
	// Deliveries is the number of endpoints the message was queued for.
	Deliveries int
	// Tasks are the deliveries leased by CreateMessageParams.Lease.
	Tasks []Task
}

// ClaimParams asks for due deliveries. A delivery is due when it is pending,
// its next attempt time is at or before Now and it carries no lease that is
// still valid at Now.
type ClaimParams struct {
	Owner      string    // the claiming node
	Now        time.Time // the claim's clock
	LeaseUntil time.Time // the lease given to each claimed delivery
	Limit      int
	// ExcludeEndpoints are endpoints the caller has no room for now; their
	// deliveries stay in the queue.
	ExcludeEndpoints []string
}

// Task is a claimed delivery with everything needed to send it.
type Task struct {
	Delivery hookrelay.Delivery
	Message  hookrelay.Message
	Endpoint hookrelay.Endpoint
	// AppRateLimit is the rateLimit of the endpoint's application, which
	// holds for an endpoint without a rateLimit of its own. ClaimDeliveries
	// fills it; the tasks CreateMessage leases leave it to the publisher,
	// which has the application at hand.
	AppRateLimit *int
	// OpenErr, when set, says that the endpoint's sealed secrets could not
	// be opened (store/sealed sets it; the error names the endpoint and
	// the key). The task is still leased and must be completed: Endpoint
	// then holds no secret (Secret, OldSecrets and Headers are empty, URL
	// has no userinfo) and nothing may be sent with it. The delivery layer
	// records an internal failure and postpones the delivery.
	OpenErr error
}

// AttemptResult is the outcome of one sent task, recorded by CompleteAttempts.
type AttemptResult struct {
	Owner   string // the node whose lease covered the attempt
	Attempt hookrelay.Attempt
	// Status is the delivery's new status: success, pending (retry at
	// NextAttempt) or fail.
	Status      hookrelay.MessageStatus
	NextAttempt *time.Time
	// Attempts is the delivery's new count of scheduled attempts.
	Attempts int
}

// IdempotencyRecord is the stored outcome of a request made with an
// idempotency-key header.
type IdempotencyRecord struct {
	Scope      string // who made the request and where: token environment, method and path
	Key        string
	Done       bool // false while the first request is still running
	StatusCode int
	Body       []byte
	ExpiresAt  time.Time
}

// BackgroundTask records work such as endpoint recovery.
type BackgroundTask struct {
	ID        string
	EnvID     string
	Task      string // Svix BackgroundTaskType, e.g. "endpoint.recover"
	Status    string // "running", "finished" or "failed"
	Data      map[string]any
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Store is everything hookrelay keeps. Methods return hookrelay.ErrNotFound
// when the addressed object does not exist within the given scope (an
// application of another environment does not exist for the caller) and
// hookrelay.ErrConflict when a unique key is taken. Methods that look up by
// "idOrUID" accept either the object's ID or its uid.
type Store interface {
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database; the store is unusable afterwards.
	Close() error

	// Environments and tokens.
	CreateEnvironment(ctx context.Context, env *hookrelay.Environment) error
	GetEnvironmentByName(ctx context.Context, name string) (*hookrelay.Environment, error)
	CreateToken(ctx context.Context, t *Token) error
	// GetTokenByHash returns the token whether or not it has expired.
	GetTokenByHash(ctx context.Context, hash []byte) (*Token, error)
	CountTokens(ctx context.Context, envID string, kind TokenKind) (int, error)
	// ListTokens returns every token of kind in the environment, expired
	// ones included, oldest first.
	ListTokens(ctx context.Context, envID string, kind TokenKind) ([]Token, error)
	DeleteToken(ctx context.Context, id string) error
	// DeleteAppTokens removes every portal token of an application.
	DeleteAppTokens(ctx context.Context, appID string) error

	// Applications, scoped by environment.
	CreateApplication(ctx context.Context, app *hookrelay.Application) error
	GetApplication(ctx context.Context, envID, idOrUID string) (*hookrelay.Application, error)
	// UpdateApplication writes every mutable field of app, found by ID.
	UpdateApplication(ctx context.Context, app *hookrelay.Application) error
	// DeleteApplication removes the application and everything under it.
	DeleteApplication(ctx context.Context, envID, id string) error
	ListApplications(ctx context.Context, envID string, page Page) ([]hookrelay.Application, error)

	// Event types, scoped by environment.
	CreateEventType(ctx context.Context, et *hookrelay.EventType) error
	GetEventType(ctx context.Context, envID, name string) (*hookrelay.EventType, error)
	UpdateEventType(ctx context.Context, et *hookrelay.EventType) error
	DeleteEventType(ctx context.Context, envID, name string) error
	ListEventTypes(ctx context.Context, envID string, includeArchived bool, page Page) ([]hookrelay.EventType, error)

	// Endpoints, scoped by application.
	CreateEndpoint(ctx context.Context, ep *hookrelay.Endpoint) error
	GetEndpoint(ctx context.Context, appID, idOrUID string) (*hookrelay.Endpoint, error)
	// UpdateEndpoint writes every mutable field of ep, found by ID and AppID.
	UpdateEndpoint(ctx context.Context, ep *hookrelay.Endpoint) error
	// DeleteEndpoint removes the endpoint, its deliveries and its attempts.
	DeleteEndpoint(ctx context.Context, appID, id string) error
	ListEndpoints(ctx context.Context, appID string, page Page) ([]hookrelay.Endpoint, error)
	EndpointStats(ctx context.Context, appID, endpointID string, since, until *time.Time) (hookrelay.EndpointStats, error)

	// CreateMessage stores p.Message and, in the same transaction, one
	// pending delivery due at the message's CreatedAt for every endpoint
	// that fanout.Plan chooses: those of the application that receive it,
	// or, when p.OnlyEndpointID is set, that endpoint alone whatever its
	// filters. A taken eventId within the application is ErrConflict and
	// stores nothing. Implementations may commit several concurrent calls
	// in one transaction (group commit); each call still succeeds or fails
	// on its own.
	CreateMessage(ctx context.Context, p CreateMessageParams) (CreateMessageResult, error)
	// GetMessage finds a message by ID or eventId.
	GetMessage(ctx context.Context, appID, idOrEventID string) (*hookrelay.Message, error)
	ListMessages(ctx context.Context, p ListMessagesParams) ([]hookrelay.Message, error)
	// ExpungeMessageContent drops the payload; the message stays listed.
	ExpungeMessageContent(ctx context.Context, appID, msgID string) error

	// Attempts and deliveries.
	ListAttempts(ctx context.Context, p ListAttemptsParams) ([]hookrelay.Attempt, error)
	GetAttempt(ctx context.Context, appID, msgID, attemptID string) (*hookrelay.Attempt, error)
	// ExpungeAttemptContent drops the stored response body of an attempt.
	ExpungeAttemptContent(ctx context.Context, appID, msgID, attemptID string) error
	// ListEndpointMessages lists the messages queued for one endpoint.
	ListEndpointMessages(ctx context.Context, p ListDeliveriesParams) ([]EndpointMessage, error)
	// ListMessageDestinations lists the endpoints one message was queued for.
	ListMessageDestinations(ctx context.Context, p ListDeliveriesParams) ([]MessageDestination, error)
	// Resend makes the delivery of msgID to endpointID pending, due at now
	// and Manual, creating it if the message was never queued for that
	// endpoint. Its Attempts count is kept: a failed manual attempt goes on
	// with the retry schedule only while scheduled attempts remain.
	Resend(ctx context.Context, appID, msgID, endpointID string, now time.Time) error
	// RecoverFailed makes every failed delivery of the endpoint whose message
	// was created in [since, until) pending and due at now, and returns how
	// many it recovered.
	RecoverFailed(ctx context.Context, appID, endpointID string, since time.Time, until *time.Time, now time.Time) (int, error)

	// The queue.
	// ClaimDeliveries leases up to p.Limit due deliveries to p.Owner, oldest
	// due first, and returns them with their message and endpoint. A
	// delivery is never leased to two owners at once.
	ClaimDeliveries(ctx context.Context, p ClaimParams) ([]Task, error)
	// CompleteAttempts records each attempt and moves its delivery, all in
	// one transaction. The delivery is moved only while the result's owner
	// still holds its lease; the attempt is recorded regardless. No byte
	// sequence in an attempt's texts may fail it: Response is stored as
	// bytes and read back exactly (NUL, invalid UTF-8 and all), URL is
	// stored as hookrelay.CleanText(URL); IDs are the store's own. An
	// attempt's Outcome is stored as given; when it is OutcomeUnknown it
	// is set, in results too, to hookrelay.DeriveOutcome of its status and
	// code.
	CompleteAttempts(ctx context.Context, results []AttemptResult) error
	// ExtendLeases pushes the lease of every delivery owner holds to until.
	ExtendLeases(ctx context.Context, owner string, until time.Time) error
	// ReleaseDeliveries drops owner's lease on the given deliveries, leaving
	// them due as they were.
	ReleaseDeliveries(ctx context.Context, owner string, deliveryIDs []string) error
	// NextDue returns the earliest time a pending delivery becomes due
	// (its next attempt, or its lease expiry if later), and false if there
	// is none.
	NextDue(ctx context.Context) (time.Time, bool, error)

	// ReserveSendSlots reserves n send times for an endpoint limited to
	// perSecond requests per second, shared by every node on the database.
	// Slot i is first + i×(1s/perSecond); first is no earlier than now and
	// no earlier than one interval after the last slot reserved before, so
	// the slots handed out to all nodes together never exceed the rate.
	ReserveSendSlots(ctx context.Context, endpointID string, perSecond, n int, now time.Time) (first time.Time, err error)

	// Heartbeat records that node is alive at now and returns how many
	// nodes (this one included) have sent a heartbeat since now-ttl.
	// Dispatchers share per-endpoint limits among the live nodes.
	Heartbeat(ctx context.Context, node string, now time.Time, ttl time.Duration) (live int, err error)
	// DeleteNode forgets node, for a clean shutdown.
	DeleteNode(ctx context.Context, node string) error

	// Idempotency keys.
	// StartIdempotent inserts rec (not done) unless a live record with the
	// same scope and key exists, in which case it returns that record and
	// false. Expired records are replaced.
	StartIdempotent(ctx context.Context, rec *IdempotencyRecord) (*IdempotencyRecord, bool, error)
	// FinishIdempotent stores the response of a started record.
	FinishIdempotent(ctx context.Context, scope, key string, statusCode int, body []byte) error
	// AbandonIdempotent removes a started record so the key may be retried.
	AbandonIdempotent(ctx context.Context, scope, key string) error

	// Background tasks, scoped by environment.
	CreateBackgroundTask(ctx context.Context, t *BackgroundTask) error
	GetBackgroundTask(ctx context.Context, envID, id string) (*BackgroundTask, error)
	ListBackgroundTasks(ctx context.Context, envID string, page Page) ([]BackgroundTask, error)
}
