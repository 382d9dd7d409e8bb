package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

func openTest(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// newApp creates an application in s.
func newApp(t *testing.T, s *Store) *hookrelay.Application {
	t.Helper()
	app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "a"}
	if err := s.CreateApplication(t.Context(), app); err != nil {
		t.Fatal(err)
	}
	return app
}

// newEndpoint creates an endpoint of appID, receiving everything, in s.
func newEndpoint(t *testing.T, s *Store, appID string) *hookrelay.Endpoint {
	t.Helper()
	ep := &hookrelay.Endpoint{AppID: appID, URL: "https://example.com", Version: 1, Secret: "whsec_x"}
	if err := s.CreateEndpoint(t.Context(), ep); err != nil {
		t.Fatal(err)
	}
	return ep
}

func TestOpenSettings(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "h.db"))
	defer s.Close()
	for _, c := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
		{"temp_store", "2"},  // MEMORY
		{"auto_vacuum", "2"}, // INCREMENTAL
	} {
		var got string
		if err := s.wdb.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatalf("pragma %s: %v", c.pragma, err)
		}
		if got != c.want {
			t.Errorf("write connection %s = %s, want %s", c.pragma, got, c.want)
		}
	}
	_, err := s.rdb.ExecContext(t.Context(), `DELETE FROM environments`)
	if err == nil {
		t.Fatal("a read connection wrote")
	}
}

func TestReopenKeepsDataAndMigrateIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s := openTest(t, path)
	app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "a"}
	if err := s.CreateApplication(t.Context(), app); err != nil {
		t.Fatal(err)
	}
	msg := &hookrelay.Message{AppID: app.ID, EventType: "x", Payload: []byte("{}")}
	if _, err := s.CreateMessage(t.Context(), store.CreateMessageParams{Message: msg}); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	s = openTest(t, path)
	defer s.Close()
	if _, err := s.GetMessage(t.Context(), app.ID, msg.ID); err != nil {
		t.Fatalf("message after reopen: %v", err)
	}
	var n int
	if err := s.rdb.QueryRowContext(t.Context(), `SELECT count(*) FROM environments`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("environments after reopen: %d, want 1", n)
	}
}

func TestOpenRejectsUnsupportedPaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "/tmp/x.db?mode=ro"} {
		if s, err := Open(t.Context(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

func TestCreateMessageAfterCloseFails(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "h.db"))
	app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "a"}
	if err := s.CreateApplication(t.Context(), app); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := s.CreateMessage(t.Context(), store.CreateMessageParams{Message: &hookrelay.Message{AppID: app.ID, EventType: "x"}})
	if !errors.Is(err, errClosed) {
		t.Fatalf("publish after close: %v, want %v", err, errClosed)
	}
}

func TestCreateMessageWithCancelledContext(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "h.db"))
	defer s.Close()
	app := &hookrelay.Application{EnvID: hookrelay.DefaultEnvironment, Name: "a"}
	if err := s.CreateApplication(t.Context(), app); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	msg := &hookrelay.Message{AppID: app.ID, EventType: "x", Payload: []byte("{}")}
	_, err := s.CreateMessage(ctx, store.CreateMessageParams{Message: msg})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("publish with a cancelled context: %v", err)
	}
	if _, err := s.GetMessage(t.Context(), app.ID, msg.ID); !errors.Is(err, hookrelay.ErrNotFound) {
		t.Fatalf("message of a cancelled publish: %v, want not found", err)
	}
}

// TestLeanQueueMigrationKeepsAttempts rolls the schema back over 00006 and 00005 and
// forward again on a database with an attempt: the attempt survives both
// ways, and deleting the endpoint still takes its attempts with it.
func TestLeanQueueMigrationKeepsAttempts(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "h.db")
	s := openTest(t, path)
	app := newApp(t, s)
	ep := newEndpoint(t, s, app.ID)
	msg := &hookrelay.Message{AppID: app.ID, EventType: "x", Payload: []byte("{}")}
	if _, err := s.CreateMessage(ctx, store.CreateMessageParams{Message: msg}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{Owner: "n", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 1})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("claim: %v, %d tasks", err, len(tasks))
	}
	err = s.CompleteAttempts(ctx, []store.AttemptResult{{
		Owner:   "n",
		Attempt: hookrelay.Attempt{DeliveryID: tasks[0].Delivery.ID, URL: ep.URL, Status: hookrelay.StatusSuccess, ResponseStatusCode: 200},
		Status:  hookrelay.StatusSuccess, Attempts: 1,
	}})
	if err != nil {
		t.Fatal(err)
	}
	attempts := func() int {
		t.Helper()
		var n int
		if err := s.wdb.QueryRowContext(ctx, `SELECT count(*) FROM attempts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	p, err := goose.NewProvider(database.DialectSQLite3, s.wdb, Migrations(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 4); err != nil {
		t.Fatalf("down to 4: %v", err)
	}
	if n := attempts(); n != 1 {
		t.Fatalf("after down: %d attempts, want 1", n)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	if n := attempts(); n != 1 {
		t.Fatalf("after up: %d attempts, want 1", n)
	}
	if err := s.DeleteEndpoint(ctx, app.ID, ep.ID); err != nil {
		t.Fatal(err)
	}
	if n := attempts(); n != 0 {
		t.Fatalf("after deleting the endpoint: %d attempts, want 0", n)
	}
	s.Close()
}

// TestAppendFriendlyMigration takes a database with messages (with and
// without eventId) and an attempt down over 00007 and up again: every row
// survives both ways, eventIds stay unique per application while messages
// without one do not collide, foreign keys are on again after each step,
// and deleting the application still takes messages, deliveries and
// attempts with it.
func TestAppendFriendlyMigration(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, filepath.Join(t.TempDir(), "h.db"))
	defer s.Close()
	app := newApp(t, s)
	ep := newEndpoint(t, s, app.ID)
	eventID := "evt-1"
	publish := func(eventID *string) error {
		t.Helper()
		_, err := s.CreateMessage(ctx, store.CreateMessageParams{Message: &hookrelay.Message{
			AppID: app.ID, EventType: "x", EventID: eventID, Payload: []byte(`{"n":1}`)}})
		return err
	}
	for _, id := range []*string{&eventID, nil, nil} {
		if err := publish(id); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	tasks, err := s.ClaimDeliveries(ctx, store.ClaimParams{Owner: "n", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 1})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("claim: %v, %d tasks", err, len(tasks))
	}
	results := []store.AttemptResult{{
		Owner:   "n",
		Attempt: hookrelay.Attempt{DeliveryID: tasks[0].Delivery.ID, URL: ep.URL, Status: hookrelay.StatusSuccess, ResponseStatusCode: 200},
		Status:  hookrelay.StatusSuccess, Attempts: 1,
	}}
	if err := s.CompleteAttempts(ctx, results); err != nil {
		t.Fatal(err)
	}
	count := func(table string) int {
		t.Helper()
		var n int
		if err := s.wdb.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	check := func(step string) {
		t.Helper()
		if m, d, a := count("messages"), count("deliveries"), count("attempts"); m != 3 || d != 3 || a != 1 {
			t.Fatalf("%s: %d messages, %d deliveries, %d attempts, want 3, 3, 1", step, m, d, a)
		}
		var fk int
		if err := s.wdb.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
			t.Fatalf("%s: foreign_keys = %d (%v), want 1", step, fk, err)
		}
		// By its columns of version 6: GetAttempt reads columns added since.
		var code int
		if err := s.wdb.QueryRowContext(ctx, `SELECT response_status_code FROM attempts WHERE id = ?`,
			results[0].Attempt.ID).Scan(&code); err != nil || code != 200 {
			t.Fatalf("%s: attempt status code %d, %v", step, code, err)
		}
		// By the columns of version 6: GetMessage reads columns added since.
		var n int
		if err := s.wdb.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE app_id = ? AND event_id = ?`,
			app.ID, eventID).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%s: %d messages with eventId %q, %v", step, n, eventID, err)
		}
		// By the columns of version 6 too: the store's publish writes
		// columns added since.
		_, err := s.wdb.ExecContext(ctx,
			`INSERT INTO messages (id, app_id, event_id, event_type, payload, created_at) VALUES (?, ?, ?, 'x', '{}', 0)`,
			hookrelay.NewID(hookrelay.PrefixMessage), app.ID, eventID)
		if !isUnique(err) {
			t.Fatalf("%s: a second message with eventId %q: %v, want a conflict", step, eventID, err)
		}
	}
	check("at the latest version")

	p, err := goose.NewProvider(database.DialectSQLite3, s.wdb, Migrations(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 6); err != nil {
		t.Fatalf("down to 6: %v", err)
	}
	check("after down")
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	check("after up")

	if err := s.DeleteApplication(ctx, app.EnvID, app.ID); err != nil {
		t.Fatal(err)
	}
	if m, d, a := count("messages"), count("deliveries"), count("attempts"); m != 0 || d != 0 || a != 0 {
		t.Fatalf("after deleting the application: %d messages, %d deliveries, %d attempts, want none", m, d, a)
	}
}

// TestFanoutFollowsEndpointWrites publishes between endpoint writes, made
// through the store and by another process (a second store on the file):
// the writer's cache of each application's endpoints never serves a
// publish that starts after a write has returned an endpoint list from
// before it.
func TestFanoutFollowsEndpointWrites(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "h.db")
	s := openTest(t, path)
	defer s.Close()
	app := newApp(t, s)
	expect := func(step string, want int) {
		t.Helper()
		res, err := s.CreateMessage(ctx, store.CreateMessageParams{Message: &hookrelay.Message{
			AppID: app.ID, EventType: "call.completed", Payload: []byte(`{}`)}})
		if err != nil {
			t.Fatalf("%s: publish: %v", step, err)
		}
		if res.Deliveries != want {
			t.Fatalf("%s: %d deliveries, want %d", step, res.Deliveries, want)
		}
	}
	expect("no endpoint", 0)
	ep1 := newEndpoint(t, s, app.ID)
	expect("one endpoint", 1)
	expect("one endpoint, again", 1)
	ep2 := newEndpoint(t, s, app.ID)
	expect("two endpoints", 2)
	ep1.FilterTypes = []string{"contact.*"}
	if err := s.UpdateEndpoint(ctx, ep1); err != nil {
		t.Fatal(err)
	}
	expect("the first filtered out", 1)
	if err := s.DeleteEndpoint(ctx, app.ID, ep2.ID); err != nil {
		t.Fatal(err)
	}
	expect("the second deleted", 0)

	other := openTest(t, path)
	newEndpoint(t, other, app.ID)
	other.Close()
	expect("an endpoint added by another process", 1)
}

// The writer keeps no more than maxFanoutEndpoints endpoints between group
// commits: past it, the next commit starts from an empty cache.
func TestFanoutCacheBounded(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "h.db"))
	defer s.Close()
	app := newApp(t, s)
	newEndpoint(t, s, app.ID)
	publish := func() {
		t.Helper()
		if _, err := s.CreateMessage(t.Context(), store.CreateMessageParams{Message: &hookrelay.Message{
			AppID: app.ID, EventType: "x", Payload: []byte(`{}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	publish()
	publish()
	if s.fanout.held != 1 {
		t.Fatalf("after two publishes %d endpoints kept, want 1 (loaded once)", s.fanout.held)
	}
	s.fanout.held = maxFanoutEndpoints + 1 // as if many applications had been loaded
	publish()
	if s.fanout.held != 1 {
		t.Fatalf("past the bound: %d endpoints kept, want the cache started afresh with 1", s.fanout.held)
	}
}
