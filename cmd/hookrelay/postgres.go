package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay/store"
	"github.com/hookrelay/hookrelay/store/postgres"
)

func openPostgres(ctx context.Context, url string, logger *slog.Logger) (store.Store, error) {
	if err := checkPostgresURL(url); err != nil {
		return nil, err
	}
	s, err := postgres.Open(ctx, url, postgres.WithLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redactURL(url), err)
	}
	return s, nil
}

// resetPostgres drops every hookrelay table of the database at url, for
// the load tool's fresh start per scenario.
func resetPostgres(ctx context.Context, url string) error {
	if err := checkPostgresURL(url); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("bench: connect: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`)
	if err != nil {
		return fmt.Errorf("bench: reset database: %w", err)
	}
	return nil
}
