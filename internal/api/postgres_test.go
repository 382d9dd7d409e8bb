package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

// newPostgresDatabase creates an empty database on the server of
// HOOKRELAY_TEST_DATABASE_URL, dropped when the test ends, and returns its
// URL.
func newPostgresDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv(envTestDatabase)
	if base == "" {
		t.Skip(envTestDatabase + " is not set")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "hookrelay_api_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", envTestDatabase, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	if !strings.Contains(base, "://") {
		return base + " dbname=" + name // key=value form: the last setting wins
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", envTestDatabase, err)
	}
	u.Path = "/" + name
	return u.String()
}
