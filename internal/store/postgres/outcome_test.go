package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// TestAttemptOutcomeMigration rolls the schema back over 00008 and forward
// again: every attempt recorded before gets the kind its status, code and
// (for attempts without a response) hookrelay's own reason say. An attempt
// stored with 0, as a node of the previous version records it, reads with
// the kind its status and code say.
func TestAttemptOutcomeMigration(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	f := newFixture(t, s)
	m := f.publish(t, s)
	now := time.Now()
	tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{Owner: "n", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 1})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("claim: %v, %d tasks", err, len(tasks))
	}
	cases := []struct {
		name     string
		status   hookrelay.MessageStatus
		code     int
		response string
		want     hookrelay.OutcomeKind
	}{
		{"2xx", hookrelay.StatusSuccess, 200, `{"ok":true}`, hookrelay.OutcomeSuccess},
		{"500", hookrelay.StatusFail, 500, "cannot sign: oops", hookrelay.OutcomeRejected},
		{"2xx cut short", hookrelay.StatusFail, 200, "reading the response body: request timed out after 5s", hookrelay.OutcomeRejected},
		{"timeout", hookrelay.StatusFail, 0, "request timed out after 5s", hookrelay.OutcomeUnanswered},
		{"refused connection", hookrelay.StatusFail, 0, "dial tcp 127.0.0.1:1: connect: connection refused", hookrelay.OutcomeUnanswered},
		{"ssrf", hookrelay.StatusFail, 0, "destination 10.0.0.1 refused: private address", hookrelay.OutcomeRefused},
		{"https only", hookrelay.StatusFail, 0, "https required", hookrelay.OutcomeRefused},
		{"disabled", hookrelay.StatusFail, 0, "endpoint disabled", hookrelay.OutcomeRefused},
		{"bad url", hookrelay.StatusFail, 0, "invalid endpoint URL: no host", hookrelay.OutcomeRefused},
		{"bad header", hookrelay.StatusFail, 0, `invalid header field "X-A"`, hookrelay.OutcomeRefused},
		{"sealed", hookrelay.StatusFail, 0, "not sent: the server cannot decrypt this endpoint's stored secrets; the delivery will be tried again", hookrelay.OutcomeInternal},
		{"cannot sign", hookrelay.StatusFail, 0, "cannot sign: bad secret", hookrelay.OutcomeInternal},
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		rs := []store.AttemptResult{{
			Owner: "n",
			Attempt: hookrelay.Attempt{DeliveryID: tasks[0].Delivery.ID, URL: f.ep.URL, Status: c.status,
				ResponseStatusCode: c.code, Response: c.response, Outcome: hookrelay.OutcomeSuccess},
			Status: hookrelay.StatusPending, Attempts: 1,
		}}
		if err := s.CompleteAttempts(ctx, rs); err != nil {
			t.Fatal(err)
		}
		ids[i] = rs[0].Attempt.ID
	}
	p := migrationsOf(t, s)
	if _, err := p.DownTo(ctx, 10); err != nil {
		t.Fatalf("down to 10: %v", err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	for i, c := range cases {
		a, err := s.GetAttempt(ctx, f.app.ID, m.ID, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if a.Outcome != c.want {
			t.Errorf("%s: outcome %v after the migration, want %v", c.name, a.Outcome, c.want)
		}
	}

	// Written by a node that does not know the column.
	if _, err := s.pool.Exec(ctx, `UPDATE attempts SET outcome = 0`); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		a, err := s.GetAttempt(ctx, f.app.ID, m.ID, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if want := hookrelay.DeriveOutcome(c.status, c.code); a.Outcome != want {
			t.Errorf("%s: outcome 0 read as %v, want %v", c.name, a.Outcome, want)
		}
	}
}
