package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/store"
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

const taskColumns = `id, env_id, task, status, data, created_at, updated_at`

func scanTask(row pgx.Row) (*store.BackgroundTask, error) {
	var t store.BackgroundTask
	var data []byte
	if err := row.Scan(&t.ID, &t.EnvID, &t.Task, &t.Status, &data, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	if err := decodeJSON(data, &t.Data, "data"); err != nil {
		return nil, err
	}
	return &t, nil
}

// CreateBackgroundTask stores t, giving it an ID and times when unset. A
// missing environment is ErrNotFound.
func (s *Store) CreateBackgroundTask(ctx context.Context, t *store.BackgroundTask) error {
	if t.ID == "" {
		t.ID = hookrelay.NewID(hookrelay.PrefixTask)
	}
	t.CreatedAt = nowOr(t.CreatedAt)
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.CreatedAt
	}
	t.UpdatedAt = normTime(t.UpdatedAt)
	var data []byte
	if t.Data != nil {
		var err error
		if data, err = json.Marshal(t.Data); err != nil {
			return fmt.Errorf("create background task: %w", err)
		}
	}
	_, err := s.pool.Exec(ctx,
		`INSERT INTO background_tasks (`+taskColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.ID, t.EnvID, t.Task, t.Status, data, t.CreatedAt, t.UpdatedAt)
	if err != nil {
		return fmt.Errorf("create background task: %w", mapErr(err))
	}
	return nil
}

func (s *Store) GetBackgroundTask(ctx context.Context, envID, id string) (*store.BackgroundTask, error) {
	if !textKeys(envID, id) {
		return nil, fmt.Errorf("get background task: %w", hookrelay.ErrNotFound)
	}
	row := s.pool.QueryRow(ctx,
		`SELECT `+taskColumns+` FROM background_tasks WHERE id = $1 AND env_id = $2`, id, envID)
	t, err := scanTask(row)
	if err != nil {
		return nil, fmt.Errorf("get background task: %w", mapErr(err))
	}
	return t, nil
}

// ListBackgroundTasks lists the tasks of envID by ID in page.Order.
func (s *Store) ListBackgroundTasks(ctx context.Context, envID string, page store.Page) ([]store.BackgroundTask, error) {
	var q query
	q.add(`SELECT ` + taskColumns + ` FROM background_tasks WHERE env_id = ` + q.arg(envID))
	q.page("id", page)
	out, err := queryList(ctx, s.pool, &q, scanTask)
	if err != nil {
		return nil, fmt.Errorf("list background tasks: %w", err)
	}
	return out, nil
}
