package api

import (
	"context"
	"testing"

	"github.com/hookrelay/hookrelay/internal/pgtest"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/postgres"
)

// envTestDatabase names the PostgreSQL server the PostgreSQL runs use;
// without it they are skipped. The role needs CREATEDB: each test gets a
// database of its own.
const envTestDatabase = "HOOKRELAY_TEST_DATABASE_URL"

// forEachStore runs test once on a fresh SQLite file and once on a fresh
// PostgreSQL database (skipped without HOOKRELAY_TEST_DATABASE_URL). open
// returns a new store each time it is called.
func forEachStore(t *testing.T, test func(t *testing.T, open func(t *testing.T) store.Store)) {
	t.Run("sqlite", func(t *testing.T) { test(t, openSQLite) })
	t.Run("postgres", func(t *testing.T) { test(t, openPostgres) })
}

// openPostgres opens a store on a fresh PostgreSQL database, closed and
// dropped when the test ends. The test is skipped without
// HOOKRELAY_TEST_DATABASE_URL.
func openPostgres(t *testing.T) store.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), newPostgresDatabase(t))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// newPostgresDatabase is a database of the test's own on the server of
// HOOKRELAY_TEST_DATABASE_URL (skipped without it), dropped when the test ends.
func newPostgresDatabase(t *testing.T) string {
	t.Helper()
	return pgtest.NewDatabase(t, "hookrelay_api")
}
