package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// A database made before incremental auto-vacuum is switched to it by the
// migration, keeping its rows.
func TestIncrementalVacuumMigrationSwitchesExistingFiles(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, filepath.Join(t.TempDir(), "h.db"))
	defer s.Close()
	app := newApp(t, s)
	msg := &hookrelay.Message{AppID: app.ID, EventType: "x", Payload: []byte("{}")}
	if _, err := s.CreateMessage(ctx, store.CreateMessageParams{Message: msg}); err != nil {
		t.Fatal(err)
	}
	mode := func() int {
		t.Helper()
		var n int
		if err := s.wdb.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	p, err := goose.NewProvider(database.DialectSQLite3, s.wdb, Migrations(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 14); err != nil {
		t.Fatalf("down to 14: %v", err)
	}
	if m := mode(); m != 0 {
		t.Fatalf("auto_vacuum %d after down, want 0 (none)", m)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	if m := mode(); m != 2 {
		t.Fatalf("auto_vacuum %d after up, want 2 (incremental)", m)
	}
	if _, err := s.GetMessage(ctx, app.ID, msg.ID); err != nil {
		t.Fatalf("message after the switch: %v", err)
	}
}
