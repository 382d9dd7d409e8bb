package sealed_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay/internal/pgtest"
	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/postgres"
	"github.com/hookrelay/hookrelay/internal/store/sealed"
)

// postgresURL is a database of the test's own on the server of
// HOOKRELAY_TEST_DATABASE_URL (skipped without it), dropped when the test ends.
func postgresURL(t *testing.T) string {
	t.Helper()
	return pgtest.NewDatabase(t, "hookrelay_sealed")
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
