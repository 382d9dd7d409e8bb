package delivery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

const (
	// storeTimeout bounds the dispatcher's own store calls (claim, release,
	// lease extension, next due).
	storeTimeout = 10 * time.Second
	// idleSweep is how often idle endpoint state is dropped.
	idleSweep = time.Minute
	// disabledPark is how long a due delivery of a disabled endpoint is
	// set aside by a claim (store.ClaimParams.ParkUntil): enabling the
	// endpoint resumes it at once, and a delivery whose resumption was
	// missed is looked at again after this long.
	disabledPark = time.Hour
)

// Dispatcher claims due deliveries and sends them. Create it with
// NewDispatcher and start it with Run.
type Dispatcher struct {
	cfg     Config
	sender  attemptSender
	wake    chan struct{}
	running atomic.Bool
	cur     atomic.Pointer[run] // the running run, nil when stopped
	stats   dispatchStats       // see Stats
}

// attemptSender makes the attempts: the dispatcher's one way out, so that
// it can be tested without sockets. send makes one attempt of t and returns
// its outcome, with its kind set unless cancelled; it is called from many
// goroutines at once, and ctx is cancelled at shutdown (the outcome is
// then cancelled). closeIdle is called once Run has stopped sending.
type attemptSender interface {
	send(ctx context.Context, t *store.Task) outcome
	closeIdle()
}

// NewDispatcher returns a dispatcher for cfg; zero fields take the defaults.
func NewDispatcher(cfg Config) *Dispatcher {
	cfg = cfg.withDefaults()
	return newDispatcher(cfg, newSender(cfg))
}

// newDispatcher returns a dispatcher for cfg, defaults applied, that sends
// with s.
func newDispatcher(cfg Config, s attemptSender) *Dispatcher {
	return &Dispatcher{
		cfg:    cfg,
		sender: s,
		wake:   make(chan struct{}, 1),
	}
}

// Wake tells the dispatcher that deliveries may be due now (a message was
// published or resent). It never blocks; wake-ups that come while one is
// pending are merged.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is cancelled. It then stops claiming, releases the
// deliveries it holds but has not started, lets requests in flight finish
// for up to ShutdownGrace before cancelling and releasing them, records
// every finished attempt and returns. It returns an error when the store is
// missing, when Run is already running, or when attempt results could not
// be recorded before shutdown ended; the store being unreachable while
// running is logged and retried, not returned.
func (d *Dispatcher) Run(ctx context.Context) error {
	if d.cfg.Store == nil {
		return errors.New("delivery: no store")
	}
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("delivery: dispatcher already running")
	}
	defer d.running.Store(false)
	defer d.sender.closeIdle()
	return newRun(d).run(ctx)
}

// Handoff returns lease parameters that let a publish on this node lease
// its new deliveries to this dispatcher directly (see store.LeaseParams),
// or nil when the dispatcher is not running or has no room. Deliveries so
// leased must be given to Take.
func (d *Dispatcher) Handoff() *store.LeaseParams {
	r := d.cur.Load()
	if r == nil {
		return nil
	}
	room := r.room.Load()
	if room <= 0 {
		return nil
	}
	lp := &store.LeaseParams{
		Owner: r.owner,
		Until: r.cfg.Now().Add(r.cfg.LeaseTTL),
		Max:   int(room),
	}
	r.gate.open(lp)
	return lp
}

// Take gives the dispatcher the deliveries a publish leased with lp, the
// parameters Handoff returned. Every publish that asked Handoff must call
// it once, also when it failed (with no tasks): until then the room its
// lp reserved stays taken. It never blocks on the store or on sending.
func (d *Dispatcher) Take(lp *store.LeaseParams, tasks []store.Task) {
	r := d.cur.Load()
	if r != nil && r.owner == lp.Owner {
		r.gate.settle(lp, tasks)
		if len(tasks) == 0 || r.take(tasks) {
			return
		}
	}
	if len(tasks) == 0 {
		return
	}
	// The run that leased them has stopped: give the leases back so that
	// the next dispatcher need not wait for them to expire.
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		ids[i] = t.Delivery.ID
	}
	if err := d.cfg.Store.ReleaseDeliveries(ctx, lp.Owner, ids); err != nil {
		d.cfg.Logger.Warn("release handed-off deliveries", "deliveries", len(ids), "err", err)
	}
}

// sendDone reports a finished send to the loop.
type sendDone struct {
	endpointID string
	// kind is the attempt's outcome kind (see endpointState.settle);
	// cancelled sends are no attempt and leave the endpoint as it was.
	kind      hookrelay.OutcomeKind
	cancelled bool
	status    int // the response's status code, 0 without one
	took      time.Duration
	bytes     int // the payload's size, held until now
}

// run is one Run of a dispatcher. Its fields are grouped by who may touch
// them.
type run struct {
	// Set by newRun, read-only afterwards.
	d     *Dispatcher
	cfg   Config
	q     Queue
	log   *slog.Logger
	owner string
	rec   *recorder // has its own lock

	// Owned by the loop goroutine alone.
	claims   claimPolicy
	excluded map[string]bool // endpoints the running (or last) claim left out, or filled
	freed    []string        // excluded endpoints that finished a send since the loop last looked
	// claimedFor holds the endpoints the running (or last) claim was for,
	// known here and not full when it started; none when it was for
	// endpoints not known here.
	claimedFor []*endpointState
	eps        map[string]*endpointState // see endpoint.go
	waiting    map[string]*endpointState // endpoints with queued tasks
	inFlight   int
	queued     int
	maxHeld    int                     // deliveries held at once: queued here or in flight
	heldBytes  int                     // payload size of those; past Config.MaxHeldBytes the node takes no more
	dirty      map[*endpointState]bool // endpoints changed since the gate last heard
	drained    []*store.Task           // taken over since the gate last heard
	changed    []*endpointState        // publishRoom's list of dirty, kept for reuse
	lastSweep  time.Time

	// Atomics and channels, shared with the sending, claiming and
	// publishing goroutines and the lease keeper.
	room        atomic.Int64 // how many more deliveries this node may take (Handoff)
	leased      atomic.Int64 // deliveries leased and not yet released or recorded
	liveNodes   atomic.Int64 // dispatchers alive on the store, this one included
	gate        *gate        // how many each endpoint may take at publish; has its own lock
	done        chan sendDone
	claimed     chan claimResult // where a claim running on its own goroutine reports
	sends       chan *store.Task // to idle sending goroutines
	retryWake   chan struct{}    // pokes the loop when retryAt moves
	takeWake    chan struct{}    // pokes the loop when Take queued tasks
	sendCtx     context.Context
	cancelSends context.CancelFunc
	senders     sync.WaitGroup // sends started and not finished
	bg          sync.WaitGroup // releases running on their own goroutines

	// Under retryMu: set by the recorder, taken by the loop.
	retryMu sync.Mutex
	retryAt time.Time // earliest committed retry not yet seen by the loop

	// Under takeMu: set by Take, taken by the loop.
	takeMu  sync.Mutex
	taken   []*store.Task // handed over by Take, not yet seen by the loop
	stopped bool          // the loop has ended: Take must release
}

func newRun(d *Dispatcher) *run {
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	r := &run{
		d:       d,
		cfg:     d.cfg,
		q:       d.cfg.Store,
		owner:   d.cfg.NodeID + "-" + hex.EncodeToString(suffix[:]),
		eps:     make(map[string]*endpointState),
		waiting: make(map[string]*endpointState),
		maxHeld: 4 * d.cfg.Workers,
		done:    make(chan sendDone, d.cfg.Workers),
		sends:   make(chan *store.Task),

		retryWake: make(chan struct{}, 1),
		takeWake:  make(chan struct{}, 1),
		claimed:   make(chan claimResult, 1),
		claims:    newClaimPolicy(d.cfg.PollInterval),
	}
	r.gate = newGate()
	r.dirty = make(map[*endpointState]bool)
	r.log = d.cfg.Logger.With("node", r.owner)
	r.rec = newRecorder(r.q, d.cfg.Observer, r.log, &r.leased)
	r.rec.onRetry = r.noteRetry
	r.rec.failures = &d.stats.recordErrors
	r.sendCtx, r.cancelSends = context.WithCancel(context.Background())
	return r
}

func (r *run) run(ctx context.Context) error {
	recDone := make(chan error, 1)
	go func() { recDone <- r.rec.run() }()
	stopLeases := make(chan struct{})
	leasesDone := make(chan struct{})
	r.heartbeat()
	go r.extendLeases(stopLeases, leasesDone)

	r.d.cur.Store(r)
	r.loop(ctx)

	// Shutdown: nothing new starts; waiting work goes back to the queue.
	if r.claims.claiming {
		cr := <-r.claimed
		r.claims.abandoned()
		r.leased.Add(int64(len(cr.tasks)))
		r.accept(context.Background(), cr.tasks, r.cfg.Now())
	}
	r.d.cur.Store(nil)
	r.takeMu.Lock()
	r.stopped = true
	late := r.taken
	r.taken = nil
	r.takeMu.Unlock()
	r.accept(context.Background(), late, r.cfg.Now())
	r.releaseQueued()
	grace := time.NewTimer(r.cfg.ShutdownGrace)
	defer grace.Stop()
	graceC := grace.C
	for r.inFlight > 0 {
		select {
		case sd := <-r.done:
			r.finish(sd)
		case <-graceC:
			r.log.Warn("shutdown grace over; cancelling requests in flight", "requests", r.inFlight)
			r.cancelSends()
			graceC = nil
		}
	}
	r.senders.Wait()
	close(r.sends)
	r.cancelSends()
	r.bg.Wait()

	r.rec.close()
	var err error
	flush := time.NewTimer(r.cfg.ShutdownGrace)
	select {
	case err = <-recDone:
	case <-flush.C:
		close(r.rec.abort)
		err = <-recDone
	}
	flush.Stop()
	close(stopLeases)
	<-leasesDone
	dctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	if err := r.q.DeleteNode(dctx, r.owner); err != nil {
		r.log.Warn("unregister node", "err", err)
	}
	cancel()
	if err != nil {
		r.log.Error("shutdown: attempts lost", "err", err)
	}
	return err
}

// loop claims and dispatches until ctx is cancelled.
func (r *run) loop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := r.cfg.Now()
		if tasks := r.drainTaken(); len(tasks) > 0 {
			r.accept(ctx, tasks, now)
			r.drained = append(r.drained, tasks...)
		}
		r.dispatch(now)
		r.noteFreed()
		if r.claims.should(now, r.roomToClaim()) {
			r.startClaim(ctx, now)
		}
		if now.Sub(r.lastSweep) > idleSweep {
			r.sweep(now)
		}
		r.publishRoom()
		timer.Reset(r.nextWake(now))
		select {
		case <-ctx.Done():
			return
		case <-r.takeWake:
		case cr := <-r.claimed:
			r.finishClaim(ctx, cr)
		case <-r.d.wake:
			r.claims.wake()
		case <-r.retryWake:
			r.retryMu.Lock()
			at := r.retryAt
			r.retryAt = time.Time{}
			r.retryMu.Unlock()
			r.claims.retryDue(at)
		case sd := <-r.done:
			r.finish(sd)
			// Take every completion already reported before deciding.
			for more := true; more; {
				select {
				case sd := <-r.done:
					r.finish(sd)
				default:
					more = false
				}
			}
		case <-timer.C:
		}
	}
}

// take queues tasks handed over by a publish for the loop. It reports
// false, taking nothing, once the loop has ended.
func (r *run) take(tasks []store.Task) bool {
	r.takeMu.Lock()
	if r.stopped {
		r.takeMu.Unlock()
		return false
	}
	// A publish hands over the tasks of one message, which share its
	// payload: pointing into its slice keeps nothing another task would not.
	for i := range tasks {
		r.taken = append(r.taken, &tasks[i])
	}
	r.takeMu.Unlock()
	r.leased.Add(int64(len(tasks)))
	r.room.Add(-int64(len(tasks)))
	select {
	case r.takeWake <- struct{}{}:
	default:
	}
	return true
}

func (r *run) drainTaken() []*store.Task {
	r.takeMu.Lock()
	defer r.takeMu.Unlock()
	tasks := r.taken
	r.taken = nil
	return tasks
}

// publishRoom tells publishers how much this node can still take, and the
// gate what the loop now holds for each endpoint that changed.
func (r *run) publishRoom() {
	r.takeMu.Lock()
	pending := len(r.taken)
	r.takeMu.Unlock()
	room := r.maxHeld - r.inFlight - r.queued - pending
	if r.heldBytes >= r.cfg.MaxHeldBytes {
		room = 0
	}
	r.room.Store(int64(room))

	if len(r.dirty) == 0 && len(r.drained) == 0 {
		return
	}
	for ep := range r.dirty {
		r.changed = append(r.changed, ep)
	}
	r.gate.update(r.drained, r.changed)
	clear(r.dirty)
	clear(r.drained)
	clear(r.changed)
	r.drained, r.changed = r.drained[:0], r.changed[:0]
}

// roomToClaim reports whether the node could take more work now.
func (r *run) roomToClaim() bool {
	return r.inFlight < r.cfg.Workers && r.inFlight+r.queued < r.maxHeld && r.heldBytes < r.cfg.MaxHeldBytes
}

// nextWake is how long the loop may sleep when no wake-up or completion
// comes: until a claim is due (see claimPolicy.next), or an endpoint's
// rate limit lets work go.
func (r *run) nextWake(now time.Time) time.Duration {
	at := r.claims.next(now, r.roomToClaim())
	for _, ep := range r.waiting {
		if !ep.readyAt.IsZero() && (at.IsZero() || ep.readyAt.Before(at)) {
			at = ep.readyAt
		}
	}
	if at.IsZero() {
		return time.Hour
	}
	return max(at.Sub(now), 0)
}

// claimResult is what a claim running on its own goroutine reports.
type claimResult struct {
	tasks []*store.Task
	err   error
	now   time.Time
	limit int
	// nextDue is the store's next due time, asked when the claim took less
	// than its limit; zero if unknown.
	nextDue time.Time
}

// startClaim leases, on a goroutine of its own, as many due deliveries as
// there is room for: the loop goes on dispatching meanwhile and takes the
// result from r.claimed.
func (r *run) startClaim(ctx context.Context, now time.Time) {
	// Claim no more than the endpoints this node knows can take (or, when
	// none can, one endpoint's worth for endpoints it does not know yet):
	// the store hands out the oldest due work whatever its endpoint, and
	// what an endpoint cannot take now waits here.
	var exclude []string
	excluded := make(map[string]bool)
	room := 0
	r.claimedFor = r.claimedFor[:0]
	for id, ep := range r.eps {
		if ep.full() {
			exclude = append(exclude, id)
			excluded[id] = true
			continue
		}
		room += ep.holdCap() - ep.inFlight - len(ep.queue)
		r.claimedFor = append(r.claimedFor, ep)
	}
	if room == 0 {
		room = 2 * r.cfg.MaxInFlightPerEndpoint
	}
	limit := min(r.cfg.ClaimBatch, r.maxHeld-r.inFlight-r.queued, room)
	r.claims.started(now)
	r.excluded = excluded
	go func() {
		cr := claimResult{now: now, limit: limit}
		// Not cut short by shutdown: a claim that has leased deliveries
		// must report them, or they stay leased to a stopped node until
		// their lease runs out. Run takes the result before it releases.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		defer cancel()
		tasks, err := r.q.ClaimDeliveries(cctx, store.ClaimParams{
			Owner:            r.owner,
			Now:              now,
			LeaseUntil:       now.Add(r.cfg.LeaseTTL),
			Limit:            limit,
			ExcludeEndpoints: exclude,
			ParkUntil:        now.Add(disabledPark),
		})
		cr.err = err
		// Each task on its own: a pointer into the claim's slice would keep
		// all of it, payloads included, for as long as its slowest task.
		cr.tasks = make([]*store.Task, len(tasks))
		for i := range tasks {
			t := tasks[i]
			cr.tasks[i] = &t
		}
		if cr.err == nil && len(cr.tasks) < limit {
			// A due time already past means work this node cannot take now
			// (its endpoints are full): completions and the poll interval
			// bring the next claim instead.
			due, ok, err := r.q.NextDue(cctx)
			switch {
			case err != nil && ctx.Err() == nil:
				r.log.Warn("next due", "err", err)
			case ok && due.After(now):
				cr.nextDue = due
			}
		}
		r.claimed <- cr
	}()
}

// finishClaim takes in what a claim leased.
func (r *run) finishClaim(ctx context.Context, cr claimResult) {
	if cr.err != nil {
		if ctx.Err() != nil {
			r.claims.abandoned()
			return
		}
		r.d.stats.claimErrors.Add(1)
		backoff := r.claims.failed(cr.now)
		r.log.Error("claim deliveries", "err", cr.err, "retry_in", backoff)
		return
	}
	r.leased.Add(int64(len(cr.tasks)))
	r.accept(ctx, cr.tasks, r.cfg.Now())
	report := claimReport{
		began:    cr.now,
		got:      len(cr.tasks),
		limit:    cr.limit,
		excluded: len(r.excluded) > 0,
		roomLeft: r.roomLeft(),
		nextDue:  cr.nextDue,
	}
	if report.got == report.limit && !report.roomLeft {
		// The claim filled its endpoints and may have left work of theirs
		// in the store: a send of theirs that frees room calls for the
		// next claim, as one of an endpoint it left out does.
		for _, ep := range r.claimedFor {
			r.excluded[ep.id] = true
		}
	}
	r.claims.finished(report)
}

// roomLeft reports whether an endpoint the last claim was for can take
// more now, or whether it was for endpoints this node did not know.
func (r *run) roomLeft() bool {
	if len(r.claimedFor) == 0 {
		return true
	}
	for _, ep := range r.claimedFor {
		if !ep.full() {
			return true
		}
	}
	return false
}

// accept puts leased tasks in their endpoints' queues, all of them: what
// was handed over at publish had room under its endpoint's hold cap, and a
// claim takes no more than the room its endpoints had when it began. An
// endpoint can end up past its cap (its cap fell, or publishes handed work
// over while a claim ran), but only by about one claim's worth; giving that
// back would cost a write now and a claim later.
func (r *run) accept(ctx context.Context, tasks []*store.Task, now time.Time) {
	added := make(map[*endpointState]int)
	for _, t := range tasks {
		ep := r.endpoint(t, now)
		ep.queue = append(ep.queue, heldTask{task: t})
		r.queued++
		r.heldBytes += len(t.Message.Payload)
		r.waiting[ep.id] = ep
		added[ep]++
	}
	for ep, n := range added {
		if ep.perSec > 0 {
			r.reserveSlots(ctx, ep, ep.queue[len(ep.queue)-n:], now)
		}
	}
}

// reserveSlots gives each newly held task of a rate-limited endpoint its
// send time, reserved in the store for all nodes at once. Should the store
// fail, the tasks are spaced at the rate from now: this node alone then
// keeps the limit.
func (r *run) reserveSlots(ctx context.Context, ep *endpointState, held []heldTask, now time.Time) {
	interval := time.Second / time.Duration(ep.perSec)
	cctx, cancel := context.WithTimeout(ctx, storeTimeout)
	first, err := r.q.ReserveSendSlots(cctx, ep.id, ep.perSec, len(held), now)
	cancel()
	if err != nil {
		r.log.Warn("reserve send slots", "endpoint_id", ep.id, "err", err)
		first = now
		if last := ep.lastLocalSlot.Add(interval); last.After(first) {
			first = last
		}
	}
	for i := range held {
		held[i].notBefore = first.Add(time.Duration(i) * interval)
	}
	ep.lastLocalSlot = held[len(held)-1].notBefore
}

// dispatch starts queued tasks while workers, endpoint slots and rate limits
// allow.
func (r *run) dispatch(now time.Time) {
	for id, ep := range r.waiting {
		ep.readyAt = time.Time{}
		for len(ep.queue) > 0 && r.inFlight < r.cfg.Workers && ep.inFlight < ep.limit() {
			if at := ep.queue[0].notBefore; at.After(now) {
				ep.readyAt = at
				break
			}
			t := ep.queue[0].task
			ep.queue[0] = heldTask{}
			ep.queue = ep.queue[1:]
			r.queued--
			r.start(t, ep)
		}
		if len(ep.queue) == 0 {
			ep.queue = nil
			delete(r.waiting, id)
		}
	}
}

// start hands t to an idle sending goroutine, or to a new one when none is
// waiting for work. They live as long as the run, so that the stack each
// grows while sending is kept for the next send; there are about as many as
// sends were ever in flight at once (at most Workers), plus any that had
// just finished a send when a new one started.
func (r *run) start(t *store.Task, ep *endpointState) {
	r.dirty[ep] = true
	ep.inFlight++
	r.inFlight++
	r.d.stats.inFlight.Add(1)
	r.senders.Add(1)
	select {
	case r.sends <- t:
	default:
		go r.sendLoop(t)
	}
}

// sendLoop sends t, then every task start hands it, until the run closes
// r.sends.
func (r *run) sendLoop(t *store.Task) {
	for ; t != nil; t = <-r.sends {
		r.send(t)
	}
}

// send sends t and reports the outcome to the recorder and the loop.
func (r *run) send(t *store.Task) {
	defer r.senders.Done()
	epID, size := t.Endpoint.ID, len(t.Message.Payload)
	o := r.d.sender.send(r.sendCtx, t)
	if o.cancelled {
		r.release([]string{t.Delivery.ID})
		r.done <- sendDone{endpointID: epID, cancelled: true, bytes: size}
		return
	}
	r.rec.add(t, r.d.result(r.owner, t, o))
	r.done <- sendDone{endpointID: epID, kind: o.kind, status: o.statusCode, took: o.duration, bytes: size}
}

// noteRetry is called by the recorder when it has committed a retry due at
// at: the loop then claims at that time without waiting for a poll.
func (r *run) noteRetry(at time.Time) {
	r.retryMu.Lock()
	if r.retryAt.IsZero() || at.Before(r.retryAt) {
		r.retryAt = at
	}
	r.retryMu.Unlock()
	select {
	case r.retryWake <- struct{}{}:
	default:
	}
}

// noteFreed tells the claim policy when an endpoint the last claim left
// out (it was full) has room now, its queue having refilled what it could:
// work may be waiting for it in the store. One that is still full (its
// queue holds half its window or more) would only be left out again, by a
// claim that could find work for no one else.
func (r *run) noteFreed() {
	for _, id := range r.freed {
		if ep := r.eps[id]; ep == nil || !ep.full() {
			r.claims.roomFreed()
			break
		}
	}
	clear(r.freed)
	r.freed = r.freed[:0]
}

// finish accounts for a finished send.
func (r *run) finish(sd sendDone) {
	r.inFlight--
	r.d.stats.inFlight.Add(-1)
	r.heldBytes -= sd.bytes
	if ep := r.eps[sd.endpointID]; ep != nil {
		r.dirty[ep] = true
		ep.inFlight--
		if !sd.cancelled {
			ep.settle(r.cfg.Now(), sd.kind, sd.status, sd.took)
		}
	}
	if r.excluded[sd.endpointID] {
		// The endpoint was left out of the last claim, or filled by it.
		// Whether it has room now is known once its queue has refilled
		// the slot.
		r.freed = append(r.freed, sd.endpointID)
	}
}
