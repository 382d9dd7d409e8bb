package main

import (
	"context"
	"errors"
	"strings"
)

// resetBenchDatabase empties a PostgreSQL database before a bench run so
// every scenario starts from the same state. It refuses a database holding
// anything bench did not put there (see resetPostgres) unless wipe is set.
func resetBenchDatabase(ctx context.Context, url string, wipe bool) error {
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return errors.New("bench: --database-url must be a postgres:// URL; SQLite runs use a fresh file")
	}
	return resetPostgres(ctx, url, wipe)
}
