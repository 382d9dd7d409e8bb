package sealed_test

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
	"github.com/hookrelay/hookrelay/internal/store/sealed"
)

// postgresURL creates an empty database on the server named by
// HOOKRELAY_TEST_DATABASE_URL, dropped when the test ends, and returns its
// URL. The test is skipped without that variable.
func postgresURL(t *testing.T) string {
	t.Helper()
	server := os.Getenv("HOOKRELAY_TEST_DATABASE_URL")
	if server == "" {
		t.Skip("HOOKRELAY_TEST_DATABASE_URL is not set")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer admin.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "hookrelay_sealed_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("connect to drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// On PostgreSQL: nothing plain in the columns, and values read back.
func TestPostgres(t *testing.T) {
	dbURL := postgresURL(t)
	inner, err := postgres.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	s := sealed.Wrap(inner, mustKeys(t, keyA))
	defer s.Close()
	app := newApp(t, s)
	ep := newEndpoint(t, s, app.ID)

	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var secret, oldSecrets, headers string
	err = conn.QueryRow(t.Context(), `SELECT secret, old_secrets::text, headers::text FROM endpoints WHERE id = $1`, ep.ID).
		Scan(&secret, &oldSecrets, &headers)
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{secret, oldSecrets, headers} {
		for _, plain := range []string{plainSecret, plainOldSecret, plainToken, plainAuth} {
			if strings.Contains(col, plain) {
				t.Errorf("column holds plaintext %q: %s", plain, col)
			}
		}
	}
	got, err := s.GetEndpoint(t.Context(), app.ID, ep.ID)
	if err != nil || got.Secret != plainSecret || got.OldSecrets[0].Secret != plainOldSecret || got.Headers["authorization"] != plainAuth {
		t.Fatalf("read back: %+v, %v", got, err)
	}
	list, err := s.ListEndpoints(t.Context(), app.ID, store.Page{Limit: 10})
	if err != nil || len(list) != 1 || list[0].Headers["X-Webhook-Token"] != plainToken {
		t.Fatalf("list: %+v, %v", list, err)
	}
}
