package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// TestBinaryResponseMigration rolls the schema back over 00007 and forward
// again: a text body recorded before the migration reads back as the same
// bytes after it, and a binary body survives the way down escaped instead
// of failing it.
func TestBinaryResponseMigration(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	f := newFixture(t, s)
	const text, binary = "h\u00e9llo \u2603 {\"ok\":true}", "\x1f\x8b\x00\xff"
	record := func(body string) (msgID, attemptID string) {
		t.Helper()
		m := f.publish(t, s)
		now := time.Now()
		tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{Owner: "n", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 1})
		if err != nil || len(tasks) != 1 {
			t.Fatalf("claim: %v, %d tasks", err, len(tasks))
		}
		rs := []store.AttemptResult{{
			Owner: "n",
			Attempt: hookrelay.Attempt{DeliveryID: tasks[0].Delivery.ID, URL: f.ep.URL, Status: hookrelay.StatusSuccess,
				ResponseStatusCode: 200, Response: body},
			Status: hookrelay.StatusSuccess, Attempts: 1,
		}}
		if err := s.CompleteAttempts(ctx, rs); err != nil {
			t.Fatal(err)
		}
		return m.ID, rs[0].Attempt.ID
	}
	textMsg, textID := record(text)
	_, binaryID := record(binary)

	p := migrationsOf(t, s)
	if _, err := p.DownTo(ctx, 6); err != nil {
		t.Fatalf("down to 6: %v", err)
	}
	stored := func(id string) string {
		t.Helper()
		var got string
		if err := s.pool.QueryRow(ctx, `SELECT response::text FROM attempts WHERE id = $1`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := stored(textID); got != text {
		t.Errorf("after down: text body %q, want %q", got, text)
	}
	if got, want := stored(binaryID), "\x1f\\213\\000\\377"; got != want {
		t.Errorf("after down: binary body %q, want %q", got, want)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	a, err := s.GetAttempt(ctx, f.app.ID, textMsg, textID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Response != text {
		t.Errorf("after up: text body %q, want %q", a.Response, text)
	}
	var kind string
	if err := s.pool.QueryRow(ctx,
		`SELECT data_type FROM information_schema.columns WHERE table_name = 'attempts' AND column_name = 'response'`).Scan(&kind); err != nil || kind != "bytea" {
		t.Fatalf("attempts.response is %q (%v), want bytea", kind, err)
	}
}
