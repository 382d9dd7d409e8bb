package delivery

import (
	"time"

	"testing"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

func taskFor(endpointID string) store.Task {
	return store.Task{Endpoint: hookrelay.Endpoint{ID: endpointID}}
}

func taskPtr(endpointID string) *store.Task {
	t := taskFor(endpointID)
	return &t
}

// wants calls lp.Want for each endpoint and returns the answers.
func wants(lp *store.LeaseParams, endpointIDs ...string) []bool {
	out := make([]bool, len(endpointIDs))
	for i, id := range endpointIDs {
		out[i] = lp.Want(id)
	}
	return out
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGate(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, g *gate)
	}{
		{"an unknown endpoint gets the first hold cap", func(t *testing.T, g *gate) {
			lp := &store.LeaseParams{}
			g.open(lp)
			if got := wants(lp, "a", "a", "a", "b"); !equalBools(got, []bool{true, true, false, true}) {
				t.Errorf("wants = %v", got)
			}
		}},
		{"the loop's count and cap bound every publish together", func(t *testing.T, g *gate) {
			g.update(nil, []*endpointState{{id: "a", cap: 4, win: window{size: 4}, inFlight: 4, queue: make([]heldTask, 2)}}) // hold cap 8, 6 held
			p1, p2 := &store.LeaseParams{}, &store.LeaseParams{}
			g.open(p1)
			g.open(p2)
			if got := append(wants(p1, "a"), wants(p2, "a", "a")...); !equalBools(got, []bool{true, true, false}) {
				t.Errorf("wants = %v", got)
			}
		}},
		{"a failed publish gives its room back", func(t *testing.T, g *gate) {
			p1 := &store.LeaseParams{}
			g.open(p1)
			wants(p1, "a", "a")
			g.settle(p1, nil)
			p2 := &store.LeaseParams{}
			g.open(p2)
			if got := wants(p2, "a", "a"); !equalBools(got, []bool{true, true}) {
				t.Errorf("wants after a failed publish = %v", got)
			}
		}},
		{"handed-over tasks count until the loop reports them", func(t *testing.T, g *gate) {
			p1 := &store.LeaseParams{}
			g.open(p1)
			wants(p1, "a", "a") // a publish that ran twice reserves twice
			g.settle(p1, []store.Task{taskFor("a")})
			p2 := &store.LeaseParams{}
			g.open(p2)
			if got := wants(p2, "a", "a"); !equalBools(got, []bool{true, false}) {
				t.Errorf("wants beside one handed-over task = %v", got)
			}
			g.settle(p2, []store.Task{taskFor("a")})
			// The loop takes both over and holds them: still full.
			g.update([]*store.Task{taskPtr("a"), taskPtr("a")},
				[]*endpointState{{id: "a", cap: 16, win: window{size: 1}, inFlight: 1, queue: make([]heldTask, 1)}})
			p3 := &store.LeaseParams{}
			g.open(p3)
			if got := wants(p3, "a"); !equalBools(got, []bool{false}) {
				t.Errorf("wants with the loop full = %v", got)
			}
			// One sent and answered quickly: the window and the hold cap grow.
			ep := &endpointState{id: "a", cap: 16, win: window{size: 1}, inFlight: 1}
			ep.settle(time.Now(), hookrelay.OutcomeSuccess, 204, 0)
			ep.inFlight = 0
			g.update(nil, []*endpointState{ep})
			if got := wants(p3, "a"); !equalBools(got, []bool{true}) {
				t.Errorf("wants after an answer = %v", got)
			}
		}},
		{"a settled publish takes nothing more", func(t *testing.T, g *gate) {
			lp := &store.LeaseParams{}
			g.open(lp)
			g.settle(lp, nil)
			if lp.Want("a") {
				t.Error("a settled publish reserved room")
			}
		}},
		{"forget keeps endpoints publishes still count on", func(t *testing.T, g *gate) {
			lp := &store.LeaseParams{}
			g.open(lp)
			wants(lp, "a", "b")
			g.settle(lp, []store.Task{taskFor("a")})
			g.forget("a")
			g.forget("b")
			if g.eps["a"] == nil || g.eps["a"].pending != 1 {
				t.Errorf("endpoint a: %+v, want kept with one pending", g.eps["a"])
			}
			if g.eps["b"] != nil {
				t.Errorf("endpoint b: %+v, want forgotten", g.eps["b"])
			}
			if len(g.lease) != 0 {
				t.Errorf("%d leases still open", len(g.lease))
			}
		}},
		{"room reserved in vain for an endpoint the loop never saw is dropped", func(t *testing.T, g *gate) {
			lp := &store.LeaseParams{}
			g.open(lp)
			wants(lp, "a", "b")
			g.settle(lp, []store.Task{taskFor("b")})
			if g.eps["a"] != nil {
				t.Errorf("endpoint a: %+v, want dropped", g.eps["a"])
			}
			if g.eps["b"] == nil || g.eps["b"].pending != 1 {
				t.Errorf("endpoint b: %+v, want one pending", g.eps["b"])
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newGate()) })
	}
}
