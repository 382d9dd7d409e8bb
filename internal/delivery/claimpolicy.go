package delivery

import "time"

const (
	// minClaimGap is the least time between two claims: wake-ups and
	// completions that come faster are coalesced into one claim.
	minClaimGap = 5 * time.Millisecond
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

// claimPolicy decides when the dispatcher claims due deliveries from the
// store, and how long its loop may sleep meanwhile. It is pure: it holds
// only the facts it was told, never reads a clock or the store, and starts
// nothing; the loop tells it what happened, with the time, and asks.
//
// A claim is wanted when
//   - a wake-up asked for one (a publish, a resend, a release): answered
//     at once, except right after a futile claim (see futileGap);
//   - the last claim may have left due work behind (moreDue): it was full,
//     or an endpoint it left out has room now;
//   - the store's next due time, or a retry this node committed, has come;
//   - PollInterval has passed since the last claim, for work other nodes
//     queued.
//
// and it is made only when the node has room, no claim is running, the
// last one is at least minClaimGap behind (wake-ups and completions that
// come faster are coalesced into one claim) and no error back-off runs.
type claimPolicy struct {
	poll time.Duration // Config.PollInterval

	claiming bool      // a claim is running
	last     time.Time // when the last claim started
	wanted   bool      // a wake-up asks for a claim
	moreDue  bool      // the last claim may have left due work behind
	// futile is set when the last claim left endpoints out and found
	// nothing; futileGap is then the least time after it before a wake-up
	// alone claims again.
	futile    bool
	futileGap time.Duration
	// errUntil is when claims may start again after a store error, and
	// errBackoff the back-off that set it (0 after a claim that worked).
	errUntil   time.Time
	errBackoff time.Duration
	storeDue   time.Time // the store's next due time, zero if unknown
	localDue   time.Time // the earliest retry this node committed, zero if none
}

// newClaimPolicy returns a policy that wants a first claim.
func newClaimPolicy(poll time.Duration) claimPolicy {
	return claimPolicy{poll: poll, wanted: true}
}

// wake records a wake-up: deliveries may be due now.
func (p *claimPolicy) wake() { p.wanted = true }

// retryDue records that this node committed a retry due at at.
func (p *claimPolicy) retryDue(at time.Time) {
	if !at.IsZero() && (p.localDue.IsZero() || at.Before(p.localDue)) {
		p.localDue = at
	}
}

// roomFreed records that an endpoint the last claim left out (it was full)
// has room now: work may be waiting for it in the store.
func (p *claimPolicy) roomFreed() { p.moreDue = true }

// due reports whether work is or may be due at now for a reason other
// than a wake-up.
func (p *claimPolicy) due(now time.Time) bool {
	return p.moreDue ||
		(!p.storeDue.IsZero() && !now.Before(p.storeDue)) ||
		(!p.localDue.IsZero() && !now.Before(p.localDue)) ||
		now.Sub(p.last) >= p.poll
}

// should reports whether to start a claim at now; room says whether the
// node could take more work.
func (p *claimPolicy) should(now time.Time, room bool) bool {
	if p.claiming || !room {
		return false
	}
	if now.Before(p.errUntil) || now.Sub(p.last) < minClaimGap {
		return false
	}
	if p.due(now) {
		return true
	}
	return p.wanted && !(p.futile && now.Sub(p.last) < p.futileGap)
}

// next is when should will next hold if nothing else happens (no wake-up,
// no completion): a time not before now, or zero when no claim can start
// (one is running, whose result will be news, or there is no room).
func (p *claimPolicy) next(now time.Time, room bool) time.Time {
	if p.claiming || !room {
		return time.Time{}
	}
	at := p.last.Add(p.poll)
	switch {
	case p.moreDue:
		at = p.last
	case p.wanted && p.futile:
		at = p.last.Add(p.futileGap)
	case p.wanted:
		at = p.last
	}
	if !p.storeDue.IsZero() && p.storeDue.Before(at) {
		at = p.storeDue
	}
	if !p.localDue.IsZero() && p.localDue.Before(at) {
		at = p.localDue
	}
	// should refuses claims closer together than minClaimGap or during an
	// error back-off: sleep until then rather than spin.
	if gap := p.last.Add(minClaimGap); gap.After(at) {
		at = gap
	}
	if p.errUntil.After(at) {
		at = p.errUntil
	}
	if at.Before(now) {
		at = now
	}
	return at
}

// started records that a claim started at now. It answers the reasons
// for it; reasons that arise while it runs (an endpoint it leaves out
// finishing a send) stay for the next one.
func (p *claimPolicy) started(now time.Time) {
	p.claiming = true
	p.last = now
	p.wanted = false
	p.moreDue = false
}

// failed records that the claim started at began failed: claims wait an
// error back-off, doubling from 100 ms up to five poll intervals, and
// then claim again. It returns the back-off.
func (p *claimPolicy) failed(began time.Time) time.Duration {
	p.claiming = false
	p.wanted = true
	p.errBackoff = min(max(2*p.errBackoff, 100*time.Millisecond), 5*p.poll)
	p.errUntil = began.Add(p.errBackoff)
	return p.errBackoff
}

// abandoned records that the running claim ended without a result worth
// acting on (the dispatcher is stopping).
func (p *claimPolicy) abandoned() { p.claiming = false }

// claimReport is what a claim that worked found.
type claimReport struct {
	began    time.Time // when it started
	got      int       // deliveries it leased
	limit    int       // the most it asked for
	excluded bool      // it left endpoints out (they were full)
	// roomLeft is whether an endpoint it claimed for can take more now it
	// has what the claim found (or it claimed for endpoints unknown here):
	// only then does a full claim call for another at once. Endpoints it
	// filled call for one when a send of theirs frees room (roomFreed).
	roomLeft bool
	// nextDue is the store's next due time, asked when the claim got less
	// than its limit; zero if unknown or already past.
	nextDue time.Time
}

// finished records a claim that worked. A full claim means more may be
// due now, for endpoints with room left. A futile one (it left endpoints out and found nothing) makes
// the next wake-up wait futileGap, which doubles with every futile claim
// in a row up to maxFutileGap and is forgotten after a claim that is not.
func (p *claimPolicy) finished(r claimReport) {
	p.claiming = false
	p.errBackoff = 0
	if !p.localDue.IsZero() && !r.began.Before(p.localDue) {
		p.localDue = time.Time{}
	}
	p.moreDue = p.moreDue || (r.got == r.limit && r.roomLeft)
	futile := r.got == 0 && r.excluded
	switch {
	case futile && p.futile:
		p.futileGap = min(2*p.futileGap, maxFutileGap)
	case futile:
		p.futileGap = futileGap
	}
	p.futile = futile
	p.storeDue = r.nextDue
	if p.moreDue {
		p.storeDue = time.Time{}
	}
}
