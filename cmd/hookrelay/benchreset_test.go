package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestBenchRefusesDatabasesItDidNotCreate: bench empties its PostgreSQL
// database before each scenario, so it refuses one holding anything it
// did not put there (someone's tables, a hookrelay server's data) unless
// --wipe-database is given; an empty database, or one bench emptied
// before, needs no flag.
func TestBenchRefusesDatabasesItDidNotCreate(t *testing.T) {
	ctx := t.Context()
	exec := func(t *testing.T, url, sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	tableExists := func(t *testing.T, url, name string) bool {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, "public."+name).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	served := func(t *testing.T, url string) { // a hookrelay server's database
		st, err := openStoreWith(ctx, url, envOf(nil), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
	}

	tests := []struct {
		name  string
		setup func(t *testing.T, url string)
		table string // a table the setup made, kept when refused
	}{
		{"someone's table", func(t *testing.T, url string) {
			exec(t, url, `CREATE TABLE customers (id int); INSERT INTO customers VALUES (1)`)
		}, "customers"},
		{"a function only", func(t *testing.T, url string) {
			exec(t, url, `CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 42'`)
		}, ""},
		{"a hookrelay server's database", served, "applications"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := newPostgresDatabase(t)
			tt.setup(t, url)

			err := resetBenchDatabase(ctx, url, false)
			if err == nil || !strings.Contains(err.Error(), "--wipe-database") {
				t.Fatalf("reset without --wipe-database: %v; want a refusal naming the flag", err)
			}
			if tt.table != "" && !tableExists(t, url, tt.table) {
				t.Fatalf("the refused reset dropped %s", tt.table)
			}
			var out bytes.Buffer
			err = run(ctx, []string{"bench", "--database-url", url, "--scenarios", "throughput"}, envOf(nil), &out, &out)
			if err == nil || !strings.Contains(err.Error(), "--wipe-database") {
				t.Fatalf("hookrelay bench without --wipe-database: %v; want a refusal\n%s", err, out.String())
			}

			if err := resetBenchDatabase(ctx, url, true); err != nil {
				t.Fatalf("reset with --wipe-database: %v", err)
			}
			if tt.table != "" && tableExists(t, url, tt.table) {
				t.Fatalf("the wipe kept %s", tt.table)
			}
			// Now bench's: emptied again without the flag, a server's
			// tables included.
			served(t, url)
			if err := resetBenchDatabase(ctx, url, false); err != nil {
				t.Fatalf("reset of bench's own database: %v", err)
			}
			if tableExists(t, url, "applications") {
				t.Fatal("the reset kept the server's tables")
			}
		})
	}

	t.Run("empty database", func(t *testing.T) {
		url := newPostgresDatabase(t)
		if err := resetBenchDatabase(ctx, url, false); err != nil {
			t.Fatalf("reset of an empty database: %v", err)
		}
	})
}
