package delivery

import (
	"testing"
	"time"
)

// A claimStep happens at cpT0+at on the policy's fake clock: an event, or a
// check of should and next.
type claimStep struct {
	at time.Duration
	do func(p *claimPolicy, now time.Time, t *testing.T)
}

const cpPoll = time.Second

var cpT0 = time.Date(2026, 5, 25, 12, 0, 0, 0, time.UTC)

func cpAt(d time.Duration) time.Time { return cpT0.Add(d) }

func wakeAt(d time.Duration) claimStep {
	return claimStep{d, func(p *claimPolicy, _ time.Time, _ *testing.T) { p.wake() }}
}

func startAt(d time.Duration) claimStep {
	return claimStep{d, func(p *claimPolicy, now time.Time, t *testing.T) {
		t.Helper()
		if !p.should(now, true) {
			t.Fatalf("at %v: should = false, want a claim to start", now.Sub(cpT0))
		}
		p.started(now)
	}}
}

// doneAt reports the claim started at began: it got got of limit.
func doneAt(d, began time.Duration, got, limit int, excluded bool, nextDue time.Duration) claimStep {
	return claimStep{d, func(p *claimPolicy, _ time.Time, _ *testing.T) {
		r := claimReport{began: cpAt(began), got: got, limit: limit, excluded: excluded, roomLeft: true}
		if nextDue != 0 {
			r.nextDue = cpAt(nextDue)
		}
		p.finished(r)
	}}
}

// claimAt starts a claim at d that at once finds got of 10, leaving no
// endpoint out.
func claimAt(d time.Duration, got int) []claimStep {
	return []claimStep{startAt(d), doneAt(d, d, got, 10, false, 0)}
}

// futileAt starts a claim at d that leaves endpoints out and finds nothing.
func futileAt(d time.Duration) []claimStep {
	return []claimStep{startAt(d), doneAt(d, d, 0, 10, true, 0)}
}

// failAt reports that the claim started at d failed.
func failAt(d time.Duration, wantBackoff time.Duration) claimStep {
	return claimStep{d, func(p *claimPolicy, _ time.Time, t *testing.T) {
		t.Helper()
		if got := p.failed(cpAt(d)); got != wantBackoff {
			t.Fatalf("at %v: error back-off %v, want %v", d, got, wantBackoff)
		}
	}}
}

func retryAt(d, due time.Duration) claimStep {
	return claimStep{d, func(p *claimPolicy, _ time.Time, _ *testing.T) { p.retryDue(cpAt(due)) }}
}

// filledAt reports the claim started at began: it got all of limit, and
// the endpoints it claimed for have no room left.
func filledAt(d, began time.Duration, limit int) claimStep {
	return claimStep{d, func(p *claimPolicy, _ time.Time, _ *testing.T) {
		p.finished(claimReport{began: cpAt(began), got: limit, limit: limit, excluded: true})
	}}
}

func freedAt(d time.Duration) claimStep {
	return claimStep{d, func(p *claimPolicy, _ time.Time, _ *testing.T) { p.roomFreed() }}
}

// noClaim is the next of a policy under which no claim can start.
const noClaim = time.Duration(-1)

// expect checks, at d with room, whether a claim should start and when
// next says one will (a time after cpT0, or noClaim).
func expectClaim(d time.Duration, should bool, next time.Duration) claimStep {
	return expectClaimRoom(d, true, should, next)
}

func expectClaimRoom(d time.Duration, room, should bool, next time.Duration) claimStep {
	return claimStep{d, func(p *claimPolicy, now time.Time, t *testing.T) {
		t.Helper()
		if got := p.should(now, room); got != should {
			t.Errorf("at %v: should = %v, want %v", d, got, should)
		}
		got := p.next(now, room)
		switch {
		case next == noClaim && !got.IsZero():
			t.Errorf("at %v: next = %v, want noClaim", d, got.Sub(cpT0))
		case next == noClaim:
		case got.IsZero():
			t.Errorf("at %v: next = noClaim, want %v", d, next)
		case !got.Equal(cpAt(next)):
			t.Errorf("at %v: next = %v, want %v", d, got.Sub(cpT0), next)
		}
	}}
}

func claimSteps(groups ...any) []claimStep {
	var out []claimStep
	for _, g := range groups {
		switch g := g.(type) {
		case claimStep:
			out = append(out, g)
		case []claimStep:
			out = append(out, g...)
		}
	}
	return out
}

const msec = time.Millisecond

func TestClaimPolicy(t *testing.T) {
	tests := []struct {
		name  string
		steps []claimStep
	}{
		{"first claim at once", claimSteps(
			expectClaim(0, true, 0),
			expectClaim(msec, true, msec), // never before now
		)},
		{"no room: no claim, no wake-up for one", claimSteps(
			claimAt(0, 0),
			wakeAt(10*msec),
			expectClaimRoom(10*msec, false, false, noClaim),
			expectClaimRoom(2*cpPoll, false, false, noClaim),
			expectClaim(2*cpPoll, true, 2*cpPoll),
		)},
		{"while a claim runs, nothing else starts", claimSteps(
			startAt(0),
			wakeAt(10*msec),
			expectClaim(10*msec, false, noClaim),
			expectClaim(2*cpPoll, false, noClaim),
			doneAt(2*cpPoll, 0, 0, 10, false, 0),
			expectClaim(2*cpPoll, true, 2*cpPoll),
		)},
		{"wake-ups within minClaimGap coalesce into one claim", claimSteps(
			claimAt(0, 0),
			wakeAt(1*msec),
			expectClaim(1*msec, false, minClaimGap),
			wakeAt(2*msec),
			wakeAt(3*msec),
			expectClaim(4*msec, false, minClaimGap),
			startAt(minClaimGap),
			// The claim answered all three; none is left.
			doneAt(minClaimGap+msec, minClaimGap, 0, 10, false, 0),
			expectClaim(20*msec, false, minClaimGap+cpPoll),
		)},
		{"a wake-up after the gap claims at once", claimSteps(
			claimAt(0, 0),
			wakeAt(50*msec),
			expectClaim(50*msec, true, 50*msec),
		)},
		{"nothing wanted: the cpPoll interval", claimSteps(
			claimAt(0, 3),
			expectClaim(10*msec, false, cpPoll),
			expectClaim(cpPoll-msec, false, cpPoll),
			expectClaim(cpPoll, true, cpPoll),
		)},
		{"a full claim leaves more due", claimSteps(
			claimAt(0, 10),
			expectClaim(msec, false, minClaimGap),
			expectClaim(minClaimGap, true, minClaimGap),
			claimAt(minClaimGap, 4),
			expectClaim(minClaimGap+msec, false, minClaimGap+cpPoll),
		)},
		{"a full claim that filled its endpoints waits for one to free room", claimSteps(
			[]claimStep{startAt(0), filledAt(0, 0, 10)},
			expectClaim(minClaimGap, false, cpPoll),
			freedAt(40*msec),
			expectClaim(40*msec, true, 40*msec),
		)},
		{"an endpoint left out gets room while the claim runs", claimSteps(
			startAt(0),
			freedAt(2*msec),
			doneAt(3*msec, 0, 0, 10, true, 0),
			// Futile, but the freed endpoint is a reason of its own.
			expectClaim(3*msec, false, minClaimGap),
			expectClaim(minClaimGap, true, minClaimGap),
		)},
		{"futile claims: the gap doubles from 25 to 200 msec", claimSteps(
			futileAt(0),
			wakeAt(msec),
			expectClaim(msec, false, futileGap),
			expectClaim(futileGap-msec, false, futileGap),
			futileAt(futileGap), // 25 msec
			wakeAt(26*msec),
			expectClaim(26*msec, false, 75*msec),
			futileAt(75*msec), // +50
			wakeAt(76*msec),
			expectClaim(76*msec, false, 175*msec),
			futileAt(175*msec), // +100
			wakeAt(176*msec),
			expectClaim(176*msec, false, 375*msec),
			futileAt(375*msec), // +200
			wakeAt(376*msec),
			expectClaim(376*msec, false, 575*msec),
			futileAt(575*msec), // +200: the most
			wakeAt(576*msec),
			expectClaim(576*msec, false, 775*msec),
			expectClaim(775*msec, true, 775*msec),
		)},
		{"the futile gap resets after a claim that finds work", claimSteps(
			futileAt(0),
			wakeAt(msec),
			futileAt(futileGap),
			wakeAt(26*msec),
			expectClaim(26*msec, false, 75*msec),
			startAt(75*msec),
			doneAt(76*msec, 75*msec, 2, 10, true, 0),
			wakeAt(77*msec),
			expectClaim(77*msec, false, 80*msec), // minClaimGap only
			futileAt(80*msec),
			wakeAt(81*msec),
			expectClaim(81*msec, false, 80*msec+futileGap), // 25 msec again
		)},
		{"the futile gap holds back wake-ups only", claimSteps(
			futileAt(0),
			wakeAt(msec),
			retryAt(msec, 10*msec),
			expectClaim(9*msec, false, 10*msec),
			expectClaim(10*msec, true, 10*msec),
		)},
		{"error back-off doubles from 100 msec up to five polls, then resets", claimSteps(
			startAt(0),
			failAt(0, 100*msec),
			expectClaim(99*msec, false, 100*msec),
			expectClaim(100*msec, true, 100*msec),
			startAt(100*msec),
			failAt(100*msec, 200*msec),
			expectClaim(299*msec, false, 300*msec),
			startAt(300*msec),
			failAt(300*msec, 400*msec),
			startAt(700*msec),
			failAt(700*msec, 800*msec),
			startAt(1500*msec),
			failAt(1500*msec, 1600*msec),
			startAt(3100*msec),
			failAt(3100*msec, 3200*msec),
			startAt(6300*msec),
			failAt(6300*msec, 5*cpPoll),
			// Due reasons wait for the back-off too.
			freedAt(6400*msec),
			expectClaim(6400*msec, false, 11300*msec),
			startAt(11300*msec),
			failAt(11300*msec, 5*cpPoll),
			startAt(16300*msec),
			doneAt(16300*msec, 16300*msec, 0, 10, false, 0),
			wakeAt(16400*msec),
			startAt(16400*msec),
			failAt(16400*msec, 100*msec),
		)},
		{"the store's next due time", claimSteps(
			startAt(0),
			doneAt(msec, 0, 0, 10, false, 300*msec),
			expectClaim(msec, false, 300*msec),
			expectClaim(299*msec, false, 300*msec),
			expectClaim(300*msec, true, 300*msec),
		)},
		{"no store due time after a full claim", claimSteps(
			startAt(0),
			doneAt(msec, 0, 10, 10, false, 300*msec),
			expectClaim(msec, false, minClaimGap),
			claimAt(minClaimGap, 0),
			expectClaim(10*msec, false, minClaimGap+cpPoll),
		)},
		{"a local retry: the earliest, cleared by a claim at or after it", claimSteps(
			claimAt(0, 0),
			retryAt(10*msec, 600*msec),
			retryAt(11*msec, 400*msec),
			retryAt(12*msec, 500*msec),
			expectClaim(12*msec, false, 400*msec),
			expectClaim(400*msec, true, 400*msec),
			claimAt(400*msec, 0),
			expectClaim(401*msec, false, 400*msec+cpPoll),
		)},
		{"a local retry due after the claim's start stays", claimSteps(
			startAt(0),
			retryAt(msec, 50*msec),
			doneAt(2*msec, 0, 0, 10, false, 0),
			expectClaim(2*msec, false, 50*msec),
			expectClaim(50*msec, true, 50*msec),
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newClaimPolicy(cpPoll)
			for _, s := range tt.steps {
				s.do(&p, cpAt(s.at), t)
			}
		})
	}
}
