package hookrelay

import "testing"

func TestOutcomeKind(t *testing.T) {
	tests := []struct {
		kind            OutcomeKind
		name            string
		answered        bool
		againstReceiver bool
	}{
		{OutcomeUnknown, "unknown", false, false},
		{OutcomeSuccess, "success", true, false},
		{OutcomeRejected, "rejected", true, true},
		{OutcomeUnanswered, "unanswered", false, true},
		{OutcomeRefused, "refused", false, false},
		{OutcomeInternal, "internal", false, false},
		{OutcomeKind(42), "OutcomeKind(42)", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.kind.String(); got != tt.name {
				t.Errorf("String() = %q, want %q", got, tt.name)
			}
			if got := tt.kind.Answered(); got != tt.answered {
				t.Errorf("Answered() = %v, want %v", got, tt.answered)
			}
			if got := tt.kind.AgainstReceiver(); got != tt.againstReceiver {
				t.Errorf("AgainstReceiver() = %v, want %v", got, tt.againstReceiver)
			}
		})
	}
}

func TestDeriveOutcome(t *testing.T) {
	tests := []struct {
		name   string
		status MessageStatus
		code   int
		want   OutcomeKind
	}{
		{"2xx success", StatusSuccess, 200, OutcomeSuccess},
		{"204 success", StatusSuccess, 204, OutcomeSuccess},
		{"500", StatusFail, 500, OutcomeRejected},
		{"redirect", StatusFail, 302, OutcomeRejected},
		{"2xx whose body broke off", StatusFail, 200, OutcomeRejected},
		{"no response", StatusFail, 0, OutcomeUnanswered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DeriveOutcome(tt.status, tt.code); got != tt.want {
				t.Fatalf("DeriveOutcome(%d, %d) = %v, want %v", tt.status, tt.code, got, tt.want)
			}
		})
	}
}
