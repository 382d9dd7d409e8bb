package delivery

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

// fakeSender stands in for the HTTP sender: every attempt waits until the
// test answers it with an outcome.
type fakeSender struct {
	calls chan *fakeCall

	mu       sync.Mutex
	inFlight int
}

// fakeCall is one attempt in flight. concurrent is how many attempts were
// in flight when it started, itself included.
type fakeCall struct {
	task       *store.Task
	concurrent int
	answer     chan outcome
}

func newFakeSender() *fakeSender {
	return &fakeSender{calls: make(chan *fakeCall, 1024)}
}

func (f *fakeSender) send(ctx context.Context, t *store.Task) outcome {
	c := &fakeCall{task: t, answer: make(chan outcome, 1)}
	f.mu.Lock()
	f.inFlight++
	c.concurrent = f.inFlight
	f.mu.Unlock()
	f.calls <- c
	var o outcome
	select {
	case o = <-c.answer:
	case <-ctx.Done():
		o = outcome{cancelled: true}
	}
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
	return o
}

func (f *fakeSender) closeIdle() {}

// next returns the next attempt to start, failing the test after 5 s.
func (f *fakeSender) next(t *testing.T) *fakeCall {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no attempt started within 5s")
		return nil
	}
}

func (c *fakeCall) reply(kind hookrelay.OutcomeKind) {
	o := outcome{kind: kind, start: time.Now(), duration: time.Millisecond}
	switch kind {
	case hookrelay.OutcomeSuccess:
		o.statusCode = 200
	case hookrelay.OutcomeRejected:
		o.statusCode = 400 // not an overload status: 429 and 5xx cut the window (TestWindow)
	}
	c.answer <- o
}

// TestWindowFollowsOutcomeKinds runs a dispatcher over a fake sender: once
// an endpoint has four requests in flight (its cap), outcomes of one kind
// keep it there, or, for attempts that got no answer, bring it down to one
// at a time. A refusal by policy or an internal failure says nothing of
// the receiver and must not throttle it like a dead one.
func TestWindowFollowsOutcomeKinds(t *testing.T) {
	tests := []struct {
		kind         hookrelay.OutcomeKind
		wantInFlight int
	}{
		{hookrelay.OutcomeSuccess, 4},
		{hookrelay.OutcomeRejected, 4},
		{hookrelay.OutcomeUnanswered, 1},
		{hookrelay.OutcomeRefused, 4},
		{hookrelay.OutcomeInternal, 4},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "a"}
			if err := st.CreateApplication(t.Context(), app); err != nil {
				t.Fatal(err)
			}
			ep := &hookrelay.Endpoint{AppID: app.ID, URL: "https://receiver.example/hook", Version: 1, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
			if err := st.CreateEndpoint(t.Context(), ep); err != nil {
				t.Fatal(err)
			}
			for i := range 60 {
				m := &hookrelay.Message{AppID: app.ID, EventType: "e", Payload: []byte(fmt.Sprintf(`{"n":%d}`, i))}
				if _, err := st.CreateMessage(t.Context(), store.CreateMessageParams{Message: m}); err != nil {
					t.Fatal(err)
				}
			}
			fake := newFakeSender()
			d := newDispatcher(Config{
				Store:                  st,
				NodeID:                 "node-a",
				Workers:                16,
				MaxInFlightPerEndpoint: 4,
				RetrySchedule:          []time.Duration{},
				PollInterval:           time.Minute,
				ShutdownGrace:          5 * time.Second,
			}.withDefaults(), fake)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			t.Cleanup(func() {
				// Answer whatever is still sent until Run has returned.
				stop := make(chan struct{})
				go func() {
					for {
						select {
						case c := <-fake.calls:
							c.reply(hookrelay.OutcomeSuccess)
						case <-stop:
							return
						}
					}
				}()
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
				close(stop)
			})

			// Grow the window to the cap: one request, then every answer
			// lets one more go beside the one it freed (slow start).
			c := fake.next(t)
			c.reply(hookrelay.OutcomeSuccess)
			pending := []*fakeCall{fake.next(t), fake.next(t)}
			for len(pending) < 4 {
				pending[0].reply(hookrelay.OutcomeSuccess)
				pending = append(pending[1:], fake.next(t), fake.next(t))
			}
			for _, c := range pending {
				if c.concurrent > 4 {
					t.Fatalf("%d requests in flight, over the cap of 4", c.concurrent)
				}
			}

			// Every attempt from now on ends with the kind under test; the
			// test answers the oldest attempt once as many as the window
			// should allow are in flight. Were the window smaller, the
			// next attempt would never come; were it larger, attempts
			// would start beside one that is not yet answered.
			for _, c := range pending {
				c.reply(tt.kind)
			}
			pending = pending[:0]
			most := 0
			for range 12 {
				c := fake.next(t)
				most = max(most, c.concurrent)
				pending = append(pending, c)
				if len(pending) >= tt.wantInFlight {
					pending[0].reply(tt.kind)
					pending = pending[1:]
				}
			}
			if most != tt.wantInFlight {
				t.Fatalf("after %v outcomes, at most %d requests in flight at once, want %d", tt.kind, most, tt.wantInFlight)
			}
			for _, c := range pending {
				c.reply(tt.kind)
			}
		})
	}
}
