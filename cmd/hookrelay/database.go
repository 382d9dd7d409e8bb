package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/hookrelay/hookrelay/store"
	"github.com/hookrelay/hookrelay/store/sqlite"
)

// openStore opens and migrates the database named by url: a postgres:// or
// postgresql:// URL selects PostgreSQL; anything else is a SQLite file path,
// optionally written sqlite:PATH, sqlite://PATH or file:PATH.
func openStore(ctx context.Context, url string) (store.Store, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	}
	path := url
	for _, p := range []string{"sqlite://", "sqlite:", "file:"} {
		if rest, ok := strings.CutPrefix(path, p); ok {
			path = rest
			break
		}
	}
	if path == "" {
		return nil, fmt.Errorf("database url %q names no file", url)
	}
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}
