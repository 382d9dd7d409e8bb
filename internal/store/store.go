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
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
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
	// Capabilities are what a portal token may do (the API refuses the
	// rest); not used for other kinds. Stored as their Svix names; a row
	// stored with only the read-only flag of earlier versions reads as
	// hookrelay.LegacyPortalCapabilities of it.
	Capabilities hookrelay.PortalCapabilities
}

// PortalSession is a session of the portal (a customer of one
// application) or of the operator console (an admin of its environment).
// It starts as the one-time code of a magic link (CodeHash set, Hash nil)
// and becomes a session when the code is redeemed (Hash set). Only the
// SHA-256 of the code and of the session's secret are stored.
type PortalSession struct {
	ID    string
	EnvID string
	// AppID is the application of a customer session; empty for an
	// operator session.
	AppID    string
	Operator bool
	// Capabilities are those of the customer session's token (every one
	// for a session the console opens); not used for operator sessions.
	// Stored as Token.Capabilities are.
	Capabilities hookrelay.PortalCapabilities
	// TokenID is the stored token the session was made from, if any: the
	// session is deleted with it.
	TokenID string
	// OpenedBy is the operator session that opened this customer session
	// (the console's "open portal"), if any: the session is deleted with
	// it.
	OpenedBy string
	// AdminKey is the SHA-256 of the configured admin token that opened
	// the session, directly or through OpenedBy; nil for any other
	// session. The portal honours the session only while that token is
	// the configured one.
	AdminKey      []byte
	CodeHash      []byte
	CodeExpiresAt *time.Time
	Hash          []byte
	// Theme is the look the magic link asked for (JSON, the portal's).
	Theme      string
	ExpiresAt  time.Time
	CreatedAt  time.Time
	RedeemedAt *time.Time
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
// always set; EndpointID and/or MsgID narrow it. Without either, the
// listing is the application's attempts across its endpoints. Failed ones
// read one range of the application's failed attempts (a partial index:
// recording a success costs nothing more) per page; succeeded ones are
// read endpoint by endpoint, each newest first through its own index, and
// merged, so they cover the application's current endpoints, which is all
// of its attempts: an endpoint's attempts go with it. A status no attempt
// is recorded with (see AttemptStatus) lists nothing without reading;
// without Status the listing reads every attempt of the application.
//
// After bounds the attempt's time (CreatedAt) and, through IDAfter, its
// ID, so that a listing since a time reads only the index range from
// there. That relies on an attempt's ID being made by hookrelay.NewID no
// earlier than AttemptIDSlack before its CreatedAt: the dispatcher makes
// the ID when the request has ended, after CreatedAt (its start). Before
// bounds the time only.
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

// AttemptStatus reports whether an attempt can be recorded with status s:
// an attempt either succeeded or failed.
func AttemptStatus(s hookrelay.MessageStatus) bool {
	return s == hookrelay.StatusSuccess || s == hookrelay.StatusFail
}

// AttemptIDSlack is how much earlier than its CreatedAt an attempt's ID may
// have been made (see ListAttemptsParams): room for the wall clock to step
// back during a request, and for callers that make the ID just before.
const AttemptIDSlack = time.Hour

// IDAfter is the lower bound (inclusive) on the attempt ID that After
// implies, or "" without After: every attempt made after After has an ID
// at least this.
func (p ListAttemptsParams) IDAfter() string {
	if p.After == nil {
		return ""
	}
	return hookrelay.IDFloor(hookrelay.PrefixAttempt, p.After.Add(-AttemptIDSlack))
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
	// ParkUntil is when a due delivery of a disabled endpoint is looked
	// at again. Such a delivery is never returned: it stays pending, not
	// leased, due at ParkUntil, and is parked until then; re-enabling its
	// endpoint (UpdateEndpoint) makes it due at once. A zero ParkUntil
	// leaves it due as it was.
	ParkUntil time.Time
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

// QueueDepth is the backlog of the queue at one moment (Store.QueueDepth).
type QueueDepth struct {
	// Due is the number of deliveries due and not held, at most the limit
	// asked for.
	Due int
	// OldestDue is the earliest next attempt time among them: how long the
	// oldest has waited past its time. Zero when Due is 0.
	OldestDue time.Time
}

// EndpointStatus is what the store keeps of an endpoint's latest attempts,
// updated by CompleteAttempts in the transaction that records them. The
// last attempt is the latest by attempt time, whatever its outcome. Only
// what counts against the receiver (hookrelay.OutcomeKind.AgainstReceiver)
// and successes move the failure fields: a refusal by policy or an
// internal failure leaves them as they were.
type EndpointStatus struct {
	EndpointID string
	// LastAttemptAt is nil, and the other Last fields zero, before the
	// first attempt.
	LastAttemptAt  *time.Time
	LastOutcome    hookrelay.OutcomeKind
	LastStatusCode int
	LastSuccessAt  *time.Time
	// FailingSince is the time of the first failure against the receiver
	// since its last success; nil while it has not failed since.
	FailingSince *time.Time
	// ConsecutiveFailures counts the failures against the receiver since
	// its last success.
	ConsecutiveFailures int
}

// HealthParams selects health rollups of one width whose span starts in
// [Since, Until): those of EndpointID, or, when EndpointID is empty, those
// of every endpoint of AppID summed span by span.
type HealthParams struct {
	AppID      string
	EndpointID string
	Width      time.Duration // hookrelay.HealthMinute, HealthHour or HealthDay
	Since      time.Time
	Until      time.Time
}

// SummaryParams selects Store.EndpointSummaries: the endpoints of AppID
// among EndpointIDs, and the rollups of Width whose span starts in
// [Since, Until) (as HealthParams) summed into each one's Totals.
type SummaryParams struct {
	AppID       string
	EndpointIDs []string
	Width       time.Duration
	Since       time.Time
	Until       time.Time
}

// EndpointSummary is one endpoint's state at a glance, from the rows the
// health route reads one endpoint at a time.
type EndpointSummary struct {
	EndpointID     string
	Disabled       bool
	DisabledReason *hookrelay.DisabledReason // as GetEndpoint gives it
	// Totals is the sum of the endpoint's rollups the params select
	// (Start is zero); zero without any.
	Totals hookrelay.Health
	// LastAttempt is the endpoint's newest attempt, the first that
	// ListAttempts of the endpoint lists; nil without one. Only its ID,
	// MsgID, EndpointID, AppID, Status, ResponseStatusCode, Outcome (never
	// OutcomeUnknown) and CreatedAt are set.
	LastAttempt *hookrelay.Attempt
	// Status is what GetEndpointStatus returns.
	Status EndpointStatus
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

// Background task statuses, as Svix names them.
const (
	TaskRunning  = "running"
	TaskFinished = "finished"
	TaskFailed   = "failed"
)

// ErrTaskLost means the caller no longer holds the background task it
// addressed: another node claimed it after the caller's lease lapsed, or it
// has ended. Nothing was changed.
var ErrTaskLost = errors.New("background task lost")

// BackgroundTask is work done in batches by any node (recovering an
// endpoint's failed deliveries, replaying missing ones). It is a row: its
// kind and input, its state and progress, and which node works on it until
// when. A running task whose lease has lapsed, or that has no owner, may be
// claimed by any node, which resumes it from its cursor.
type BackgroundTask struct {
	ID     string
	EnvID  string
	Task   string // Svix BackgroundTaskType, e.g. "endpoint.recover"
	Status string // TaskRunning, TaskFinished or TaskFailed
	// Data is the task's progress and result (counts), shown as is.
	Data map[string]any
	// Params is the task's input as its kind encodes it (JSON), kept as
	// given.
	Params []byte
	// Cursor is where the next batch starts; "" before the first.
	Cursor string
	// Owner holds the task until LeaseUntil; both are empty when no node
	// does.
	Owner      string
	LeaseUntil *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ListBackgroundTasksParams filters a listing of an environment's tasks,
// ordered by ID in Page.Order. Empty Status and Task match every task.
type ListBackgroundTasksParams struct {
	EnvID  string
	Page   Page
	Status string
	Task   string
	// Kinds, when not empty, keeps only tasks of these kinds.
	Kinds []string
}

// ClaimTaskParams asks for one runnable background task: running, of one of
// Tasks (any kind when empty), and either unowned or with a lease that has
// lapsed at Now.
type ClaimTaskParams struct {
	Owner      string
	Now        time.Time
	LeaseUntil time.Time
	Tasks      []string
}

// TaskState is what the holder of a task records about it.
type TaskState struct {
	Status string // TaskRunning, or TaskFinished / TaskFailed to end it
	Cursor string
	Data   map[string]any
	// LeaseUntil is the holder's new lease while the task runs; nil hands
	// the task back (no owner), so that any node may claim it at once. An
	// ended task keeps no owner or lease.
	LeaseUntil *time.Time
}

// TaskStep is one batch of a held task. The batch's changes and the task's
// new state (what Next returns for the batch's result) are committed in
// one transaction, and only while Owner still holds the running task: else
// the step is ErrTaskLost and changes nothing. The batch starts at the
// task's stored cursor and looks at no more than Limit items.
type TaskStep struct {
	ID    string
	Owner string
	Now   time.Time
	Limit int
	// Next is called once, inside the transaction.
	Next func(BatchResult) TaskState
}

// BatchResult is what one batch of a task did.
type BatchResult struct {
	Cursor  string // where the next batch starts
	Scanned int    // items looked at
	Changed int    // deliveries recovered or created
	Done    bool   // nothing is left after Cursor
}

// RecoverParams selects the failed deliveries of one endpoint whose message
// was created in [Since, Until) (no upper bound when Until is nil).
type RecoverParams struct {
	AppID      string     `json:"appId"`
	EndpointID string     `json:"endpointId"`
	Since      time.Time  `json:"since"`
	Until      *time.Time `json:"until,omitempty"`
}

// ReplayParams selects the messages of an application created in
// [Since, Until) that one endpoint has no delivery for.
type ReplayParams struct {
	AppID      string     `json:"appId"`
	EndpointID string     `json:"endpointId"`
	Since      time.Time  `json:"since"`
	Until      *time.Time `json:"until,omitempty"`
}

// PurgeKind names what one batch of the retention cleaner removes.
type PurgeKind string

// The cleaner's kinds of work, in the order it runs them.
const (
	// PurgePayloads drops the payload of each message whose
	// payload_expires_at has passed and that has no pending delivery,
	// and empties the response bodies of its attempts: the message reads
	// as after an expunge. Removed counts messages, Attempts the attempts
	// emptied.
	PurgePayloads PurgeKind = "payloads"
	// PurgeMessages removes each message created before Before whose
	// payload has expired (or was never given an expiry) and that has no
	// pending delivery, with its deliveries and attempts. Removed counts
	// messages, Attempts the attempts removed.
	PurgeMessages PurgeKind = "messages"
	// PurgeIdempotency removes idempotency records that expired by Now.
	PurgeIdempotency PurgeKind = "idempotency"
	// PurgeTokens removes portal tokens, and portal sessions, that expired
	// by Now (each up to Limit per batch).
	PurgeTokens PurgeKind = "tokens"
	// PurgeTasks removes background tasks that ended (finished or failed)
	// and were last updated before Before.
	PurgeTasks PurgeKind = "tasks"
)

// PurgeKinds are the cleaner's kinds of work in the order it runs them.
var PurgeKinds = []PurgeKind{PurgePayloads, PurgeMessages, PurgeIdempotency, PurgeTokens, PurgeTasks}

// ErrLeaseHeld means another node holds the cleaner's lease: the batch
// changed nothing.
var ErrLeaseHeld = errors.New("cleaner lease held by another node")

// PurgeParams is one batch of the retention cleaner. A delivery that is
// pending (or sending) keeps its message and payload, whatever the times.
type PurgeParams struct {
	Kind PurgeKind
	// Owner takes or renews the cleaner's lease until LeaseUntil in the
	// batch's transaction; while another owner's lease is still valid at
	// Now the batch is ErrLeaseHeld. Two batches of different owners never
	// run at once.
	Owner      string
	Now        time.Time
	LeaseUntil time.Time
	// Limit is the most rows the batch looks at.
	Limit int
	// Cursor is where the batch starts, from the previous batch's result
	// ("" for the first); rows the batch had to keep are not looked at
	// again in one pass.
	Cursor string
	// Before bounds PurgeMessages (creation time) and PurgeTasks (last
	// update).
	Before time.Time
}

// PurgeResult is what one cleaner batch did.
type PurgeResult struct {
	Cursor   string // where the next batch starts
	Scanned  int    // rows looked at
	Removed  int    // rows removed (payloads dropped, for PurgePayloads)
	Attempts int    // attempts emptied or removed along with messages
	Done     bool   // nothing more of this kind is due now
}

// Add combines the results of two purges made in one batch.
func (r PurgeResult) Add(o PurgeResult) PurgeResult {
	r.Scanned += o.Scanned
	r.Removed += o.Removed
	r.Attempts += o.Attempts
	r.Done = r.Done && o.Done
	return r
}

// TroubledParams selects one page of Store.ListAppsTroubledFirst.
type TroubledParams struct {
	EnvID string
	Limit int
	// After is the last application of the previous page; zero starts
	// at the first.
	After TroubledCursor
}

// TroubledCursor is a place in the order of Store.ListAppsTroubledFirst:
// the application with ID, in the troubled group or (Healthy) the other.
// The zero value is before every application.
type TroubledCursor struct {
	Healthy bool
	ID      string
}

// TroubledApp is one application of Store.ListAppsTroubledFirst, with the
// endpoints that trouble it: Disabled counts its disabled endpoints,
// Failing its enabled ones in a run of failures against their receiver.
type TroubledApp struct {
	App      hookrelay.Application
	Disabled int
	Failing  int
}

// Troubled reports whether a has a disabled or failing endpoint.
func (a *TroubledApp) Troubled() bool { return a.Disabled+a.Failing > 0 }

// Cursor is a's place in the order, for the next page.
func (a *TroubledApp) Cursor() TroubledCursor {
	return TroubledCursor{Healthy: !a.Troubled(), ID: a.App.ID}
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
	// ListAppsTroubledFirst lists one page of the applications of
	// p.EnvID (not its internal one), troubled ones first: those with a
	// disabled endpoint or an enabled one in a run of failures against
	// its receiver (EndpointStatus.FailingSince set), then the others;
	// each group by ID. It is one query per page, whatever the number of
	// applications. Paging is by key (p.After): an application whose
	// endpoints change group between two pages may be listed twice or
	// not at all. For the operator console.
	ListAppsTroubledFirst(ctx context.Context, p TroubledParams) ([]TroubledApp, error)

	// Internal applications. An environment has at most one, which holds
	// its operational webhook endpoints. GetApplication, UpdateApplication,
	// DeleteApplication and ListApplications never see it (ErrNotFound,
	// not listed); the methods that take an application ID (endpoints,
	// messages, attempts) work on it as on any other.
	// GetInternalApplication returns envID's internal application, or
	// ErrNotFound when it has none.
	GetInternalApplication(ctx context.Context, envID string) (*hookrelay.Application, error)
	// LookupApplication returns the application with ID id, internal or
	// not, whatever its environment: for the server's own use (what an
	// attempt's application is), never for an API caller.
	LookupApplication(ctx context.Context, id string) (*hookrelay.Application, error)
	// EnsureInternalApplication returns envID's internal application,
	// creating it when it has none; concurrent calls get the same one. A
	// missing environment is ErrNotFound.
	EnsureInternalApplication(ctx context.Context, envID string) (*hookrelay.Application, error)

	// Event types, scoped by environment.
	CreateEventType(ctx context.Context, et *hookrelay.EventType) error
	GetEventType(ctx context.Context, envID, name string) (*hookrelay.EventType, error)
	UpdateEventType(ctx context.Context, et *hookrelay.EventType) error
	DeleteEventType(ctx context.Context, envID, name string) error
	ListEventTypes(ctx context.Context, envID string, includeArchived bool, page Page) ([]hookrelay.EventType, error)

	// Endpoints, scoped by application.
	//
	// Endpoint writes are optimistic: every endpoint carries a Revision,
	// which each write of its row moves, and UpdateEndpoint writes only
	// over the revision the caller read. A change is therefore a
	// read-modify-write that starts again from a fresh read when it meets
	// ErrStale; two writers that read the same revision cannot both write,
	// so neither undoes the other (a PATCH cannot bring back a secret that
	// a rotation replaced). A method added later that writes endpoint rows
	// must move the revision too.

	// CreateEndpoint stores ep at the first revision and sets ep.Revision.
	CreateEndpoint(ctx context.Context, ep *hookrelay.Endpoint) error
	GetEndpoint(ctx context.Context, appID, idOrUID string) (*hookrelay.Endpoint, error)
	// UpdateEndpoint writes every mutable field of ep (DisabledReason
	// only while ep is Disabled: enabling it removes the stored reason),
	// found by ID and AppID, if the stored revision is still ep.Revision; it then sets
	// ep.Revision to the new stored revision. When the endpoint was written
	// since (another revision is stored) it writes nothing and returns
	// hookrelay.ErrStale; a missing endpoint is ErrNotFound. Writing an
	// enabled endpoint makes its parked deliveries (see
	// ClaimParams.ParkUntil) due at once, in the same transaction.
	UpdateEndpoint(ctx context.Context, ep *hookrelay.Endpoint) error
	// DeleteEndpoint removes the endpoint, its deliveries and its attempts.
	DeleteEndpoint(ctx context.Context, appID, id string) error
	ListEndpoints(ctx context.Context, appID string, page Page) ([]hookrelay.Endpoint, error)
	// DisableEndpoint disables the endpoint if it is enabled, moving its
	// revision, and reports whether this call disabled it: of concurrent
	// callers (on any node) exactly one gets true. The same write stores
	// reason as the endpoint's DisabledReason and sets UpdatedAt to
	// reason.At; an endpoint disabled already keeps its own. A missing
	// endpoint is ErrNotFound.
	DisableEndpoint(ctx context.Context, appID, endpointID string, reason hookrelay.DisabledReason) (bool, error)
	// GetEndpointStatus returns the endpoint's status (see EndpointStatus),
	// zero but for EndpointID before its first attempt. A missing endpoint
	// is ErrNotFound.
	GetEndpointStatus(ctx context.Context, appID, endpointID string) (*EndpointStatus, error)
	EndpointStats(ctx context.Context, appID, endpointID string, since, until *time.Time) (hookrelay.EndpointStats, error)
	// EndpointSummaries returns the EndpointSummary of every endpoint of
	// p.AppID that p.EndpointIDs names, once each, ordered by endpoint ID.
	// An ID that names no endpoint of the application (another
	// application's, a deleted one, one that cannot be text) is left out,
	// as if it did not exist. It is one query whatever the number of IDs,
	// which reads for each endpoint found its row, its status row, its
	// rollups of the window (by their key) and its newest attempt (one
	// entry of the attempts' endpoint index): the rows the health route
	// reads for one endpoint. For pages of endpoints (the API takes up to
	// 100 IDs a call).
	EndpointSummaries(ctx context.Context, p SummaryParams) ([]EndpointSummary, error)

	// CreateMessage stores p.Message and, in the same transaction, one
	// pending delivery due at the message's DeliverAt when set, else at its
	// CreatedAt, for every endpoint
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

	// The queue.
	// ClaimDeliveries leases up to p.Limit due deliveries to p.Owner, oldest
	// due first, and returns them with their message and endpoint. A
	// delivery is never leased to two owners at once.
	ClaimDeliveries(ctx context.Context, p ClaimParams) ([]Task, error)
	// CompleteAttempts records each attempt and moves its delivery, all in
	// one transaction, and updates the EndpointStatus of each attempt's
	// endpoint in it. The delivery is moved only while the result's owner
	// still holds its lease; the attempt is recorded regardless. No byte
	// sequence in an attempt's texts may fail it: Response is stored as
	// bytes and read back exactly (NUL, invalid UTF-8 and all), URL is
	// stored as hookrelay.CleanText(URL); IDs are the store's own. An
	// attempt's Outcome is stored as given; when it is OutcomeUnknown it
	// is set, in results too, to hookrelay.DeriveOutcome of its status and
	// code.
	CompleteAttempts(ctx context.Context, results []AttemptResult) error
	// Every attempt CompleteAttempts records is also added, in the same
	// transaction, to its endpoint's health rollups (hookrelay.Health) of
	// each of hookrelay.HealthWidths: the span of that width (UTC) holding
	// the attempt's CreatedAt. An attempt that carries EndpointID and AppID
	// is rolled up under them, which must be its delivery's (the dispatcher
	// takes all three from one task); one without them under its
	// delivery's. Rollups are kept apart from the attempts: removing
	// attempts leaves them as they are.

	// HealthRollups returns the rollups p selects, oldest first; spans
	// without attempts have no rollup. It reads rollup rows only, never
	// attempts.
	HealthRollups(ctx context.Context, p HealthParams) ([]hookrelay.Health, error)
	// DeleteHealthRollups removes the rollups of width whose span starts
	// before before, and returns how many it removed.
	DeleteHealthRollups(ctx context.Context, width time.Duration, before time.Time) (int64, error)
	// CountAppDestinations counts the deliveries (message destinations) of
	// the application's messages created in [since, until).
	CountAppDestinations(ctx context.Context, appID string, since, until time.Time) (int64, error)

	// ExtendLeases pushes to until the lease of every pending delivery
	// owner holds whose lease ends before before; leases ending later are
	// left as they are.
	ExtendLeases(ctx context.Context, owner string, before, until time.Time) error
	// ReleaseDeliveries drops owner's lease on the given deliveries, leaving
	// them due as they were.
	ReleaseDeliveries(ctx context.Context, owner string, deliveryIDs []string) error
	// NextDue returns the earliest time a pending delivery becomes due
	// (its next attempt, or its lease expiry if later), and false if there
	// is none.
	NextDue(ctx context.Context) (time.Time, bool, error)
	// QueueDepth counts the deliveries due at now that no live lease
	// holds (pending, next attempt at or before now, and no lease or one
	// that lapsed at or before now), stopping at limit, and finds the
	// earliest next attempt among them. It reads only the queue's indexes,
	// so that it may run at every metrics scrape.
	QueueDepth(ctx context.Context, now time.Time, limit int) (QueueDepth, error)
	// EnvironmentQueue is QueueDepth for the deliveries of one
	// environment's applications (its internal application included):
	// those due at now that no live lease holds, counted up to limit, and
	// the earliest next attempt among all of them (not only the counted
	// ones). For the operator console.
	EnvironmentQueue(ctx context.Context, envID string, now time.Time, limit int) (QueueDepth, error)

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

	// ExpireAppTokens makes every portal token of the application expire
	// at the latest at at, and returns how many it changed.
	ExpireAppTokens(ctx context.Context, appID string, at time.Time) (int, error)

	// Portal sessions. A session whose token or application is deleted is
	// deleted with it.
	CreatePortalSession(ctx context.Context, ps *PortalSession) error
	// GetPortalSessionByCode returns the session of a one-time code,
	// redeemed or not.
	GetPortalSessionByCode(ctx context.Context, codeHash []byte) (*PortalSession, error)
	// RedeemPortalCode turns the not yet redeemed code into a session with
	// the secret whose SHA-256 is hash, at at, storing theme: once only;
	// ErrNotFound when no unredeemed code has codeHash.
	RedeemPortalCode(ctx context.Context, codeHash, hash []byte, theme string, at time.Time) (*PortalSession, error)
	// GetPortalSession returns the redeemed session whose secret has the
	// SHA-256 hash, expired or not.
	GetPortalSession(ctx context.Context, hash []byte) (*PortalSession, error)
	DeletePortalSession(ctx context.Context, id string) error
	// GetAppPortalTheme returns the portal theme of an application (JSON,
	// the portal's), "" when it has none.
	GetAppPortalTheme(ctx context.Context, appID string) (string, error)
	// SetAppPortalTheme stores the portal theme of an application; ""
	// removes it. A missing application is ErrNotFound.
	SetAppPortalTheme(ctx context.Context, appID, theme string) error
	// ExpireAppPortalSessions makes every session of the application expire
	// at the latest at at, and returns how many it changed.
	ExpireAppPortalSessions(ctx context.Context, appID string, at time.Time) (int, error)

	// Background tasks, scoped by environment.
	CreateBackgroundTask(ctx context.Context, t *BackgroundTask) error
	GetBackgroundTask(ctx context.Context, envID, id string) (*BackgroundTask, error)
	ListBackgroundTasks(ctx context.Context, p ListBackgroundTasksParams) ([]BackgroundTask, error)
	// ClaimBackgroundTask leases the oldest runnable task (see
	// ClaimTaskParams) to p.Owner until p.LeaseUntil and returns it, or
	// ErrNotFound when there is none. A task is never held by two owners
	// at once.
	ClaimBackgroundTask(ctx context.Context, p ClaimTaskParams) (*BackgroundTask, error)
	// SaveBackgroundTask records the state of a task owner holds (its
	// progress, a new lease, its end, or its release), or returns
	// ErrTaskLost.
	SaveBackgroundTask(ctx context.Context, id, owner string, now time.Time, st TaskState) error
	// RecoverBatch is one step of a recovery: it looks at the next
	// step.Limit deliveries of p.EndpointID in message ID order and makes
	// each that is failed, with a message created in [p.Since, p.Until),
	// pending and due at step.Now (attempt counts are kept). The cursor is
	// the last message ID looked at. A missing endpoint is ErrNotFound.
	RecoverBatch(ctx context.Context, step TaskStep, p RecoverParams) (BatchResult, error)
	// ReplayBatch is one step of a replay: it looks at the next step.Limit
	// messages of p.AppID in ID order and, for each created in [p.Since,
	// p.Until) whose payload is kept and that p.EndpointID has no delivery
	// for, inserts the delivery fanout.Plan chooses for it as a publish
	// would (none when the endpoint's filters, channels or disabled state
	// refuse it), pending and due at step.Now, or at the message's
	// DeliverAt when that is later. The cursor is the last
	// message ID looked at. A missing endpoint is ErrNotFound.
	ReplayBatch(ctx context.Context, step TaskStep, p ReplayParams) (BatchResult, error)

	// BulkReplayBatch is one step of a bulk replay: it looks at the next
	// step.Limit deliveries of p.EndpointID in message ID order and makes
	// each that p.Selects, whose message payload is kept and that is not
	// pending, pending and due at step.Now as a manual send (attempt
	// counts are kept), as a resend does. The cursor is the last message
	// ID looked at. A missing endpoint is ErrNotFound.
	BulkReplayBatch(ctx context.Context, step TaskStep, p BulkReplayParams) (BatchResult, error)
	// ExpungeContentBatch is one step of expunging every payload of an
	// application: among its next step.Limit messages by ID it drops each
	// payload still kept, as ExpungeMessageContent does; Changed counts
	// them. A missing application is ErrNotFound.
	ExpungeContentBatch(ctx context.Context, step TaskStep, appID string) (BatchResult, error)
	// CancelDeliveries makes every pending delivery of the endpoint whose
	// message was created before createdBefore, and that no node holds
	// under a live lease at now, StatusCanceled with no next attempt, and
	// returns how many. Deliveries a node holds are sent as they are. A
	// missing endpoint is ErrNotFound.
	CancelDeliveries(ctx context.Context, appID, endpointID string, createdBefore, now time.Time) (int, error)
	// DeliveryCounts counts the deliveries of the application's messages
	// created in [since, until) by event type and status; eventTypes, when
	// not empty, keeps only those event types.
	DeliveryCounts(ctx context.Context, appID string, since, until time.Time, eventTypes []string) ([]DeliveryCount, error)
	// SendThrottle reports the send slots of a rate-limited endpoint (see
	// ReserveSendSlots): the next free send time, and since when
	// reservations have handed out slots later than their now (the rate
	// holds sends back), nil when the last reservation's slots were all
	// due at once. ok is false when the endpoint never reserved a slot.
	SendThrottle(ctx context.Context, endpointID string) (next time.Time, since *time.Time, ok bool, err error)

	// Retention.
	// PurgeBatch removes the next rows of p.Kind that retention lets go
	// (see PurgeKind), at most p.Limit looked at, in one short
	// transaction that also takes or renews the cleaner's lease, or
	// returns ErrLeaseHeld. On SQLite it then returns up to a bounded
	// number of free pages to the file system (incremental vacuum).
	PurgeBatch(ctx context.Context, p PurgeParams) (PurgeResult, error)
	// ReleaseCleanerLease gives up owner's cleaner lease, if it holds it.
	ReleaseCleanerLease(ctx context.Context, owner string) error
}

// ExpiryCursor is the cursor of a PurgePayloads batch: the payload expiry
// (unix microseconds) and ID of the last message looked at.
func ExpiryCursor(expires int64, id string) string {
	return strconv.FormatInt(expires, 10) + "/" + id
}

// ParseExpiryCursor reads an ExpiryCursor; "" is the start (before every
// message).
func ParseExpiryCursor(c string) (expires int64, id string, err error) {
	if c == "" {
		return math.MinInt64, "", nil
	}
	t, id, ok := strings.Cut(c, "/")
	if !ok {
		return 0, "", fmt.Errorf("bad expiry cursor %q", c)
	}
	expires, err = strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("bad expiry cursor %q", c)
	}
	return expires, id, nil
}
