package ops

import (
	"slices"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

func TestAttemptEvents(t *testing.T) {
	schedule := []time.Duration{time.Second, time.Second, time.Second, time.Second, time.Second} // 6 attempts
	const (
		ok       = hookrelay.OutcomeSuccess
		rejected = hookrelay.OutcomeRejected
		silent   = hookrelay.OutcomeUnanswered
		refused  = hookrelay.OutcomeRefused
		internal = hookrelay.OutcomeInternal
		pending  = hookrelay.StatusPending
		fail     = hookrelay.StatusFail
		success  = hookrelay.StatusSuccess
	)
	tests := []struct {
		name     string
		kind     hookrelay.OutcomeKind
		attempts int
		status   hookrelay.MessageStatus
		manual   bool
		own      []time.Duration // the endpoint's retrySchedule option
		want     []string
	}{
		{"third failure", rejected, 3, pending, false, nil, nil},
		{"fourth failure", rejected, 4, pending, false, nil, []string{EventMessageAttemptFailing}},
		{"fourth without an answer", silent, 4, pending, false, nil, []string{EventMessageAttemptFailing}},
		{"fourth refused", refused, 4, pending, false, nil, nil},
		{"fourth internal", internal, 4, pending, false, nil, nil},
		{"fifth failure", rejected, 5, pending, false, nil, nil},
		{"last failure", rejected, 6, fail, false, nil, []string{EventMessageAttemptExhausted}},
		{"last refused", refused, 6, fail, false, nil, nil},
		{"failure after a recover task", rejected, 7, fail, false, nil, nil},
		{"fourth is the last of the endpoint's schedule", rejected, 4, fail, false, schedule[:3],
			[]string{EventMessageAttemptFailing, EventMessageAttemptExhausted}},
		{"no retries at all", rejected, 1, fail, false, []time.Duration{}, []string{EventMessageAttemptExhausted}},
		{"success at once", ok, 1, success, false, nil, nil},
		{"success at the fourth", ok, 4, success, false, nil, nil},
		{"success after failing", ok, 5, success, false, nil, []string{EventMessageAttemptRecovered}},
		{"manual failure at four", rejected, 4, pending, true, nil, nil},
		{"manual success", ok, 6, success, true, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			task := store.Task{Endpoint: hookrelay.Endpoint{Options: hookrelay.EndpointOptions{RetrySchedule: tc.own}}}
			trigger := hookrelay.TriggerScheduled
			if tc.manual {
				trigger = hookrelay.TriggerManual
			}
			r := store.AttemptResult{Attempt: hookrelay.Attempt{Outcome: tc.kind, TriggerType: trigger},
				Status: tc.status, Attempts: tc.attempts}
			if got := AttemptEvents(&task, &r, schedule); !slices.Equal(got, tc.want) {
				t.Fatalf("events %v, want %v", got, tc.want)
			}
		})
	}
}
