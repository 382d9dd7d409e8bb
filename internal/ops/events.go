// Package ops runs hookrelay's operational side: the operational webhooks
// that tell an operator what happens in an environment, and the background
// work that keeps a node's data in shape.
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Operational event types. All but EventEndpointEnabled are Svix's
// (the x-webhooks section of its API document); endpoint.enabled is the
// counterpart of a manual endpoint.disabled, as newer Svix versions send.
const (
	EventEndpointCreated         = "endpoint.created"
	EventEndpointUpdated         = "endpoint.updated"
	EventEndpointDeleted         = "endpoint.deleted"
	EventEndpointDisabled        = "endpoint.disabled"
	EventEndpointEnabled         = "endpoint.enabled"
	EventMessageAttemptExhausted = "message.attempt.exhausted"
	EventMessageAttemptFailing   = "message.attempt.failing"
	EventMessageAttemptRecovered = "message.attempt.recovered"
)

// EventTypes lists every operational event type.
var EventTypes = []string{
	EventEndpointCreated, EventEndpointUpdated, EventEndpointDeleted,
	EventEndpointDisabled, EventEndpointEnabled,
	EventMessageAttemptExhausted, EventMessageAttemptFailing, EventMessageAttemptRecovered,
}

// DisabledTrigger says why an endpoint was disabled.
type DisabledTrigger string

const (
	// DisabledManual: an API call set disabled.
	DisabledManual DisabledTrigger = "manual"
	// DisabledAutomatic: hookrelay disabled it after failing without a
	// success for too long, or on a 410 Gone.
	DisabledAutomatic DisabledTrigger = "automatic"
)

// EndpointEventData is the data of endpoint.created, endpoint.updated,
// endpoint.deleted and endpoint.enabled (Svix's EndpointCreatedEventData
// and its siblings). Unset uids are null.
type EndpointEventData struct {
	AppID       string  `json:"appId"`
	AppUID      *string `json:"appUid"`
	EndpointID  string  `json:"endpointId"`
	EndpointUID *string `json:"endpointUid"`
}

// EndpointDisabledEventData is the data of endpoint.disabled (Svix's
// EndpointDisabledEventData). FailSince is when the endpoint began failing
// without a success, null for a manual disable.
type EndpointDisabledEventData struct {
	AppID       string          `json:"appId"`
	AppUID      *string         `json:"appUid"`
	EndpointID  string          `json:"endpointId"`
	EndpointUID *string         `json:"endpointUid"`
	FailSince   *time.Time      `json:"failSince"`
	Trigger     DisabledTrigger `json:"trigger"`
}

// MessageAttemptEventData is the data of message.attempt.exhausted,
// message.attempt.failing and message.attempt.recovered (Svix's
// MessageAttemptExhaustedEventData and its siblings).
type MessageAttemptEventData struct {
	AppID       string             `json:"appId"`
	AppUID      *string            `json:"appUid"`
	MsgID       string             `json:"msgId"`
	MsgEventID  *string            `json:"msgEventId"`
	EndpointID  string             `json:"endpointId"`
	LastAttempt AttemptSummaryData `json:"lastAttempt"`
}

// AttemptSummaryData is Svix's MessageAttemptFailedData: the attempt that
// caused a message.attempt.* event.
type AttemptSummaryData struct {
	ID                 string    `json:"id"`
	ResponseStatusCode int       `json:"responseStatusCode"`
	Timestamp          time.Time `json:"timestamp"`
}

// eventEnvelope is the payload of every operational webhook.
type eventEnvelope struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// EventStore is what an Emitter needs of the store.
type EventStore interface {
	GetInternalApplication(ctx context.Context, envID string) (*hookrelay.Application, error)
	ListEndpoints(ctx context.Context, appID string, page store.Page) ([]hookrelay.Endpoint, error)
	CreateMessage(ctx context.Context, p store.CreateMessageParams) (store.CreateMessageResult, error)
}

// DefaultEmitterCacheTTL is how long an Emitter trusts what it read of an
// environment's operational endpoints when EmitterConfig.CacheTTL is 0.
const DefaultEmitterCacheTTL = 2 * time.Second

// EmitterConfig configures NewEmitter.
type EmitterConfig struct {
	// Store holds the internal applications; required.
	Store EventStore
	// Waker, when set, is told when an event queued deliveries (the
	// delivery dispatcher).
	Waker interface{ Wake() }
	// Logger receives failures to emit; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CacheTTL bounds how long changes to operational endpoints made
	// through another node take to be seen here; 0 means
	// DefaultEmitterCacheTTL. Changes made through this node's API are
	// seen at once (Forget).
	CacheTTL time.Duration
}

// Emitter publishes operational events: each is a message of the
// environment's internal application, whose endpoints are the operator's
// operational webhook endpoints, so it is delivered, signed, retried,
// rate-limited and logged by the normal pipeline. A nil *Emitter emits
// nothing.
//
// Whether an environment has operational endpoints, and which event types
// they take, is cached per environment (see EmitterConfig.CacheTTL): an
// event nobody receives costs no more than a map lookup, and stores
// nothing.
//
// Events are published after the change they report has been committed,
// outside its transaction: one lost to a database failure at that moment
// is logged and not retried.
type Emitter struct {
	store EventStore
	waker interface{ Wake() }
	log   *slog.Logger
	now   func() time.Time
	ttl   time.Duration

	mu   sync.Mutex
	envs map[string]emitterEnv
}

// emitterEnv is what an Emitter knows of one environment.
type emitterEnv struct {
	appID string // the internal application; "" when there is none
	// routes are the operational endpoints, reduced to what decides which
	// events they receive (no URLs, no secrets).
	routes []hookrelay.Endpoint
	until  time.Time
}

// receives reports whether some operational endpoint takes eventType.
func (e emitterEnv) receives(eventType string) bool {
	for i := range e.routes {
		if e.routes[i].Receives(eventType, nil) {
			return true
		}
	}
	return false
}

// NewEmitter returns an Emitter publishing through cfg.Store.
func NewEmitter(cfg EmitterConfig) *Emitter {
	e := &Emitter{store: cfg.Store, waker: cfg.Waker, log: cfg.Logger, now: cfg.Now, ttl: cfg.CacheTTL,
		envs: make(map[string]emitterEnv)}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.ttl <= 0 {
		e.ttl = DefaultEmitterCacheTTL
	}
	return e
}

// Forget drops what e knows of envID's operational endpoints, so that the
// next event reads them again. The API calls it after changing them.
func (e *Emitter) Forget(envID string) {
	if e == nil {
		return
	}
	e.mu.Lock()
	delete(e.envs, envID)
	e.mu.Unlock()
}

// emitterCacheMax bounds the environments remembered; the cache starts
// over when full.
const emitterCacheMax = 4096

// env returns what is known of envID, reading it when the cache has
// nothing fresh.
func (e *Emitter) env(ctx context.Context, envID string) (emitterEnv, error) {
	now := e.now()
	e.mu.Lock()
	st, ok := e.envs[envID]
	e.mu.Unlock()
	if ok && now.Before(st.until) {
		return st, nil
	}
	st = emitterEnv{until: now.Add(e.ttl)}
	app, err := e.store.GetInternalApplication(ctx, envID)
	switch {
	case errors.Is(err, hookrelay.ErrNotFound):
	case err != nil:
		return st, err
	default:
		st.appID = app.ID
		page := store.Page{Limit: 100}
		for {
			eps, err := e.store.ListEndpoints(ctx, app.ID, page)
			if err != nil {
				return st, err
			}
			for _, ep := range eps {
				st.routes = append(st.routes, hookrelay.Endpoint{
					ID: ep.ID, FilterTypes: ep.FilterTypes, Channels: ep.Channels, Disabled: ep.Disabled,
				})
			}
			if len(eps) < page.Limit {
				break
			}
			page.Iterator = eps[len(eps)-1].ID
		}
	}
	e.mu.Lock()
	if len(e.envs) >= emitterCacheMax {
		e.envs = make(map[string]emitterEnv)
	}
	e.envs[envID] = st
	e.mu.Unlock()
	return st, nil
}

// Emit publishes {"type": eventType, "timestamp": now, "data": data} to
// envID's operational endpoints that take eventType, and wakes the
// dispatcher. Without such an endpoint it stores nothing. A failure is
// logged and returned; the caller's own work has already succeeded and
// should not be undone for it.
func (e *Emitter) Emit(ctx context.Context, envID, eventType string, data any) error {
	if e == nil {
		return nil
	}
	st, err := e.env(ctx, envID)
	if err == nil {
		err = e.publish(ctx, st, eventType, data)
	}
	if err != nil {
		e.log.Error("operational webhook not sent", "env", envID, "event_type", eventType, "err", err)
		return fmt.Errorf("emit %s: %w", eventType, err)
	}
	return nil
}

// emitAbout is Emit for an event about an object of app. Events about the
// internal application's own endpoints (the operational endpoints) are
// not sent: they would report on themselves.
func (e *Emitter) emitAbout(ctx context.Context, app *hookrelay.Application, eventType string, data any) error {
	if e == nil {
		return nil
	}
	st, err := e.env(ctx, app.EnvID)
	if err == nil {
		if app.ID == st.appID {
			return nil
		}
		err = e.publish(ctx, st, eventType, data)
	}
	if err != nil {
		e.log.Error("operational webhook not sent", "env", app.EnvID, "event_type", eventType, "app", app.ID, "err", err)
		return fmt.Errorf("emit %s: %w", eventType, err)
	}
	return nil
}

func (e *Emitter) publish(ctx context.Context, st emitterEnv, eventType string, data any) error {
	if st.appID == "" || !st.receives(eventType) {
		return nil
	}
	now := e.now().UTC().Truncate(time.Microsecond)
	payload, err := json.Marshal(eventEnvelope{Type: eventType, Timestamp: now, Data: data})
	if err != nil {
		return fmt.Errorf("encode payload: %w", err)
	}
	msg := &hookrelay.Message{
		ID:        hookrelay.NewID(hookrelay.PrefixMessage),
		AppID:     st.appID,
		EventType: eventType,
		Payload:   payload,
		CreatedAt: now,
	}
	res, err := e.store.CreateMessage(ctx, store.CreateMessageParams{Message: msg})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if res.Deliveries > 0 && e.waker != nil {
		e.waker.Wake()
	}
	return nil
}

func endpointData(app *hookrelay.Application, ep *hookrelay.Endpoint) EndpointEventData {
	return EndpointEventData{AppID: app.ID, AppUID: app.UID, EndpointID: ep.ID, EndpointUID: ep.UID}
}

// EndpointCreated emits endpoint.created for ep of app.
func (e *Emitter) EndpointCreated(ctx context.Context, app *hookrelay.Application, ep *hookrelay.Endpoint) error {
	return e.emitAbout(ctx, app, EventEndpointCreated, endpointData(app, ep))
}

// EndpointUpdated emits endpoint.updated for ep of app.
func (e *Emitter) EndpointUpdated(ctx context.Context, app *hookrelay.Application, ep *hookrelay.Endpoint) error {
	return e.emitAbout(ctx, app, EventEndpointUpdated, endpointData(app, ep))
}

// EndpointDeleted emits endpoint.deleted for ep of app.
func (e *Emitter) EndpointDeleted(ctx context.Context, app *hookrelay.Application, ep *hookrelay.Endpoint) error {
	return e.emitAbout(ctx, app, EventEndpointDeleted, endpointData(app, ep))
}

// EndpointEnabled emits endpoint.enabled: ep, disabled until now, takes
// messages again.
func (e *Emitter) EndpointEnabled(ctx context.Context, app *hookrelay.Application, ep *hookrelay.Endpoint) error {
	return e.emitAbout(ctx, app, EventEndpointEnabled, endpointData(app, ep))
}

// EndpointDisabled emits endpoint.disabled: ep was disabled, by an API
// call (DisabledManual, failSince nil) or by hookrelay after failing since
// failSince (DisabledAutomatic).
func (e *Emitter) EndpointDisabled(ctx context.Context, app *hookrelay.Application, ep *hookrelay.Endpoint, trigger DisabledTrigger, failSince *time.Time) error {
	d := EndpointDisabledEventData{AppID: app.ID, AppUID: app.UID, EndpointID: ep.ID, EndpointUID: ep.UID, Trigger: trigger}
	if failSince != nil {
		t := failSince.UTC()
		d.FailSince = &t
	}
	return e.emitAbout(ctx, app, EventEndpointDisabled, d)
}

// EndpointChanged emits the events of an API write that turned before
// into after: endpoint.updated, then endpoint.disabled (manual) or
// endpoint.enabled when the write flipped disabled.
func (e *Emitter) EndpointChanged(ctx context.Context, app *hookrelay.Application, before, after *hookrelay.Endpoint) error {
	err := e.EndpointUpdated(ctx, app, after)
	switch {
	case !before.Disabled && after.Disabled:
		err = errors.Join(err, e.EndpointDisabled(ctx, app, after, DisabledManual, nil))
	case before.Disabled && !after.Disabled:
		err = errors.Join(err, e.EndpointEnabled(ctx, app, after))
	}
	return err
}

func attemptData(app *hookrelay.Application, msg *hookrelay.Message, last *hookrelay.Attempt) MessageAttemptEventData {
	return MessageAttemptEventData{
		AppID: app.ID, AppUID: app.UID, MsgID: msg.ID, MsgEventID: msg.EventID, EndpointID: last.EndpointID,
		LastAttempt: AttemptSummaryData{ID: last.ID, ResponseStatusCode: last.ResponseStatusCode, Timestamp: last.CreatedAt.UTC()},
	}
}

// MessageAttemptFailing emits message.attempt.failing: msg has failed
// its attempts to last.EndpointID several times in a row, last being the
// latest.
func (e *Emitter) MessageAttemptFailing(ctx context.Context, app *hookrelay.Application, msg *hookrelay.Message, last *hookrelay.Attempt) error {
	return e.emitAbout(ctx, app, EventMessageAttemptFailing, attemptData(app, msg, last))
}

// MessageAttemptExhausted emits message.attempt.exhausted: last was the
// final scheduled attempt of msg to last.EndpointID, and it failed.
func (e *Emitter) MessageAttemptExhausted(ctx context.Context, app *hookrelay.Application, msg *hookrelay.Message, last *hookrelay.Attempt) error {
	return e.emitAbout(ctx, app, EventMessageAttemptExhausted, attemptData(app, msg, last))
}

// MessageAttemptRecovered emits message.attempt.recovered: msg, which was
// failing to last.EndpointID, succeeded with last.
func (e *Emitter) MessageAttemptRecovered(ctx context.Context, app *hookrelay.Application, msg *hookrelay.Message, last *hookrelay.Attempt) error {
	return e.emitAbout(ctx, app, EventMessageAttemptRecovered, attemptData(app, msg, last))
}
