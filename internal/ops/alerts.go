package ops

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/store"
)

// FailingAttempt is the scheduled attempt whose failure against the
// receiver makes message.attempt.failing (Svix's rule: the fourth in a
// row).
const FailingAttempt = 4

// DefaultDisableAfter is how long an endpoint may fail without a single
// success before it is disabled, when nothing else is configured.
const DefaultDisableAfter = 5 * 24 * time.Hour

// maxPendingAlerts bounds the events waiting to be published; beyond it
// events are dropped (and logged), so that a store that cannot take them
// does not grow this node's memory without bound.
const maxPendingAlerts = 100_000

// alertAppTTL is how long an application read for an event is reused.
const alertAppTTL = 30 * time.Second

// AlertStore is what Alerts needs of the store.
type AlertStore interface {
	LookupApplication(ctx context.Context, id string) (*hookrelay.Application, error)
	GetEndpointStatus(ctx context.Context, appID, endpointID string) (*store.EndpointStatus, error)
	DisableEndpoint(ctx context.Context, appID, endpointID string, reason hookrelay.DisabledReason) (bool, error)
}

// AlertsConfig configures NewAlerts.
type AlertsConfig struct {
	// Store is required.
	Store AlertStore
	// DisableAfter is how long an endpoint fails against the receiver
	// without a success before it is disabled; 0 never disables one (nor
	// on a 410 Gone).
	DisableAfter time.Duration
	// RetrySchedule is the delivery's default retry schedule (an
	// endpoint's own retrySchedule option wins): a delivery is exhausted
	// when the attempt after its last step fails. nil means
	// delivery.DefaultRetrySchedule.
	RetrySchedule []time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Alerts is a delivery observer that turns committed attempts into the
// message.attempt.failing, .exhausted and .recovered events and disables
// endpoints that keep failing (endpoint.disabled, trigger automatic).
//
// AttemptRecorded only decides and queues, from the committed result alone
// (its attempt count and status), never blocking on the store; Run
// publishes and disables. What counts is only a failure against the
// receiver (hookrelay.OutcomeKind.AgainstReceiver): a refusal by policy or
// hookrelay's own failure never raises an event nor disables.
//
// Each event is derived from a count that a delivery reaches once (see
// AttemptEvents), so an attempt result recorded again does not report
// again. The guarantee is at most once per delivery, and once in practice:
// an event is lost when the node stops between the commit of its attempt
// and its publication, and reported twice only when a delivery's lease ran
// out during an attempt and another node made the same attempt again.
// Disabling is a conditional write that one caller alone wins, on any
// node, and only that caller reports it.
type Alerts struct {
	cfg AlertsConfig
	log *slog.Logger

	mu      sync.Mutex
	events  []pendingEvent
	checks  map[string]endpointCheck // by endpoint ID
	dropped int
	signal  chan struct{}

	// Owned by Run.
	apps map[string]cachedApp
	// quietUntil is, per endpoint, when it could be disabled at the
	// earliest, as its status last said: no need to read it before then.
	quietMu    sync.Mutex
	quietUntil map[string]time.Time
}

// pendingEvent is one message.attempt.* event waiting for Run; it keeps
// only identifiers, never the payload.
type pendingEvent struct {
	eventType string
	appID     string
	msg       hookrelay.Message // ID and EventID only
	last      hookrelay.Attempt // ID, EndpointID, code and time only
}

// endpointCheck asks Run to look whether an endpoint must be disabled.
type endpointCheck struct {
	appID       string
	endpointID  string
	endpointUID *string
	gone        bool // it answered 410 Gone: disable at once
}

type cachedApp struct {
	app   *hookrelay.Application
	until time.Time
}

// NewAlerts returns Alerts for cfg.
func NewAlerts(cfg AlertsConfig) *Alerts {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RetrySchedule == nil {
		cfg.RetrySchedule = delivery.DefaultRetrySchedule
	}
	return &Alerts{
		cfg:        cfg,
		log:        cfg.Logger,
		checks:     make(map[string]endpointCheck),
		signal:     make(chan struct{}, 1),
		apps:       make(map[string]cachedApp),
		quietUntil: make(map[string]time.Time),
	}
}

// AttemptEvents returns the message.attempt.* events that one committed
// attempt result raises, given the default retry schedule:
//
//   - failing: scheduled attempt number FailingAttempt failed against the
//     receiver;
//   - exhausted: the attempt after the last step of the schedule (the
//     endpoint's own, or schedule) failed against the receiver, and the
//     delivery failed;
//   - recovered: a scheduled attempt after attempt FailingAttempt
//     succeeded (so the delivery had reported failing, unless that
//     attempt's failure was not the receiver's).
//
// Manual attempts (resends) raise none. Each count is reached once by a
// delivery's scheduled attempts, so each event is raised once per delivery
// (a recovered delivery that fails again after a recover task does not
// raise exhausted twice).
func AttemptEvents(task *store.Task, r *store.AttemptResult, schedule []time.Duration) []string {
	a := &r.Attempt
	if a.TriggerType != hookrelay.TriggerScheduled {
		return nil
	}
	if task.Endpoint.Options.RetrySchedule != nil {
		schedule = task.Endpoint.Options.RetrySchedule
	}
	var out []string
	switch {
	case a.Outcome == hookrelay.OutcomeSuccess:
		if r.Attempts > FailingAttempt {
			out = append(out, EventMessageAttemptRecovered)
		}
	case a.Outcome.AgainstReceiver():
		if r.Attempts == FailingAttempt {
			out = append(out, EventMessageAttemptFailing)
		}
		if r.Status == hookrelay.StatusFail && r.Attempts == len(schedule)+1 {
			out = append(out, EventMessageAttemptExhausted)
		}
	}
	return out
}

// AttemptRecorded queues what the committed result raises. It never
// blocks on the store.
func (al *Alerts) AttemptRecorded(task store.Task, r store.AttemptResult) {
	a := &r.Attempt
	events := AttemptEvents(&task, &r, al.cfg.RetrySchedule)
	var check *endpointCheck
	switch {
	case al.cfg.DisableAfter <= 0:
	case a.Outcome == hookrelay.OutcomeSuccess:
		al.quietMu.Lock()
		delete(al.quietUntil, a.EndpointID)
		al.quietMu.Unlock()
	case a.Outcome.AgainstReceiver():
		check = &endpointCheck{appID: a.AppID, endpointID: a.EndpointID, endpointUID: task.Endpoint.UID,
			gone: a.Outcome == hookrelay.OutcomeRejected && a.ResponseStatusCode == 410}
		if !check.gone && !al.mayDisable(a.EndpointID) {
			check = nil
		}
	}
	if len(events) == 0 && check == nil {
		return
	}
	al.mu.Lock()
	for _, t := range events {
		if len(al.events) >= maxPendingAlerts {
			al.dropped++
			continue
		}
		al.events = append(al.events, pendingEvent{
			eventType: t,
			appID:     a.AppID,
			msg:       hookrelay.Message{ID: task.Message.ID, EventID: task.Message.EventID},
			last: hookrelay.Attempt{ID: a.ID, EndpointID: a.EndpointID,
				ResponseStatusCode: a.ResponseStatusCode, CreatedAt: a.CreatedAt},
		})
	}
	if check != nil {
		if prev, ok := al.checks[check.endpointID]; ok && prev.gone {
			check.gone = true
		}
		al.checks[check.endpointID] = *check
	}
	al.mu.Unlock()
	select {
	case al.signal <- struct{}{}:
	default:
	}
}

// mayDisable reports whether the endpoint's status may by now allow it to
// be disabled, as far as this node knows.
func (al *Alerts) mayDisable(endpointID string) bool {
	al.quietMu.Lock()
	defer al.quietMu.Unlock()
	until, ok := al.quietUntil[endpointID]
	return !ok || !al.cfg.Now().Before(until)
}

// Run publishes queued events through events (nil publishes nothing) and
// disables endpoints, until ctx is cancelled.
func (al *Alerts) Run(ctx context.Context, events *Emitter) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-al.signal:
		}
		al.mu.Lock()
		pending, checks, dropped := al.events, al.checks, al.dropped
		al.events, al.checks, al.dropped = nil, make(map[string]endpointCheck), 0
		al.mu.Unlock()
		if dropped > 0 {
			al.log.Error("operational events dropped: too many waiting", "events", dropped)
		}
		for _, c := range checks {
			al.check(ctx, events, c)
		}
		for i := range pending {
			al.publish(ctx, events, &pending[i])
		}
	}
}

func (al *Alerts) publish(ctx context.Context, events *Emitter, e *pendingEvent) {
	app, err := al.app(ctx, e.appID)
	if err != nil {
		if !errors.Is(err, hookrelay.ErrNotFound) {
			al.log.Error("operational webhook not sent", "event_type", e.eventType, "app", e.appID, "err", err)
		}
		return
	}
	switch e.eventType {
	case EventMessageAttemptFailing:
		_ = events.MessageAttemptFailing(ctx, app, &e.msg, &e.last)
	case EventMessageAttemptExhausted:
		_ = events.MessageAttemptExhausted(ctx, app, &e.msg, &e.last)
	case EventMessageAttemptRecovered:
		_ = events.MessageAttemptRecovered(ctx, app, &e.msg, &e.last)
	}
}

// check disables c's endpoint when it answered 410 Gone, or when it has
// failed against the receiver without a success for DisableAfter, and
// reports it when this call is the one that disabled it.
func (al *Alerts) check(ctx context.Context, events *Emitter, c endpointCheck) {
	st, err := al.cfg.Store.GetEndpointStatus(ctx, c.appID, c.endpointID)
	if err != nil {
		if !errors.Is(err, hookrelay.ErrNotFound) {
			al.log.Error("endpoint status", "app", c.appID, "endpoint", c.endpointID, "err", err)
		}
		return
	}
	if st.FailingSince == nil {
		// A success came since.
		return
	}
	now := al.cfg.Now()
	if due := st.FailingSince.Add(al.cfg.DisableAfter); !c.gone && now.Before(due) {
		al.quietMu.Lock()
		if len(al.quietUntil) >= emitterCacheMax {
			clear(al.quietUntil)
		}
		al.quietUntil[c.endpointID] = due
		al.quietMu.Unlock()
		return
	}
	disabled, err := al.cfg.Store.DisableEndpoint(ctx, c.appID, c.endpointID, disabledReason(c, st, now))
	if err != nil {
		if !errors.Is(err, hookrelay.ErrNotFound) {
			al.log.Error("disable endpoint", "app", c.appID, "endpoint", c.endpointID, "err", err)
		}
		return
	}
	if !disabled {
		return // already disabled, by someone else or by hand
	}
	reason := "failing without a success"
	if c.gone {
		reason = "410 Gone"
	}
	al.log.Warn("endpoint disabled", "app", c.appID, "endpoint", c.endpointID, "reason", reason,
		"failing_since", *st.FailingSince, "consecutive_failures", st.ConsecutiveFailures)
	app, err := al.app(ctx, c.appID)
	if err != nil {
		al.log.Error("operational webhook not sent", "event_type", EventEndpointDisabled, "app", c.appID, "err", err)
		return
	}
	ep := hookrelay.Endpoint{ID: c.endpointID, AppID: c.appID, UID: c.endpointUID}
	_ = events.EndpointDisabled(ctx, app, &ep, DisabledAutomatic, st.FailingSince)
}

// disabledReason is what check stores with the endpoint it disables at
// now: the cause (a 410 Gone, else failing for too long) and the run of
// failures its status row holds, its last attempt included.
func disabledReason(c endpointCheck, st *store.EndpointStatus, now time.Time) hookrelay.DisabledReason {
	r := hookrelay.DisabledReason{Cause: hookrelay.DisabledFailing, At: now, FailingSince: st.FailingSince,
		Failures: st.ConsecutiveFailures, LastOutcome: st.LastOutcome, LastStatusCode: st.LastStatusCode}
	if c.gone {
		r.Cause = hookrelay.DisabledGone
	}
	return r
}

// app returns the application appID, read at most every alertAppTTL.
func (al *Alerts) app(ctx context.Context, appID string) (*hookrelay.Application, error) {
	now := al.cfg.Now()
	if c, ok := al.apps[appID]; ok && now.Before(c.until) {
		return c.app, nil
	}
	app, err := al.cfg.Store.LookupApplication(ctx, appID)
	if err != nil {
		return nil, err
	}
	if len(al.apps) >= emitterCacheMax {
		clear(al.apps)
	}
	al.apps[appID] = cachedApp{app: app, until: now.Add(alertAppTTL)}
	return app, nil
}
