package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay/internal/store"
)

// StartIdempotent inserts rec as started (Done false) unless a record with
// the same scope and key exists that has not expired at the current time;
// then it returns that record and false. An expired record is replaced.
// Concurrent calls with one scope and key, on any node, start it once.
func (s *Store) StartIdempotent(ctx context.Context, rec *store.IdempotencyRecord) (*store.IdempotencyRecord, bool, error) {
	rec.Done, rec.StatusCode, rec.Body = false, 0, nil
	rec.ExpiresAt = normTime(rec.ExpiresAt)
	for {
		now := normTime(time.Now())
		// On a live conflicting row the upsert changes nothing and
		// returns no row; that row is then read in a new statement, which
		// sees it even if it was committed after this one began.
		tag, err := s.pool.Exec(ctx,
			`INSERT INTO idempotency (scope, key, done, status_code, body, expires_at, created_at)
			 VALUES ($1, $2, false, 0, NULL, $3, $4)
			 ON CONFLICT (scope, key) DO UPDATE SET done = false, status_code = 0, body = NULL,
			   expires_at = excluded.expires_at, created_at = excluded.created_at
			 WHERE idempotency.expires_at <= excluded.created_at`,
			rec.Scope, rec.Key, rec.ExpiresAt, now)
		if err != nil {
			return nil, false, fmt.Errorf("start idempotent: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return rec, true, nil
		}
		var ex store.IdempotencyRecord
		err = s.pool.QueryRow(ctx,
			`SELECT scope, key, done, status_code, body, expires_at FROM idempotency
			 WHERE scope = $1 AND key = $2`, rec.Scope, rec.Key).
			Scan(&ex.Scope, &ex.Key, &ex.Done, &ex.StatusCode, &ex.Body, &ex.ExpiresAt)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			continue // abandoned meanwhile: try again
		case err != nil:
			return nil, false, fmt.Errorf("start idempotent: %w", err)
		case !ex.ExpiresAt.After(now):
			continue // expired meanwhile: replace it
		}
		return &ex, false, nil
	}
}

// FinishIdempotent marks the record done with its response.
func (s *Store) FinishIdempotent(ctx context.Context, scope, key string, statusCode int, body []byte) error {
	if body == nil {
		body = []byte{}
	}
	err := mustAffect(s.pool.Exec(ctx,
		`UPDATE idempotency SET done = true, status_code = $1, body = $2 WHERE scope = $3 AND key = $4`,
		statusCode, body, scope, key))
	if err != nil {
		return fmt.Errorf("finish idempotent: %w", err)
	}
	return nil
}

// AbandonIdempotent removes the record while it is still started; a
// finished record stays.
func (s *Store) AbandonIdempotent(ctx context.Context, scope, key string) error {
	_, err := s.pool.Exec(ctx,
		`DELETE FROM idempotency WHERE scope = $1 AND key = $2 AND NOT done`, scope, key)
	if err != nil {
		return fmt.Errorf("abandon idempotent: %w", err)
	}
	return nil
}
