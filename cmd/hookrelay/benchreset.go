package main

import (
	"context"
	"errors"
	"strings"
)

// resetBenchDatabase empties a PostgreSQL database before a bench run so
// every scenario starts from the same state.
func resetBenchDatabase(ctx context.Context, url string) error {
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return errors.New("bench: --database-url must be a postgres:// URL; SQLite runs use a fresh file")
	}
	return resetPostgres(ctx, url)
}
