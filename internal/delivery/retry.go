package delivery

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// result turns the outcome of an attempt of t into what CompleteAttempts
// records (see decide), and logs the attempt at debug level.
func (d *Dispatcher) result(owner string, t *store.Task, o outcome) store.AttemptResult {
	res := d.decide(owner, t, o)
	d.logAttempt(&res, o)
	return res
}

// logAttempt logs one attempt at debug level by its identifiers and
// outcome only: never the payload, the URL, headers or the response.
func (d *Dispatcher) logAttempt(res *store.AttemptResult, o outcome) {
	if d.cfg.Logger == nil || !d.cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	a := &res.Attempt
	trigger := "scheduled"
	if a.TriggerType == hookrelay.TriggerManual {
		trigger = "manual"
	}
	var outcome string
	switch {
	case res.Status == hookrelay.StatusSuccess:
		outcome = "success"
	case o.postpone > 0:
		outcome = "postponed"
	case res.Status == hookrelay.StatusPending:
		outcome = "retry"
	case o.final:
		outcome = "failed: endpoint disabled"
	default:
		outcome = "failed: no attempts left"
	}
	attrs := []slog.Attr{
		slog.String("msg_id", a.MsgID),
		slog.String("endpoint_id", a.EndpointID),
		slog.String("app_id", a.AppID),
		slog.String("delivery_id", a.DeliveryID),
		slog.String("attempt_id", a.ID),
		slog.Int("attempt", res.Attempts),
		slog.String("trigger", trigger),
		slog.Int("status_code", a.ResponseStatusCode),
		slog.String("kind", a.Outcome.String()),
		slog.Duration("duration", o.duration),
		slog.String("outcome", outcome),
	}
	if res.NextAttempt != nil {
		attrs = append(attrs, slog.Time("next_attempt", *res.NextAttempt))
	}
	d.cfg.Logger.LogAttrs(context.Background(), slog.LevelDebug, "delivery attempt", attrs...)
}

// decide turns the outcome of an attempt of t into what CompleteAttempts
// records: the attempt and the delivery's next step.
//
// A scheduled attempt is attempt number k = Delivery.Attempts+1. When it
// fails and k <= len(schedule) the delivery is retried after schedule[k-1]
// (± jitter), or after the response's Retry-After when it has one; when
// k > len(schedule) the delivery fails.
//
// A manual attempt (resend) does not count. When it fails, the delivery
// goes on with the schedule while scheduled attempts remain, by the same
// rule with k = Delivery.Attempts; a delivery with no scheduled attempt yet
// waits schedule[0] before its first one.
//
// An outcome with a postpone (hookrelay's own failure, no fault of the
// delivery) does not count either: the delivery is due again after the
// postpone, its attempts unchanged, whatever its trigger.
func (d *Dispatcher) decide(owner string, t *store.Task, o outcome) store.AttemptResult {
	manual := t.Delivery.Manual
	trigger := hookrelay.TriggerScheduled
	attempts := t.Delivery.Attempts
	if manual {
		trigger = hookrelay.TriggerManual
	} else {
		attempts++
	}
	status := hookrelay.StatusFail
	if o.ok() {
		status = hookrelay.StatusSuccess
	}
	res := store.AttemptResult{
		Owner: owner,
		Attempt: hookrelay.Attempt{
			ID:                 hookrelay.NewID(hookrelay.PrefixAttempt),
			DeliveryID:         t.Delivery.ID,
			MsgID:              t.Delivery.MsgID,
			AppID:              t.Delivery.AppID,
			EndpointID:         t.Delivery.EndpointID,
			URL:                hookrelay.URLWithoutUserinfo(t.Endpoint.URL),
			Status:             status,
			ResponseStatusCode: o.statusCode,
			Outcome:            o.kind,
			Response:           o.response,
			ResponseDurationMs: o.duration.Milliseconds(),
			TriggerType:        trigger,
			CreatedAt:          o.start,
		},
		Status:   hookrelay.StatusSuccess,
		Attempts: attempts,
	}
	if o.ok() {
		return res
	}
	if o.postpone > 0 {
		next := d.cfg.Now().Add(o.postpone)
		res.Status = hookrelay.StatusPending
		res.NextAttempt = &next
		res.Attempts = t.Delivery.Attempts
		return res
	}
	res.Status = hookrelay.StatusFail
	if o.final {
		return res
	}
	schedule := d.cfg.RetrySchedule
	if t.Endpoint.Options.RetrySchedule != nil {
		schedule = t.Endpoint.Options.RetrySchedule
	}
	k := attempts
	if manual && k == 0 {
		k = 1
	}
	if k > len(schedule) {
		return res
	}
	delay := o.retryAfter
	if delay == 0 {
		delay = jitter(schedule[k-1], d.cfg.Jitter)
	}
	next := d.cfg.Now().Add(delay)
	res.Status = hookrelay.StatusPending
	res.NextAttempt = &next
	return res
}

// jitter returns d moved at random by up to ±frac of itself.
func jitter(d time.Duration, frac float64) time.Duration {
	if frac <= 0 || d <= 0 {
		return d
	}
	f := 1 + frac*(2*rand.Float64()-1)
	return time.Duration(float64(d) * f)
}
