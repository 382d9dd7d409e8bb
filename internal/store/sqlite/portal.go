package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
	_, err := s.wdb.ExecContext(ctx,
		`INSERT INTO portal_sessions (`+portalSessionColumns+`)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ps.ID, ps.EnvID, nullIfEmpty(ps.AppID), ps.Operator, ps.Capabilities.String(),
		!ps.Operator && ps.Capabilities.LegacyReadOnly(), nullIfEmpty(ps.TokenID),
		nullBytes(ps.CodeHash), nullMicros(ps.CodeExpiresAt), nullBytes(ps.Hash), ps.Theme,
		micros(ps.ExpiresAt), micros(ps.CreatedAt), nullMicros(ps.RedeemedAt),
		nullIfEmpty(ps.OpenedBy), nullBytes(ps.AdminKey))
	if err != nil {
		return fmt.Errorf("create portal session: %w", mapInsertErr(err))
	}
	return nil
}

func (s *Store) GetPortalSessionByCode(ctx context.Context, codeHash []byte) (*store.PortalSession, error) {
	ps, err := scanPortalSession(s.rdb.QueryRowContext(ctx,
		`SELECT `+portalSessionColumns+` FROM portal_sessions WHERE code_hash = ?`, codeHash))
	if err != nil {
		return nil, fmt.Errorf("get portal session by code: %w", notFound(err))
	}
	return ps, nil
}

func (s *Store) RedeemPortalCode(ctx context.Context, codeHash, hash []byte, theme string, at time.Time) (*store.PortalSession, error) {
	ps, err := scanPortalSession(s.wdb.QueryRowContext(ctx,
		`UPDATE portal_sessions SET hash = ?, theme = ?, redeemed_at = ?
		 WHERE code_hash = ? AND redeemed_at IS NULL RETURNING `+portalSessionColumns,
		hash, theme, micros(at), codeHash))
	if err != nil {
		return nil, fmt.Errorf("redeem portal code: %w", notFound(mapInsertErr(err)))
	}
	return ps, nil
}

func (s *Store) GetPortalSession(ctx context.Context, hash []byte) (*store.PortalSession, error) {
	ps, err := scanPortalSession(s.rdb.QueryRowContext(ctx,
		`SELECT `+portalSessionColumns+` FROM portal_sessions WHERE hash = ?`, hash))
	if err != nil {
		return nil, fmt.Errorf("get portal session: %w", notFound(err))
	}
	return ps, nil
}

func (s *Store) DeletePortalSession(ctx context.Context, id string) error {
	if err := mustAffect(s.wdb.ExecContext(ctx, `DELETE FROM portal_sessions WHERE id = ?`, id)); err != nil {
		return fmt.Errorf("delete portal session: %w", err)
	}
	return nil
}

func (s *Store) ExpireAppPortalSessions(ctx context.Context, appID string, at time.Time) (int, error) {
	r, err := s.wdb.ExecContext(ctx,
		`UPDATE portal_sessions SET expires_at = ? WHERE app_id = ? AND expires_at > ?`,
		micros(at), appID, micros(at))
	if err != nil {
		return 0, fmt.Errorf("expire app portal sessions: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("expire app portal sessions: %w", err)
	}
	return int(n), nil
}

func scanPortalSession(row *sql.Row) (*store.PortalSession, error) {
	var ps store.PortalSession
	var appID, tokenID, openedBy sql.NullString
	var caps *string
	var readOnly bool
	var codeExpires, redeemed sql.NullInt64
	var expires, created int64
	err := row.Scan(&ps.ID, &ps.EnvID, &appID, &ps.Operator, &caps, &readOnly, &tokenID, &ps.CodeHash, &codeExpires,
		&ps.Hash, &ps.Theme, &expires, &created, &redeemed, &openedBy, &ps.AdminKey)
	if err != nil {
		return nil, err
	}
	ps.AppID, ps.TokenID, ps.OpenedBy = appID.String, tokenID.String, openedBy.String
	ps.Capabilities = store.DecodeCapabilities(caps, readOnly)
	ps.CodeExpiresAt, ps.RedeemedAt = fromNullMicros(codeExpires), fromNullMicros(redeemed)
	ps.ExpiresAt, ps.CreatedAt = fromMicros(expires), fromMicros(created)
	return &ps, nil
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func (s *Store) GetAppPortalTheme(ctx context.Context, appID string) (string, error) {
	var theme string
	err := s.rdb.QueryRowContext(ctx, `SELECT theme FROM app_portal_themes WHERE app_id = ?`, appID).Scan(&theme)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get app portal theme: %w", err)
	}
	return theme, nil
}

func (s *Store) SetAppPortalTheme(ctx context.Context, appID, theme string) error {
	var err error
	if theme == "" {
		_, err = s.wdb.ExecContext(ctx, `DELETE FROM app_portal_themes WHERE app_id = ?`, appID)
	} else {
		_, err = s.wdb.ExecContext(ctx,
			`INSERT INTO app_portal_themes (app_id, theme) VALUES (?, ?)
			 ON CONFLICT (app_id) DO UPDATE SET theme = excluded.theme`, appID, theme)
	}
	if err != nil {
		return fmt.Errorf("set app portal theme: %w", mapInsertErr(err))
	}
	return nil
}
