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

	"github.com/hookrelay/hookrelay/store"
)

const (
	// minClaimGap is the least time between two claims: wake-ups and
	// completions that come faster are coalesced into one claim.
	minClaimGap = 5 * time.Millisecond
	// quickAnswer is the answer time under which an endpoint is held more
	// work (see holdCap), until an answer takes slowAnswer or none comes;
	// between the two it stays as it was, so that a busy moment does not
	// halve the hold cap and strand work already held.
	quickAnswer = 20 * time.Millisecond
	slowAnswer  = 200 * time.Millisecond
	// storeTimeout bounds the dispatcher's own store calls (claim, release,
	// lease extension, next due).
	storeTimeout = 10 * time.Second
	// idleSweep is how often idle endpoint state is dropped.
	idleSweep = time.Minute
	// futileGap is the least time after a futile claim (one that excluded
	// endpoints and found nothing) before a wake-up alone starts another;
	// it doubles with every futile claim in a row, up to maxFutileGap.
	// Beside an endpoint at its cap, every publish to it that could not be
	// handed over wakes the loop, and the claim, which excludes that
	// endpoint, would find nothing, up to once per minClaimGap; on
	// PostgreSQL each such claim reads hundreds of the backlog's index
	// entries. Other reasons (an excluded endpoint finishing a send, due
	// times, polls) claim as before, so what waits longest for the gap is
	// work that a node left in the store for lack of room.
	futileGap    = 25 * time.Millisecond
	maxFutileGap = 200 * time.Millisecond
)

// Dispatcher claims due deliveries and sends them. Create it with
// NewDispatcher and start it with Run.
type Dispatcher struct {
	cfg     Config
	sender  *sender
	wake    chan struct{}
	running atomic.Bool
	cur     atomic.Pointer[run] // the running run, nil when stopped
}

// NewDispatcher returns a dispatcher for cfg; zero fields take the defaults.
func NewDispatcher(cfg Config) *Dispatcher {
	cfg = cfg.withDefaults()
	return &Dispatcher{
		cfg:    cfg,
		sender: newSender(cfg),
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

// endpointState is this node's view of one endpoint: its requests in flight
// and the claimed deliveries waiting for a slot or for their send time.
type endpointState struct {
	id       string
	cap      int // most requests in flight while the endpoint answers
	inFlight int
	// window is how many requests the endpoint may have in flight short of
	// its cap: it starts at one, doubles with every answer and falls back
	// to one when an attempt gets no response at all (see limit).
	window  int
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

// limit is the most requests the endpoint may have in flight now: its cap,
// reached by doubling from one as it answers. An endpoint seen for the
// first time, or whose last attempt got no response (timeout, refused,
// reset), gets one request at a time: a dead endpoint's requests each hold
// a worker until they time out, and at full cap a few dead endpoints would
// take every worker of the node before the first of their timeouts.
func (e *endpointState) limit() int {
	return max(1, min(e.cap, e.window))
}

// answered adjusts the window to the outcome of one attempt, which took
// took.
func (e *endpointState) answered(ok bool, took time.Duration) {
	if !ok {
		e.window = 1
		e.quick = false
		return
	}
	e.window = min(max(2*e.window, 2), max(e.cap, 1))
	switch {
	case took < quickAnswer:
		e.quick = true
	case took >= slowAnswer:
		e.quick = false
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

// full reports whether claiming more for this endpoint would only make it
// wait here: the endpoint is at its cap or already has work waiting.
func (e *endpointState) full() bool {
	return e.inFlight >= e.limit() || len(e.queue) > 0
}

// sendDone reports a finished send to the loop.
type sendDone struct {
	endpointID string
	// unanswered is set when the attempt got no response at all (timeout,
	// refused, reset); cancelled sends are neither answered nor not.
	unanswered, cancelled bool
	took                  time.Duration
	bytes                 int // the payload's size, held until now
}

// run is one Run of a dispatcher; the loop goroutine owns every field but
// the atomics and the recorder.
type run struct {
	d     *Dispatcher
	cfg   Config
	q     Queue
	log   *slog.Logger
	owner string

	eps      map[string]*endpointState
	waiting  map[string]*endpointState // endpoints with queued tasks
	inFlight int
	queued   int
	maxHeld  int // deliveries held at once: queued here or in flight
	// heldBytes is the payload size of the deliveries held; past
	// Config.MaxHeldBytes the node takes no more, whatever maxHeld allows.
	heldBytes int

	done      chan sendDone
	retryMu   sync.Mutex
	retryAt   time.Time     // earliest committed retry not yet seen by the loop
	retryWake chan struct{} // pokes the loop when retryAt moves
	rec       *recorder
	leased    atomic.Int64 // deliveries leased and not yet released or recorded

	// Handoff state, shared with publishing goroutines.
	room        atomic.Int64            // how many more deliveries this node may take
	gate        *gate                   // how many each endpoint may take
	dirty       map[*endpointState]bool // endpoints changed since the gate last heard
	drained     []*store.Task           // taken over since the gate last heard
	changed     []*endpointState        // publishRoom's list of r.dirty, kept for reuse
	takeMu      sync.Mutex
	taken       []*store.Task // handed over by Take, not yet seen by the loop
	stopped     bool          // the loop has ended: Take must release
	takeWake    chan struct{}
	liveNodes   atomic.Int64 // dispatchers alive on the store, this one included
	sendCtx     context.Context
	cancelSends context.CancelFunc
	senders     sync.WaitGroup   // sends started and not finished
	sends       chan *store.Task // to idle sending goroutines

	// claim scheduling
	claiming    bool             // a claim is running on its own goroutine
	claimed     chan claimResult // where that claim reports
	bg          sync.WaitGroup   // releases running on their own goroutines
	claimWanted bool             // a wake-up or a timer asks for a claim
	moreDue     bool             // the last claim may have left due work behind
	futile      bool             // the last claim excluded endpoints and found nothing
	futileGap   time.Duration    // while futile: the gap before a wake-up claims again
	excluded    map[string]bool
	lastClaim   time.Time
	errUntil    time.Time // no claims until then after a store error
	errBackoff  time.Duration
	storeDue    time.Time // the store's next due time, zero if unknown
	localDue    time.Time // earliest retry this node scheduled, zero if none
	lastSweep   time.Time
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
	}
	r.gate = newGate()
	r.dirty = make(map[*endpointState]bool)
	r.log = d.cfg.Logger.With("node", r.owner)
	r.rec = newRecorder(r.q, d.cfg.Observer, r.log, &r.leased)
	r.rec.onRetry = r.noteRetry
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

	r.claimWanted = true
	r.d.cur.Store(r)
	r.loop(ctx)

	// Shutdown: nothing new starts; waiting work goes back to the queue.
	if r.claiming {
		cr := <-r.claimed
		r.claiming = false
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
		if !r.claiming && r.shouldClaim(now) {
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
			r.claiming = false
			r.finishClaim(ctx, cr)
		case <-r.d.wake:
			r.claimWanted = true
		case <-r.retryWake:
			r.retryMu.Lock()
			at := r.retryAt
			r.retryAt = time.Time{}
			r.retryMu.Unlock()
			if !at.IsZero() && (r.localDue.IsZero() || at.Before(r.localDue)) {
				r.localDue = at
			}
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

// shouldClaim reports whether to claim now: there is room, a reason, and the
// last claim (or store error) is far enough behind.
func (r *run) shouldClaim(now time.Time) bool {
	if !r.roomToClaim() {
		return false
	}
	if now.Before(r.errUntil) || now.Sub(r.lastClaim) < minClaimGap {
		return false
	}
	if r.dueReason(now) {
		return true
	}
	return r.claimWanted && !(r.futile && now.Sub(r.lastClaim) < r.futileGap)
}

// dueReason reports whether work is or may be due for reasons other than a
// wake-up.
func (r *run) dueReason(now time.Time) bool {
	return r.moreDue ||
		(!r.storeDue.IsZero() && !now.Before(r.storeDue)) ||
		(!r.localDue.IsZero() && !now.Before(r.localDue)) ||
		now.Sub(r.lastClaim) >= r.cfg.PollInterval
}

// nextWake is how long the loop may sleep when no wake-up or completion
// comes: until a claim is due, or an endpoint's rate limit lets work go.
func (r *run) nextWake(now time.Time) time.Duration {
	// Without room for a claim, or while one runs (its result wakes the
	// loop), only completions (and rate limits) matter.
	at := now.Add(time.Hour)
	if !r.claiming && r.roomToClaim() {
		at = r.lastClaim.Add(r.cfg.PollInterval)
		switch {
		case r.moreDue:
			at = r.lastClaim
		case r.claimWanted && r.futile:
			at = r.lastClaim.Add(r.futileGap)
		case r.claimWanted:
			at = r.lastClaim
		}
		if !r.storeDue.IsZero() && r.storeDue.Before(at) {
			at = r.storeDue
		}
		if !r.localDue.IsZero() && r.localDue.Before(at) {
			at = r.localDue
		}
		// shouldClaim refuses claims closer together than minClaimGap or
		// during an error backoff: sleep until then rather than spin.
		if gap := r.lastClaim.Add(minClaimGap); gap.After(at) {
			at = gap
		}
		if r.errUntil.After(at) {
			at = r.errUntil
		}
	}
	for _, ep := range r.waiting {
		if !ep.readyAt.IsZero() && ep.readyAt.Before(at) {
			at = ep.readyAt
		}
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
	for id, ep := range r.eps {
		if ep.full() {
			exclude = append(exclude, id)
			excluded[id] = true
			continue
		}
		room += ep.holdCap() - ep.inFlight - len(ep.queue)
	}
	if room == 0 {
		room = 2 * r.cfg.MaxInFlightPerEndpoint
	}
	limit := min(r.cfg.ClaimBatch, r.maxHeld-r.inFlight-r.queued, room)
	// The claim answers the reasons for it; reasons that arise while it
	// runs (an excluded endpoint finishing a send) stay for the next one.
	r.claiming = true
	r.lastClaim = now
	r.claimWanted = false
	r.moreDue = false
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
			return
		}
		r.claimWanted = true
		r.errBackoff = min(max(2*r.errBackoff, 100*time.Millisecond), r.cfg.PollInterval*5)
		r.errUntil = cr.now.Add(r.errBackoff)
		r.log.Error("claim deliveries", "err", cr.err, "retry_in", r.errBackoff)
		return
	}
	r.errBackoff = 0
	if !r.localDue.IsZero() && !cr.now.Before(r.localDue) {
		r.localDue = time.Time{}
	}
	r.leased.Add(int64(len(cr.tasks)))
	r.accept(ctx, cr.tasks, r.cfg.Now())
	r.moreDue = r.moreDue || len(cr.tasks) == cr.limit
	futile := len(cr.tasks) == 0 && len(r.excluded) > 0
	switch {
	case futile && r.futile:
		r.futileGap = min(2*r.futileGap, maxFutileGap)
	case futile:
		r.futileGap = futileGap
	}
	r.futile = futile
	r.storeDue = cr.nextDue
	if r.moreDue {
		r.storeDue = time.Time{}
	}
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
		r.log.Warn("reserve send slots", "endpoint", ep.id, "err", err)
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

// endpoint returns the state of t's endpoint, updated from the endpoint as
// the store returned it with t.
func (r *run) endpoint(t *store.Task, now time.Time) *endpointState {
	e := &t.Endpoint
	ep := r.eps[e.ID]
	if ep == nil {
		ep = &endpointState{id: e.ID}
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
	r.done <- sendDone{endpointID: epID, unanswered: o.statusCode == 0, took: o.duration, bytes: size}
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

// finish accounts for a finished send.
func (r *run) finish(sd sendDone) {
	r.inFlight--
	r.heldBytes -= sd.bytes
	if ep := r.eps[sd.endpointID]; ep != nil {
		r.dirty[ep] = true
		ep.inFlight--
		if !sd.cancelled {
			ep.answered(!sd.unanswered, sd.took)
		}
	}
	if r.excluded[sd.endpointID] {
		// The endpoint was left out of the last claim; it has room now.
		r.moreDue = true
	}
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

// releaseQueued gives back every task waiting in a local queue.
func (r *run) releaseQueued() {
	var ids []string
	for id, ep := range r.waiting {
		for _, h := range ep.queue {
			ids = append(ids, h.task.Delivery.ID)
			r.heldBytes -= len(h.task.Message.Payload)
		}
		ep.queue = nil
		delete(r.waiting, id)
	}
	r.queued = 0
	if len(ids) > 0 {
		r.release(ids)
	}
}

// release drops this node's lease on the given deliveries and wakes the
// loop to claim again. A failure is logged: the leases then expire by
// themselves.
//
// It runs on a goroutine of its own so that the loop never waits for it;
// Run waits for every release before returning.
func (r *run) release(ids []string) {
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if err := r.q.ReleaseDeliveries(ctx, r.owner, ids); err != nil {
			r.log.Warn("release deliveries", "deliveries", len(ids), "err", err)
		} else {
			// They are due again; a claim that ran meanwhile did not see them.
			r.d.Wake()
		}
		r.leased.Add(-int64(len(ids)))
	}()
}

// heartbeat tells the store this node is alive and learns how many nodes
// share the endpoints' limits. On failure the last count stays.
func (r *run) heartbeat() {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	n, err := r.q.Heartbeat(ctx, r.owner, r.cfg.Now(), r.cfg.LeaseTTL)
	if err != nil {
		r.log.Warn("heartbeat", "err", err)
		return
	}
	if prev := r.liveNodes.Swap(int64(max(n, 1))); prev != int64(n) {
		r.log.Info("live nodes", "nodes", n)
	}
}

// extendLeases sends a heartbeat and renews this node's leases every
// LeaseTTL/3 while it holds any delivery (waiting, in flight, or waiting to
// be recorded).
func (r *run) extendLeases(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(r.cfg.LeaseTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		r.heartbeat()
		if r.leased.Load() <= 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		err := r.q.ExtendLeases(ctx, r.owner, r.cfg.Now().Add(r.cfg.LeaseTTL))
		cancel()
		if err != nil {
			r.log.Warn("extend leases", "err", err)
		}
	}
}
