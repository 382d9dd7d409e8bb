package delivery

import (
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
)

// step is one finished attempt fed to a window: after the clock advanced
// by after, an attempt of kind with status that took took; want is the
// window's size afterwards.
type step struct {
	after  time.Duration
	kind   hookrelay.OutcomeKind
	status int
	took   time.Duration
	want   int
}

func ok(after, took time.Duration, want int) step {
	return step{after, hookrelay.OutcomeSuccess, 204, took, want}
}

func answered(after time.Duration, status int, took time.Duration, want int) step {
	kind := hookrelay.OutcomeRejected
	if status < 300 {
		kind = hookrelay.OutcomeSuccess
	}
	return step{after, kind, status, took, want}
}

func unanswered(after time.Duration, want int) step {
	return step{after, hookrelay.OutcomeUnanswered, 0, 30 * time.Second, want}
}

// repeat returns n copies of s, the last wanting last and the others any
// size (-1).
func repeat(n int, s step, last int) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = s
		out[i].want = -1
	}
	out[n-1].want = last
	return out
}

func steps(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestWindow drives the controller through sequences of attempts on a fake
// clock and checks its size after each.
func TestWindow(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name  string
		limit int
		start window // zero: newWindow()
		steps []step
	}{
		{"the first answer opens the initial window, then slow start adds one per answer up to the limit", 16, window{}, steps(
			[]step{ok(ms, 200*ms, initialWindow), ok(ms, 200*ms, initialWindow+1), ok(ms, 200*ms, initialWindow+2)},
			repeat(16-initialWindow-2, ok(ms, 200*ms, 0), 16),
			[]step{ok(ms, 200*ms, 16)},
		)},
		{"an overloaded first answer opens nothing", 16, window{}, []step{
			answered(ms, 503, 50*ms, 1), ok(ms, 50*ms, 2), ok(ms, 50*ms, 2),
		}},
		{"the limit bounds the window", 3, window{}, []step{
			ok(ms, 5*ms, 3), ok(ms, 5*ms, 3), ok(ms, 5*ms, 3),
		}},
		{"an answered endpoint slow-starts from where it is", 16, window{size: 2, short: 50 * ms, long: 50 * ms}, []step{
			ok(ms, 50*ms, 3), ok(ms, 50*ms, 4),
		}},
		{"a limit below the window shrinks it", 4, window{size: 10}, []step{
			ok(ms, 5*ms, 4),
		}},
		{"past the threshold a window's worth of answers adds one", 16, window{size: 4, ssthresh: 4, short: 200 * ms, long: 200 * ms}, steps(
			[]step{ok(ms, 200*ms, 4), ok(ms, 200*ms, 4), ok(ms, 200*ms, 4), ok(ms, 200*ms, 5)},
			repeat(5, ok(ms, 200*ms, 0), 6),
		)},
		{"no answer drops to one, slow start to half", 16, window{size: 12}, steps(
			[]step{unanswered(ms, 1)},
			// Not the initial window: the cut left a threshold.
			[]step{ok(time.Second, 200*ms, 2), ok(ms, 200*ms, 3), ok(ms, 200*ms, 4), ok(ms, 200*ms, 5), ok(ms, 200*ms, 6)},
			// Threshold 6: linear from here.
			[]step{ok(ms, 200*ms, 6)},
		)},
		{"503 halves the window", 16, window{size: 16}, []step{
			answered(time.Second, 503, 50*ms, 8),
		}},
		{"429 halves the window", 16, window{size: 10}, []step{
			answered(time.Second, 429, 50*ms, 5),
		}},
		{"500 halves the window", 16, window{size: 10}, []step{
			answered(time.Second, 500, 50*ms, 5),
		}},
		{"other rejections are answers that grow it", 16, window{size: 4, short: 50 * ms, long: 50 * ms}, []step{
			answered(time.Second, 404, 50*ms, 5), answered(ms, 410, 50*ms, 6), answered(ms, 400, 50*ms, 7),
		}},
		{"one cut per round trip: answers sent before the cut do not cut again", 16, window{size: 16}, []step{
			answered(time.Second, 503, 100*ms, 8),
			answered(10*ms, 503, 100*ms, 8),  // sent 90 ms before the cut
			answered(50*ms, 503, 100*ms, 8),  // sent 40 ms before the cut
			answered(100*ms, 503, 100*ms, 4), // sent after it
		}},
		{"a cut of a one-wide window stays at one", 16, window{size: 1}, []step{
			answered(time.Second, 503, 50*ms, 1), answered(time.Second, 503, 50*ms, 1),
		}},
		{"answers after overload grow it linearly", 16, window{size: 8}, steps(
			[]step{answered(time.Second, 503, 50*ms, 4)},
			[]step{ok(time.Second, 50*ms, 4), ok(ms, 50*ms, 4), ok(ms, 50*ms, 4), ok(ms, 50*ms, 5)},
		)},
		{"latency rising from 50 ms to 5 s scales the window down at once", 16, window{}, steps(
			repeat(40, ok(10*ms, 50*ms, 0), 16),
			// The first 5 s answer: short average 1.26 s, long 0.2 s:
			// 16 × 0.2 / 1.26.
			[]step{ok(5*time.Second, 5*time.Second, 2)},
			// The next ones were sent before that cut: no further cut.
			[]step{ok(ms, 5*time.Second, 2), ok(ms, 5*time.Second, 2)},
			// One sent after it: 2 × 0.5 / 3.
			[]step{ok(5*time.Second, 5*time.Second, 1)},
		)},
		{"latency doubling and 100 ms more at least halves it", 16, window{}, steps(
			repeat(40, ok(10*ms, 100*ms, 0), 16),
			// Answers at 400 ms: short 175 then 231 ms, long 109 then
			// 118 ms: not yet twice.
			repeat(2, ok(10*ms, 400*ms, 0), 16),
			// short 273, long 127: 16 × 127 / 273; the next was sent
			// before that cut; one sent after it: 7 × 141 / 329.
			[]step{ok(10*ms, 400*ms, 7), ok(10*ms, 400*ms, 7), ok(500*ms, 400*ms, 3)},
		)},
		{"a slow endpoint becomes the new normal and grows again", 16, window{}, steps(
			repeat(40, ok(10*ms, 50*ms, 0), 16),
			// Cut to one while 5 s answers are news...
			repeat(21, ok(5*time.Second+ms, 5*time.Second, 0), 1),
			// ...then, as the long average nears 5 s, grown again.
			repeat(6, ok(5*time.Second+ms, 5*time.Second, 0), 4),
		)},
		{"a 50-500 ms spread is not congestion", 16, window{}, steps(
			spread(200, 16),
		)},
		{"millisecond receivers: a 40 ms hiccup is under the floor", 16, window{}, steps(
			repeat(40, ok(ms, ms, 0), 16),
			repeat(3, ok(ms, 40*ms, 0), 16),
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.start
			if w.size == 0 {
				w = newWindow()
			}
			now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
			for i, s := range tt.steps {
				now = now.Add(s.after)
				w.settle(now, s.kind, s.status, s.took, tt.limit)
				if s.want >= 0 && w.size != s.want {
					t.Fatalf("step %d (%v %d took %v): size %d, want %d", i, s.kind, s.status, s.took, w.size, s.want)
				}
				if w.size < 1 || w.size > tt.limit {
					t.Fatalf("step %d: size %d outside [1, %d]", i, w.size, tt.limit)
				}
			}
		})
	}
}

// spread is n answers whose times cycle through 50 to 500 ms (and back),
// each finishing 10 ms after the last, the last wanting want.
func spread(n, want int) []step {
	out := make([]step, n)
	for i := range out {
		k := i % 20
		if k >= 10 {
			k = 19 - k
		}
		out[i] = ok(10*time.Millisecond, time.Duration(50+50*k)*time.Millisecond, -1)
	}
	out[n-1].want = want
	return out
}
