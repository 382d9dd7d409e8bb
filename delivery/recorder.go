package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookrelay/hookrelay/store"
)

const (
	// recordBatch is the most results committed in one CompleteAttempts.
	recordBatch = 256
	// recordTimeout bounds one CompleteAttempts call.
	recordTimeout = 30 * time.Second
	// poisonStrikes is how many times a result may fail alone, while the
	// store otherwise answers, before it is dropped (for example because
	// its delivery was deleted meanwhile).
	poisonStrikes = 5
)

// recorded is one result waiting to be committed.
type recorded struct {
	task    *store.Task
	result  store.AttemptResult
	strikes int
}

// recorder commits attempt results in groups: it waits for one result, then
// takes every result queued meanwhile (up to recordBatch) and records them
// with one CompleteAttempts. When the store fails it keeps the results and
// retries with backoff; results are dropped only when abort is closed (the
// dispatcher gave up flushing at shutdown) or when one result alone keeps
// failing while the store answers.
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

// commit records batch. When that fails while the store answers pings, it
// records the results one by one so that one bad result (its delivery
// deleted meanwhile, say) cannot hold back the others, and counts a strike
// against each result that fails alone. It returns the results that are
// done with (committed, or dropped after poisonStrikes) and whether the
// store looks unreachable.
func (r *recorder) commit(batch []*recorded) (done []*recorded, storeDown bool) {
	err := r.complete(batch)
	if err == nil {
		return batch, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	pingErr := r.q.Ping(ctx)
	cancel()
	if pingErr != nil {
		r.log.Error("record attempts failed; will retry", "results", len(batch), "err", err)
		return nil, true
	}
	r.log.Warn("record attempts failed while the store answers; recording one by one", "results", len(batch), "err", err)
	for _, x := range batch {
		if len(batch) > 1 {
			err = r.complete([]*recorded{x})
		}
		if err == nil {
			done = append(done, x)
			continue
		}
		x.strikes++
		if x.strikes >= poisonStrikes {
			r.log.Error("dropping attempt result that the store keeps refusing",
				"delivery", x.result.Attempt.DeliveryID, "msg", x.result.Attempt.MsgID,
				"endpoint", x.result.Attempt.EndpointID, "err", err)
			done = append(done, x)
		}
	}
	return done, false
}

func (r *recorder) complete(batch []*recorded) error {
	results := make([]store.AttemptResult, len(batch))
	for i, x := range batch {
		results[i] = x.result
	}
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	return r.q.CompleteAttempts(ctx, results)
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
