package delivery

import (
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

const (
	// quickAnswer is the answer time under which an endpoint is held more
	// work (see holdCap), until an answer takes slowAnswer or none comes;
	// between the two it stays as it was, so that a busy moment does not
	// halve the hold cap and strand work already held.
	quickAnswer = 20 * time.Millisecond
	slowAnswer  = 200 * time.Millisecond
)

// endpointState is this node's view of one endpoint: its requests in flight
// and the claimed deliveries waiting for a slot or for their send time.
// The dispatcher's loop owns it.
type endpointState struct {
	id       string
	cap      int // most requests in flight while the endpoint answers
	inFlight int
	// win is the adaptive window: how many requests the endpoint may have
	// in flight short of its cap (see window.go).
	win     window
	quick   bool // answers come within quickAnswer (and none has since taken slowAnswer)
	queue   []heldTask
	perSec  int       // rate limit, 0 for none
	readyAt time.Time // the head of the queue may not go before then
	// lastLocalSlot is the latest send time given out here, for spacing
	// when the store cannot reserve slots.
	lastLocalSlot time.Time
}

// heldTask is a claimed delivery waiting on this node. notBefore is its
// send slot under the endpoint's rate limit, reserved in the store so that
// all nodes together keep the rate; zero without a limit.
type heldTask struct {
	task      *store.Task
	notBefore time.Time
}

// limit is the most requests the endpoint may have in flight now: its
// adaptive window, within its cap. An endpoint seen for the first time, or
// whose last request got no response (timeout, connection refused or
// reset), gets one request at a time: a dead endpoint's requests each hold
// a worker until they time out, and at full cap a few dead endpoints would
// take every worker of the node before the first of their timeouts.
func (e *endpointState) limit() int {
	return max(1, min(e.cap, e.win.size))
}

// settle adjusts the endpoint to one attempt that finished at now after
// took, with outcome kind and response status (see window.settle). An
// attempt that sent nothing, refused by policy or failed on hookrelay's
// side, says nothing of the receiver and changes nothing.
func (e *endpointState) settle(now time.Time, kind hookrelay.OutcomeKind, status int, took time.Duration) {
	e.win.settle(now, kind, status, took, e.cap)
	switch {
	case kind == hookrelay.OutcomeUnanswered:
		e.quick = false
	case kind.Answered():
		switch {
		case took < quickAnswer:
			e.quick = true
		case took >= slowAnswer:
			e.quick = false
		}
	}
}

// holdCap is the most deliveries of the endpoint held at once, in flight or
// waiting: up to one more round of its current limit, three more when it
// answers within quickAnswer (those rounds are gone in a few tens of
// milliseconds, sooner than claims could keep it busy), and no more than a
// quarter second of its rate (at least one). Held work counts against the
// node's budget, so work waiting for a slow endpoint or a send slot must
// stay small or it would crowd out other endpoints.
func (e *endpointState) holdCap() int {
	n := 2 * e.limit()
	if e.quick {
		n = 4 * e.limit()
	}
	if e.perSec > 0 {
		n = min(n, max(1, e.perSec/4))
	}
	return n
}

// full reports whether claiming more for this endpoint now would only make
// it wait here: it holds its hold cap, or already has work waiting for
// half of its limit's slots. Claiming before its queue is empty keeps an
// endpoint at its limit while a claim runs: a claim takes milliseconds on
// SQLite but tens on PostgreSQL, and a far endpoint at its limit of 16
// frees a slot every few milliseconds.
func (e *endpointState) full() bool {
	return e.inFlight+len(e.queue) >= e.holdCap() || len(e.queue) >= max(1, e.limit()/2)
}

// endpoint returns the state of t's endpoint, updated from the endpoint as
// the store returned it with t.
func (r *run) endpoint(t *store.Task, now time.Time) *endpointState {
	e := &t.Endpoint
	ep := r.eps[e.ID]
	if ep == nil {
		ep = &endpointState{id: e.ID, win: newWindow()}
		r.eps[e.ID] = ep
	}
	r.dirty[ep] = true
	// The cap holds for all nodes together: each takes its share.
	ep.cap = r.cfg.MaxInFlightPerEndpoint
	if e.Options.MaxInFlight > 0 {
		ep.cap = e.Options.MaxInFlight
	}
	if n := int(r.liveNodes.Load()); n > 1 {
		ep.cap = max(1, ep.cap/n)
	}
	// An endpoint without a rateLimit of its own has its application's.
	rate := e.RateLimit
	if rate == nil {
		rate = t.AppRateLimit
	}
	perSec := 0
	if rate != nil && *rate > 0 {
		perSec = *rate
	}
	ep.perSec = perSec
	return ep
}

// sweep forgets endpoints with nothing in flight or waiting.
func (r *run) sweep(now time.Time) {
	r.lastSweep = now
	for id, ep := range r.eps {
		if ep.inFlight > 0 || len(ep.queue) > 0 || r.dirty[ep] {
			continue
		}
		delete(r.eps, id)
		r.gate.forget(id)
	}
}
