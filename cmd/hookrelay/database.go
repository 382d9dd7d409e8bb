package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/sealed"
	"github.com/hookrelay/hookrelay/internal/store/sqlite"
)

// openStore is openStoreWith reading the process environment and logging
// to slog.Default().
func openStore(ctx context.Context, url string) (store.Store, error) {
	return openStoreWith(ctx, url, os.Getenv, slog.Default())
}

// openStoreWith opens and migrates the database named by url (see
// openDatabase) and seals endpoint secrets at rest with the keys that
// getenv's HOOKRELAY_ENCRYPTION_KEYS* settings name (see keys.go).
func openStoreWith(ctx context.Context, url string, getenv func(string) string, logger *slog.Logger) (store.Store, error) {
	st, _, err := openStoreNotifier(ctx, url, getenv, logger)
	return st, err
}

// notifier is a database that calls fn whenever any node queues work
// (PostgreSQL's LISTEN/NOTIFY). SQLite, for one node, has none.
type notifier interface {
	Subscribe(ctx context.Context, fn func()) error
}

// openStoreNotifier is openStoreWith that also returns the database's
// notifier, nil when it has none.
func openStoreNotifier(ctx context.Context, url string, getenv func(string) string, logger *slog.Logger) (store.Store, notifier, error) {
	st, keys, err := openStoreKeys(ctx, url, getenv, logger)
	if err != nil {
		return nil, nil, err
	}
	n, _ := st.(notifier)
	return sealed.Wrap(st, keys, sealed.WithLogger(logger)), n, nil
}

// sqlitePathOf returns the file of a SQLite database URL, and false for a
// PostgreSQL one: a postgres:// or postgresql:// URL selects PostgreSQL;
// anything else is a SQLite file path, optionally written sqlite:PATH,
// sqlite://PATH or file:PATH.
func sqlitePathOf(url string) (string, bool, error) {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return "", false, nil
	}
	path := url
	for _, p := range []string{"sqlite://", "sqlite:", "file:"} {
		if rest, ok := strings.CutPrefix(path, p); ok {
			path = rest
			break
		}
	}
	if path == "" {
		return "", false, fmt.Errorf("database url %q names no file", url)
	}
	return path, true, nil
}

// openDatabase opens and migrates the database named by url, as it stores
// things (secrets sealed or not). The store's own warnings go to logger.
func openDatabase(ctx context.Context, url string, logger *slog.Logger) (store.Store, error) {
	path, isSQLite, err := sqlitePathOf(url)
	if err != nil {
		return nil, err
	}
	if !isSQLite {
		return openPostgres(ctx, url, logger)
	}
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", redactURL(path), err)
	}
	return s, nil
}
