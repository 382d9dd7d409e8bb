package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// explain returns the lines of EXPLAIN options (text format) of sql run
// with args, failing t when PostgreSQL cannot plan it.
func explain(t testing.TB, s *Store, options, sql string, args ...any) []string {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), "EXPLAIN "+options+" "+sql, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	return plan
}
