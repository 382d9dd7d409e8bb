package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

const (
	// recordBatch is the most results committed in one CompleteAttempts.
	recordBatch = 256
	// recordTimeout bounds one CompleteAttempts call.
	recordTimeout = 30 * time.Second
	// notStoredPrefix starts the reason recorded in place of a response
	// body that the store refused.
	notStoredPrefix = "response not stored: "
	// maxReasonError is the most bytes of a store error quoted in that
	// reason.
	maxReasonError = 200
)

// recorded is one result waiting to be committed.
type recorded struct {
	task   *store.Task
	result store.AttemptResult
	// refused counts the times the store refused this result alone; a
	// refused result is recorded alone from then on.
	refused int
	// bodyDropped is set once the response body has been replaced by
	// the reason it could not be stored.
	bodyDropped bool
}

// recorder commits attempt results in groups: it waits for one result, then
// takes every result queued meanwhile (up to recordBatch) and records them
// with one CompleteAttempts. No result is given up while the dispatcher
// runs, and none is left to lapse: a result not yet recorded keeps its
// delivery leased (the dispatcher extends the leases of every delivery
// counted in leased), so its message is never sent again because its
// result could not be written.
//
// When a batch fails while the store answers pings, the batch is tried
// once more, then its results are recorded one by one; a result the store
// still refuses is recorded with its response body replaced by the reason
// ("response not stored: ..."), so that the attempt and the delivery's new
// status are written whatever the body held. When the store does not
// answer (or a call runs out of time), or refuses even that, the results
// are kept and retried with backoff, logged at error level. Results are dropped only when abort is
// closed (the dispatcher gave up flushing at shutdown).
type recorder struct {
	q        Queue
	observer Observer
	log      *slog.Logger
	leased   *atomic.Int64 // decremented as results are committed

	mu      sync.Mutex
	pending []*recorded
	closed  bool
	signal  chan struct{}
	abort   chan struct{}

	// onRetry, when set, is called after a commit with the earliest retry
	// time among the committed results that are pending.
	onRetry func(time.Time)
	// failures, when set, counts failed CompleteAttempts calls.
	failures *atomic.Uint64

	// backoff bounds, shortened by tests.
	minBackoff, maxBackoff time.Duration
}

func newRecorder(q Queue, obs Observer, log *slog.Logger, leased *atomic.Int64) *recorder {
	return &recorder{
		q:          q,
		observer:   obs,
		log:        log,
		leased:     leased,
		signal:     make(chan struct{}, 1),
		abort:      make(chan struct{}),
		minBackoff: 100 * time.Millisecond,
		maxBackoff: 5 * time.Second,
	}
}

// add queues a result; it never blocks on the store.
func (r *recorder) add(task *store.Task, result store.AttemptResult) {
	r.mu.Lock()
	r.pending = append(r.pending, &recorded{task: task, result: result})
	r.mu.Unlock()
	r.notify()
}

func (r *recorder) notify() {
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// close makes run return once everything queued is committed.
func (r *recorder) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.notify()
}

// backlog is the number of results not yet committed.
func (r *recorder) backlog() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// run commits results until close has been called and nothing is left, or
// until abort is closed, in which case it returns an error naming how many
// results were not recorded.
func (r *recorder) run() error {
	backoff := time.Duration(0)
	for {
		r.mu.Lock()
		n := min(len(r.pending), recordBatch)
		batch := append([]*recorded(nil), r.pending[:n]...)
		closed := r.closed
		r.mu.Unlock()
		if n == 0 {
			if closed {
				return nil
			}
			select {
			case <-r.signal:
			case <-r.abort:
			}
			if r.aborted() {
				return r.dropAll()
			}
			continue
		}
		if r.aborted() {
			return r.dropAll()
		}
		done, storeDown := r.commit(batch)
		if len(done) > 0 {
			backoff = 0
			r.remove(done)
			r.leased.Add(-int64(len(done)))
			if r.onRetry != nil {
				var first time.Time
				for _, x := range done {
					if next := x.result.NextAttempt; next != nil && (first.IsZero() || next.Before(first)) {
						first = *next
					}
				}
				if !first.IsZero() {
					r.onRetry(first)
				}
			}
			if r.observer != nil {
				for _, x := range done {
					r.observer.AttemptRecorded(*x.task, x.result)
				}
			}
		}
		if len(done) == len(batch) {
			continue
		}
		if storeDown {
			backoff = min(max(2*backoff, r.minBackoff), r.maxBackoff)
		} else {
			backoff = r.minBackoff
		}
		select {
		case <-time.After(backoff):
		case <-r.abort:
		}
	}
}

// commit records batch and returns the results that are done with, and
// whether the store looks unreachable. Results never refused go in one
// CompleteAttempts; while the store accepts everything that is the only
// store call, and the fallbacks run only on failure.
func (r *recorder) commit(batch []*recorded) (done []*recorded, storeDown bool) {
	fresh, alone := batch, []*recorded(nil)
	if slices.ContainsFunc(batch, func(x *recorded) bool { return x.refused > 0 }) {
		fresh = nil
		for _, x := range batch {
			if x.refused > 0 {
				alone = append(alone, x)
			} else {
				fresh = append(fresh, x)
			}
		}
	}
	if len(fresh) > 0 {
		err := r.complete(fresh)
		if err == nil && len(alone) == 0 {
			return fresh, false
		}
		if err != nil {
			if r.unreachable(err) {
				r.log.Error("record attempts failed and the store does not answer; keeping the results and their leases, will retry",
					"results", len(batch), "err", err)
				return nil, true
			}
			// The store answers: the failure may have been passing (a
			// deadlock, a connection lost mid-statement).
			err = r.complete(fresh)
		}
		switch {
		case err == nil:
			done = append(done, fresh...)
		case len(fresh) == 1:
			// Refused alone already.
			ok, down := r.recordAlone(fresh[0], err)
			if down {
				return done, true
			}
			if ok {
				done = append(done, fresh[0])
			}
		default:
			r.log.Warn("record attempts failed twice while the store answers; recording one by one",
				"results", len(fresh), "err", err)
			alone = append(fresh, alone...)
		}
	}
	for _, x := range alone {
		ok, down := r.recordAlone(x, nil)
		if down {
			return done, true
		}
		if ok {
			done = append(done, x)
		}
	}
	return done, len(done) == 0
}

// recordAlone records x by itself, unless refused is the error the store
// has just given for x alone while answering pings. If the store refuses
// x while it answers, x is recorded again with its response body replaced
// by the reason. It reports whether x is recorded, or that the store does
// not answer.
func (r *recorder) recordAlone(x *recorded, refused error) (ok, storeDown bool) {
	err := refused
	if err == nil {
		if err = r.complete([]*recorded{x}); err == nil {
			return true, false
		}
		if r.unreachable(err) {
			r.log.With(attemptIDs(&x.result.Attempt)...).Error("record attempt failed and the store does not answer; keeping the result and its lease, will retry",
				"err", err)
			return false, true
		}
	}
	a := &x.result.Attempt
	if !x.bodyDropped {
		r.log.With(attemptIDs(a)...).Warn("the store refused an attempt result; recording it without its response body",
			"code", a.ResponseStatusCode, "bytes", len(a.Response), "err", err)
		a.Response = notStoredPrefix + shortError(err)
		x.bodyDropped = true
		if err = r.complete([]*recorded{x}); err == nil {
			return true, false
		}
	}
	x.refused++
	r.log.With(attemptIDs(a)...).Error("attempt result not recorded; its delivery stays leased and recording is retried",
		"tries", x.refused, "err", err)
	return false, false
}

// attemptIDs are the log attributes that name an attempt, under the keys
// of the debug attempt log (logAttempt): its application, endpoint,
// message, delivery and attempt IDs.
func attemptIDs(a *hookrelay.Attempt) []any {
	return []any{"app_id", a.AppID, "endpoint_id", a.EndpointID, "msg_id", a.MsgID,
		"delivery_id", a.DeliveryID, "attempt_id", a.ID}
}

// unreachable tells whether err, a failed CompleteAttempts, means that the
// store is out of reach rather than refusing what it was given: the call
// ran out of time, or the store does not answer a ping.
func (r *recorder) unreachable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.q.Ping(ctx) != nil
}

// shortError is err's text as clean text of at most maxReasonError bytes.
func shortError(err error) string {
	msg := hookrelay.CleanText(err.Error())
	if len(msg) <= maxReasonError {
		return msg
	}
	cut := maxReasonError
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "..."
}

func (r *recorder) complete(batch []*recorded) error {
	results := make([]store.AttemptResult, len(batch))
	for i, x := range batch {
		results[i] = x.result
	}
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	err := r.q.CompleteAttempts(ctx, results)
	if err != nil && r.failures != nil {
		r.failures.Add(1)
	}
	return err
}

// remove takes done out of pending, keeping the order of the rest.
func (r *recorder) remove(done []*recorded) {
	gone := make(map[*recorded]bool, len(done))
	for _, x := range done {
		gone[x] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	kept := r.pending[:0]
	for _, x := range r.pending {
		if !gone[x] {
			kept = append(kept, x)
		}
	}
	clear(r.pending[len(kept):])
	r.pending = kept
}

func (r *recorder) aborted() bool {
	select {
	case <-r.abort:
		return true
	default:
		return false
	}
}

func (r *recorder) dropAll() error {
	r.mu.Lock()
	n := len(r.pending)
	r.pending = nil
	r.mu.Unlock()
	if n == 0 {
		return nil
	}
	return fmt.Errorf("record attempts: %d results not recorded: %w", n, errStoreUnavailable)
}

var errStoreUnavailable = errors.New("store unavailable at shutdown")
