package store

import (
	"sort"
	"time"

	"github.com/hookrelay/hookrelay"
)

// StatusUpdate is what one CompleteAttempts call has to say about one
// endpoint's EndpointStatus; the drivers merge it into the stored row with
// MergeStatus's rules, in SQL.
type StatusUpdate struct {
	EndpointID string
	// The latest attempt of the batch (by attempt time).
	LastAttemptAt  time.Time
	LastOutcome    hookrelay.OutcomeKind
	LastStatusCode int
	// LastSuccessAt is the batch's latest success, nil without one.
	LastSuccessAt *time.Time
	// FailingSince and Failures are the batch's first failure against
	// the receiver and their count, after LastSuccessAt when there is
	// one.
	FailingSince *time.Time
	Failures     int
}

// StatusUpdates folds results into one StatusUpdate per endpoint, ordered
// by endpoint ID (the order rows are locked in); a result whose attempt
// names no endpoint is left out. Results are taken in
// attempt time order, whatever their order in the batch.
func StatusUpdates(results []AttemptResult) []StatusUpdate {
	idx := make([]int, len(results))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		return results[idx[a]].Attempt.CreatedAt.Before(results[idx[b]].Attempt.CreatedAt)
	})
	by := make(map[string]*StatusUpdate)
	for _, i := range idx {
		a := &results[i].Attempt
		if a.EndpointID == "" {
			continue // its delivery is gone: nothing is recorded
		}
		u := by[a.EndpointID]
		if u == nil {
			u = &StatusUpdate{EndpointID: a.EndpointID}
			by[a.EndpointID] = u
		}
		u.LastAttemptAt, u.LastOutcome, u.LastStatusCode = a.CreatedAt, a.Outcome, a.ResponseStatusCode
		switch {
		case a.Outcome == hookrelay.OutcomeSuccess:
			t := a.CreatedAt
			u.LastSuccessAt, u.FailingSince, u.Failures = &t, nil, 0
		case a.Outcome.AgainstReceiver():
			if u.FailingSince == nil {
				t := a.CreatedAt
				u.FailingSince = &t
			}
			u.Failures++
		}
	}
	out := make([]StatusUpdate, 0, len(by))
	for _, u := range by {
		out = append(out, *u)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].EndpointID < out[b].EndpointID })
	return out
}

// MergeStatus applies u to the stored status old (nil before the first
// attempt) as the drivers' SQL does, and is the reference for it. The last
// attempt and the last success are the later of the two. A success in u
// that is later than the stored streak's first failure (or with no stored
// streak) ends that streak: the failure fields become u's. Otherwise (no
// success in u, or one older than the stored streak, as when a result is
// recorded late) u's failures add to the stored ones and the streak starts
// at the earlier of the two first failures, unless all of u came before the
// stored last success: those failures were not consecutive, and count not.
func MergeStatus(old *EndpointStatus, u StatusUpdate) EndpointStatus {
	st := EndpointStatus{EndpointID: u.EndpointID}
	if old != nil {
		st = *old
	}
	if st.LastAttemptAt == nil || !u.LastAttemptAt.Before(*st.LastAttemptAt) {
		t := u.LastAttemptAt
		st.LastAttemptAt, st.LastOutcome, st.LastStatusCode = &t, u.LastOutcome, u.LastStatusCode
	}
	if u.LastSuccessAt != nil && (st.LastSuccessAt == nil || u.LastSuccessAt.After(*st.LastSuccessAt)) {
		st.LastSuccessAt = u.LastSuccessAt
	}
	if u.LastSuccessAt != nil && (st.FailingSince == nil || u.LastSuccessAt.After(*st.FailingSince)) {
		st.FailingSince, st.ConsecutiveFailures = u.FailingSince, u.Failures
		return st
	}
	if old != nil && old.LastSuccessAt != nil && !u.LastAttemptAt.After(*old.LastSuccessAt) {
		return st // every attempt of u came before a success already stored
	}
	if st.FailingSince == nil || (u.FailingSince != nil && u.FailingSince.Before(*st.FailingSince)) {
		st.FailingSince = u.FailingSince
	}
	st.ConsecutiveFailures += u.Failures
	return st
}
