package sqlite

import (
	"context"
	"database/sql"
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
	_, err := s.wdb.ExecContext(ctx,
		`INSERT INTO environments (id, name, created_at) VALUES (?, ?, ?)`,
		env.ID, env.Name, micros(env.CreatedAt))
	if err != nil {
		return fmt.Errorf("create environment: %w", mapInsertErr(err))
	}
	return nil
}

func (s *Store) GetEnvironmentByName(ctx context.Context, name string) (*hookrelay.Environment, error) {
	var env hookrelay.Environment
	var created int64
	err := s.rdb.QueryRowContext(ctx,
		`SELECT id, name, created_at FROM environments WHERE name = ?`, name).
		Scan(&env.ID, &env.Name, &created)
	if err != nil {
		return nil, fmt.Errorf("get environment: %w", notFound(err))
	}
	env.CreatedAt = fromMicros(created)
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
	var appID any
	if t.AppID != "" {
		appID = t.AppID
	}
	_, err := s.wdb.ExecContext(ctx,
		`INSERT INTO tokens (id, env_id, kind, app_id, capabilities, read_only, hash, expires_at, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.EnvID, string(t.Kind), appID, t.Capabilities.String(),
		t.Kind == store.TokenPortal && t.Capabilities.LegacyReadOnly(), t.Hash, nullMicros(t.ExpiresAt), micros(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("create token: %w", mapInsertErr(err))
	}
	return nil
}

func (s *Store) GetTokenByHash(ctx context.Context, hash []byte) (*store.Token, error) {
	var t store.Token
	var kind string
	var appID sql.NullString
	var caps *string
	var readOnly bool
	var expires sql.NullInt64
	var created int64
	err := s.rdb.QueryRowContext(ctx,
		`SELECT id, env_id, kind, app_id, capabilities, read_only, hash, expires_at, created_at FROM tokens WHERE hash = ?`, hash).
		Scan(&t.ID, &t.EnvID, &kind, &appID, &caps, &readOnly, &t.Hash, &expires, &created)
	if err != nil {
		return nil, fmt.Errorf("get token: %w", notFound(err))
	}
	t.Capabilities = store.DecodeCapabilities(caps, readOnly)
	t.Kind = store.TokenKind(kind)
	t.AppID = appID.String
	t.ExpiresAt = fromNullMicros(expires)
	t.CreatedAt = fromMicros(created)
	return &t, nil
}

func (s *Store) CountTokens(ctx context.Context, envID string, kind store.TokenKind) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx,
		`SELECT count(*) FROM tokens WHERE env_id = ? AND kind = ?`, envID, string(kind)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	return n, nil
}

func (s *Store) ListTokens(ctx context.Context, envID string, kind store.TokenKind) ([]store.Token, error) {
	rows, err := s.rdb.QueryContext(ctx,
		`SELECT id, env_id, kind, app_id, hash, expires_at, created_at FROM tokens
		 WHERE env_id = ? AND kind = ? ORDER BY created_at, id`, envID, string(kind))
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		var t store.Token
		var kind string
		var appID sql.NullString
		var expires sql.NullInt64
		var created int64
		if err := rows.Scan(&t.ID, &t.EnvID, &kind, &appID, &t.Hash, &expires, &created); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		t.Kind = store.TokenKind(kind)
		t.AppID = appID.String
		t.ExpiresAt = fromNullMicros(expires)
		t.CreatedAt = fromMicros(created)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

func (s *Store) DeleteToken(ctx context.Context, id string) error {
	err := mustAffect(s.wdb.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id))
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}

func (s *Store) DeleteAppTokens(ctx context.Context, appID string) error {
	_, err := s.wdb.ExecContext(ctx,
		`DELETE FROM tokens WHERE app_id = ? AND kind = ?`, appID, string(store.TokenPortal))
	if err != nil {
		return fmt.Errorf("delete app tokens: %w", err)
	}
	return nil
}
