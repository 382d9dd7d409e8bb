package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPostgresWarningsUseTheConfiguredLogger cuts the LISTEN connection of
// a PostgreSQL store opened as serve opens it, with a JSON logger: the
// reconnect warning arrives there as JSON, not on Go's default logger.
func TestPostgresWarningsUseTheConfiguredLogger(t *testing.T) {
	dbURL := newPostgresDatabase(t)
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil)).With("component", "store")
	st, sub, err := openStoreNotifier(t.Context(), dbURL, envOf(nil), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if sub == nil {
		t.Fatal("the PostgreSQL store has no notifier")
	}
	ctx, cancel := context.WithCancel(t.Context())
	calls := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() {
		done <- sub.Subscribe(ctx, func() {
			select {
			case calls <- struct{}{}:
			default:
			}
		})
	}()
	defer func() { cancel(); <-done }()
	select {
	case <-calls:
	case <-time.After(10 * time.Second):
		t.Fatal("not listening within 10s")
	}

	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var killed int
	err = conn.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'hookrelay-listen' AND datname = current_database()`).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminate the listening connection: %d terminated, %v", killed, err)
	}

	var warning map[string]any
	waitUntil(t, 10*time.Second, "the reconnect warning in the JSON log", func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			if !strings.Contains(line, "listening for work failed") {
				continue
			}
			if err := json.Unmarshal([]byte(line), &warning); err != nil {
				t.Fatalf("log line is not JSON: %v\n%s", err, line)
			}
			return true
		}
		return false
	})
	if warning["level"] != "WARN" || warning["component"] != "store" {
		t.Errorf("warning = %v; want level WARN, component store", warning)
	}
}
