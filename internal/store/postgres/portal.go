package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

const portalSessionColumns = `id, env_id, app_id, operator, capabilities, read_only, token_id, code_hash, code_expires_at,
	hash, theme, expires_at, created_at, redeemed_at, opened_by, admin_key`

// CreatePortalSession stores ps, giving it an ID and a creation time when
// they are unset. A missing environment, application or token is
// ErrNotFound; a taken code or session hash is ErrConflict.
func (s *Store) CreatePortalSession(ctx context.Context, ps *store.PortalSession) error {
	if ps.ID == "" {
		ps.ID = hookrelay.NewID(hookrelay.PrefixSession)
	}
	ps.CreatedAt = nowOr(ps.CreatedAt)
	ps.ExpiresAt = normTime(ps.ExpiresAt)
	ps.CodeExpiresAt = normTimePtr(ps.CodeExpiresAt)
	ps.RedeemedAt = normTimePtr(ps.RedeemedAt)
	_, err := s.pool.Exec(ctx,
		`INSERT INTO portal_sessions (`+portalSessionColumns+`)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		ps.ID, ps.EnvID, nullIfEmpty(ps.AppID), ps.Operator, ps.Capabilities.String(),
		!ps.Operator && ps.Capabilities.LegacyReadOnly(), nullIfEmpty(ps.TokenID),
		ps.CodeHash, ps.CodeExpiresAt, ps.Hash, ps.Theme, ps.ExpiresAt, ps.CreatedAt, ps.RedeemedAt,
		nullIfEmpty(ps.OpenedBy), ps.AdminKey)
	if err != nil {
		return fmt.Errorf("create portal session: %w", mapErr(err))
	}
	return nil
}

func (s *Store) GetPortalSessionByCode(ctx context.Context, codeHash []byte) (*store.PortalSession, error) {
	ps, err := scanPortalSession(s.pool.QueryRow(ctx,
		`SELECT `+portalSessionColumns+` FROM portal_sessions WHERE code_hash = $1`, codeHash))
	if err != nil {
		return nil, fmt.Errorf("get portal session by code: %w", mapErr(err))
	}
	return ps, nil
}

func (s *Store) RedeemPortalCode(ctx context.Context, codeHash, hash []byte, theme string, at time.Time) (*store.PortalSession, error) {
	if !textKeys(theme) {
		return nil, fmt.Errorf("redeem portal code: theme is not text")
	}
	ps, err := scanPortalSession(s.pool.QueryRow(ctx,
		`UPDATE portal_sessions SET hash = $1, theme = $2, redeemed_at = $3
		 WHERE code_hash = $4 AND redeemed_at IS NULL RETURNING `+portalSessionColumns,
		hash, theme, normTime(at), codeHash))
	if err != nil {
		return nil, fmt.Errorf("redeem portal code: %w", mapErr(err))
	}
	return ps, nil
}

func (s *Store) GetPortalSession(ctx context.Context, hash []byte) (*store.PortalSession, error) {
	ps, err := scanPortalSession(s.pool.QueryRow(ctx,
		`SELECT `+portalSessionColumns+` FROM portal_sessions WHERE hash = $1`, hash))
	if err != nil {
		return nil, fmt.Errorf("get portal session: %w", mapErr(err))
	}
	return ps, nil
}

func (s *Store) DeletePortalSession(ctx context.Context, id string) error {
	if !textKeys(id) {
		return fmt.Errorf("delete portal session: %w", hookrelay.ErrNotFound)
	}
	if err := mustAffect(s.pool.Exec(ctx, `DELETE FROM portal_sessions WHERE id = $1`, id)); err != nil {
		return fmt.Errorf("delete portal session: %w", err)
	}
	return nil
}

func (s *Store) ExpireAppPortalSessions(ctx context.Context, appID string, at time.Time) (int, error) {
	if !textKeys(appID) {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx,
		`UPDATE portal_sessions SET expires_at = $1 WHERE app_id = $2 AND expires_at > $1`,
		normTime(at), appID)
	if err != nil {
		return 0, fmt.Errorf("expire app portal sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func scanPortalSession(row pgx.Row) (*store.PortalSession, error) {
	var ps store.PortalSession
	var appID, tokenID, openedBy, caps *string
	var readOnly bool
	err := row.Scan(&ps.ID, &ps.EnvID, &appID, &ps.Operator, &caps, &readOnly, &tokenID, &ps.CodeHash, &ps.CodeExpiresAt,
		&ps.Hash, &ps.Theme, &ps.ExpiresAt, &ps.CreatedAt, &ps.RedeemedAt, &openedBy, &ps.AdminKey)
	if err != nil {
		return nil, err
	}
	ps.Capabilities = store.DecodeCapabilities(caps, readOnly)
	if appID != nil {
		ps.AppID = *appID
	}
	if tokenID != nil {
		ps.TokenID = *tokenID
	}
	if openedBy != nil {
		ps.OpenedBy = *openedBy
	}
	ps.ExpiresAt, ps.CreatedAt = ps.ExpiresAt.UTC(), ps.CreatedAt.UTC()
	ps.CodeExpiresAt, ps.RedeemedAt = normTimePtr(ps.CodeExpiresAt), normTimePtr(ps.RedeemedAt)
	return &ps, nil
}

func (s *Store) GetAppPortalTheme(ctx context.Context, appID string) (string, error) {
	if !textKeys(appID) {
		return "", nil
	}
	var theme string
	err := s.pool.QueryRow(ctx, `SELECT theme FROM app_portal_themes WHERE app_id = $1`, appID).Scan(&theme)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get app portal theme: %w", err)
	}
	return theme, nil
}

func (s *Store) SetAppPortalTheme(ctx context.Context, appID, theme string) error {
	if !textKeys(appID, theme) {
		return fmt.Errorf("set app portal theme: %w", hookrelay.ErrNotFound)
	}
	var err error
	if theme == "" {
		_, err = s.pool.Exec(ctx, `DELETE FROM app_portal_themes WHERE app_id = $1`, appID)
	} else {
		_, err = s.pool.Exec(ctx,
			`INSERT INTO app_portal_themes (app_id, theme) VALUES ($1, $2)
			 ON CONFLICT (app_id) DO UPDATE SET theme = excluded.theme`, appID, theme)
	}
	if err != nil {
		return fmt.Errorf("set app portal theme: %w", mapErr(err))
	}
	return nil
}
