package portal

import (
	"strings"
	"testing"
	"time"
)

func TestStateOf(t *testing.T) {
	since := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	failing := &healthJSON{FailingSince: &since, ConsecutiveFailures: 7}
	failing.LastAttempt = &lastAttemptJSON{since.Add(time.Hour), "rejected", 503}
	gone := &healthJSON{FailingSince: &since, ConsecutiveFailures: 1}
	gone.LastAttempt = &lastAttemptJSON{since, "rejected", 410}
	tests := []struct {
		name     string
		disabled bool
		health   *healthJSON
		label    string
		reason   []string
	}{
		{"active, never sent", false, &healthJSON{}, "Active", nil},
		{"active, no health", false, nil, "Active", nil},
		{"failing", false, failing, "Failing", []string{"since 2026-12-01 10:00 UTC", "7 failed attempts in a row", "last: HTTP 503"}},
		{"disabled by the server while failing", true, failing, "Disabled", []string{"Disabled while failing", "7 failed attempts", "HTTP 503", "410 Gone", "enable the endpoint"}},
		{"disabled after 410", true, gone, "Disabled", []string{"last: HTTP 410 Gone"}},
		{"disabled by hand", true, &healthJSON{}, "Disabled", []string{"Disabled by hand"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := stateOf(endpointJSON{Disabled: tt.disabled}, tt.health)
			if st.Label != tt.label {
				t.Errorf("label %q, want %q", st.Label, tt.label)
			}
			if tt.reason == nil && st.Reason != "" {
				t.Errorf("reason %q, want none", st.Reason)
			}
			for _, want := range tt.reason {
				if !strings.Contains(st.Reason, want) {
					t.Errorf("reason %q lacks %q", st.Reason, want)
				}
			}
		})
	}
}

func TestAttemptWords(t *testing.T) {
	for _, tt := range []struct {
		outcome string
		code    int
		want    string
	}{
		{"rejected", 500, "HTTP 500"},
		{"rejected", 410, "HTTP 410 Gone"},
		{"unanswered", 0, "no answer"},
		{"refused", 0, "not sent: refused by the server's rules"},
		{"internal", 0, "not sent: a failure of the server"},
	} {
		if got := attemptWords(tt.outcome, tt.code); got != tt.want {
			t.Errorf("attemptWords(%q, %d) = %q, want %q", tt.outcome, tt.code, got, tt.want)
		}
	}
}
