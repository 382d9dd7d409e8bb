package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Heartbeat implements store.Store. Nodes silent for ten TTLs are removed.
func (s *Store) Heartbeat(ctx context.Context, node string, now time.Time, ttl time.Duration) (int, error) {
	var live int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO nodes (id, heartbeat_at) VALUES (?, ?)
			 ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, node, micros(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM nodes WHERE heartbeat_at < ?`, micros(now.Add(-10*ttl))); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM nodes WHERE heartbeat_at >= ?`, micros(now.Add(-ttl))).Scan(&live)
	})
	if err != nil {
		return 0, fmt.Errorf("heartbeat: %w", err)
	}
	return live, nil
}

// DeleteNode implements store.Store.
func (s *Store) DeleteNode(ctx context.Context, node string) error {
	if _, err := s.wdb.ExecContext(ctx, `DELETE FROM nodes WHERE id = ?`, node); err != nil {
		return fmt.Errorf("delete node: %w", err)
	}
	return nil
}
