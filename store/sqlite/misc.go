package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/store"
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

const taskColumns = `id, env_id, task, status, data, created_at, updated_at`

func scanTask(sc scanner) (*store.BackgroundTask, error) {
	var t store.BackgroundTask
	var data sql.NullString
	var created, updated int64
	if err := sc.Scan(&t.ID, &t.EnvID, &t.Task, &t.Status, &data, &created, &updated); err != nil {
		return nil, err
	}
	if err := decodeJSON(data, &t.Data, "data"); err != nil {
		return nil, err
	}
	t.CreatedAt = fromMicros(created)
	t.UpdatedAt = fromMicros(updated)
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
	var data any
	if t.Data != nil {
		b, err := json.Marshal(t.Data)
		if err != nil {
			return fmt.Errorf("create background task: %w", err)
		}
		data = string(b)
	}
	_, err := s.wdb.ExecContext(ctx,
		`INSERT INTO background_tasks (`+taskColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.EnvID, t.Task, t.Status, data, micros(t.CreatedAt), micros(t.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create background task: %w", mapInsertErr(err))
	}
	return nil
}

func (s *Store) GetBackgroundTask(ctx context.Context, envID, id string) (*store.BackgroundTask, error) {
	row := s.rdb.QueryRowContext(ctx,
		`SELECT `+taskColumns+` FROM background_tasks WHERE id = ? AND env_id = ?`, id, envID)
	t, err := scanTask(row)
	if err != nil {
		return nil, fmt.Errorf("get background task: %w", notFound(err))
	}
	return t, nil
}

// ListBackgroundTasks lists the tasks of envID by ID in page.Order.
func (s *Store) ListBackgroundTasks(ctx context.Context, envID string, page store.Page) ([]store.BackgroundTask, error) {
	cond, order, args := pageClause("id", page, []any{envID})
	out, err := queryList(ctx, s.rdb,
		`SELECT `+taskColumns+` FROM background_tasks WHERE env_id = ?`+cond+order+` LIMIT ?`,
		append(args, limitArg(page)), scanTask)
	if err != nil {
		return nil, fmt.Errorf("list background tasks: %w", err)
	}
	return out, nil
}
