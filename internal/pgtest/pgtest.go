// Package pgtest gives tests a PostgreSQL database of their own on the
// server that HOOKRELAY_TEST_DATABASE_URL names. It is imported by tests
// only.
package pgtest

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
)

// EnvURL names the environment variable that points the tests at a
// PostgreSQL server; tests that need one are skipped without it.
const EnvURL = "HOOKRELAY_TEST_DATABASE_URL"

// ServerURL returns the server's URL, skipping the test when EnvURL is
// unset.
func ServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		t.Skip(EnvURL + " is not set")
	}
	return u
}

// NewDatabase creates an empty UTF-8 database named prefix_<random> on
// the server, drops it (closing its connections) when the test ends, and
// returns its URL. The test is skipped without EnvURL.
func NewDatabase(t testing.TB, prefix string) string {
	t.Helper()
	return NewDatabaseWith(t, prefix, "")
}

// NewDatabaseWith is NewDatabase with extra CREATE DATABASE options (such as
// a locale provider) appended after the template and encoding.
func NewDatabaseWith(t testing.TB, prefix, options string) string {
	t.Helper()
	server := ServerURL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := prefix + "_" + hex.EncodeToString(b[:])
	create := "CREATE DATABASE " + name + " TEMPLATE template0 ENCODING 'UTF8'"
	if options != "" {
		create += " " + options
	}
	if err := exec(server, create); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if err := exec(server, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return databaseURL(t, server, name)
}

// statementTimeout bounds create and drop. Dropping a database makes
// PostgreSQL checkpoint, which on a machine busy with other tests has
// taken more than 30 s.
const statementTimeout = 2 * time.Minute

// exec runs one statement on the server's own database.
func exec(server, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// databaseURL points server's URL (or key=value string) at database name.
func databaseURL(t testing.TB, server, name string) string {
	t.Helper()
	if !strings.Contains(server, "://") {
		return server + " dbname=" + name
	}
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}
