package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay/internal/store"
	"github.com/hookrelay/hookrelay/internal/store/postgres"
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

// benchMarker is the table bench creates in a database it has emptied; a
// database holding it is bench's to empty again.
const benchMarker = "hookrelay_bench"

// resetPostgres drops everything in the public schema of the database at
// url, for the load tool's fresh start per scenario, and marks the
// database as bench's (benchMarker). A database whose public schema holds
// anything (tables, functions, types) without that mark is refused unless
// wipe is set: it holds data bench did not create.
func resetPostgres(ctx context.Context, url string, wipe bool) error {
	if err := checkPostgresURL(url); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("bench: connect: %w", err)
	}
	defer conn.Close(ctx)
	if !wipe {
		var marked, used bool
		err := conn.QueryRow(ctx, `
			SELECT to_regclass('public.`+benchMarker+`') IS NOT NULL,
			       EXISTS (SELECT 1 FROM pg_class WHERE relnamespace = to_regnamespace('public'))
			    OR EXISTS (SELECT 1 FROM pg_proc WHERE pronamespace = to_regnamespace('public'))
			    OR EXISTS (SELECT 1 FROM pg_type WHERE typnamespace = to_regnamespace('public'))`).Scan(&marked, &used)
		if err != nil {
			return fmt.Errorf("bench: inspect database: %w", err)
		}
		if used && !marked {
			return fmt.Errorf("bench: database %s holds data bench did not create, and bench drops everything in its public schema before each scenario: use an empty database, or give --wipe-database to wipe this one", redactURL(url))
		}
	}
	_, err = conn.Exec(ctx, `DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;
		CREATE TABLE `+benchMarker+` (created_at timestamptz NOT NULL DEFAULT now());
		COMMENT ON TABLE `+benchMarker+` IS 'hookrelay bench empties this database before each scenario';
		INSERT INTO `+benchMarker+` DEFAULT VALUES`)
	if err != nil {
		return fmt.Errorf("bench: reset database: %w", err)
	}
	return nil
}
