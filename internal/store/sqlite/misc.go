package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hookrelay/hookrelay/internal/store"
)

// StartIdempotent inserts rec as started (Done false) unless a record with
// the same scope and key exists that has not expired at the current time;
// then it returns that record and false. An expired record is replaced.
func (s *Store) StartIdempotent(ctx context.Context, rec *store.IdempotencyRecord) (*store.IdempotencyRecord, bool, error) {
	rec.Done, rec.StatusCode, rec.Body = false, 0, nil
	rec.ExpiresAt = normTime(rec.ExpiresAt)
	var existing *store.IdempotencyRecord
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		t := now()
		var ex store.IdempotencyRecord
		var done int
		var expires int64
		err := tx.QueryRowContext(ctx,
			`SELECT scope, key, done, status_code, body, expires_at FROM idempotency
			 WHERE scope = ? AND key = ?`, rec.Scope, rec.Key).
			Scan(&ex.Scope, &ex.Key, &done, &ex.StatusCode, &ex.Body, &expires)
		switch {
		case err == sql.ErrNoRows:
		case err != nil:
			return err
		case expires > micros(t):
			ex.Done = done != 0
			ex.ExpiresAt = fromMicros(expires)
			existing = &ex
			return nil
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO idempotency (scope, key, done, status_code, body, expires_at, created_at)
			 VALUES (?, ?, 0, 0, NULL, ?, ?)
			 ON CONFLICT (scope, key) DO UPDATE SET done = 0, status_code = 0, body = NULL,
			   expires_at = excluded.expires_at, created_at = excluded.created_at`,
			rec.Scope, rec.Key, micros(rec.ExpiresAt), micros(t))
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("start idempotent: %w", err)
	}
	if existing != nil {
		return existing, false, nil
	}
	return rec, true, nil
}

// FinishIdempotent marks the record done with its response.
func (s *Store) FinishIdempotent(ctx context.Context, scope, key string, statusCode int, body []byte) error {
	if body == nil {
		body = []byte{}
	}
	err := mustAffect(s.wdb.ExecContext(ctx,
		`UPDATE idempotency SET done = 1, status_code = ?, body = ? WHERE scope = ? AND key = ?`,
		statusCode, body, scope, key))
	if err != nil {
		return fmt.Errorf("finish idempotent: %w", err)
	}
	return nil
}

// AbandonIdempotent removes the record while it is still started; a
// finished record stays.
func (s *Store) AbandonIdempotent(ctx context.Context, scope, key string) error {
	_, err := s.wdb.ExecContext(ctx,
		`DELETE FROM idempotency WHERE scope = ? AND key = ? AND done = 0`, scope, key)
	if err != nil {
		return fmt.Errorf("abandon idempotent: %w", err)
	}
	return nil
}
