package postgres

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
	if !textKeys(envID) {
		return nil, fmt.Errorf("get internal application: %w", hookrelay.ErrNotFound)
	}
	row := s.pool.QueryRow(ctx,
		`SELECT `+appColumns+` FROM applications WHERE env_id = $1 AND internal`, envID)
	app, err := scanApp(row)
	if err != nil {
		return nil, fmt.Errorf("get internal application: %w", mapErr(err))
	}
	return app, nil
}

// EnsureInternalApplication returns envID's internal application, creating
// it first when it has none.
func (s *Store) EnsureInternalApplication(ctx context.Context, envID string) (*hookrelay.Application, error) {
	if !textKeys(envID) {
		return nil, fmt.Errorf("create internal application: %w", hookrelay.ErrNotFound)
	}
	now := nowOr(time.Time{})
	// The unique index on (env_id) WHERE internal makes a second insert a
	// no-op, so concurrent callers end up reading the same row.
	_, err := s.pool.Exec(ctx,
		`INSERT INTO applications (`+appColumns+`, internal) VALUES ($1, $2, NULL, $3, NULL, '{}', $4, $4, true)
		 ON CONFLICT (env_id) WHERE internal DO NOTHING`,
		hookrelay.NewID(hookrelay.PrefixApp), envID, internalAppName, now)
	if err != nil {
		return nil, fmt.Errorf("create internal application: %w", mapErr(err))
	}
	return s.GetInternalApplication(ctx, envID)
}
