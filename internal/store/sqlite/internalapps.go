package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay"
)

// internalAppName names every internal application; nobody sees it but
// the database.
const internalAppName = "hookrelay operational webhooks"

// GetInternalApplication returns envID's internal application, or
// ErrNotFound.
func (s *Store) GetInternalApplication(ctx context.Context, envID string) (*hookrelay.Application, error) {
	row := s.rdb.QueryRowContext(ctx,
		`SELECT `+appColumns+` FROM applications WHERE env_id = ? AND internal = 1`, envID)
	app, err := scanApp(row)
	if err != nil {
		return nil, fmt.Errorf("get internal application: %w", notFound(err))
	}
	return app, nil
}

// EnsureInternalApplication returns envID's internal application, creating
// it first when it has none.
func (s *Store) EnsureInternalApplication(ctx context.Context, envID string) (*hookrelay.Application, error) {
	now := micros(nowOr(time.Time{}))
	// The unique index on (env_id) WHERE internal = 1 makes a second insert
	// a no-op, so concurrent callers end up reading the same row.
	_, err := s.wdb.ExecContext(ctx,
		`INSERT INTO applications (`+appColumns+`, internal) VALUES (?, ?, NULL, ?, NULL, '{}', ?, ?, 1)
		 ON CONFLICT DO NOTHING`,
		hookrelay.NewID(hookrelay.PrefixApp), envID, internalAppName, now, now)
	if err != nil {
		return nil, fmt.Errorf("create internal application: %w", mapInsertErr(err))
	}
	return s.GetInternalApplication(ctx, envID)
}
