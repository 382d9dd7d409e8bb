package delivery

import (
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
)

// TestEndpointSettlePerOutcome: the endpoint's window follows its
// controller (see TestWindow), capped, and the quick mark follows answer
// times; an attempt that sent nothing (refused by policy, internal) leaves
// both as they were.
func TestEndpointSettlePerOutcome(t *testing.T) {
	fast, slow := time.Millisecond, 300*time.Millisecond
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		window     int // before, with a cap of 16, in slow start after earlier answers; 0 for a new endpoint
		quick      bool
		kind       hookrelay.OutcomeKind
		status     int
		took       time.Duration
		wantWindow int
		wantQuick  bool
	}{
		{"success grows", 4, false, hookrelay.OutcomeSuccess, 200, fast, 5, true},
		{"success up to the cap", 16, true, hookrelay.OutcomeSuccess, 200, fast, 16, true},
		{"slow success", 4, true, hookrelay.OutcomeSuccess, 200, slow, 5, false},
		{"rejected 400 is an answer", 4, false, hookrelay.OutcomeRejected, 400, fast, 5, true},
		{"rejected 503 halves", 8, false, hookrelay.OutcomeRejected, 503, fast, 4, true},
		{"first answer", 0, false, hookrelay.OutcomeSuccess, 200, fast, initialWindow, true},
		{"unanswered drops to one", 8, true, hookrelay.OutcomeUnanswered, 0, slow, 1, false},
		{"refused changes nothing", 8, true, hookrelay.OutcomeRefused, 0, fast, 8, true},
		{"refused after no answer", 1, false, hookrelay.OutcomeRefused, 0, fast, 1, false},
		{"internal changes nothing", 8, true, hookrelay.OutcomeInternal, 0, fast, 8, true},
		{"unknown changes nothing", 8, false, hookrelay.OutcomeUnknown, 0, fast, 8, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &endpointState{id: "ep", cap: 16, win: newWindow(), quick: tt.quick}
			if tt.window > 0 {
				e.win = window{size: tt.window, short: 200 * time.Millisecond, long: 200 * time.Millisecond}
			}
			e.settle(now, tt.kind, tt.status, tt.took)
			if e.win.size != tt.wantWindow || e.quick != tt.wantQuick {
				t.Fatalf("window %d quick %v, want %d %v", e.win.size, e.quick, tt.wantWindow, tt.wantQuick)
			}
			if want := max(1, min(16, tt.wantWindow)); e.limit() != want {
				t.Fatalf("limit %d, want %d", e.limit(), want)
			}
		})
	}
}

// TestEndpointLimitWithinCap: the window never lets more than the cap in
// flight, also when the cap falls below it (another node joined).
func TestEndpointLimitWithinCap(t *testing.T) {
	e := &endpointState{cap: 16, win: window{size: 12}}
	if e.limit() != 12 {
		t.Fatalf("limit %d, want 12", e.limit())
	}
	e.cap = 8
	if e.limit() != 8 {
		t.Fatalf("limit %d after the cap fell, want 8", e.limit())
	}
	e.win.size = 0
	if e.limit() != 1 {
		t.Fatalf("limit %d of an empty window, want 1", e.limit())
	}
}
