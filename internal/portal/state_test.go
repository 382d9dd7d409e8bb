package portal

import (
	"strings"
	"testing"
	"time"
)

func TestStateOf(t *testing.T) {
	since := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := since.Add(5 * 24 * time.Hour)
	failing := &healthJSON{FailingSince: &since, ConsecutiveFailures: 7}
	failing.LastAttempt = &lastAttemptJSON{since.Add(time.Hour), "rejected", 503}
	gone := &healthJSON{FailingSince: &since, ConsecutiveFailures: 1}
	gone.LastAttempt = &lastAttemptJSON{since, "rejected", 410}
	// with returns h (a copy) with disabled d.
	with := func(h *healthJSON, d disabledJSON) *healthJSON {
		c := *h
		c.Disabled = &d
		return &c
	}
	str := func(s string) *string { return &s }
	code := func(c int) *int { return &c }
	tests := []struct {
		name     string
		disabled bool
		health   *healthJSON
		label    string
		reason   []string
		not      []string
	}{
		{"active, never sent", false, &healthJSON{}, "Active", nil, nil},
		{"active, no health", false, nil, "Active", nil, nil},
		{"failing", false, failing, "Failing", []string{"since 2026-12-01 10:00 UTC", "7 failed attempts in a row", "last: HTTP 503"}, nil},
		{"disabled by the server while failing", true,
			with(failing, disabledJSON{Reason: "failing", At: &at, FailingSince: &since, ConsecutiveFailures: 7,
				LastOutcome: str("rejected"), LastStatusCode: code(503)}),
			"Disabled", []string{"Disabled by the server on 2026-12-06 10:00 UTC", "kept failing", "since 2026-12-01 10:00 UTC",
				"7 failed attempts in a row", "last: HTTP 503", "enable the endpoint"}, []string{"by hand"}},
		{"disabled by the server without an answer", true,
			with(&healthJSON{}, disabledJSON{Reason: "failing", At: &at, FailingSince: &since, ConsecutiveFailures: 3,
				LastOutcome: str("unanswered")}),
			"Disabled", []string{"3 failed attempts in a row", "last: no answer"}, nil},
		{"disabled after 410", true, with(gone, disabledJSON{Reason: "gone", At: &since, FailingSince: &since,
			ConsecutiveFailures: 1, LastOutcome: str("rejected"), LastStatusCode: code(410)}),
			"Disabled", []string{"Disabled by the server on 2026-12-01 10:00 UTC", "HTTP 410 Gone", "enable the endpoint"}, nil},
		// The stored reason wins over the failures the health shows: a
		// failing endpoint disabled by hand reads "by hand".
		{"disabled by hand in the portal while failing", true,
			with(failing, disabledJSON{Reason: "manual", At: &at, By: str("portal")}),
			"Disabled", []string{"Disabled by hand in the portal on 2026-12-06 10:00 UTC", "held until it is enabled"},
			[]string{"failing", "server", "503"}},
		{"disabled by hand through the API", true, with(&healthJSON{}, disabledJSON{Reason: "manual", At: &at, By: str("admin")}),
			"Disabled", []string{"Disabled by hand through the API on 2026-12-06 10:00 UTC"}, nil},
		// Disabled before reasons were stored: unknown, said so; the
		// failures are a fact beside it, not the reason.
		{"disabled, reason unknown, failing", true, with(failing, disabledJSON{Reason: "unknown"}),
			"Disabled", []string{"reason was not recorded", "no successful delivery since 2026-12-01 10:00 UTC", "last: HTTP 503"},
			[]string{"by hand", "by the server"}},
		{"disabled, reason unknown", true, with(&healthJSON{}, disabledJSON{Reason: "unknown"}),
			"Disabled", []string{"reason was not recorded", "held until it is enabled"}, []string{"by hand", "by the server", "failed"}},
		{"disabled, no health", true, nil, "Disabled", []string{"reason was not recorded"}, nil},
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
			for _, not := range tt.not {
				if strings.Contains(st.Reason, not) {
					t.Errorf("reason %q has %q", st.Reason, not)
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
