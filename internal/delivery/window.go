package delivery

import (
	"time"

	"github.com/hookrelay/hookrelay"
)

// The adaptive window of an endpoint: how many requests it may have in
// flight on this node, between one and its cap. It is additive-increase,
// multiplicative-decrease, like TCP's congestion window:
//
//   - slow start: a new endpoint (or one that just stopped answering) may
//     have one request in flight; its first good answer ever opens the
//     window to initialWindow (as TCP opens a new connection at ten
//     segments, RFC 6928: the endpoint has shown it is there and answers);
//     from then on every good answer adds one, so the window doubles every
//     round trip, up to the threshold the last cut left (none at first);
//   - past the threshold, a window's worth of good answers adds one;
//   - an answer that says the receiver is overloaded (429 or any 5xx)
//     halves the window, at most once a round trip: answers to requests
//     sent before the last cut do not cut again, they could not know of it;
//   - an answer that comes while the endpoint's recent answer times have
//     risen well above their long-run level scales the window down by the
//     ratio of the two (a gradient, as in Netflix's concurrency limits),
//     which at least halves it, also at most once a round trip: when
//     answers take a hundred times longer than they did, one cut takes the
//     window down near one, without waiting a slow round trip per halving;
//   - no answer at all (timeout, refused, reset) drops the window to one.
//
// Answer times are followed by two moving averages, a short one (the last
// few answers) and a long one (the last few dozen): latency has risen when
// the short one is more than latencyTolerance times the long one and more
// than latencyFloor above it. The floor keeps scheduling noise on
// receivers that answer in a millisecond from cutting their windows; the
// ratio keeps receivers whose answer times vary widely (50 to 500 ms) from
// reading their own spread as congestion. An endpoint that stays slow
// becomes the new normal as the long average catches up, and its window
// grows again.
const (
	latencyTolerance = 2
	latencyFloor     = 50 * time.Millisecond
	// shortWeight and longWeight are the weights of a new answer time in
	// the short and the long average, as 1/n.
	shortWeight = 4
	longWeight  = 32
	// initialWindow is the window an endpoint's first good answer opens:
	// at the default cap of 16 and receivers 200 ms away, a burst to a
	// new endpoint runs at its cap after two round trips instead of five.
	initialWindow = 8
)

// window is one endpoint's adaptive concurrency controller. It is pure: the
// caller gives it every finished attempt with the time it finished.
type window struct {
	size     int // requests allowed in flight, before the cap; at least 1
	ssthresh int // size up to which every good answer adds one; 0 for no bound
	acked    int // good answers since size last grew past ssthresh
	// short and long are moving averages of answer times; zero before the
	// first answer.
	short, long time.Duration
	cutAt       time.Time // when the window was last cut
}

// newWindow returns the window of an endpoint seen for the first time: one
// request in flight until it answers.
func newWindow() window { return window{size: 1} }

// overloadStatus reports whether an HTTP status asks the sender to slow
// down: 429 Too Many Requests or any server error.
func overloadStatus(code int) bool {
	return code == 429 || (code >= 500 && code <= 599)
}

// settle adjusts the window to one attempt that finished at now after
// took, with outcome kind and response status (0 without a response), at
// most limit in flight. An attempt that sent nothing (refused by policy, or
// failed on hookrelay's side) says nothing of the receiver and changes
// nothing.
func (w *window) settle(now time.Time, kind hookrelay.OutcomeKind, status int, took time.Duration, limit int) {
	limit = max(limit, 1)
	switch {
	case kind == hookrelay.OutcomeUnanswered:
		w.ssthresh = max(w.size/2, 2)
		w.size, w.acked = 1, 0
		w.cutAt = now
		return
	case !kind.Answered():
		return
	}
	first := w.long == 0 && w.ssthresh == 0 // never answered, never cut
	w.observe(took)
	sentAt := now.Add(-took)
	stale := sentAt.Before(w.cutAt) // sent before the last cut
	switch {
	case overloadStatus(status):
		if !stale {
			w.cut(now, w.size/2)
		}
	case w.congested():
		if !stale {
			w.cut(now, int(int64(w.size)*int64(w.long)/int64(w.short)))
		}
	case first:
		w.size = max(w.size+1, initialWindow)
	default:
		w.grow(limit)
	}
	w.size = min(w.size, limit)
}

func (w *window) observe(took time.Duration) {
	if w.long == 0 {
		w.short, w.long = took, took
		return
	}
	w.short += (took - w.short) / shortWeight
	w.long += (took - w.long) / longWeight
}

// congested reports whether recent answers take well over their long-run
// time.
func (w *window) congested() bool {
	return w.short > latencyTolerance*w.long && w.short-w.long > latencyFloor
}

func (w *window) cut(now time.Time, to int) {
	w.size = max(to, 1)
	w.ssthresh = max(w.size, 2)
	w.acked = 0
	w.cutAt = now
}

func (w *window) grow(limit int) {
	if w.size >= limit {
		w.acked = 0
		return
	}
	if w.ssthresh == 0 || w.size < w.ssthresh {
		w.size++
		return
	}
	w.acked++
	if w.acked >= w.size {
		w.size++
		w.acked = 0
	}
}
