package postgres

import (
	"context"
	"fmt"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// CreateEnvironment stores env, giving it an ID and a creation time when
// they are unset. A taken name is ErrConflict.
func (s *Store) CreateEnvironment(ctx context.Context, env *hookrelay.Environment) error {
	if env.ID == "" {
		env.ID = hookrelay.NewID(hookrelay.PrefixEnv)
	}
	env.CreatedAt = nowOr(env.CreatedAt)
	_, err := s.pool.Exec(ctx,
		`INSERT INTO environments (id, name, created_at) VALUES ($1, $2, $3)`,
		env.ID, env.Name, env.CreatedAt)
	if err != nil {
		return fmt.Errorf("create environment: %w", mapErr(err))
	}
	return nil
}

func (s *Store) GetEnvironmentByName(ctx context.Context, name string) (*hookrelay.Environment, error) {
	if !textKeys(name) {
		return nil, fmt.Errorf("get environment: %w", hookrelay.ErrNotFound)
	}
	var env hookrelay.Environment
	err := s.pool.QueryRow(ctx,
		`SELECT id, name, created_at FROM environments WHERE name = $1`, name).
		Scan(&env.ID, &env.Name, &env.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("get environment: %w", mapErr(err))
	}
	return &env, nil
}

// CreateToken stores t, giving it an ID and a creation time when they are
// unset. A taken hash is ErrConflict; a missing environment or application
// is ErrNotFound.
func (s *Store) CreateToken(ctx context.Context, t *store.Token) error {
	if t.ID == "" {
		t.ID = hookrelay.NewID(hookrelay.PrefixToken)
	}
	t.CreatedAt = nowOr(t.CreatedAt)
	t.ExpiresAt = normTimePtr(t.ExpiresAt)
	var appID *string
	if t.AppID != "" {
		appID = &t.AppID
	}
	_, err := s.pool.Exec(ctx,
		`INSERT INTO tokens (id, env_id, kind, app_id, capabilities, read_only, hash, expires_at, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.ID, t.EnvID, string(t.Kind), appID, t.Capabilities.String(),
		t.Kind == store.TokenPortal && t.Capabilities.LegacyReadOnly(), t.Hash, t.ExpiresAt, t.CreatedAt)
	if err != nil {
		return fmt.Errorf("create token: %w", mapErr(err))
	}
	return nil
}

func (s *Store) GetTokenByHash(ctx context.Context, hash []byte) (*store.Token, error) {
	var t store.Token
	var kind string
	var appID, caps *string
	var readOnly bool
	err := s.pool.QueryRow(ctx,
		`SELECT id, env_id, kind, app_id, capabilities, read_only, hash, expires_at, created_at FROM tokens WHERE hash = $1`, hash).
		Scan(&t.ID, &t.EnvID, &kind, &appID, &caps, &readOnly, &t.Hash, &t.ExpiresAt, &t.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("get token: %w", mapErr(err))
	}
	t.Capabilities = store.DecodeCapabilities(caps, readOnly)
	t.Kind = store.TokenKind(kind)
	if appID != nil {
		t.AppID = *appID
	}
	return &t, nil
}

func (s *Store) CountTokens(ctx context.Context, envID string, kind store.TokenKind) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx,
		`SELECT count(*) FROM tokens WHERE env_id = $1 AND kind = $2`, envID, string(kind)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	return n, nil
}

func (s *Store) ListTokens(ctx context.Context, envID string, kind store.TokenKind) ([]store.Token, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT id, env_id, kind, app_id, hash, expires_at, created_at FROM tokens
		 WHERE env_id = $1 AND kind = $2 ORDER BY created_at, id`, envID, string(kind))
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		var t store.Token
		var kind string
		var appID *string
		if err := rows.Scan(&t.ID, &t.EnvID, &kind, &appID, &t.Hash, &t.ExpiresAt, &t.CreatedAt); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		t.Kind = store.TokenKind(kind)
		if appID != nil {
			t.AppID = *appID
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

func (s *Store) DeleteToken(ctx context.Context, id string) error {
	err := mustAffect(s.pool.Exec(ctx, `DELETE FROM tokens WHERE id = $1`, id))
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}

func (s *Store) DeleteAppTokens(ctx context.Context, appID string) error {
	_, err := s.pool.Exec(ctx,
		`DELETE FROM tokens WHERE app_id = $1 AND kind = $2`, appID, string(store.TokenPortal))
	if err != nil {
		return fmt.Errorf("delete app tokens: %w", err)
	}
	return nil
}
