package delivery

import (
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
)

// TestEndpointWindowPerOutcome: an answer doubles the endpoint's window (up
// to its cap), no answer drops it to one, and an attempt that sent nothing
// (refused by policy, internal) leaves it and the quick mark as they were.
func TestEndpointWindowPerOutcome(t *testing.T) {
	fast, slow := time.Millisecond, 300*time.Millisecond
	tests := []struct {
		name       string
		window     int // before, with a cap of 16; 0 is an endpoint just seen
		quick      bool
		kind       hookrelay.OutcomeKind
		took       time.Duration
		wantWindow int
		wantQuick  bool
	}{
		{"success doubles", 4, false, hookrelay.OutcomeSuccess, fast, 8, true},
		{"success up to the cap", 16, true, hookrelay.OutcomeSuccess, fast, 16, true},
		{"slow success", 4, true, hookrelay.OutcomeSuccess, slow, 8, false},
		{"rejected is an answer", 4, false, hookrelay.OutcomeRejected, fast, 8, true},
		{"first answer", 0, false, hookrelay.OutcomeSuccess, fast, 2, true},
		{"unanswered drops to one", 8, true, hookrelay.OutcomeUnanswered, slow, 1, false},
		{"refused changes nothing", 8, true, hookrelay.OutcomeRefused, fast, 8, true},
		{"refused on a new endpoint", 0, false, hookrelay.OutcomeRefused, fast, 0, false},
		{"refused after no answer", 1, false, hookrelay.OutcomeRefused, fast, 1, false},
		{"internal changes nothing", 8, true, hookrelay.OutcomeInternal, fast, 8, true},
		{"unknown changes nothing", 8, false, hookrelay.OutcomeUnknown, fast, 8, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &endpointState{id: "ep", cap: 16, window: tt.window, quick: tt.quick}
			e.settle(tt.kind, tt.took)
			if e.window != tt.wantWindow || e.quick != tt.wantQuick {
				t.Fatalf("window %d quick %v, want %d %v", e.window, e.quick, tt.wantWindow, tt.wantQuick)
			}
			if want := max(1, min(16, tt.wantWindow)); e.limit() != want {
				t.Fatalf("limit %d, want %d", e.limit(), want)
			}
		})
	}
}
